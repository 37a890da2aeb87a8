"""Readers for heading-level (HS4) export tables: full world tables and top-N tables.

Both produce rows of the tidy ``exports`` table (docs/CONTRACTS.md) with
``hs_level = 4`` and the 4-digit heading in ``hs6`` (plus a ``hs4`` copy):

* :func:`read_hs4_world_table` -- a full exporter x heading table to the world, the
  Open Trade Statistics layout ``reporter_iso, product_code, export_value_usd``
  (lower-case ISO3, HS2007 headings with leading zeros, empty value = no value).
  Rows with an empty value are *not* exports of zero: they are skipped and counted.
  ``source = "otstats"``, ``value_kind = "value"``, ``rank`` = rank by value.
* :func:`read_hs4_top_n` -- a truncated table (OEC/BACI layout): ``year, hs4_hs92,
  hs4_name, rank, exporter_iso2, export_value_usd, value_kind`` where the top N
  exporters have values rounded to 4 significant figures (``value_4sf``) and the
  others only a rank (``rank_only``), plus the products file ``hs4_hs92, hs4_name,
  n_exporters, world_export_usd, n_exporters_with_value``.
  Output ``value_kind`` is ``"value"`` (top N, value given), ``"rank_only"``
  (``value_usd`` empty, ``rank`` given) or ``"world_total"``: one extra row per
  heading with ``exporter_iso3 = "WLD"`` carrying the world total of the products
  file (which includes the exporters without values) -- that total is the only way
  to bound the tail, so it must survive into ``exports.parquet``. ``source =
  "oec_baci_top40"``, ``hs_version = "HS1992"``.

Country codes (ISO2, lower-case ISO3, names) go through the shared
:class:`~cclreview.trade.countries.CountryResolver`; values that do not resolve are
returned in ``unmatched`` (with their rows and values), never dropped silently.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cclreview.errors import InputError
from cclreview.trade.countries import CountryResolver
from cclreview.trade.registry import Reader, register
from cclreview.trade.tidy import EXPORT_COLUMNS as TIDY_EXPORT_COLUMNS
from cclreview.trade.tidy import (
    ReadContext,
    ReadResult,
    empty_exports,
    empty_rejected,
    empty_unmatched,
    finalize_exports,
)

log = logging.getLogger(__name__)

WORLD = "WLD"
OTSTATS_SOURCE = "otstats"
TOPN_SOURCE = "oec_baci_top40"
# The tidy export columns plus the heading and the file each row came from.
EXPORT_COLUMNS = [*TIDY_EXPORT_COLUMNS, "hs4", "source_file"]
_WORLD_COLS = ("reporter_iso", "product_code", "export_value_usd")
_RANK_COLS = ("year", "hs4_hs92", "rank", "exporter_iso2", "export_value_usd", "value_kind")
_PROD_COLS = ("hs4_hs92", "n_exporters", "world_export_usd")


@dataclass
class HS4Read:
    """Result of an HS4 reader: tidy rows, unmatched countries, counts."""

    exports: pd.DataFrame
    unmatched: pd.DataFrame = field(default_factory=pd.DataFrame)
    counts: dict[str, int] = field(default_factory=dict)
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{path} not found; check the path")
    # keep_default_na=False: "NA" is Namibia's ISO2, not a missing value.
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if df.empty:
        raise InputError(f"{path} has no data rows; is it the right file?")
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(
            f"{path}: missing columns {missing}; found {list(df.columns)}; expected {list(required)}"
        )
    return df


def _heading(series: pd.Series, path: Path) -> pd.Series:
    s = series.str.strip().str.replace(r"\.0$", "", regex=True).str.zfill(4)
    bad = ~s.str.fullmatch(r"\d{4}")
    if bad.any():
        i = int(bad.idxmax())
        raise InputError(f"{path} line {i + 2}: heading {series.iloc[i]!r} is not a 4-digit HS code")
    return s


def _numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers (NaN where empty) and a mask of non-numeric or negative cells."""
    s = series.str.strip().replace("", None)
    num = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & (num.isna() | (num < 0))
    return num.astype("float64").where(~bad), bad


