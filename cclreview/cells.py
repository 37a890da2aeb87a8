"""Reading list cells of the processed tables.

The contracts (:mod:`cclreview.contracts`) require list columns (``reasons``,
``chart_columns``, ``missing_major_exporters``, ...) to hold lists of str, but a cell
read back from Parquet is a numpy array, a merge leaves NaN where a row found no
partner, and a hand-made frame may hold ``"NS; AT"``. :func:`str_list` reads them all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def str_list(value: object) -> list[str]:
    """A list of str from a list, numpy array, ``;``/``,``-separated string or null.

    Examples
    --------
    >>> str_list("NS; AT")
    ['NS', 'AT']
    >>> str_list(None), str_list(float("nan"))
    ([], [])
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    raise TypeError(f"a list cell holds {type(value).__name__} {value!r}, not a list, text or null")
