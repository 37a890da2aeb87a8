"""Generic long trade table (CSV, TSV, Parquet or XLSX) with a user column map.

The map names the file's columns for the canonical fields ``year``, ``exporter``,
``hs6``, ``value_usd`` (required) and ``importer``, ``qty`` (optional), like
``ecomplexity``'s ``cols_input``; on the command line
``--column-map year=Year,exporter=Reporter,hs6=HS,value_usd=Value``. Flows are summed over
importers. Exporters may be ISO3, ISO2, numeric codes or names. Extra map keys
``source`` and ``hs_version`` set those output columns (``source=mydata``); ``value_scale``
multiplies values (``value_scale=1000`` for thousand USD).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb
import pandas as pd

from cclreview.errors import InputError
from cclreview.trade.duckload import Loaded, drop_raw, load_csv, load_frame, load_parquet, reader_connection
from cclreview.trade.longtable import Country, Layout, Settings, column, read_long
from cclreview.trade.registry import Reader, register
from cclreview.trade.tidy import (
    ReadContext,
    ReadResult,
    display_name,
    hs_version_from_name,
    require_columns,
)

READER_VERSION = "3"
REQUIRED_KEYS = ("year", "exporter", "hs6", "value_usd")
OPTIONAL_KEYS = ("importer", "qty")
SETTING_KEYS = ("source", "hs_version", "value_scale")


def parse_column_map(text: str | None) -> dict[str, str] | None:
    """Parse ``"year=Year,exporter=Reporter"`` into a dict, checking the keys.

    Raises
    ------
    InputError
        On a malformed pair or an unknown key.
    """
    if not text:
        return None
    out: dict[str, str] = {}
    for pair in text.split(","):
        if not pair.strip():
            continue
        if "=" not in pair:
            raise InputError(f"column map entry {pair!r} is not key=column; e.g. year=Year,exporter=Reporter")
        key, col = (p.strip() for p in pair.split("=", 1))
        if key not in REQUIRED_KEYS + OPTIONAL_KEYS + SETTING_KEYS:
            raise InputError(
                f"unknown column map key {key!r}; use {list(REQUIRED_KEYS + OPTIONAL_KEYS + SETTING_KEYS)}"
            )
        out[key] = col
    missing = [k for k in REQUIRED_KEYS if k not in out]
    if missing:
        raise InputError(
            f"column map lacks {missing}; it needs {list(REQUIRED_KEYS)} (importer, qty optional)"
        )
    return out


def _load(con: duckdb.DuckDBPyConnection, path: Path) -> Loaded:
    """Load a table as text: CSV/TSV (``.gz`` too) and Parquet with DuckDB, XLSX with
    pandas (no DuckDB extension needed) then handed to DuckDB."""
    name = path.name.lower()
    what = "a CSV, TSV, Parquet or XLSX table"
    if name.endswith(".parquet"):
        return load_parquet(con, path)
    if name.endswith((".xlsx", ".xlsm")):
        try:
            df = pd.read_excel(path, dtype=str, keep_default_na=False)
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot read {path} as a table ({exc}); use CSV, TSV, Parquet or XLSX") from exc
        return load_frame(con, df, path, first_line=2)
    delim = "\t" if name.endswith((".tsv", ".tsv.gz")) else None
    return load_csv(con, path, what, delim)


def _detect(path: Path, columns: list[str]) -> bool:
    # Claims any file when a column map is given (the registry only asks with a map).
    return not path.name.lower().endswith(".zip")


def read_generic(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a long table with ``ctx.column_map`` (see the module docstring)."""
    cmap = ctx.column_map
    if not cmap:
        raise InputError(
            f"{path}: the generic reader needs --column-map year=...,exporter=...,hs6=...,value_usd=..."
        )
    with reader_connection(ctx) as (con, use_sink):
        try:
            loaded = _load(con, path)
            if loaded.rows == 0:
                raise InputError(f"{path} has a header but no rows")
            needed = [cmap[k] for k in REQUIRED_KEYS + OPTIONAL_KEYS if k in cmap]
            require_columns(loaded.columns, needed, path, "generic long table (per --column-map)")
            try:
                scale = float(cmap.get("value_scale", 1.0))
            except ValueError as exc:
                raise InputError(f"column map value_scale={cmap['value_scale']!r} is not a number") from exc
            layout = Layout(
                year=column(cmap["year"]),
                exporter=Country(cmap["exporter"]),
                # Bilateral detail: flows to focus importers, U.S. exports.
                importer=Country(cmap["importer"]) if "importer" in cmap else None,
                hs6=cmap["hs6"],
                value=cmap["value_usd"],
                qty=cmap.get("qty"),
            )
            settings = Settings(
                file=display_name(path),
                source=cmap.get("source", f"generic:{path.stem}"),
                hs_version=ctx.hs_version or cmap.get("hs_version") or hs_version_from_name(path.name),
                value_scale=scale,
            )
            return read_long(con, loaded, layout, settings, ctx, use_sink)
        finally:
            drop_raw(con)


register(Reader("generic", _detect, read_generic, READER_VERSION, 1000, "long table with --column-map", True))
