"""UN Comtrade readers: API v2 CSV, the trimmed ``reporter,partner,cmd,flow`` layout and
the legacy bulk/UI export (``Classification, Year, ..., Trade Value (US$)``).

Comtrade data are reporter-declared. Exporter-level totals are taken from what each
reporter declares as exports (flow ``X`` / code 2 "Export"; re-exports are left out)
to partner World (code 0), never summed over partners, so that a file holding both the
World row and bilateral rows is not double counted. Export rows to a country partner
are bilateral rows: those to a focus importer (``ctx.focus``) and every U.S. export go
to ``flows_focus`` / ``us_exports`` (as declared by the reporter: Comtrade has no
mirror reconciliation, unlike BACI). Exact duplicate rows (Comtrade extracts contain
them) are dropped and counted. A reporter declares one total per year, partner, product
and flow; the API file's breakdowns (second partner, customs procedure, mode of
transport) are told apart by their columns, and in a file without them (the trimmed
layout) the largest row of a key is the total and the others are set aside and counted
(summing them counted copper cathode exports of Bulgaria 2022 3.7 times). Values are
USD; net weight in kg becomes tonnes.

The files are read with DuckDB, every cell as text and checked in SQL (see
:mod:`cclreview.trade.longtable`), so a bad cell in a row the outputs do not use (an
import, a breakdown) does not reject it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from cclreview.errors import InputError
from cclreview.trade.duck import sql_str
from cclreview.trade.duckload import Loaded, drop_raw, load_csv, number_sql, reader_connection, strip_sql
from cclreview.trade.longtable import Country, Layout, Settings, column, read_long
from cclreview.trade.registry import Reader, register
from cclreview.trade.tidy import (
    ReadContext,
    ReadResult,
    display_name,
    hs_version_from_name,
    require_columns,
    year_from_name,
)

log = logging.getLogger(__name__)

READER_VERSION = "4"
_WHAT = "a Comtrade CSV export"


def _upper(name: str) -> str:
    return f"upper({strip_sql(column(name))})"


def _world(partner: str) -> str:
    """Partner World: code 0 (``0.0`` too: it was read as a number) or ``WLD``/``World``."""
    return f"(coalesce({number_sql(strip_sql(column(partner)))} = 0, false) OR {_upper(partner)} IN ('WLD', 'WORLD'))"


def _read(
    path: Path, ctx: ReadContext, required: list[str], what: str, layout_of: Callable[[Loaded], Layout]
) -> ReadResult:
    """Load ``path``, check its columns, and read it with the layout ``layout_of(loaded)``."""
    settings = Settings(
        file=display_name(path),
        source="comtrade",
        hs_version=ctx.hs_version,
        name_version=hs_version_from_name(path.name),
        qty_scale=0.001,
    )
    with reader_connection(ctx) as (con, use_sink):
        try:
            loaded = load_csv(con, path, _WHAT)
            if loaded.rows == 0:
                raise InputError(
                    f"{path} has a header but no rows; re-download it or remove it from the inputs"
                )
            require_columns(loaded.columns, required, path, what)
            res = read_long(con, loaded, layout_of(loaded), settings, ctx, use_sink)
        finally:
            drop_raw(con)
    if res.bilateral is None:
        res.bilateral_note = "no partner detail: every export row of this UN Comtrade file is to World"
    else:
        res.bilateral_note = (
            "partner rows kept as declared by the reporter: exports to the focus importers and "
            "U.S. exports to every partner; exports to the world from the World rows only"
        )
    return res


def _with_iso(loaded: Loaded, iso: str, code: str) -> Country:
    return Country(code, iso if iso in loaded.columns else None)


# -- API v2 -------------------------------------------------------------------------------
_API = ["reporterCode", "flowCode", "partnerCode", "cmdCode", "primaryValue"]


def _detect_api(path: Path, columns: list[str]) -> bool:
    return {"reporterCode", "cmdCode"} <= set(columns)


def read_comtrade_api(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a Comtrade API v2 CSV (``reporterCode, flowCode, partnerCode, cmdCode,
    primaryValue, refYear|period, netWgt, classificationCode``)."""

    def layout(loaded: Loaded) -> Layout:
        cols = loaded.columns
        year_col = "refYear" if "refYear" in cols else "period" if "period" in cols else None
        if year_col is None:
            raise InputError(f"{path}: Comtrade API file without refYear or period column; found {cols}")
        flow_ok = f"{_upper('flowCode')} = 'X'"
        # Breakdowns (2nd partner, customs procedure, mode of transport) would double count.
        for col, total in (("partner2Code", "0"), ("customsCode", "C00"), ("motCode", "0")):
            if col in cols:
                flow_ok += f" AND coalesce({strip_sql(column(col))}, '') IN ({sql_str(total)}, '')"
        return Layout(
            year=f"left({column(year_col)}, 4)",
            exporter=_with_iso(loaded, "reporterISO", "reporterCode"),
            importer=_with_iso(loaded, "partnerISO", "partnerCode"),
            hs6="cmdCode",
            value="primaryValue",
            qty="netWgt" if "netWgt" in cols else None,
            classification="classificationCode" if "classificationCode" in cols else None,
            flow_ok=flow_ok,
            world=_world("partnerCode"),
            one_total=True,
        )

    return _read(path, ctx, _API, "Comtrade API v2", layout)