def _rejected(df: pd.DataFrame, bad: pd.Series, reason: str, path: Path, cols: list[str]) -> pd.DataFrame:
    """Rows of ``df`` flagged by ``bad`` in the registry's rejected-rows layout."""
    raw = df.loc[bad, cols].astype(str).apply(lambda r: "; ".join(f"{c}={v}" for c, v in r.items()), axis=1)
    return pd.DataFrame(
        {"file": path.name, "line": (df.index[bad] + 2).astype("int64"), "reason": reason, "raw": raw.values}
    )


def _unmatched(raw: pd.Series, iso: pd.Series, values: pd.Series, path: Path) -> pd.DataFrame:
    miss = iso.isna()
    if not miss.any():
        return pd.DataFrame(columns=["value", "count", "value_usd", "file"])
    g = pd.DataFrame({"value": raw[miss], "v": values[miss]}).groupby("value")
    out = pd.DataFrame({"count": g.size(), "value_usd": g["v"].sum()}).reset_index()
    out["file"] = str(path)
    return out


def _year_from_name(path: Path) -> int | None:
    m = re.search(r"(?<!\d)(19\d{2}|20\d{2})(?!\d)", path.name)
    return int(m.group(1)) if m else None


def read_hs4_world_table(
    path: str | os.PathLike[str],
    year: int | None = None,
    hs_version: str = "HS2007",
    source: str = OTSTATS_SOURCE,
    resolver: CountryResolver | None = None,
) -> HS4Read:
    """Read a full exporter x HS4 table to the world (Open Trade Statistics layout).

    Parameters
    ----------
    path
        CSV with ``reporter_iso, product_code, export_value_usd``.
    year
        Year of the table (default: the 4-digit year in the file name).
    hs_version
        HS revision of the headings (OTS: HS2007).
    resolver
        Country resolver (default: a new :class:`CountryResolver`).

    Returns
    -------
    HS4Read
        ``exports`` (one row per exporter x heading with a value; ``rank`` is the
        exporter's rank by value within the heading), ``unmatched`` countries,
        ``counts`` (``rows``, ``empty_values``, ``unmatched_rows``).
    """
    path = Path(path)
    df = _read_csv(path, _WORLD_COLS)
    year = year if year is not None else _year_from_name(path)
    if year is None:
        raise InputError(f"{path}: no year in the file name; pass year=")
    heading = _heading(df["product_code"], path)
    value, bad = _numbers(df["export_value_usd"])
    rejected = _rejected(df, bad, "non-numeric or negative export_value_usd", path, list(_WORLD_COLS))
    resolver = resolver or CountryResolver()
    iso = resolver.resolve_many(df["reporter_iso"].str.strip(), record=False)
    unmatched = _unmatched(df["reporter_iso"], iso, value, path)
    keep = value.notna() & iso.notna()
    out = pd.DataFrame(
        {
            "year": int(year),
            "exporter_iso3": iso[keep].astype(str),
            "hs6": heading[keep],
            "hs4": heading[keep],
            "hs_level": 4,
            "hs_version": hs_version,
            "value_usd": value[keep],
            "qty": float("nan"),
            "source": source,
            "value_kind": "value",
            "source_file": path.name,
        }
    )
    # Sum duplicates (two aliases of one country) before ranking.
    out = out.groupby([c for c in out.columns if c != "value_usd"], as_index=False, sort=False, dropna=False)[
        "value_usd"
    ].sum()
    out["rank"] = out.groupby("hs6")["value_usd"].rank(ascending=False, method="first").astype("Int64")
    counts = {
        "rows": len(df),
        "empty_values": int((value.isna() & ~bad).sum()),
        "rejected": int(bad.sum()),
        "unmatched_rows": int((iso.isna()).sum()),
        "rows_out": len(out),
    }
    log.info(
        "%s: %d rows, %d empty values skipped, %d kept", path.name, len(df), counts["empty_values"], len(out)
    )
    return HS4Read(out[EXPORT_COLUMNS].reset_index(drop=True), unmatched, counts, rejected)


