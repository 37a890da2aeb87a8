"""China indicators aggregated to the ECCN.

Every link of an ECCN to an HS code carries a weight ``w = confidence x specificity``
(``specificity`` from the links table when present, else 1.0; a link whose
``confirmed`` column is False is not evidence and gets weight 0). Per link the
indicator row is the one scoring uses (:func:`cclreview.indicators.indicators_for_links`:
HS6 data if any, else the HS4 heading; latest year); links whose world exports are
below ``suppliers.min_world_exports_usd`` are not used. Then, per ECCN:

* ``china_share`` = sum(w x China's share of world exports) / sum(w);
* ``china_rank`` = China's rank among the exporters of the link with the largest
  weight (ties: HS6 before HS4, then the later year, then the larger world exports);
  ``china_rank_of`` says "1 of 182 (850511, HS6 2024)";
* ``china_share_trend`` = sum(w x (last - first share)) / sum(w) over links whose code
  has at least two years in the same source; ``china_trend`` says it in words;
* ``chinese_producers``: producers (or China's country share) named for the ECCN, or
  for an HS6 code it links to, in supply-side ``evidence.parquet``;
* ``china_basis``: the code, granularity, year and source behind each of the three
  heaviest links;
* ``available_inside_china`` in [0, 1] (empty when there is no data):
  max(trade score, producer score), trade score = mean of
  min(1, china_share / china_share_full) and min(1, china_rank_full / china_rank),
  producer score = ``producer_score`` when Chinese producers are named;
* ``china_evidence_strength`` = max over links of w x granularity factor x recency
  (the ``[evidence]`` factors of scoring), at least ``evidence.supply_side_strength``
  when Chinese producers are named;
* ``outside_china_regime_share``: share of non-U.S. exports from countries outside the
  entry's regime(s) and other than China (min over the regimes; Wassenaar when none);
* the commercial stake, from ``china_hs.parquet`` (latest year per code):
  ``china_imports_usd`` = sum(w x China's imports), ``us_exports_usd`` =
  sum(w x U.S. exports), ``us_share_china_imports`` = sum(w x U.S. share of China's
  imports) / sum(w), ``us_share_world`` = sum(w x U.S. share of world exports) / sum(w),
  ``top_suppliers_to_china`` (weighted supplier shares), ``stake_basis``
  ("bilateral", "world exports only" or empty), ``stake_year``;
* ``diversion_flags``: the linked codes on each diversion list, e.g.
  "CHPL Tier 3A: 850511; 746 Supp. No. 4: 12 codes".

Dollar figures are weighted sums (w scales a whole HS line down to the part that is
plausibly the controlled item); shares are weighted means, never value-weighted, so a
broad heading cannot swamp a specific line. An HS line is still broader than the
controlled item: every figure is an upper bound for the item itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cclreview.china.lists import flags_by_code
from cclreview.score.weights import Weights

log = logging.getLogger(__name__)

CHINA = "CHN"

#: Columns this module adds to ``scores.parquet``.
ECCN_COLUMNS = (
    "available_inside_china",
    "china_evidence_strength",
    "china_share",
    "china_rank",
    "china_rank_of",
    "china_share_trend",
    "china_trend",
    "chinese_producers",
    "china_basis",
    "outside_china_regime_share",
    "china_imports_usd",
    "us_share_china_imports",
    "us_share_world",
    "us_exports_usd",
    "top_suppliers_to_china",
    "stake_basis",
    "stake_year",
    "diversion_flags",
)

#: ``availability_hs`` column with the share of non-U.S. exports outside each regime.
REGIME_COLUMN = {
    "wassenaar": "share_outside_regime",
    "mtcr": "share_outside_mtcr",
    "nsg": "share_outside_nsg",
    "australia_group": "share_outside_ag",
}
#: Regimes China belongs to (its exports count as inside these).
CHINA_REGIMES = frozenset({"nsg"})


def link_weights(links: pd.DataFrame) -> pd.DataFrame:
    """One row per (eccn, hs6) with ``w = confidence x specificity`` (max over paragraphs)."""
    df = links.copy()
    df["eccn"] = df["eccn"].astype(str).str[:5]
    df["hs6"] = df["hs6"].astype(str)
    conf = pd.to_numeric(df.get("confidence", 1.0), errors="coerce")
    spec = pd.to_numeric(df["specificity"], errors="coerce") if "specificity" in df.columns else 1.0
    df["w"] = (
        pd.Series(conf, index=df.index).fillna(0.0) * pd.Series(spec, index=df.index).fillna(1.0)
    ).clip(0, 1)
    if "confirmed" in df.columns:
        df.loc[df["confirmed"].astype("boolean").fillna(True).eq(False), "w"] = 0.0
    df = df.sort_values(["eccn", "hs6", "w"], ascending=[True, True, False], kind="stable")
    return df.drop_duplicates(["eccn", "hs6"]).reset_index(drop=True)


def china_rank_table(exports: pd.DataFrame) -> pd.DataFrame:
    """China's rank among exporters per (hs code, hs_level, year, source_file).

    Uses the table's own ``rank`` column where it has one (top-N tables rank exporters
    they give no value for), else ranks by value; world totals (``WLD``) are skipped.
    """
    ex = exports[exports["exporter_iso3"].astype(str) != "WLD"]
    if "value_kind" in ex.columns:
        ex = ex[ex["value_kind"].astype(str).isin(["value", "rank_only"])]
    keys = ["hs6", "hs_level", "year", "source_file"]
    ex = ex[keys + ["exporter_iso3", "value_usd"] + (["rank"] if "rank" in ex.columns else [])].copy()
    ex["hs6"] = ex["hs6"].astype(str)
    ex["source_file"] = ex["source_file"].astype(str)
    ex["value_usd"] = pd.to_numeric(ex["value_usd"], errors="coerce").fillna(0.0)
    ex = ex.groupby([*keys, "exporter_iso3"], as_index=False, observed=True).agg(
        value_usd=("value_usd", "sum"),
        given=("rank", "min") if "rank" in ex.columns else ("value_usd", "size"),
    )
    if "rank" not in exports.columns:
        ex["given"] = np.nan
    ex["by_value"] = ex.groupby(keys, observed=True)["value_usd"].rank(ascending=False, method="min")
    n = ex.groupby(keys, observed=True)["exporter_iso3"].transform("size")
    ex["china_n_exporters"] = n
    chn = ex[ex["exporter_iso3"].astype(str) == CHINA].copy()
    chn["china_rank"] = pd.to_numeric(chn["given"], errors="coerce").fillna(chn["by_value"])
    chn = chn.rename(columns={"hs6": "hs_code"})
    return chn[["hs_code", "hs_level", "year", "source_file", "china_rank", "china_n_exporters"]]


def _trend_table(availability: pd.DataFrame) -> pd.DataFrame:
    """Per (hs_code, hs_level, source): first/last year and China's share in each."""
    a = availability[availability["china_share"].notna()][
        ["hs_code", "hs_level", "source", "year", "china_share"]
    ].copy()
    a["source"] = a["source"].astype(str)
    a = a.sort_values("year", kind="stable")
    g = a.groupby(["hs_code", "hs_level", "source"], observed=True)
    t = g.agg(
        first_year=("year", "first"),
        last_year=("year", "last"),
        first_share=("china_share", "first"),
        last_share=("china_share", "last"),
    ).reset_index()
    return t[t["last_year"] > t["first_year"]]