# -- trimmed layout (reporter, partner, cmd, flow, value, netwgt) -------------------------
_TRIM = ["reporter", "partner", "cmd", "flow", "value"]


def _detect_trim(path: Path, columns: list[str]) -> bool:
    return {"reporter", "partner", "cmd"} <= set(columns)


def read_comtrade_trim(path: Path, ctx: ReadContext) -> ReadResult:
    """Read the trimmed Comtrade layout ``[year,]reporter,partner,cmd,flow,value,netwgt``
    (M49 codes; the year comes from the file name when there is no ``year`` column)."""

    def layout(loaded: Loaded) -> Layout:
        if "year" in loaded.columns:
            year = column("year")
        else:
            from_name = year_from_name(path.name)
            if from_name is None:
                raise InputError(
                    f"{path}: no year column and no single year in the file name; "
                    "add a year column or rename the file (e.g. comtrade_2024.csv)"
                )
            year = sql_str(str(from_name))
        return Layout(
            year=year,
            exporter=Country("reporter"),
            importer=Country("partner"),
            hs6="cmd",
            value="value",
            qty="netwgt" if "netwgt" in loaded.columns else None,
            flow_ok=f"{_upper('flow')} IN ('X', '2', 'EXPORT')",
            world=_world("partner"),
            one_total=True,
        )

    return _read(path, ctx, _TRIM, "Comtrade (reporter,partner,cmd,flow,value)", layout)


# -- legacy bulk / UI export -------------------------------------------------------------
_LEGACY = ["Year", "Trade Flow Code", "Reporter Code", "Partner Code", "Commodity Code", "Trade Value (US$)"]


def _detect_legacy(path: Path, columns: list[str]) -> bool:
    return {"Reporter Code", "Commodity Code"} <= set(columns) or {
        "Reporter ISO",
        "Trade Value (US$)",
    } <= set(columns)


def read_comtrade_legacy(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a legacy Comtrade export (``Classification, Year, Trade Flow Code,
    Reporter Code, Reporter ISO, Partner Code, Partner ISO, Commodity Code,
    Netweight (kg), Trade Value (US$)``); flow code 2 = Export."""

    def layout(loaded: Loaded) -> Layout:
        cols = loaded.columns
        return Layout(
            year=column("Year"),
            exporter=_with_iso(loaded, "Reporter ISO", "Reporter Code"),
            importer=_with_iso(loaded, "Partner ISO", "Partner Code"),
            hs6="Commodity Code",
            value="Trade Value (US$)",
            qty="Netweight (kg)" if "Netweight (kg)" in cols else None,
            classification="Classification" if "Classification" in cols else None,
            flow_ok=f"{strip_sql(column('Trade Flow Code'))} = '2'",
            world=_world("Partner Code"),
            one_total=True,
        )

    return _read(path, ctx, _LEGACY, "legacy Comtrade", layout)


def _reader(
    name: str,
    detect: Callable[[Path, list[str]], bool],
    read: Callable[[Path, ReadContext], ReadResult],
    priority: int,
    description: str,
) -> Reader:
    # Partner detail: the focus importers are part of the cache key.
    return register(Reader(name, detect, read, READER_VERSION, priority, description, bilateral=True))


_reader("comtrade_api", _detect_api, read_comtrade_api, 40, "UN Comtrade API v2 CSV")
_reader("comtrade_legacy", _detect_legacy, read_comtrade_legacy, 41, "UN Comtrade legacy export")
_reader(
    "comtrade_trim",
    _detect_trim,
    read_comtrade_trim,
    42,
    "UN Comtrade reporter,partner,cmd,flow,value,netwgt",
)