def read_hs4_top_n(
    ranks_path: str | os.PathLike[str],
    products_path: str | os.PathLike[str] | None = None,
    hs_version: str = "HS1992",
    source: str = TOPN_SOURCE,
    resolver: CountryResolver | None = None,
) -> HS4Read:
    """Read a truncated top-N HS4 table and its per-heading world totals.

    Parameters
    ----------
    ranks_path
        Exporter ranks CSV (``year, hs4_hs92, rank, exporter_iso2,
        export_value_usd, value_kind``; ``value_4sf`` or ``rank_only``).
    products_path
        Per-heading totals (``hs4_hs92, n_exporters, world_export_usd``); default: the
        sibling file whose name ends in ``_products.csv`` instead of
        ``_exporter_ranks.csv``. Without it no world totals (and no bounds) exist, so a
        missing file is an error.

    Returns
    -------
    HS4Read
        ``exports`` rows with ``value_kind`` ``value|rank_only|world_total`` (the
        world total row has ``exporter_iso3 = "WLD"`` and also carries
        ``n_exporters``), ``unmatched`` countries, ``counts``.
    """
    ranks_path = Path(ranks_path)
    if products_path is None:
        products_path = ranks_path.with_name(ranks_path.name.replace("_exporter_ranks", "_products"))
    products_path = Path(products_path)
    ranks = _read_csv(ranks_path, _RANK_COLS)
    if not products_path.is_file():
        raise InputError(
            f"{ranks_path}: the per-heading world totals file {products_path} is missing; "
            "put it beside the ranks file or pass products_path="
        )
    prods = _read_csv(products_path, _PROD_COLS)
    kind = ranks["value_kind"].str.strip()
    unknown = ~kind.isin(["value_4sf", "rank_only", "value"])
    if unknown.any():
        i = int(unknown.idxmax())
        raise InputError(
            f"{ranks_path} line {i + 2}: value_kind {kind.iloc[i]!r}; expected value_4sf or rank_only"
        )
    heading = _heading(ranks["hs4_hs92"], ranks_path)
    value, bad_value = _numbers(ranks["export_value_usd"])
    rank = pd.to_numeric(ranks["rank"].str.strip(), errors="coerce")
    has_value = kind != "rank_only"
    reasons = [
        (bad_value, "non-numeric or negative export_value_usd"),
        (rank.isna() & ~bad_value, "rank is not a number"),
        (has_value & value.isna() & ~bad_value & rank.notna(), "value_4sf row without export_value_usd"),
    ]
    rejected = pd.concat(
        [_rejected(ranks, m, why, ranks_path, list(_RANK_COLS)) for m, why in reasons if m.any()]
        or [pd.DataFrame(columns=["file", "line", "reason", "raw"])],
        ignore_index=True,
    )
    bad_row = reasons[0][0] | reasons[1][0] | reasons[2][0]
    resolver = resolver or CountryResolver()
    iso = resolver.resolve_many(ranks["exporter_iso2"].str.strip(), record=False)
    unmatched = _unmatched(ranks["exporter_iso2"], iso, value, ranks_path)
    years = pd.to_numeric(ranks["year"], errors="coerce")
    if years.isna().any():
        i = int(years.isna().idxmax())
        raise InputError(f"{ranks_path} line {i + 2}: year {ranks['year'].iloc[i]!r} is not a number")
    keep = iso.notna() & ~bad_row
    out = pd.DataFrame(
        {
            "year": years[keep].astype("int64"),
            "exporter_iso3": iso[keep].astype(str),
            "hs6": heading[keep],
            "hs4": heading[keep],
            "hs_level": 4,
            "hs_version": hs_version,
            "value_usd": value[keep].where(has_value[keep]),
            "qty": float("nan"),
            "source": source,
            "value_kind": has_value[keep].map({True: "value", False: "rank_only"}),
            "rank": rank[keep].astype("Int64"),
            "source_file": ranks_path.name,
        }
    )
    # World totals: one row per heading (and year of the ranks file).
    p_head = _heading(prods["hs4_hs92"], products_path)
    world, bad_world = _numbers(prods["world_export_usd"])
    if bad_world.any():
        i = int(bad_world.idxmax())
        raise InputError(
            f"{products_path} line {i + 2}: world_export_usd {prods['world_export_usd'].iloc[i]!r} "
            "is not a non-negative number; the heading's bounds depend on it, fix the file"
        )
    n_exp = pd.to_numeric(prods["n_exporters"], errors="coerce").astype("Int64")
    year_of = pd.Series(years.values, index=heading.values).groupby(level=0).max()
    no_year = ~p_head.isin(year_of.index)
    if no_year.any():
        log.warning(
            "%s: %d headings have totals but no ranked exporters (%s); they are kept without rows",
            products_path.name,
            int(no_year.sum()),
            ", ".join(p_head[no_year].head(5)),
        )
    fallback_year = int(years.max())
    wt = pd.DataFrame(
        {
            "year": p_head.map(year_of).fillna(fallback_year).astype("int64"),
            "exporter_iso3": WORLD,
            "hs6": p_head,
            "hs4": p_head,
            "hs_level": 4,
            "hs_version": hs_version,
            "value_usd": world,
            "qty": float("nan"),
            "source": source,
            "value_kind": "world_total",
            "rank": pd.array([pd.NA] * len(p_head), dtype="Int64"),
            # Same file label as the ranked rows: the two files form one source unit.
            "source_file": ranks_path.name,
            "n_exporters": n_exp,
        }
    )
    out["n_exporters"] = pd.array([pd.NA] * len(out), dtype="Int64")
    res = pd.concat([out, wt], ignore_index=True)
    counts = {
        "rows": len(ranks),
        "value_rows": int(has_value.sum()),
        "rank_only_rows": int((~has_value).sum()),
        "headings": len(prods),
        "unmatched_rows": int(iso.isna().sum()),
        "rejected": len(rejected),
    }
    log.info("%s: %d ranked rows, %d headings with world totals", ranks_path.name, len(ranks), len(prods))
    return HS4Read(res[[*EXPORT_COLUMNS, "n_exporters"]], unmatched, counts, rejected)


