"""Per HS code and year: what China imports, from whom, and what the U.S. ships.

Reads the bilateral tables of the trade stage when they exist:

* ``flows_focus.parquet``: exporter x focus importer (CHN, HKG, MAC, RUS, BLR) x HS6 x year;
* ``us_exports.parquet``: USA -> every importer x HS6 x year;

both with ``year, exporter_iso3, importer_iso3, hs6, hs_version, value_usd, qty,
source, source_file``. Files of one source are never summed: per (hs6, year) one
``source_file`` is used, chosen by the availability stage's source precedence, then
by name (the BACI extract in the mirror exists as Parquet and as CSV with the same flows).

Without bilateral tables (only exporter-to-world tables were ingested) China's imports
are unknown and ``us_exports_usd`` is the U.S. exports to the world from
``exports.parquet``; ``stake_basis`` says which basis each row has.

Output ``china_hs.parquet``, one row per ``hs6, year``: ``china_imports_usd``,
``china_imports_from_us_usd``, ``china_imports_us_share``, ``n_suppliers_to_china``,
``top_suppliers_to_china`` ("DEU 31%; JPN 22%; ..."), ``supplier_shares_to_china``
(list of "ISO3=share" for the aggregation), ``us_exports_usd``,
``us_exports_to_china_usd``, ``stake_basis`` ("bilateral" | "world exports only"),
``hs_version``, ``source``, ``source_file``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from cclreview import contracts
from cclreview.errors import InputError
from cclreview.indicators import DEFAULT_PRECEDENCE, source_rank

log = logging.getLogger(__name__)

CHINA = "CHN"
USA = "USA"
BILATERAL = "bilateral"
WORLD_ONLY = "world exports only"

FLOW_COLUMNS = ("year", "exporter_iso3", "importer_iso3", "hs6", "value_usd", "source", "source_file")

CHINA_HS_COLUMNS = (
    "hs6",
    "year",
    "hs_version",
    "china_imports_usd",
    "china_imports_from_us_usd",
    "china_imports_us_share",
    "n_suppliers_to_china",
    "top_suppliers_to_china",
    "supplier_shares_to_china",
    "us_exports_usd",
    "us_exports_to_china_usd",
    "stake_basis",
    "source",
    "source_file",
)

#: A supplier below this share of China's imports is not counted in ``n_suppliers_to_china``.
MIN_SUPPLIER_SHARE = 0.02


def _check(df: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = [c for c in FLOW_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"{name}: missing columns {missing} (found {list(df.columns)}); re-run `cclreview ingest-trade`"
        )
    out = df.copy()
    out["hs6"] = out["hs6"].astype(str)
    out["year"] = pd.to_numeric(out["year"], errors="coerce").astype("Int64")
    out["value_usd"] = pd.to_numeric(out["value_usd"], errors="coerce").fillna(0.0)
    for c in ("exporter_iso3", "importer_iso3", "source", "source_file"):
        out[c] = out[c].astype(str)
    if "hs_version" not in out.columns:
        out["hs_version"] = ""
    return out


def one_source(df: pd.DataFrame, precedence=DEFAULT_PRECEDENCE) -> pd.DataFrame:
    """Keep, per (hs6, year), the rows of a single ``source_file`` (precedence, then name)."""
    if df.empty:
        return df
    files = df[["hs6", "year", "source", "source_file"]].drop_duplicates().copy()
    files["_rank"] = source_rank(files["source"], precedence)
    files = files.sort_values(["hs6", "year", "_rank", "source_file"], kind="stable")
    keep = files.drop_duplicates(["hs6", "year"])[["hs6", "year", "source_file"]]
    return df.merge(keep, on=["hs6", "year", "source_file"], how="inner")


def _shares_text(shares: pd.Series, n: int = 5) -> str:
    top = shares.sort_values(ascending=False).head(n)
    return "; ".join(f"{k} {v:.0%}" for k, v in top.items() if v > 0)


def china_hs_table(
    flows_focus: pd.DataFrame | None,
    us_exports: pd.DataFrame | None,
    exports: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Build ``china_hs`` (see the module docstring).

    Parameters
    ----------
    flows_focus, us_exports
        The bilateral tables, or None when the trade stage did not write them.
    exports
        ``exports.parquet`` (to the world); used for ``us_exports_usd`` of codes and
        years without a bilateral U.S. table.
    """
    rows: list[dict] = []
    seen: set[tuple[str, int]] = set()
    if flows_focus is not None and len(flows_focus):
        ff = one_source(_check(flows_focus, "flows_focus.parquet"))
        ff = ff[ff["importer_iso3"] == CHINA]
        us = None
        if us_exports is not None and len(us_exports):
            us = one_source(_check(us_exports, "us_exports.parquet"))
            us = us[us["exporter_iso3"] == USA]
            us_tot = us.groupby(["hs6", "year"])["value_usd"].sum()
        for (hs6, year), g in ff.groupby(["hs6", "year"], sort=True):
            by_exp = g.groupby("exporter_iso3")["value_usd"].sum()
            total = float(by_exp.sum())
            if total <= 0:
                continue
            shares = by_exp / total
            from_us = float(by_exp.get(USA, 0.0))
            us_world = float(us_tot.get((hs6, year), np.nan)) if us is not None else np.nan
            rows.append(
                {
                    "hs6": hs6,
                    "year": int(year),
                    "hs_version": str(g["hs_version"].iloc[0]),
                    "china_imports_usd": total,
                    "china_imports_from_us_usd": from_us,
                    "china_imports_us_share": from_us / total,
                    "n_suppliers_to_china": int((shares >= MIN_SUPPLIER_SHARE).sum()),
                    "top_suppliers_to_china": _shares_text(shares),
                    "supplier_shares_to_china": [
                        f"{k}={v:.6f}" for k, v in shares.sort_values(ascending=False).items()
                    ],
                    "us_exports_usd": us_world,
                    "us_exports_to_china_usd": from_us,
                    "stake_basis": BILATERAL,
                    "source": str(g["source"].iloc[0]),
                    "source_file": str(g["source_file"].iloc[0]),
                }
            )
            seen.add((hs6, int(year)))
    if exports is not None and len(exports):
        ex = exports[(exports["exporter_iso3"].astype(str) == USA)].copy()
        if "hs_level" in ex.columns:
            ex = ex[ex["hs_level"] == 6]
        if "value_kind" in ex.columns:
            ex = ex[ex["value_kind"].astype(str) == "value"]
        if len(ex):
            # Older or hand-made tables may lack the provenance columns: one file then.
            for col in ("source", "source_file", "hs_version"):
                if col not in ex.columns:
                    ex[col] = ""
            ex["hs6"] = ex["hs6"].astype(str)
            ex["year"] = pd.to_numeric(ex["year"], errors="coerce").astype("Int64")
            ex = one_source(ex)
            for (hs6, year), g in ex.groupby(["hs6", "year"], sort=True):
                if (hs6, int(year)) in seen:
                    continue
                rows.append(
                    {
                        "hs6": hs6,
                        "year": int(year),
                        "hs_version": str(g["hs_version"].iloc[0]) if "hs_version" in g else "",
                        "china_imports_usd": np.nan,
                        "china_imports_from_us_usd": np.nan,
                        "china_imports_us_share": np.nan,
                        "n_suppliers_to_china": pd.NA,
                        "top_suppliers_to_china": "",
                        "supplier_shares_to_china": [],
                        "us_exports_usd": float(g["value_usd"].sum()),
                        "us_exports_to_china_usd": np.nan,
                        "stake_basis": WORLD_ONLY,
                        "source": str(g["source"].iloc[0]),
                        "source_file": str(g["source_file"].iloc[0]),
                    }
                )
    if not rows:  # the contract's dtypes, not the object columns of an empty frame
        return contracts.empty("china_hs", list(CHINA_HS_COLUMNS))
    out = pd.DataFrame(rows, columns=list(CHINA_HS_COLUMNS))
    out["n_suppliers_to_china"] = pd.to_numeric(out["n_suppliers_to_china"], errors="coerce").astype("Int64")
    out["year"] = out["year"].astype("int64")
    return out.sort_values(["hs6", "year"], kind="stable").reset_index(drop=True)