def _producers(evidence: pd.DataFrame | None, eccn: str, codes: set[str]) -> list[str]:
    if evidence is None or evidence.empty or "country_iso3" not in evidence.columns:
        return []
    ev = evidence[evidence["country_iso3"].astype(str) == CHINA]
    # A row naming an ECCN speaks for that ECCN only; a row with an HS6 code and no
    # ECCN speaks for every ECCN linked to the code (an item sharing an HS line with
    # another ECCN is not evidence for it).
    has_eccn = ev["eccn"].notna() if "eccn" in ev.columns else pd.Series(False, index=ev.index)
    hit = has_eccn & ev["eccn"].astype(str).str[:5].eq(eccn) if "eccn" in ev.columns else has_eccn
    if "hs6" in ev.columns:
        hit = hit | (~has_eccn & ev["hs6"].astype(str).isin(codes))
    names: list[str] = []
    for rec in ev[hit].to_dict("records"):
        name = rec.get("producer")
        if not isinstance(name, str) or not name.strip():
            share = rec.get("share")
            name = (
                f"China (country share {share:.0%})"
                if isinstance(share, float) and share == share
                else "China"
            )
        if name not in names:
            names.append(name.strip())
    return names


def diversion_text(codes: list[str], flags: dict[str, list[str]], max_codes: int = 4) -> str:
    """``"CHPL Tier 1: 854231; 746 Supp. No. 4: 12 codes"``: codes per list, counted when many."""
    by_list: dict[str, list[str]] = {}
    for code in codes:
        for label in flags.get(code, []):
            by_list.setdefault(label, []).append(code)
    parts = []
    for label in sorted(by_list, key=lambda x: (not x.startswith("CHPL"), x)):
        found = by_list[label]
        what = ", ".join(found) if len(found) <= max_codes else f"{len(found)} codes"
        parts.append(f"{label}: {what}")
    return "; ".join(parts)


