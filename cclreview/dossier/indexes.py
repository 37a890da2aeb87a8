"""The dossier inputs grouped once, as the page sections look them up.

Links sorted per ECCN, supply-side evidence per ECCN (HS6 rows carried to the linked
ECCNs), the indicator row behind each link, and U.S. exports to the focus importers per
HS6 code. :class:`~cclreview.dossier.context.ContextBuilder` builds them once per site.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import pandas as pd

from cclreview.dossier.data import is_missing

log = logging.getLogger(__name__)

#: Importers whose U.S. exports the focus section shows (WLD: the world total).
FOCUS_IMPORTERS = ("CHN", "HKG", "MAC", "RUS", "BLR")


def sorted_links(links: pd.DataFrame | None) -> pd.DataFrame | None:
    """The links with ECCNs cut to five characters, sorted by ECCN, rank and HS6."""
    if links is None:
        return None
    df = links.copy()
    df["eccn"] = df["eccn"].astype(str).str[:5]
    sort = [c for c in ("eccn", "rank", "hs6") if c in df.columns]
    return df.sort_values(sort, kind="stable")


def supply_side(evidence: pd.DataFrame | None, links: pd.DataFrame | None) -> pd.DataFrame | None:
    """Supply-side evidence per ECCN: its own rows, and those given for a linked HS6 code."""
    if evidence is None or evidence.empty:
        return None
    ev = evidence.copy()
    if "eccn" not in ev.columns:
        ev["eccn"] = None
    direct = ev[ev["eccn"].notna() & (ev["eccn"].astype(str) != "")]
    parts = [direct]
    # Evidence given per HS6 applies to every ECCN linked to that code (as scoring reads it).
    if "hs6" in ev.columns and links is not None:
        linked = links[["eccn", "hs6"]].astype(str).drop_duplicates()
        linked["eccn"] = linked["eccn"].str[:5]
        via = ev[~ev.index.isin(direct.index) & ev["hs6"].notna()].drop(columns="eccn")
        parts.append(via.assign(hs6=via["hs6"].astype(str)).merge(linked, on="hs6", how="inner"))
    out = pd.concat(parts, ignore_index=True)
    if "share" in out.columns:
        out = out.sort_values(["eccn", "share"], ascending=[True, False], na_position="last", kind="stable")
    return out


def link_indicators(
    indicators: pd.DataFrame | None,
    links: pd.DataFrame | None,
    avail: dict[tuple[str, int], list[dict[str, Any]]],
) -> pd.DataFrame | None:
    """Per-link indicator rows: the scoring stage's table when present, else re-selected.

    The fallback picks, per (eccn, hs6) link, the latest-year HS6 row, else the
    latest-year row of the HS4 heading (its first four digits), skipping partial
    sources: the rule scoring follows, without the revision look-up of headings
    (the page names the table and year it shows).
    """
    ind = indicators
    need = {"eccn", "hs6", "hs_code", "hs_level"}
    if ind is not None and need <= set(ind.columns):
        df = ind.rename(columns={"indicator_year": "_year", "indicator_source": "_source"}).copy()
        if "_year" not in df.columns and "year" in df.columns:
            df["_year"] = df["year"]
        if "_source" not in df.columns and "source" in df.columns:
            df["_source"] = df["source"]
        keep = [c for c in ("eccn", "hs6", "hs_code", "hs_level", "_year", "_source", "world_exports_usd")
                if c in df.columns]  # fmt: skip
        df = df[keep].copy()
        df["eccn"] = df["eccn"].astype(str).str[:5]
        return df
    if links is None:
        return None
    rows = []
    pairs = links[["eccn", "hs6"]].astype(str).drop_duplicates()
    for eccn, hs6 in zip(pairs["eccn"].str[:5], pairs["hs6"], strict=True):
        best = None
        for key in ((hs6, 6), (hs6[:4], 4)):
            cands = [r for r in avail.get(key, []) if not r.get("partial_source")]
            if cands:
                best = cands[0]  # newest first
                break
        rows.append(
            {
                "eccn": eccn,
                "hs6": hs6,
                "hs_code": best["hs_code"] if best else None,
                "hs_level": best["hs_level"] if best else None,
                "_year": best["year"] if best else None,
                "_source": best.get("source") if best else None,
                "world_exports_usd": best.get("world_exports_usd") if best else None,
            }
        )
    return pd.DataFrame(rows)


def focus_flows(us_exports: pd.DataFrame | None) -> dict[str, dict[tuple[int, str], float]] | None:
    """hs6 -> {(year, importer): U.S. exports} from ``us_exports.parquet``."""
    us = us_exports
    if us is None or us.empty:
        return None
    imp = next((c for c in ("importer_iso3", "importer", "partner_iso3") if c in us.columns), None)
    code = next((c for c in ("hs6", "hs_code") if c in us.columns), None)
    val = next((c for c in ("value_usd", "value") if c in us.columns), None)
    if not (imp and code and val and "year" in us.columns):
        log.warning("us_exports.parquet lacks year/importer/hs6/value columns; focus section left empty")
        return None
    out: dict[str, dict[tuple[int, str], float]] = defaultdict(lambda: defaultdict(float))
    df = us[us[imp].astype(str).isin((*FOCUS_IMPORTERS, "WLD"))]
    if "source_file" in df.columns and len(df):
        # Two files may hold the same flows (one extract as Parquet and as CSV): one
        # file per year and code, never their sum.
        first = df.groupby([code, "year"])["source_file"].transform("min")
        df = df[df["source_file"] == first]
    for c, y, i, v in zip(df[code].astype(str), df["year"], df[imp].astype(str), df[val], strict=True):
        if not is_missing(v):
            out[c][(int(y), i)] += float(v)
    return out
