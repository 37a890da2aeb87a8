"""Availability indicators per ECCN: its links' indicators and supply-side evidence, aggregated.

An ECCN links to one or more HS codes (``eccn_hs_links``); each link brings the best
indicator row of ``availability_hs`` (:mod:`cclreview.score.links`). Each per-ECCN
indicator is the mean over the ECCN's used links (confirmed, with world exports of at
least ``suppliers.min_world_exports_usd``) weighted by ``confidence x specificity`` (x
``evidence.hs4_factor`` for heading data), never by trade value, so one broad heading
with large trade cannot swamp a specific subheading. Supply-side evidence
(:mod:`cclreview.score.supply`) then overrides the trade proxies it covers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cclreview.cells import str_list
from cclreview.score.link_arrays import LINK_VALUES, LinkArrays, link_arrays, link_weight
from cclreview.score.links import ensure_link_columns
from cclreview.score.supply import apply_supply_evidence
from cclreview.score.weights import REGIMES, Weights


def aggregate_arrays(
    la: LinkArrays,
    weights: Weights,
    confidence: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    swap: np.ndarray | None = None,
    n_scale: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Weighted means of link values per ECCN, evidence strength and has-evidence.

    Without the optional ``(L, d)`` arguments this is the base aggregation (``d = 1``);
    ``sensitivity`` passes drawn confidences, kept-link masks, data swaps (use the
    ``alt_*`` row) and supplier-count scales, and gets ``(n, d)`` arrays back.

    Returns
    -------
    (indicators, strength, has, hs6_any)
        ``indicators`` maps each name of :data:`LINK_VALUES` to ``(n, d)`` weighted
        means (NaN without data); ``strength`` the evidence strength ``(n, d)``;
        ``has`` whether any used link had data ``(n, d)``; ``hs6_any`` whether one
        of them had HS6 data.
    """
    L = len(la.eccn_idx)
    conf = la.confidence[:, None] if confidence is None else confidence
    d = conf.shape[1]
    kept = np.ones((L, d), bool) if keep is None else keep
    sw = np.zeros((L, d), bool) if swap is None else swap
    hs4 = np.where(sw, la.alt_hs4[:, None], la.hs4[:, None])
    usable = np.where(sw, la.alt_usable[:, None], la.usable[:, None])
    quality = np.where(sw, la.alt_quality[:, None], la.quality[:, None])
    counted = la.counted[:, None] & kept
    w_all = np.where(counted, link_weight(la, conf, hs4, weights), 0.0)
    w = np.where(usable, w_all, 0.0)
    M = la.matrix()
    ev = weights.evidence
    spec_q = (la.specificity**ev.specificity_exponent * la.scale)[:, None]
    strength_num = M @ (w * conf * spec_q * quality)
    den_all = M @ w_all
    den = M @ w
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = np.where(den_all > 0, strength_num / np.where(den_all > 0, den_all, 1), 0.0)
    out: dict[str, np.ndarray] = {}
    for k, name in enumerate(LINK_VALUES):
        x = np.where(sw, la.alt_values[:, k][:, None], la.values[:, k][:, None])
        if n_scale is not None and name in ("n_effective", "n_non_us_suppliers"):
            x = x * n_scale
        if n_scale is not None and name == "hhi_non_us":
            x = x / n_scale
        present = ~np.isnan(x) & (w > 0)
        num = M @ np.where(present, w * np.nan_to_num(x), 0.0)
        dk = M @ np.where(present, w, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = np.where(dk > 0, num / np.where(dk > 0, dk, 1), np.nan)
    hs6_any = (M @ ((w > 0) & ~hs4).astype(float)) > 0
    return out, np.clip(strength, 0, 1), den > 0, hs6_any


def aggregate_with_links(
    eccn_regimes: pd.Series,
    indicators: pd.DataFrame,
    weights: Weights,
    evidence: pd.DataFrame | None = None,
    regime_members: dict[str, frozenset[str]] | None = None,
    ref_year: int | None = None,
) -> tuple[pd.DataFrame, LinkArrays, pd.DataFrame]:
    """Aggregate link indicators (and supply-side evidence) into one row per ECCN.

    Each indicator is the mean of the ECCN's used links weighted by
    ``confidence x specificity`` (:func:`aggregate_arrays`); the :class:`LinkArrays`
    and the per-link table come back too (``sensitivity`` and
    ``eccn_hs_indicators.parquet`` use them).

    Returns
    -------
    (per_eccn, arrays, link_table)
        ``per_eccn``: index ``eccn``; ``non_us_share, non_us_to_us_ratio,
        n_non_us_suppliers, n_effective_suppliers, hhi_non_us, china_share,
        outside_regime_share, unit_value_ratio, quality_flag, evidence_strength,
        has_evidence, evidence_source, granularity, top_sources,
        missing_major_exporters, n_links, n_links_confirmed, n_links_with_data,
        latest_year, oldest_year, hs6_evidence, supply_side, insufficient_reason,
        evidence_notes``.
    """
    eccns = pd.Index(eccn_regimes.index, name="eccn")
    indicators = ensure_link_columns(indicators)
    la, table = link_arrays(indicators, eccns, weights, ref_year)
    vals, strength, has, _ = aggregate_arrays(la, weights)
    out = pd.DataFrame(index=eccns)
    out["n_links"] = (
        pd.Series(1, index=table.index).groupby(table["eccn"]).sum().reindex(eccns).fillna(0).astype(int)
    )
    out["n_links_confirmed"] = table.groupby("eccn")["counted"].sum().reindex(eccns).fillna(0).astype(int)
    out["n_links_with_data"] = table.groupby("eccn")["used"].sum().reindex(eccns).fillna(0).astype(int)
    out["non_us_share"] = vals["non_us_share"][:, 0]
    out["non_us_to_us_ratio"] = np.power(10.0, vals["log_ratio"][:, 0])
    out["n_non_us_suppliers"] = vals["n_non_us_suppliers"][:, 0]
    out["n_effective_suppliers"] = vals["n_effective"][:, 0]
    out["hhi_non_us"] = vals["hhi_non_us"][:, 0]
    out["china_share"] = vals["china_share"][:, 0]
    out["unit_value_ratio"] = vals["unit_value_ratio"][:, 0]
    for reg in REGIMES:
        out[f"_out_{reg}"] = vals[f"outside_{reg}"][:, 0]
    out["evidence_strength"] = strength[:, 0]
    out["quality_flag"] = np.nan
    out["outside_regime_share"] = _pick_regime_share(out, eccn_regimes)
    has_trade = has[:, 0]
    out["has_evidence"] = has_trade
    out["evidence_source"] = np.where(has_trade, "trade", "")
    used = table[table["used"]]
    yrs = pd.to_numeric(used["year"], errors="coerce") if len(used) else pd.Series(dtype=float)
    out["latest_year"] = (
        yrs.groupby(used["eccn"]).max().reindex(eccns).astype("Float64").round().astype("Int64")
    )
    out["oldest_year"] = (
        yrs.groupby(used["eccn"]).min().reindex(eccns).astype("Float64").round().astype("Int64")
    )
    u = table["used"].to_numpy(bool)
    out["granularity"] = _granularity(table, u, eccns)
    out["hs6_evidence"] = out["granularity"].str.contains("HS6")
    out["top_sources"] = _top_sources(table, u, table["weight"].to_numpy(float), eccns)
    out["missing_major_exporters"] = _missing(table, u, eccns)
    out["evidence_notes"] = _evidence_notes(table, u, eccns, weights)
    out["supply_side"] = False
    out["insufficient_reason"] = ""
    if evidence is not None and len(evidence):
        out = apply_supply_evidence(out, evidence, table, eccn_regimes, weights, regime_members)
    no_count = (out["n_links"] > 0) & (out["n_links_confirmed"] == 0) & ~out["has_evidence"].astype(bool)
    out.loc[no_count, "insufficient_reason"] = "unconfirmed links"
    return out.drop(columns=[f"_out_{r}" for r in REGIMES]), la, table.drop(columns=["_age", "_n_missing"])


def _evidence_notes(table: pd.DataFrame, usable: np.ndarray, eccns: pd.Index, weights: Weights) -> pd.Series:
    """Named weaknesses of the data behind each ECCN: stale years, missing exporters."""
    notes: dict[str, list[str]] = {}
    stale_after = weights.evidence.stale_after_years
    sub = table[usable]
    for e, rows in sub.groupby("eccn", sort=False):
        parts = []
        old = rows[rows["_age"] > stale_after]
        if len(old):
            yrs = sorted({int(y) for y in pd.to_numeric(old["year"], errors="coerce").dropna()})
            parts.append(f"data from {', '.join(map(str, yrs))} (older than {stale_after} years)")
        miss = (
            sorted({m for v in rows["missing_major_exporters"] for m in str_list(v)})
            if "missing_major_exporters" in rows
            else []
        )
        if miss:
            parts.append(f"major exporter(s) missing from the data: {', '.join(miss)}")
        notes[str(e)] = parts
    return pd.Series(["; ".join(notes.get(e, [])) for e in eccns], index=eccns, dtype=object)


def _pick_regime_share(out: pd.DataFrame, eccn_regimes: pd.Series) -> np.ndarray:
    """Share outside the ECCN's regimes: the minimum over them; non-U.S. share if none.

    The minimum is an upper bound of the share from countries in none of the regimes
    (the trade tables give one share per regime, not the joint one).
    """
    res = out["non_us_share"].to_numpy(dtype=float).copy()
    regs = eccn_regimes.reindex(out.index)
    shares = np.column_stack([out[f"_out_{r}"].to_numpy(dtype=float) for r in REGIMES])
    listed = np.array(
        [[r in (rs if isinstance(rs, list) else []) for r in REGIMES] for rs in regs], dtype=bool
    )
    masked = np.where(listed, shares, np.inf)
    lowest = masked.min(axis=1) if len(masked) else np.array([])
    any_listed = listed.any(axis=1)
    # Listed in a regime: the lowest outside share among its regimes (NaN if none known).
    with np.errstate(invalid="ignore"):
        known = np.where(listed & ~np.isnan(shares), shares, np.inf).min(axis=1) if len(masked) else lowest
    return np.where(any_listed, np.where(np.isinf(known), np.nan, known), res)


def _granularity(ind: pd.DataFrame, usable: np.ndarray, eccns: pd.Index) -> pd.Series:
    """``HS6``, ``HS4`` or ``HS6+HS4`` from the usable links of each ECCN."""
    if not len(ind):
        return pd.Series("", index=eccns)
    sub = ind.loc[usable, ["eccn", "granularity"]].astype(str).drop_duplicates()
    sub = sub.sort_values(["eccn", "granularity"], ascending=[True, False], kind="stable")
    agg = sub.groupby("eccn", sort=False)["granularity"].agg("+".join)
    return agg.reindex(eccns).fillna("")


def _top_sources(ind: pd.DataFrame, usable: np.ndarray, weight: np.ndarray, eccns: pd.Index) -> pd.Series:
    """The ``top_suppliers`` text of each ECCN's heaviest usable link."""
    if "top_suppliers" not in ind.columns or not len(ind):
        return pd.Series("", index=eccns)
    sub = pd.DataFrame({"eccn": ind["eccn"], "w": weight, "t": ind["top_suppliers"].astype(object)})[usable]
    sub = sub[sub["t"].notna()].sort_values(["eccn", "w"], ascending=[True, False], kind="stable")
    return sub.drop_duplicates("eccn").set_index("eccn")["t"].astype(str).reindex(eccns).fillna("")


def _missing(ind: pd.DataFrame, usable: np.ndarray, eccns: pd.Index) -> pd.Series:
    """Sorted union of the major exporters missing from each ECCN's data."""
    result: dict[str, set[str]] = {}
    if "missing_major_exporters" in ind.columns:
        for e, v, ok in zip(ind["eccn"], ind["missing_major_exporters"], usable, strict=True):
            if ok:
                result.setdefault(e, set()).update(str_list(v))
    return pd.Series([sorted(result.get(e, set())) for e in eccns], index=eccns, dtype=object)
