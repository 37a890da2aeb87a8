"""UN Comtrade readers: API v2 CSV, the trimmed ``reporter,partner,cmd,flow`` layout and
the legacy bulk/UI export (``Classification, Year, ..., Trade Value (US$)``).

Comtrade data are reporter-declared. Exporter-level totals are taken from what each
reporter declares as exports (flow ``X`` / code 2 "Export"; re-exports are left out)
to partner World (code 0), never summed over partners, so that a file holding both the
World row and bilateral rows is not double counted. Exact duplicate rows (Comtrade
extracts contain them) are dropped and counted. Comtrade contributes no bilateral rows:
only the reporters' declared totals to World are used (see ``bilateral_coverage.csv``). Values are USD; net weight in kg
becomes tonnes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from cclreview.errors import InputError
from cclreview.trade.registry import Reader, register, sniff_layout
from cclreview.trade.tidy import (
    COMTRADE_HS,
    ReadContext,
    ReadResult,
    clean_long,
    display_name,
    hs_in_force,
    hs_version_from_name,
    require_columns,
    year_from_name,
)

log = logging.getLogger(__name__)

READER_VERSION = "2"


def _read_text(path: Path) -> pd.DataFrame:
    _, delim = sniff_layout(path)
    try:
        df = pd.read_csv(
            path, dtype=str, keep_default_na=False, sep=delim, encoding="utf-8-sig", compression="infer"
        )
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot parse {path} as CSV ({exc}); is it a Comtrade CSV export?") from exc
    if df.empty:
        raise InputError(f"{path} has a header but no rows; re-download it or remove it from the inputs")
    return df


def _versions(classification: pd.Series | None, years: pd.Series, ctx: ReadContext, name: str) -> pd.Series:
    """HS revision per row: explicit override, Comtrade classification, file name, year."""
    if ctx.hs_version:
        return pd.Series(ctx.hs_version, index=years.index)
    if classification is not None:
        mapped = classification.str.strip().str.upper().map(COMTRADE_HS)
        if mapped.notna().any():
            fallback = pd.to_numeric(years, errors="coerce").map(
                lambda y: hs_in_force(int(y)) if y == y else None
            )
            return mapped.fillna(fallback)
    from_name = hs_version_from_name(name)
    if from_name:
        return pd.Series(from_name, index=years.index)
    return pd.to_numeric(years, errors="coerce").map(lambda y: hs_in_force(int(y)) if y == y else None)


def _prefer(primary: pd.Series | None, fallback: pd.Series, ctx: ReadContext) -> pd.Series:
    """Use ``primary`` (e.g. an ISO3 column) where it names a country, else ``fallback``
    (e.g. the numeric code: "Other Asia, nes" = 490 = Taiwan has no ISO3 in Comtrade)."""
    if primary is None:
        return fallback
    ok = ctx.resolver.resolve_many(primary, record=False).notna()
    fallback_ok = ctx.resolver.resolve_many(fallback, record=False).notna()
    # When neither names a country, report the primary value (more readable) if any.
    use_primary = ok | (~fallback_ok & (primary.astype("string").str.strip() != "").fillna(False))
    return primary.where(use_primary, fallback)


def _world_exports(
    df: pd.DataFrame, *, flow_ok: pd.Series, partner: pd.Series, path: Path
) -> tuple[pd.DataFrame, int, pd.Series]:
    """Keep exports to World, drop exact duplicates; returns (rows, duplicates, line numbers)."""
    lines = pd.Series(np.arange(2, len(df) + 2), index=df.index)
    partner_num = pd.to_numeric(partner.str.strip(), errors="coerce")
    world = partner_num.eq(0) | partner.str.strip().str.upper().isin(["WLD", "WORLD"])
    keep = flow_ok & world
    if not keep.any():
        log.warning("%s: no export rows to partner World (flow X, partner 0)", path)
    sub = df[keep]
    dup = sub.duplicated(keep="first")
    n_dup = int(dup.sum())
    if n_dup:
        log.info("%s: dropped %d exact duplicate rows", display_name(path), n_dup)
    sub = sub[~dup]
    return sub, n_dup, lines[sub.index]


# -- API v2 -------------------------------------------------------------------------------
_API = ["reporterCode", "flowCode", "partnerCode", "cmdCode", "primaryValue"]


def _detect_api(path: Path, columns: list[str]) -> bool:
    return {"reporterCode", "cmdCode"} <= set(columns)


def read_comtrade_api(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a Comtrade API v2 CSV (``reporterCode, flowCode, partnerCode, cmdCode,
    primaryValue, refYear|period, netWgt, classificationCode``)."""
    df = _read_text(path)
    require_columns(list(df.columns), _API, path, "Comtrade API v2")
    year_col = "refYear" if "refYear" in df.columns else "period" if "period" in df.columns else None
    if year_col is None:
        raise InputError(
            f"{path}: Comtrade API file without refYear or period column; found {list(df.columns)}"
        )
    flow_ok = df["flowCode"].str.strip().str.upper().eq("X")
    # Breakdowns (2nd partner, customs procedure, mode of transport) would double count.
    for col, total in (("partner2Code", "0"), ("customsCode", "C00"), ("motCode", "0")):
        if col in df.columns:
            flow_ok &= df[col].str.strip().isin([total, ""])
    sub, n_dup, lines = _world_exports(df, flow_ok=flow_ok, partner=df["partnerCode"], path=path)
    exporter = _prefer(sub.get("reporterISO"), sub["reporterCode"], ctx)
    long = pd.DataFrame(
        {
            "line": lines,
            "year": sub[year_col].str.slice(0, 4),
            "exporter": exporter,
            "hs6": sub["cmdCode"],
            "value": sub["primaryValue"],
            "qty": sub["netWgt"] if "netWgt" in sub.columns else np.nan,
        }
    )
    return _finish(long, sub.get("classificationCode"), path, ctx, n_dup, len(df))


