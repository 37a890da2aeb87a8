"""The HS revisions and the spelling of HS codes, shared by the conversions.

:data:`REVISIONS` in chronological order, :func:`normalise_revision` for the names
sources use (``"HS17"``, ``"2017"``), and :func:`pad_code` for codes whose leading zeros
a file lost.
"""

from __future__ import annotations

import pandas as pd

from cclreview.errors import InputError

#: Revisions in chronological order, as named in ``hs_version`` columns.
REVISIONS: tuple[str, ...] = ("HS1992", "HS1996", "HS2002", "HS2007", "HS2012", "HS2017", "HS2022")
DEFAULT_TARGET = "HS2022"


def normalise_revision(name: str) -> str:
    """Return the canonical revision name (``"HS17"``, ``"2017"``, ``"hs2017"`` -> ``"HS2017"``).

    Raises
    ------
    InputError
        When ``name`` is not a known HS revision.
    """
    s = str(name).strip().upper().replace(" ", "")
    s = s.removeprefix("HS").removeprefix("H")
    if len(s) == 2 and s.isdigit():
        s = ("19" if int(s) >= 88 else "20") + s
    out = f"HS{s}"
    if out not in REVISIONS:
        raise InputError(f"unknown HS revision {name!r}; use one of {', '.join(REVISIONS)}")
    return out


def pad_code(series: pd.Series, width: int = 6) -> pd.Series:
    """Return codes as strings padded with leading zeros (``10121`` -> ``010121``)."""
    s = series.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    return s.str.zfill(width)
