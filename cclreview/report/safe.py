"""Safe cell text: no formula injection, no characters that break the file.

A text cell whose content starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return can be evaluated as a formula by Excel or LibreOffice (directly, after an edit,
or after a CSV export). Such cells are written as *string* cells (never ``<f>``) with
the ``quotePrefix`` style, which is what Excel itself stores when a user types a
leading apostrophe: the content stays exactly as in the data (so reviewer notes
survive round trips unchanged) and the application shows it as text.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

#: Characters that make a spreadsheet treat the text as a formula or command.
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

#: Strings that Excel would read as error values instead of text.
_ERROR_CODES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})

# XML 1.0 forbids these control characters: no .xlsx file can hold them.
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")

#: Excel's limit on the length of a cell's text.
MAX_CELL_CHARS = 32767


def clean_text(value: str) -> str:
    """Return ``value`` without XML-illegal control characters, cut to Excel's limit.

    Parameters
    ----------
    value
        Any text from the processed tables or a previous workbook.

    Returns
    -------
    str
        Text a workbook can hold (illegal characters replaced by a space).
    """
    text = _ILLEGAL.sub(" ", value)
    if len(text) > MAX_CELL_CHARS:
        # Keep the cell valid and say it was cut rather than fail the whole workbook.
        text = text[: MAX_CELL_CHARS - 14] + " [truncated]"
    return text


def has_illegal(text: str) -> bool:
    """Return True when ``text`` holds a character :func:`clean_text` would replace."""
    return _ILLEGAL.search(text) is not None


def needs_text_guard(value: str) -> bool:
    """Return True when ``value`` must be forced to a quoted string cell.

    Parameters
    ----------
    value
        Cell text, already cleaned.
    """
    return value.startswith(FORMULA_TRIGGERS) or value in _ERROR_CODES


def normalise_value(value: Any) -> Any:
    """Turn a pandas/numpy scalar into a plain Python value the writer writes exactly.

    Missing values (None, NaN, NaT, pandas NA) become None; numpy numbers become
    int/float; bools stay bools; lists become ``"a; b"`` (empty lists None); everything
    else becomes text.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, str):
        return value
    # numpy scalars and arrays.
    type_name = type(value).__module__
    if type_name.startswith("numpy") and hasattr(value, "tolist"):
        py = value.tolist()
        if isinstance(py, list):
            return "; ".join(str(v) for v in py if v is not None) or None
        return normalise_value(py)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return "; ".join(str(v) for v in items if v is not None) or None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    return str(value)