def read_bilateral(processed: str | Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``flows_focus`` and ``us_exports`` from ``processed`` (validated), None for an absent file."""
    out: list[pd.DataFrame | None] = []
    for name in ("flows_focus", "us_exports"):
        df = contracts.read(name, processed, required=False)
        if df is None:
            log.info(
                "%s not found: China's imports unknown, U.S. world exports used instead",
                Path(processed) / contracts.FILES[name],
            )
        out.append(df)
    return out[0], out[1]


def attach_to_availability(availability: pd.DataFrame, china_hs: pd.DataFrame) -> pd.DataFrame:
    """Add ``china_imports_usd``, ``china_imports_us_share`` to HS6 rows of ``availability_hs``.

    ``us_exports_usd`` is already an availability column (U.S. exports to the world,
    from the chosen source) and is kept. HS4 rows stay empty: no bilateral HS4 data.
    """
    out = availability.drop(columns=["china_imports_usd", "china_imports_us_share"], errors="ignore")
    bil = china_hs[china_hs["stake_basis"] == BILATERAL][
        ["hs6", "year", "china_imports_usd", "china_imports_us_share"]
    ]
    key = out["hs_code"].where(out["hs_level"] == 6).astype(object)
    tmp = pd.DataFrame({"_hs": key, "_year": pd.to_numeric(out["year"], errors="coerce")}, index=out.index)
    merged = tmp.merge(bil.rename(columns={"hs6": "_hs", "year": "_year"}), on=["_hs", "_year"], how="left")
    out["china_imports_usd"] = merged["china_imports_usd"].to_numpy(dtype=float)
    out["china_imports_us_share"] = merged["china_imports_us_share"].to_numpy(dtype=float)
    return out