# -- trimmed layout (reporter, partner, cmd, flow, value, netwgt) -------------------------
_TRIM = ["reporter", "partner", "cmd", "flow", "value"]


def _detect_trim(path: Path, columns: list[str]) -> bool:
    return {"reporter", "partner", "cmd"} <= set(columns)


def read_comtrade_trim(path: Path, ctx: ReadContext) -> ReadResult:
    """Read the trimmed Comtrade layout ``[year,]reporter,partner,cmd,flow,value,netwgt``
    (M49 codes; the year comes from the file name when there is no ``year`` column)."""
    df = _read_text(path)
    require_columns(list(df.columns), _TRIM, path, "Comtrade (reporter,partner,cmd,flow,value)")
    if "year" in df.columns:
        years = df["year"]
    else:
        year = year_from_name(path.name)
        if year is None:
            raise InputError(
                f"{path}: no year column and no single year in the file name; "
                "add a year column or rename the file (e.g. comtrade_2024.csv)"
            )
        years = pd.Series(str(year), index=df.index)
    flow_ok = df["flow"].str.strip().str.upper().isin(["X", "2", "EXPORT"])
    df = df.assign(_year=years)
    sub, n_dup, lines = _world_exports(df, flow_ok=flow_ok, partner=df["partner"], path=path)
    long = pd.DataFrame(
        {
            "line": lines,
            "year": sub["_year"],
            "exporter": sub["reporter"],
            "hs6": sub["cmd"],
            "value": sub["value"],
            "qty": sub["netwgt"] if "netwgt" in sub.columns else np.nan,
        }
    )
    versions = _versions(None, long["year"], ctx, path.name)
    res = clean_long(
        long, file=display_name(path), ctx=ctx, source="comtrade", hs_version=versions, qty_scale=0.001
    )
    res.duplicates_dropped += n_dup
    res.rows_read = len(df)  # every data row of the file, not only exports to World
    return res


# -- legacy bulk / UI export -------------------------------------------------------------
_LEGACY = ["Year", "Trade Flow Code", "Reporter Code", "Partner Code", "Commodity Code", "Trade Value (US$)"]


def _detect_legacy(path: Path, columns: list[str]) -> bool:
    return {"Reporter Code", "Commodity Code"} <= set(columns) or {
        "Reporter ISO",
        "Trade Value (US$)",
    } <= set(columns)


def read_comtrade_legacy(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a legacy Comtrade export (``Classification, Year, Trade Flow Code,
    Reporter Code, Reporter ISO, Partner Code, Commodity Code, Netweight (kg),
    Trade Value (US$)``); flow code 2 = Export."""
    df = _read_text(path)
    require_columns(list(df.columns), _LEGACY, path, "legacy Comtrade")
    flow_ok = df["Trade Flow Code"].str.strip().eq("2")
    sub, n_dup, lines = _world_exports(df, flow_ok=flow_ok, partner=df["Partner Code"], path=path)
    exporter = _prefer(sub.get("Reporter ISO"), sub["Reporter Code"], ctx)
    long = pd.DataFrame(
        {
            "line": lines,
            "year": sub["Year"],
            "exporter": exporter,
            "hs6": sub["Commodity Code"],
            "value": sub["Trade Value (US$)"],
            "qty": sub["Netweight (kg)"] if "Netweight (kg)" in sub.columns else np.nan,
        }
    )
    return _finish(long, sub.get("Classification"), path, ctx, n_dup, len(df))


register(Reader("comtrade_api", _detect_api, read_comtrade_api, READER_VERSION, 40, "UN Comtrade API v2 CSV"))
register(
    Reader(
        "comtrade_legacy",
        _detect_legacy,
        read_comtrade_legacy,
        READER_VERSION,
        41,
        "UN Comtrade legacy export",
    )
)
register(
    Reader(
        "comtrade_trim",
        _detect_trim,
        read_comtrade_trim,
        READER_VERSION,
        42,
        "UN Comtrade reporter,partner,cmd,flow,value,netwgt",
    )
)


def _finish(
    long: pd.DataFrame,
    classification: pd.Series | None,
    path: Path,
    ctx: ReadContext,
    n_dup: int,
    n_rows: int,
) -> ReadResult:
    """Clean the long table of either Comtrade layout (net weight in kg -> tonnes)."""
    versions = _versions(classification, long["year"], ctx, path.name)
    res = clean_long(
        long, file=display_name(path), ctx=ctx, source="comtrade", hs_version=versions, qty_scale=0.001
    )
    res.duplicates_dropped += n_dup
    res.rows_read = n_rows  # every data row of the file, not only exports to World
    return res
