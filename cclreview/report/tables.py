"""Table sheets: column specs, the Data dictionary, and writing a DataFrame under a header.

The columns of every sheet (header, source column, kind, width, description) are the
declarative table ``columns.csv`` beside this module, which the Data dictionary sheet
is generated from, so that every column of every sheet is described.
"""

from __future__ import annotations

import csv
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from xlsxwriter import Workbook
from xlsxwriter.utility import xl_cell_to_rowcol

from cclreview.errors import ConfigError
from cclreview.report import styles
from cclreview.report.safe import MAX_CELL_CHARS, clean_text, has_illegal, needs_text_guard, normalise_value
from cclreview.report.xlsx import FLOAT_DECIMALS, Formats, Sheet

log = logging.getLogger(__name__)

#: The column table of every sheet (see the module docstring).
COLUMNS_FILE = Path(__file__).with_name("columns.csv")

#: Column kinds (what :func:`write_table` does with the values) and, for the Data
#: dictionary only, the kinds of free-layout entries.
KINDS = frozenset({"text", "wrap", "link", "int", "rank", "score", "pct", "usd", "float", "ratio", "num", "bool",
                   "reviewer"})  # fmt: skip
_DICTIONARY_KINDS = frozenset({"table", "chart", "value"})


@dataclass(frozen=True)
class Column:
    """One column of a table sheet.

    Attributes
    ----------
    header
        Header text shown in row 1 (and listed in the Data dictionary).
    key
        Column of the source DataFrame; missing columns are written empty.
    description
        Plain-words meaning, copied to the Data dictionary sheet.
    kind
        ``text``, ``wrap``, ``link``, ``int``, ``rank``, ``score``, ``pct``, ``usd``,
        ``float``, ``ratio``, ``num`` (3 decimals, no format), ``bool`` (written as
        yes/no) or ``reviewer``.
    width
        Column width as Excel stores it (about one character of the default font;
        7 pixels).
    """

    header: str
    key: str
    description: str
    kind: str = "text"
    width: float = 14.0


@functools.cache
def _column_tables() -> dict[str, tuple[Column, ...]]:
    tables: dict[str, list[Column]] = {}
    try:
        with COLUMNS_FILE.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        for n, row in enumerate(rows, start=2):
            kind = row["kind"]
            if kind not in KINDS | _DICTIONARY_KINDS:
                raise ConfigError(f"{COLUMNS_FILE.name} line {n}: unknown kind {kind!r}")
            col = Column(row["header"], row["key"], row["description"], kind, float(row["width"]))
            tables.setdefault(row["table"], []).append(col)
    except (OSError, KeyError, ValueError) as exc:
        raise ConfigError(f"cannot read {COLUMNS_FILE} ({exc}); reinstall cclreview") from exc
    return {name: tuple(cols) for name, cols in tables.items()}


def columns(table: str) -> list[Column]:
    """The columns of ``table`` in ``columns.csv``, in order.

    Raises
    ------
    ConfigError
        The file is unreadable or has no such table.
    """
    tables = _column_tables()
    if table not in tables:
        raise ConfigError(f"{COLUMNS_FILE.name} has no table {table!r}; reinstall cclreview")
    return list(tables[table])


