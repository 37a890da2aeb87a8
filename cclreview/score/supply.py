"""Supply-side evidence (``evidence.parquet``) over the trade proxies of an ECCN.

Evidence rows name an ECCN, or an HS6 code the ECCN links to with enough confidence;
their country shares replace the trade-based indicators they cover, and a bare list of
producer countries can only add suppliers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cclreview.score.weights import Weights


def _evidence_for_eccns(
    evidence: pd.DataFrame, indicators: pd.DataFrame, eccns: pd.Index, min_conf: float
) -> pd.DataFrame:
    """Evidence rows assigned to ECCNs, with the confidence of that assignment.

    A row naming an ECCN applies to it alone (``match_confidence`` 1). A row naming only
    an HS6 code applies to the ECCNs linked to that code with confidence >= ``min_conf``
    (an HS line holds many items; a weak suggested link must not import another item's
    market shares), with the link's confidence.
    """
    ev = evidence.copy()
    if "eccn" not in ev.columns:
        ev["eccn"] = None
    has_eccn = ev["eccn"].notna() & ev["eccn"].astype(str).str.strip().ne("")
    direct = ev[has_eccn].copy()
    direct["eccn"] = direct["eccn"].astype(str).str.strip().str[:5]
    direct["match_confidence"] = 1.0
    via_hs = ev[~has_eccn].drop(columns=["eccn"])
    if "hs6" in via_hs.columns and len(via_hs) and len(indicators):
        pairs = indicators[["eccn", "hs6", "confidence"]].rename(columns={"confidence": "match_confidence"})
        pairs = pairs[pd.to_numeric(pairs["match_confidence"], errors="coerce") >= min_conf]
        via_hs = (
            via_hs[via_hs["hs6"].notna()].assign(hs6=lambda d: d["hs6"].astype(str)).merge(pairs, on="hs6")
        )
    else:
        via_hs = via_hs.iloc[0:0].assign(
            eccn=pd.Series(dtype=object), match_confidence=pd.Series(dtype=float)
        )
    out = pd.concat([direct, via_hs], ignore_index=True)
    return out[out["eccn"].isin(eccns)]


def apply_supply_evidence(
    out: pd.DataFrame,
    evidence: pd.DataFrame,
    indicators: pd.DataFrame,
    eccn_regimes: pd.Series,
    weights: Weights,
    regime_members: dict[str, frozenset[str]] | None,
) -> pd.DataFrame:
    """Override trade proxies with supply-side country shares where evidence exists."""
    ev = _evidence_for_eccns(
        evidence, indicators, out.index, weights.evidence.supply_side_min_link_confidence
    )
    if ev.empty:
        return out
    ev = ev.copy()
    ev["item"] = ev["item"].astype(str) if "item" in ev.columns else ""
    ev["country_iso3"] = ev["country_iso3"].astype(str).str.upper()
    ev["share"] = pd.to_numeric(ev.get("share"), errors="coerce")
    floor = weights.suppliers.min_share
    for eccn, rows in ev.groupby("eccn", sort=True):
        # Country share of supply: summed over producers per item, averaged over items.
        n_items = rows["item"].nunique()
        shares = rows.groupby(["item", "country_iso3"])["share"].sum(min_count=1).groupby("country_iso3").sum(
            min_count=1
        ) / max(n_items, 1)
        known = shares.dropna()
        countries = set(rows["country_iso3"]) - {"USA", "NAN", ""}
        if len(known):
            total = max(float(known.sum()), 1.0)
            norm = known / total
            us = float(norm.get("USA", 0.0))
            non_us = norm.drop("USA", errors="ignore")
            out.at[eccn, "non_us_share"] = float(non_us.sum())
            out.at[eccn, "n_non_us_suppliers"] = float((non_us >= floor).sum())
            out.at[eccn, "non_us_to_us_ratio"] = float(non_us.sum() / us) if us > 0 else np.inf
            if non_us.sum() > 0:
                hhi = float(((non_us / non_us.sum()) ** 2).sum())
                out.at[eccn, "hhi_non_us"] = hhi
                out.at[eccn, "n_effective_suppliers"] = 1.0 / hhi if hhi > 0 else np.nan
            out.at[eccn, "china_share"] = float(norm.get("CHN", 0.0))
            regs = list(eccn_regimes.get(eccn, []) or [])
            if not regs:
                out.at[eccn, "outside_regime_share"] = float(non_us.sum())
            elif regime_members:
                # Only a country in none of the listing regimes is an uncontrolled source.
                outside = [i for i in non_us.index if not any(i in regime_members.get(r, ()) for r in regs)]
                out.at[eccn, "outside_regime_share"] = float(non_us[outside].sum())
            top = non_us.sort_values(ascending=False, kind="stable").head(3)
            out.at[eccn, "top_sources"] = "; ".join(f"{k} {v:.0%}" for k, v in top.items() if v > 0)
        elif countries:
            # Presence-only evidence (producers named, no shares) complements trade: it
            # can add suppliers but must not replace trade shares (a list of FPGA makers
            # says nothing about who supplies the rest of 3A001).
            trade_n = out.at[eccn, "n_non_us_suppliers"]
            trade_n = float(trade_n) if pd.notna(trade_n) else 0.0
            out.at[eccn, "n_non_us_suppliers"] = max(trade_n, float(len(countries)))
            eff = out.at[eccn, "n_effective_suppliers"]
            eff = float(eff) if pd.notna(eff) else 0.0
            out.at[eccn, "n_effective_suppliers"] = max(eff, float(len(countries)))
            producers = "producers in " + ", ".join(sorted(countries)[:5])
            prev = out.at[eccn, "top_sources"]
            out.at[eccn, "top_sources"] = (
                f"{prev}; {producers}" if isinstance(prev, str) and prev else producers
            )
        flags = rows.get("comparable_quality", pd.Series(dtype=object)).astype(str).str.lower()
        known_flags = flags[flags.isin(["yes", "no"])]
        if len(known_flags):
            out.at[eccn, "quality_flag"] = float((known_flags == "yes").mean())
        had_trade = bool(out.at[eccn, "has_evidence"])
        out.at[eccn, "has_evidence"] = True
        out.at[eccn, "supply_side"] = True
        out.at[eccn, "evidence_source"] = "supply-side+trade" if had_trade else "supply-side"
        gran = out.at[eccn, "granularity"]
        out.at[eccn, "granularity"] = f"supply-side+{gran}" if gran else "supply-side"
        match = float(pd.to_numeric(rows["match_confidence"], errors="coerce").max())
        # Shares are strong evidence; a bare list of producer countries counts half.
        strength = weights.evidence.supply_side_strength * match * (1.0 if len(known) else 0.5)
        current = float(out.at[eccn, "evidence_strength"])
        out.at[eccn, "evidence_strength"] = max(current if current == current else 0.0, strength)
    return out
