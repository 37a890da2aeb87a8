"""Read the HS nomenclature (``section,hscode,description,parent,level``) into HS6 rows.

Every HS6 row carries the text of its parent HS4 heading and HS2 chapter, because many
HS6 descriptions ("Other", "Parts") only make sense with their parents.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from cclreview.errors import InputError, SourceMissingError

log = logging.getLogger(__name__)

HS_VERSION = "HS2022"
_HS_COLUMNS = {"hscode", "description", "parent", "level"}


def load_hs(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load an HS nomenclature CSV and return one row per HS6 code.

    Parameters
    ----------
    path
        CSV with columns ``section, hscode, description, parent, level`` (levels 2/4/6),
        as published with UN Comtrade; a UTF-8 BOM is tolerated.

    Returns
    -------
    pandas.DataFrame
        ``hs6, hs4, hs2, section, description, hs4_text, hs2_text`` (codes as strings
        with leading zeros), sorted by ``hs6``.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceMissingError(
            f"HS nomenclature {path} not found: run `cclreview fetch` or pass --hs FILE "
            "(a CSV with columns section,hscode,description,parent,level)"
        )
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = _HS_COLUMNS - set(df.columns)
    if missing:
        raise InputError(
            f"{path}: missing column(s) {sorted(missing)}; expected section,hscode,description,parent,level"
        )
    df["hscode"] = df["hscode"].str.strip()
    # Codes are sometimes stored without their leading zero ("10121"): restore the width.
    df["level"] = df["level"].str.strip()
    for lvl in ("2", "4", "6"):
        sel = df["level"] == lvl
        df.loc[sel, "hscode"] = df.loc[sel, "hscode"].str.zfill(int(lvl))
    text = dict(zip(df["hscode"], df["description"], strict=False))
    hs6 = df[df["level"] == "6"].copy()
    if hs6.empty:
        raise InputError(f"{path}: no rows with level 6; is this an HS nomenclature file?")
    bad = hs6[~hs6["hscode"].str.fullmatch(r"\d{6}")]
    if not bad.empty:
        first = bad.index[0] + 2
        raise InputError(
            f"{path}: row {first}: HS6 code {bad['hscode'].iloc[0]!r} is not 6 digits; fix the file"
        )
    out = pd.DataFrame(
        {
            "hs6": hs6["hscode"].to_numpy(),
            "hs4": hs6["hscode"].str[:4].to_numpy(),
            "hs2": hs6["hscode"].str[:2].to_numpy(),
            "section": hs6.get("section", pd.Series("", index=hs6.index)).to_numpy(),
            "description": hs6["description"].to_numpy(),
        }
    )
    out["hs4_text"] = out["hs4"].map(text).fillna("")
    out["hs2_text"] = out["hs2"].map(text).fillna("")
    out = out.drop_duplicates("hs6").sort_values("hs6").reset_index(drop=True)
    log.info("HS nomenclature %s: %d HS6 codes", path.name, len(out))
    return out