@dataclass
class Dictionary:
    """Collects (sheet, column, description, format) rows for the Data dictionary."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, sheet: str, cols: Sequence[Column]) -> None:
        for c in cols:
            self.rows.append((sheet, c.header, c.description, c.kind))


def col_range(cols: Sequence[Column], header: str, n_rows: int) -> tuple[int, int, int, int]:
    """0-based (first row, col, last row, col) of the data cells of column ``header``."""
    idx = [c.header for c in cols].index(header)
    return (1, idx, max(n_rows, 1), idx)


def _format_for(kind: str, score_format: str) -> str | None:
    if kind == "score":
        return score_format
    return styles.NUMBER_FORMATS.get(kind)


def _prepare(value: Any, kind: str) -> Any:
    """Normalise one value for writing: None for missing, rounded floats, clean text."""
    value = normalise_value(value)
    if value is None:
        return None
    if kind == "bool" and isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if kind in ("int", "rank") and value.is_integer():
            return int(value)
        return round(value, 3 if kind == "num" else FLOAT_DECIMALS)
    if isinstance(value, str):
        return clean_text(value)
    return value


def prepare_column(series: pd.Series, kind: str) -> list[Any]:
    """:func:`_prepare` for a whole column, vectorised for plain numeric columns."""
    if pd.api.types.is_float_dtype(series.dtype) and not isinstance(series.dtype, pd.CategoricalDtype):
        digits = 3 if kind == "num" else FLOAT_DECIMALS
        as_int = kind in ("int", "rank")
        out: list[Any] = []
        # Nullable Float64 holds pd.NA: as float64 it becomes NaN, handled below.
        for v in series.astype("float64").round(digits).tolist():
            if v != v or v in (float("inf"), float("-inf")):  # NaN / inf -> empty cell
                out.append(None)
            elif as_int and v.is_integer():
                out.append(int(v))
            else:
                out.append(v)
        return out
    if pd.api.types.is_integer_dtype(series.dtype) and series.notna().all() and kind != "bool":
        return series.astype("int64").tolist()
    values = series.tolist()
    if kind != "bool":
        # Text columns: when every value is plain text (or missing) and none needs
        # cleaning, take them as they are instead of value by value.
        texts: list[Any] = []
        for v in values:
            if v is None or (type(v) is float and v != v):
                texts.append(None)
            elif type(v) is str and len(v) < MAX_CELL_CHARS:
                texts.append(v)
            else:
                break
        else:
            if not has_illegal("\n".join(t for t in texts if t)):
                return texts
    return [_prepare(v, kind) for v in values]


def _cell_style(col: Column, score_format: str) -> styles.Style | None:
    if col.kind == "reviewer":
        return styles.REVIEWER_CELL
    if col.kind == "wrap":
        return styles.WRAP_ALIGN
    if col.kind == "link":
        return styles.LINK_FONT
    fmt = _format_for(col.kind, score_format)
    return styles.number(fmt) if fmt is not None else None


def write_table(
    sheet: Sheet,
    cols: Sequence[Column],
    df: pd.DataFrame,
    *,
    link_for: Callable[[Any], str | None] | None = None,
    score_format: str = "0.000",
    freeze: str | None = "A2",
    autofilter: bool = True,
    header: bool = True,
    pages_wide: int = 1,
) -> int:
    """Write ``df`` as a formatted table (header in row 1) and return the data row count.

    Parameters
    ----------
    sheet
        A fresh sheet (nothing written yet).
    cols
        What to write, in order; a column whose ``key`` is not in ``df`` is left empty.
    df
        Rows, already in their final order.
    link_for
        Maps the value of a ``link`` column to its hyperlink target (or None).
    score_format
        Number format of ``score`` columns.
    freeze
        Top-left cell of the scrolling pane (``"A2"`` freezes the header row).
    autofilter
        Put an autofilter on the header row.
    header
        Write the header row.
    pages_wide
        Print the sheet this many pages wide (0 = full size over as many as needed).
    """
    ws, formats = sheet.ws, sheet.formats
    sheet.set_widths([c.width for c in cols])
    sheet.page_setup(pages_wide=pages_wide)
    if freeze:
        row, col = xl_cell_to_rowcol(freeze)
        ws.freeze_panes(row, col)
    first = 0
    if header:
        # Room for three lines of wrapped header text (LibreOffice does not grow rows).
        ws.set_row(0, 45)
        for j, c in enumerate(cols):
            sheet.put(0, j, c.header, styles.REVIEWER_HEADER if c.kind == "reviewer" else styles.HEADER)
        first = 1
    missing = [c.key for c in cols if c.key not in df.columns and c.kind != "reviewer"]
    if missing:
        log.debug("sheet %s: columns absent from the data, written empty: %s", sheet.title, missing)
    n = len(df)
    # One plan per column, prepared once: values, format, quoted format, link maker.
    plans = []
    for c in cols:
        values = prepare_column(df[c.key], c.kind) if c.key in df.columns else [None] * n
        style = _cell_style(c, score_format)
        links = link_for if c.kind == "link" else None
        plans.append((values, formats.get(style), formats.get(style, quoted=True), links))
    # Plain text and numbers straight to the sheet (most cells); anything else, and
    # links, through Sheet.write_value.
    write, write_string, write_number = sheet.write_value, ws.write_string, ws.write_number
    for i in range(n):
        r = first + i
        for j, (values, fmt, quoted, links) in enumerate(plans):
            v = values[i]
            t = type(v)
            if v is None or v == "":
                continue  # empty cells are not written (nor styled)
            if t is str and links is None:
                write_string(r, j, v, quoted if needs_text_guard(v) else fmt)
            elif t is float or t is int:
                write_number(r, j, v, fmt)
            else:
                write(r, j, v, fmt, quoted, links(v) if links is not None and t is str else None)
    if autofilter and header:
        ws.autofilter(0, 0, max(n, 1), len(cols) - 1)
    return n


def write_note_table(sheet: Sheet, cols: Sequence[Column], note: str) -> None:
    """Header plus one explanatory row, for a sheet whose input is absent."""
    write_table(sheet, cols, pd.DataFrame(), autofilter=False)
    sheet.put(1, 0, note, styles.NOTE_FONT)


def write_simple(
    wb: Workbook,
    formats: Formats,
    title: str,
    cols: Sequence[Column],
    df: pd.DataFrame | None,
    dic: Dictionary,
    *,
    links: dict[str, str] | None = None,
    score_fmt: str = "0.000",
    note: str | None = None,
    freeze: str = "A2",
    pages_wide: int = 1,
    print_header: bool = False,
) -> Sheet:
    """Write a plain table sheet, or its header and ``note`` when ``df`` is None/empty."""
    sheet = Sheet(wb, formats, title)
    if df is None or (note and df.empty):
        write_note_table(sheet, cols, note or "(no data)")
    else:
        write_table(
            sheet, cols, df, link_for=links.get if links else None, score_format=score_fmt, freeze=freeze,
            pages_wide=pages_wide,
        )  # fmt: skip
        if print_header:
            sheet.ws.repeat_rows(0)
    dic.add(title, cols)
    return sheet


def generic_columns(df: pd.DataFrame, source: str) -> list[Column]:
    """Columns for a table written by another stage (scenarios, comparisons), as it is.

    Columns named in the ``scenarios`` table of ``columns.csv`` get its description and
    kind; others are described by name, as numbers or text.
    """
    known = {c.key: c for c in columns("scenarios")}
    cols = []
    for name in df.columns:
        if name in known:
            k = known[name]
            cols.append(Column(str(name), str(name), f"{k.description} (from {source})", k.kind, k.width))
            continue
        kind = "float" if pd.api.types.is_float_dtype(df[name]) else (
            "int" if pd.api.types.is_integer_dtype(df[name]) else "text")  # fmt: skip
        cols.append(
            Column(str(name), str(name), f"Column {name} of {source}, as the score stage wrote it.", kind, 14)
        )
    return cols
