"""EAR Country Groups and multilateral regime memberships, from the shipped tables.

``reference/country_groups.csv`` holds one row per (country, EAR Country Group) of
15 CFR 740 Supplement No. 1 (A:1 ... E:2) with the eCFR date it reflects;
``reference/regimes.csv`` one row per (country, regime) for the Wassenaar Arrangement,
MTCR, the Nuclear Suppliers Group and the Australia Group. Both are reviewable CSVs:
staff update them when the regulation or a regime changes, and bump ``as_of``.

Example
-------
>>> groups = load_country_groups()
>>> sorted(groups.loc[groups["group"] == "E:2", "iso3"])
['CUB']
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cclreview.config import REFERENCE_DIR
from cclreview.errors import InputError

COUNTRY_GROUPS_CSV = REFERENCE_DIR / "country_groups.csv"
REGIMES_CSV = REFERENCE_DIR / "regimes.csv"

#: The EAR Country Groups the table must cover.
EAR_GROUPS = ("A:1", "A:2", "A:3", "A:4", "A:5", "A:6", "B", "D:1", "D:2", "D:3", "D:4", "D:5", "E:1", "E:2")
#: The regimes the table must cover.
REGIMES = ("Wassenaar", "MTCR", "NSG", "Australia Group")


def _load(path: Path, key: str, allowed: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise InputError(f"reference table {path} not found; reinstall cclreview") from exc
    expected = ["iso3", key, "as_of"]
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing}; found {list(df.columns)}; expected {expected}")
    bad = df[~df[key].isin(allowed)]
    if len(bad):
        first = bad.index[0] + 2  # header is line 1
        raise InputError(
            f"{path} line {first}: unknown {key} {bad[key].iloc[0]!r}; use one of {list(allowed)}"
        )
    bad_iso = df[~df["iso3"].str.fullmatch(r"[A-Z]{3}")]
    if len(bad_iso):
        raise InputError(
            f"{path} line {bad_iso.index[0] + 2}: iso3 {bad_iso['iso3'].iloc[0]!r} is not an ISO 3166 alpha-3 code"
        )
    return df


def load_country_groups(path: str | Path | None = None) -> pd.DataFrame:
    """Return EAR Country Group memberships.

    Parameters
    ----------
    path
        CSV to read (default: the shipped ``reference/country_groups.csv``).

    Returns
    -------
    pandas.DataFrame
        Columns ``iso3, group, as_of`` (plus ``name``), one row per membership.
    """
    return _load(Path(path) if path else COUNTRY_GROUPS_CSV, "group", EAR_GROUPS)


def load_regimes(path: str | Path | None = None) -> pd.DataFrame:
    """Return multilateral export-control regime memberships.

    Parameters
    ----------
    path
        CSV to read (default: the shipped ``reference/regimes.csv``).

    Returns
    -------
    pandas.DataFrame
        Columns ``iso3, regime, as_of`` (plus ``name``, ``basis``).
    """
    return _load(Path(path) if path else REGIMES_CSV, "regime", REGIMES)


def members(kind: str, name: str) -> frozenset[str]:
    """Return the ISO3 set of an EAR group (``kind="group"``) or a regime (``"regime"``).

    Raises
    ------
    InputError
        For an unknown kind or name.
    """
    allowed: tuple[str, ...]
    if kind == "group":
        df, allowed = load_country_groups(), EAR_GROUPS
    elif kind == "regime":
        df, allowed = load_regimes(), REGIMES
    else:
        raise InputError(f"unknown membership kind {kind!r}; use 'group' or 'regime'")
    if name not in allowed:
        raise InputError(f"unknown {kind} {name!r}; use one of {list(allowed)}")
    return frozenset(df.loc[df[kind] == name, "iso3"])
