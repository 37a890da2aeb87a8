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

from pathlib import Path

import numpy as np
import pandas as pd

from cclreview.errors import InputError
from cclreview.trade.registry import Reader, register, sniff_layout
from cclreview.trade.tidy import (
    ReadContext,
    ReadResult,
    clean_long,
    display_name,
    hs_in_force,
    hs_version_from_name,
    require_columns,
)

READER_VERSION = "2"
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


def _read_any(path: Path) -> tuple[pd.DataFrame, int]:
    """Read a table as text; returns the frame and the line number of its first row."""
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            df = pd.read_parquet(path)
            return df.astype("string"), 1
        if name.endswith((".xlsx", ".xlsm")):
            return pd.read_excel(path, dtype=str, keep_default_na=False), 2
        sep = "\t" if name.endswith((".tsv", ".tsv.gz")) else sniff_layout(path)[1]
        df = pd.read_csv(
            path, dtype=str, keep_default_na=False, sep=sep, encoding="utf-8-sig", compression="infer"
        )
        return df, 2
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"cannot read {path} as a table ({exc}); use CSV, TSV, Parquet or XLSX") from exc


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
    df, first_line = _read_any(path)
    if df.empty:
        raise InputError(f"{path} has a header but no rows")
    needed = [cmap[k] for k in REQUIRED_KEYS + OPTIONAL_KEYS if k in cmap]
    require_columns(list(df.columns), needed, path, "generic long table (per --column-map)")
    long = pd.DataFrame(
        {
            "line": np.arange(first_line, first_line + len(df)),
            "year": df[cmap["year"]],
            "exporter": df[cmap["exporter"]],
            "hs6": df[cmap["hs6"]],
            "value": df[cmap["value_usd"]],
            "qty": df[cmap["qty"]] if "qty" in cmap else np.nan,
        }
    )
    if "importer" in cmap:  # bilateral detail: flows to focus importers, U.S. exports
        long["importer"] = df[cmap["importer"]]
    try:
        scale = float(cmap.get("value_scale", 1.0))
    except ValueError as exc:
        raise InputError(f"column map value_scale={cmap['value_scale']!r} is not a number") from exc
    version = ctx.hs_version or cmap.get("hs_version") or hs_version_from_name(path.name)
    if version is None:
        years = pd.to_numeric(long["year"], errors="coerce")
        version = years.map(lambda y: hs_in_force(int(y)) if y == y else None)
    return clean_long(
        long,
        file=display_name(path),
        ctx=ctx,
        source=cmap.get("source", f"generic:{path.stem}"),
        hs_version=version,
        value_scale=scale,
    )


register(Reader("generic", _detect, read_generic, READER_VERSION, 1000, "long table with --column-map", True))
