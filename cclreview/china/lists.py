"""Diversion lists for Russia and Belarus: HS6 codes a decontrol would not free.

Two public lists name HS6 codes:

* the Common High Priority List (BIS with the EU, UK and Japan; tiers 1-4): items
  Russia seeks for its weapons programmes, watched for diversion through third
  countries (mirror ``priority/bis_common_high_priority_hs6_*.csv``);
* the HS lists of 15 CFR Part 746 (Supps. No. 2, 4, 5 and 7): a licence for Russia and
  Belarus (and Iran, Crimea) whatever the CCL says (mirror
  ``ear/russia_belarus_iran_hts6_part746_supps_*.csv``).

The files are fetched into ``data/raw/`` like any other source (``config/sources.toml``)
and read here at run time. A code on either list is flagged on every ECCN linked to it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from cclreview import contracts
from cclreview.errors import InputError

log = logging.getLogger(__name__)

#: Where the fetch step puts the lists, relative to ``data/raw`` (glob: newest wins).
PRIORITY_GLOB = "priority/*common_high_priority*hs6*.csv"
PART746_GLOB = "ear/*part746*.csv"

#: Columns of ``diversion_hs.parquet``.
DIVERSION_COLUMNS = ("hs6", "list", "tier", "legal_basis", "source_file")

_HS6 = re.compile(r"^\d{6}$")
_TIER = re.compile(r"^\s*tier[\s_]*([1-4])(?:[\s_]*([A-Z]))?\s*$", re.I)


def _code(value: object, path: Path, line: int, column: str) -> str:
    """A 6-digit HS code from a cell (restores a leading zero lost by a spreadsheet)."""
    text = str(value).strip()
    if text.isdigit() and len(text) == 5:
        text = "0" + text
    if not _HS6.match(text):
        raise InputError(
            f"{path}: line {line}: column {column} is {value!r}, not a 6-digit HS code; "
            "fix the row or fetch the list again (`cclreview fetch all`)"
        )
    return text


def _read(path: Path, need: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:
        raise InputError(
            f"{path}: cannot read as CSV ({exc}); fetch it again (`cclreview fetch all`)"
        ) from exc
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {missing} (found {list(df.columns)}); "
            "this is not the expected list: fetch it again (`cclreview fetch all`)"
        )
    if df.empty:
        raise InputError(f"{path}: the list has no rows; fetch it again (`cclreview fetch all`)")
    return df


def read_priority_list(path: str | Path) -> pd.DataFrame:
    """Read the Common High Priority List (``hs6,tier``) into :data:`DIVERSION_COLUMNS`.

    Raises
    ------
    InputError
        Unreadable file, missing columns, a bad HS code or tier (names the line).
    """
    path = Path(path)
    df = _read(path, ("hs6", "tier"))
    rows = []
    for i, (hs, tier) in enumerate(zip(df["hs6"], df["tier"], strict=True), start=2):
        m = _TIER.match(tier)
        if not m:
            raise InputError(
                f"{path}: line {i}: tier {tier!r} is not a tier like 'TIER_1' or 'TIER_3_A'; fix the row"
            )
        rows.append(
            {
                "hs6": _code(hs, path, i, "hs6"),
                "list": "Common High Priority List",
                "tier": f"Tier {m.group(1)}{(m.group(2) or '').upper()}",
                "legal_basis": "BIS/EU/UK/Japan Common High Priority List (diversion to Russia)",
                "source_file": path.name,
            }
        )
    return pd.DataFrame(rows, columns=list(DIVERSION_COLUMNS))


def read_part746_list(path: str | Path) -> pd.DataFrame:
    """Read the Part 746 HS lists (``supplement,license_requirement,hts6``).

    ``tier`` holds the supplement (e.g. "Supp. No. 4 to Part 746") and ``legal_basis``
    the EAR paragraph it serves (e.g. "746.8(a)(5)").
    """
    path = Path(path)
    df = _read(path, ("supplement", "license_requirement", "hts6"))
    rows = []
    for i, rec in enumerate(df.to_dict("records"), start=2):
        supp = rec["supplement"].strip()
        if not supp:
            raise InputError(f"{path}: line {i}: empty supplement; fix the row")
        rows.append(
            {
                "hs6": _code(rec["hts6"], path, i, "hts6"),
                "list": "Part 746",
                "tier": supp,
                "legal_basis": rec["license_requirement"].strip(),
                "source_file": path.name,
            }
        )
    return pd.DataFrame(rows, columns=list(DIVERSION_COLUMNS))


def _newest(raw_dir: Path, pattern: str) -> Path | None:
    found = sorted(raw_dir.glob(pattern))
    return found[-1] if found else None


def diversion_table(raw_dir: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Both lists from ``raw_dir`` in one table; and the lists that were not found.

    A missing list is not an error (the fetch step treats both as optional); the
    caller records it, so the report can say that no diversion flag was checked.
    """
    raw_dir = Path(raw_dir)
    parts, missing = [], []
    for pattern, reader in ((PRIORITY_GLOB, read_priority_list), (PART746_GLOB, read_part746_list)):
        path = _newest(raw_dir, pattern)
        if path is None:
            log.warning("diversion list not found: %s/%s (run `cclreview fetch all`)", raw_dir, pattern)
            missing.append(pattern)
            continue
        parts.append(reader(path))
    if not parts:  # the contract's dtypes, not the object columns of an empty frame
        return contracts.empty("diversion_hs", list(DIVERSION_COLUMNS)), missing
    return pd.concat(parts, ignore_index=True).drop_duplicates().reset_index(drop=True), missing


def flags_by_code(div: pd.DataFrame) -> dict[str, list[str]]:
    """HS6 -> short flags, e.g. ``["CHPL Tier 1", "746 Supp. No. 4"]``."""
    out: dict[str, list[str]] = {}
    for rec in div.to_dict("records"):
        if rec["list"] == "Common High Priority List":
            label = f"CHPL {rec['tier']}"
        else:
            label = "746 " + str(rec["tier"]).replace(" to Part 746", "")
        lst = out.setdefault(str(rec["hs6"]), [])
        if label not in lst:
            lst.append(label)
    return out