def _wmean(values: pd.Series, w: pd.Series) -> float:
    ok = values.notna() & (w > 0)
    return float((values[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else np.nan


def _regime_share(rows: pd.DataFrame, regimes: list[str]) -> pd.Series:
    """Per link: share of non-U.S. exports outside every regime of the entry and not China."""
    regs = [r for r in regimes if r in REGIME_COLUMN] or ["wassenaar"]
    china_of_non_us = pd.to_numeric(rows.get("china_exports_usd"), errors="coerce") / pd.to_numeric(
        rows.get("non_us_exports_usd"), errors="coerce"
    ).replace(0, np.nan)
    out = pd.Series(np.inf, index=rows.index)
    for r in regs:
        col = REGIME_COLUMN[r]
        s = (
            pd.to_numeric(rows[col], errors="coerce")
            if col in rows.columns
            else pd.Series(np.nan, index=rows.index)
        )
        if r not in CHINA_REGIMES:
            s = s - china_of_non_us.fillna(0.0)
        out = pd.Series(np.fmin(out, s), index=rows.index)
    return out.replace(np.inf, np.nan).clip(0, 1)


@dataclass
class ChinaTables:
    """The optional processed tables the China lens reads (None: absent)."""

    #: ``exports.parquet``: China's rank among the exporters.
    exports: pd.DataFrame | None = None
    #: ``china_hs.parquet``: the commercial stake.
    china_hs: pd.DataFrame | None = None
    #: ``evidence.parquet``: Chinese producers.
    evidence: pd.DataFrame | None = None
    #: ``diversion_hs.parquet``: the diversion lists.
    diversion: pd.DataFrame | None = None
    #: ``eccn_controls.parquet``: the China effect of each control.
    controls: pd.DataFrame | None = None


def aggregate_china(
    eccns: list[str],
    link_rows: pd.DataFrame,
    availability: pd.DataFrame,
    weights: Weights,
    tables: ChinaTables | None = None,
    regimes: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """The per-ECCN China columns (:data:`ECCN_COLUMNS`), indexed by ``eccn``.

    Parameters
    ----------
    eccns
        Every ECCN to return a row for (ECCNs without links get empty values).
    link_rows
        Links with their indicator row and weight ``w`` (:func:`link_rows_for`).
    availability
        ``availability_hs`` (for trends).
    weights
        ``[china_relief]`` saturation points, ``[suppliers]`` floor, ``[evidence]`` factors.
    tables
        Optional tables: China's rank, the commercial stake, Chinese producers, diversion lists.
    regimes
        ECCN -> regime keys (outside-regime share).
    """
    t = tables or ChinaTables()
    exports, china_hs, evidence, diversion = t.exports, t.china_hs, t.evidence, t.diversion
    cr = weights.china_relief
    ev_w = weights.evidence
    ranks = china_rank_table(exports) if exports is not None and len(exports) else None
    trends = _trend_table(availability)
    flags = flags_by_code(diversion) if diversion is not None and len(diversion) else {}
    ref_year = ev_w.reference_year or int(pd.to_numeric(availability["year"], errors="coerce").max())
    rows = link_rows.copy()
    if ranks is not None and len(rows):
        rows = rows.merge(ranks, on=["hs_code", "hs_level", "year", "source_file"], how="left")
    else:
        rows["china_rank"] = np.nan
        rows["china_n_exporters"] = np.nan
    if len(rows):
        rows = rows.merge(
            trends.rename(columns={"source": "_src"}),
            left_on=["hs_code", "hs_level", "source_avail"],
            right_on=["hs_code", "hs_level", "_src"],
            how="left",
        )
    stake = None
    if china_hs is not None and len(china_hs):
        stake = china_hs.sort_values("year").drop_duplicates("hs6", keep="last").set_index("hs6")
    out: dict[str, dict[str, Any]] = {}
    groups = dict(tuple(rows.groupby("eccn", sort=False))) if len(rows) else {}
    for eccn in eccns:
        rec: dict[str, Any] = dict.fromkeys(ECCN_COLUMNS)
        g = groups.get(eccn)
        all_codes = set(g["hs6"]) if g is not None else set()
        if g is not None:
            g = g[g["w"] > 0]
        rec["diversion_flags"] = diversion_text(sorted(set(g["hs6"]) if g is not None else set()), flags)
        producers = _producers(evidence, eccn, all_codes)
        rec["chinese_producers"] = ", ".join(producers)
        usable = (
            g[
                pd.to_numeric(g["world_exports_usd"], errors="coerce").fillna(0)
                >= weights.suppliers.min_world_exports_usd
            ]
            if g is not None
            else None
        )
        strength = np.nan
        trade_score = np.nan
        if usable is not None and len(usable):
            w = usable["w"]
            share = _wmean(pd.to_numeric(usable["china_share"], errors="coerce"), w)
            rec["china_share"] = share
            lead = (
                usable.assign(
                    _six=(usable["granularity"] == "HS6").astype(int),
                    _world=pd.to_numeric(usable["world_exports_usd"]),
                )
                .sort_values(["w", "_six", "year", "_world"], ascending=False, kind="stable")
                .iloc[0]
            )
            rank = lead.get("china_rank")
            if pd.notna(rank):
                rec["china_rank"] = int(rank)
                n_exp = lead.get("china_n_exporters")
                of = f" of {int(n_exp)}" if pd.notna(n_exp) else ""
                rec["china_rank_of"] = (
                    f"{int(rank)}{of} ({lead['hs_code']}, {lead['granularity']} {int(lead['year'])})"
                )
            has_t = usable["last_year"].notna()
            if has_t.any():
                d = pd.to_numeric(usable["last_share"], errors="coerce") - pd.to_numeric(
                    usable["first_share"], errors="coerce"
                )
                rec["china_share_trend"] = _wmean(d.where(has_t), w)
                y0, y1 = int(usable.loc[has_t, "first_year"].min()), int(usable.loc[has_t, "last_year"].max())
                rec["china_trend"] = (
                    f"{rec['china_share_trend'] * 100:+.1f} pp {y0}-{y1} ({int(has_t.sum())} of {len(usable)} links)"
                )
            rec["outside_china_regime_share"] = _wmean(
                _regime_share(usable, (regimes or {}).get(eccn, [])), w
            )
            gran = np.where(usable["granularity"] == "HS6", 1.0, ev_w.hs4_factor)
            age = (ref_year - pd.to_numeric(usable["year"], errors="coerce")).clip(lower=0).fillna(0)
            recency = np.maximum(ev_w.recency_floor, 1 - ev_w.recency_decay_per_year * age)
            strength = float((w * gran * recency).max())
            basis = usable.sort_values("w", ascending=False, kind="stable").head(3)
            rec["china_basis"] = "; ".join(
                f"{r['hs_code']} {r['granularity']} {int(r['year'])} {str(r['source_avail']).split(':')[0]} (w {r['w']:.2f})"
                for r in basis.to_dict("records")
            )
            if pd.notna(share):
                s1 = min(1.0, share / cr.china_share_full)
                s2 = min(1.0, cr.china_rank_full / rec["china_rank"]) if rec["china_rank"] else np.nan
                trade_score = float(np.nanmean([s1, s2]))
            # Commercial stake: U.S. share of world exports for every usable link.
            us_w = pd.to_numeric(usable["us_exports_usd"], errors="coerce") / pd.to_numeric(
                usable["world_exports_usd"], errors="coerce"
            )
            rec["us_share_world"] = _wmean(us_w, w)
        if g is not None and len(g) and stake is not None:
            st = g[["hs6", "w"]].join(stake, on="hs6", how="inner")
            bil = st[st["stake_basis"] == "bilateral"]
            if len(bil):
                rec["stake_basis"] = "bilateral"
                rec["china_imports_usd"] = float((bil["w"] * bil["china_imports_usd"]).sum())
                rec["us_share_china_imports"] = _wmean(bil["china_imports_us_share"], bil["w"])
                rec["stake_year"] = int(bil["year"].max())
                sup: dict[str, float] = {}
                for ws, lst in zip(bil["w"], bil["supplier_shares_to_china"], strict=True):
                    for item in list(lst):
                        k, v = str(item).split("=")
                        sup[k] = sup.get(k, 0.0) + ws * float(v)
                tot = float(bil["w"].sum())
                top = sorted(sup.items(), key=lambda kv: -kv[1])[:5]
                rec["top_suppliers_to_china"] = "; ".join(f"{k} {v / tot:.0%}" for k, v in top)
            elif len(st):
                rec["stake_basis"] = "world exports only"
                rec["stake_year"] = int(st["year"].max())
            us_ex = st["us_exports_usd"]
            if us_ex.notna().any():
                rec["us_exports_usd"] = float((st["w"] * us_ex.fillna(0)).sum())
        if rec["us_exports_usd"] is None and usable is not None and len(usable):
            us_ex = pd.to_numeric(usable["us_exports_usd"], errors="coerce")
            if us_ex.notna().any() and (usable["granularity"] == "HS6").any():
                rec["us_exports_usd"] = float((usable["w"] * us_ex.fillna(0)).sum())
                rec["stake_basis"] = rec["stake_basis"] or "world exports only"
        prod_score = np.nan
        if producers:
            prod_score = cr.producer_score
            strength = (
                max(strength, ev_w.supply_side_strength)
                if strength == strength
                else ev_w.supply_side_strength
            )
        if trade_score == trade_score or prod_score == prod_score:
            rec["available_inside_china"] = float(np.nanmax([trade_score, prod_score]))
            rec["china_evidence_strength"] = strength
        out[eccn] = rec
    df = pd.DataFrame.from_dict(out, orient="index", columns=list(ECCN_COLUMNS))
    df.index.name = "eccn"
    for c in ("diversion_flags", "chinese_producers", "china_basis", "china_rank_of", "china_trend",
              "top_suppliers_to_china", "stake_basis"):  # fmt: skip
        df[c] = df[c].fillna("").astype(str)
    for c in ("available_inside_china", "china_evidence_strength", "china_share", "china_share_trend",
              "outside_china_regime_share", "china_imports_usd", "us_share_china_imports", "us_share_world",
              "us_exports_usd"):  # fmt: skip
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in ("china_rank", "stake_year"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    return df


def link_rows_for(links: pd.DataFrame, availability: pd.DataFrame) -> pd.DataFrame:
    """Links with weights ``w`` and their indicator row (the one scoring uses)."""
    from cclreview.indicators import indicators_for_links

    lw = link_weights(links)
    if lw.empty:
        return lw.assign(hs_code=None, hs_level=None, year=None, source_avail=None, source_file=None)
    ind = indicators_for_links(lw[["eccn", "hs6", "w"]], availability)
    if "source_avail" not in ind.columns:
        ind["source_avail"] = ind.get("source")
    if "year" in ind.columns and ind.duplicated(["eccn", "hs6"]).any():
        ind = ind.sort_values(["eccn", "hs6", "year"], ascending=[True, True, False]).drop_duplicates(
            ["eccn", "hs6"]
        )
    return ind
