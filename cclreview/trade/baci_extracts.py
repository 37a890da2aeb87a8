"""Readers of the mirror's BACI extracts (Parquet with ISO3 codes; ``i,j,cmd,value`` CSV).

Small tables: read with pandas and cleaned by :func:`~cclreview.trade.tidy.clean_long`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cclreview.errors import InputError
from cclreview.trade.baci import READER_VERSION, release_label
from cclreview.trade.registry import Reader, register, sniff_layout
from cclreview.trade.tidy import (
    ReadContext,
    ReadResult,
    clean_long,
    display_name,
    hs_in_force,
    hs_version_from_name,
    require_columns,
    year_from_name,
)

_EXTRACT_PARQUET = ["year", "exporter", "hs6", "value_kusd"]


def _detect_extract_parquet(path: Path, columns: list[str]) -> bool:
    return {"exporter", "hs6", "value_kusd"} <= set(columns)


def read_baci_extract_parquet(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a BACI bilateral extract in Parquet (``year, exporter, importer, hs6,
    value_kusd, qty_t``, ISO3 exporters, thousand USD, tonnes)."""
    df = pd.read_parquet(path)
    require_columns(list(df.columns), _EXTRACT_PARQUET, path, "BACI extract (parquet)")
    long = pd.DataFrame(
        {
            "line": np.arange(1, len(df) + 1),  # row number (Parquet has no lines)
            "year": df["year"],
            "exporter": df["exporter"],
            "hs6": df["hs6"],
            "value": df["value_kusd"],
            "qty": df["qty_t"] if "qty_t" in df.columns else np.nan,
        }
    )
    if "importer" in df.columns:
        long["importer"] = df["importer"]
    version = ctx.hs_version or hs_version_from_name(path.name) or "HS2017"
    return clean_long(
        long,
        file=display_name(path),
        ctx=ctx,
        source=release_label(path.name),
        hs_version=version,
        value_scale=1000.0,
    )


def _detect_extract_usd(path: Path, columns: list[str]) -> bool:
    return [c.lower() for c in columns] == ["i", "j", "cmd", "value"]


def read_baci_extract_usd(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a BACI extract ``i,j,cmd,value`` (ISO3 codes, value in USD, year in the name)."""
    _, delim = sniff_layout(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, sep=delim, encoding="utf-8-sig")
    require_columns(list(df.columns), ["i", "j", "cmd", "value"], path, "BACI extract (i,j,cmd,value)")
    year = year_from_name(path.name)
    if year is None:
        raise InputError(
            f"{path}: an i,j,cmd,value file has no year column and its name has no single year; "
            "rename it with the year (e.g. ..._2024_usd.csv)"
        )
    long = pd.DataFrame(
        {
            "line": np.arange(2, len(df) + 2),
            "year": year,
            "exporter": df["i"],
            "importer": df["j"],
            "hs6": df["cmd"],
            "value": df["value"],
        }
    )
    version = ctx.hs_version or hs_version_from_name(path.name) or hs_in_force(year)
    return clean_long(
        long, file=display_name(path), ctx=ctx, source=release_label(path.name), hs_version=version
    )


register(
    Reader(
        "baci_extract_parquet",
        _detect_extract_parquet,
        read_baci_extract_parquet,
        READER_VERSION,
        30,
        "BACI bilateral extract (parquet, ISO3, thousand USD)",
        True,
    )
)
register(
    Reader(
        "baci_extract_usd",
        _detect_extract_usd,
        read_baci_extract_usd,
        READER_VERSION,
        30,
        "BACI extract i,j,cmd,value (ISO3, USD)",
        True,
    )
)