# ------------------------------------------------------------------- registry glue
_OTS_COLS = set(_WORLD_COLS)
_RANKS_COLS = {"hs4_hs92", "rank", "exporter_iso2", "value_kind"}
_PRODUCTS_COLS = {"hs4_hs92", "world_export_usd", "n_exporters"}
READER_VERSION = "1"


def _registry_result(res: HS4Read, path: Path, ctx: ReadContext) -> ReadResult:
    exports = res.exports
    if ctx.years:
        exports = exports[exports["year"].isin(ctx.years)]
    um = res.unmatched
    if not um.empty:
        um = pd.DataFrame(
            {
                "value": um["value"],
                "source_file": path.name,
                "rows": um["count"],
                "value_usd": um["value_usd"],
                "status": [ctx.resolver.match(v).status for v in um["value"]],
                "candidates": [ctx.resolver.candidates(v) for v in um["value"]],
            }
        )
    else:
        um = empty_unmatched()
    rej = res.rejected if not res.rejected.empty else empty_rejected()
    return ReadResult(finalize_exports(exports), rej, um, rows_read=int(res.counts.get("rows", 0)))


def _read_world(path: Path, ctx: ReadContext) -> ReadResult:
    return _registry_result(
        read_hs4_world_table(path, hs_version=ctx.hs_version or "HS2007", resolver=ctx.resolver), path, ctx
    )


def _read_top_n(path: Path, ctx: ReadContext) -> ReadResult:
    return _registry_result(
        read_hs4_top_n(path, hs_version=ctx.hs_version or "HS1992", resolver=ctx.resolver), path, ctx
    )


def _read_products(path: Path, ctx: ReadContext) -> ReadResult:
    # World totals are read together with their ranks file; alone they are no exports.
    rows = len(pd.read_csv(path, dtype=str, keep_default_na=False))
    return ReadResult(
        empty_exports(),
        empty_rejected(),
        empty_unmatched(),
        rows_read=rows,
        notes=[f"{path.name}: per-heading world totals, read with the matching *_exporter_ranks.csv"],
    )


register(
    Reader(
        "otstats_hs4",
        lambda p, cols: set(cols) >= _OTS_COLS,
        _read_world,
        READER_VERSION,
        40,
        "Full exporter x HS4 world table (Open Trade Statistics layout)",
    )
)
register(
    Reader(
        "oec_hs4_top_n",
        lambda p, cols: set(cols) >= _RANKS_COLS,
        _read_top_n,
        READER_VERSION,
        41,
        "Truncated top-N HS4 table with ranks (OEC/BACI layout) plus its _products.csv totals",
    )
)
register(
    Reader(
        "oec_hs4_products",
        lambda p, cols: set(cols) >= _PRODUCTS_COLS and "exporter_iso2" not in cols,
        _read_products,
        READER_VERSION,
        42,
        "Per-heading world totals of a top-N table (consumed by oec_hs4_top_n)",
    )
)
