"""Per-link arrays of the aggregation: values, data-quality factors and weights.

Built once per scoring run (:func:`link_arrays`) and shared by the base aggregation and
the ``sensitivity`` draws (:mod:`cclreview.score.aggregate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cclreview.cells import str_list
from cclreview.score.weights import REGIMES, Weights

#: Columns of ``availability_hs`` tried, in order, for the share outside each regime.
#: The availability stage defines them as shares of NON-U.S. exports
#: (``share_outside_regime`` is the Wassenaar one); a regime without its own column
#: falls back to the Wassenaar share.
REGIME_SHARE_COLUMNS: dict[str, tuple[str, ...]] = {
    "wassenaar": ("share_outside_wassenaar", "share_outside_regime", "share_outside_a1"),
    "mtcr": ("share_outside_mtcr", "share_outside_regime"),
    "nsg": ("share_outside_nsg", "share_outside_regime"),
    "australia_group": ("share_outside_australia_group", "share_outside_ag", "share_outside_regime"),
}

#: Per-link values combined by a weighted mean (weights: confidence x specificity).
LINK_VALUES: tuple[str, ...] = (
    "non_us_share",
    "china_share",
    *(f"outside_{r}" for r in REGIMES),
    "log_ratio",
    "n_effective",
    "n_non_us_suppliers",
    "hhi_non_us",
    "unit_value_ratio",
)
#: A missing U.S. side caps the non-U.S./U.S. ratio at 10^4 (log10 4).
MAX_LOG_RATIO = 4.0


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    """A float column, or NaNs when absent."""
    if col not in df.columns:
        return np.full(len(df), np.nan)
    values: np.ndarray = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    return values


def _regime_share(df: pd.DataFrame, regime: str, prefix: str = "") -> np.ndarray:
    """Row-wise share of NON-U.S. exports from outside ``regime`` (first column present)."""
    out = np.full(len(df), np.nan)
    for col in REGIME_SHARE_COLUMNS[regime]:
        vals = _num(df, prefix + col)
        out = np.where(np.isnan(out), vals, out)
    return out


def _strength_factors(
    df: pd.DataFrame, weights: Weights, ref_year: int, prefix: str = ""
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-link data-quality factor (before confidence and specificity), age, n missing."""
    ev = weights.evidence
    s = np.ones(len(df))
    s = np.where(df[prefix + "granularity"].astype(str).eq("HS4").to_numpy(), s * ev.hs4_factor, s)
    if prefix + "is_bounded" in df.columns:
        bounded = df[prefix + "is_bounded"].fillna(False).astype(bool).to_numpy()
        s = np.where(bounded, s * ev.bounded_factor, s)
    col = prefix + "missing_major_exporters"
    n_missing = np.array([len(str_list(v)) for v in df[col]]) if col in df.columns else np.zeros(len(df))
    s = s * np.maximum(ev.missing_exporter_floor, ev.missing_exporter_factor**n_missing)
    year = _num(df, prefix + "year")
    age = np.where(np.isnan(year), 0.0, np.maximum(0.0, ref_year - np.nan_to_num(year)))
    s = s * np.maximum(ev.recency_floor, 1.0 - ev.recency_decay_per_year * age)
    s = np.where(age > ev.stale_after_years, s * ev.stale_factor, s)
    inherited = df["link_source"].astype(str).str.startswith("inherited").to_numpy()
    return np.where(inherited, s * ev.inherited_factor, s), age, n_missing


def _link_values(df: pd.DataFrame, prefix: str = "") -> np.ndarray:
    """``(L, len(LINK_VALUES))`` per-link values (NaN = no data)."""
    W = _num(df, prefix + "world_exports_usd")
    share = _num(df, prefix + "non_us_share")
    N = _num(df, prefix + "non_us_exports_usd")
    N = np.where(np.isnan(N), W * share, N)
    share = np.where(np.isnan(share) & (W > 0), N / np.where(W > 0, W, 1), share)
    U = _num(df, prefix + "us_exports_usd")
    U = np.where(np.isnan(U), W - N, U)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.where(U > 0, np.log10(np.maximum(N, 1e-12) / np.where(U > 0, U, 1)), MAX_LOG_RATIO)
    log_ratio = np.where(np.isnan(N), np.nan, np.clip(log_ratio, -MAX_LOG_RATIO, MAX_LOG_RATIO))
    china = _num(df, prefix + "china_share")
    outside = [_regime_share(df, r, prefix) * share for r in REGIMES]
    hhi = _num(df, prefix + "hhi_non_us")
    with np.errstate(divide="ignore"):
        n_eff = np.where(hhi > 0, 1.0 / np.where(hhi > 0, hhi, 1), np.nan)
    cols = [share, china, *outside, log_ratio, n_eff, _num(df, prefix + "n_non_us_suppliers"), hhi]
    cols.append(_num(df, prefix + "unit_value_ratio"))
    return np.column_stack(cols) if len(df) else np.zeros((0, len(LINK_VALUES)))


@dataclass
class LinkArrays:
    """Per-link arrays of the aggregation, shared by scoring and ``sensitivity``.

    Row order is the indicator table's; ``eccn_idx`` points into the ECCN axis.
    """

    eccn_idx: np.ndarray
    n_eccns: int
    confidence: np.ndarray
    specificity: np.ndarray
    counted: np.ndarray
    scale: np.ndarray  # strength scale of a counted link (1, or unconfirmed_factor)
    usable: np.ndarray
    quality: np.ndarray  # data-quality factor per link (HS4, age, missing exporters, ...)
    hs4: np.ndarray
    values: np.ndarray
    alt_usable: np.ndarray
    alt_quality: np.ndarray
    alt_hs4: np.ndarray
    alt_values: np.ndarray
    n_suppliers: np.ndarray

    def matrix(self) -> Any:
        """Sparse ``(n_eccns, L)`` membership matrix (sums over each ECCN's links)."""
        from scipy import sparse

        L = len(self.eccn_idx)
        return sparse.csr_matrix((np.ones(L), (self.eccn_idx, np.arange(L))), shape=(self.n_eccns, max(L, 0)))


def link_arrays(
    ind: pd.DataFrame, eccns: pd.Index, weights: Weights, ref_year: int | None = None
) -> tuple[LinkArrays, pd.DataFrame]:
    """Build :class:`LinkArrays` and the per-link indicator table for ``eccns``.

    A link counts when it is confirmed (or, with ``evidence.unconfirmed_links_count``,
    at ``evidence.unconfirmed_factor`` of its weight and strength); it is used when it
    counts and its HS line has at least ``suppliers.min_world_exports_usd`` of world
    exports. Its weight in every ECCN indicator is ``confidence x specificity`` (x
    ``evidence.hs4_factor`` for heading data): never trade value.
    """
    ev = weights.evidence
    ind = ind[ind["eccn"].isin(eccns)]
    # Sorted by ECCN: the sensitivity draws work on contiguous per-ECCN segments.
    ind = ind.sort_values("eccn", kind="stable").reset_index(drop=True)
    pos = pd.Series(np.arange(len(eccns)), index=eccns)
    floor = weights.suppliers.min_world_exports_usd

    def usable_of(prefix: str) -> np.ndarray:
        W = _num(ind, prefix + "world_exports_usd")
        usable: np.ndarray = ~np.isnan(W) & (floor <= W) & (W > 0)
        return usable

    if ref_year is None:
        years = np.concatenate([_num(ind, "year"), _num(ind, "alt_year")])
        years = years[~np.isnan(years)]
        ref_year = ev.reference_year or (int(years.max()) if years.size else 0)
    confirmed = ind["confirmed"].fillna(False).astype(bool).to_numpy() if len(ind) else np.zeros(0, bool)
    counted = confirmed | bool(ev.unconfirmed_links_count)
    scale = np.where(confirmed, 1.0, ev.unconfirmed_factor)
    q, age, n_missing = _strength_factors(ind, weights, ref_year) if len(ind) else (np.zeros(0),) * 3
    if "alt_granularity" in ind.columns and len(ind):
        alt = ind.assign(link_source=ind["link_source"])
        aq = _strength_factors(alt, weights, ref_year, prefix="alt_")[0]
        alt_vals = _link_values(ind, "alt_")
        alt_usable = usable_of("alt_")
        alt_hs4 = ind["alt_granularity"].astype(str).eq("HS4").to_numpy()
    else:
        aq, alt_vals = np.zeros(len(ind)), np.full((len(ind), len(LINK_VALUES)), np.nan)
        alt_usable, alt_hs4 = np.zeros(len(ind), bool), np.zeros(len(ind), bool)
    la = LinkArrays(
        eccn_idx=pos.reindex(ind["eccn"]).to_numpy(dtype=int),
        n_eccns=len(eccns),
        confidence=_num(ind, "confidence") if len(ind) else np.zeros(0),
        specificity=_num(ind, "specificity") if len(ind) else np.zeros(0),
        counted=counted,
        scale=scale,
        usable=usable_of(""),
        quality=q,
        hs4=ind["granularity"].astype(str).eq("HS4").to_numpy() if len(ind) else np.zeros(0, bool),
        values=_link_values(ind),
        alt_usable=alt_usable,
        alt_quality=aq,
        alt_hs4=alt_hs4,
        alt_values=alt_vals,
        n_suppliers=np.nan_to_num(_num(ind, "n_non_us_suppliers")),
    )
    w = link_weight(la, la.confidence, la.hs4, weights)
    used = la.counted & la.usable
    table = ind.copy()
    table["counted"] = la.counted
    table["used"] = used
    table["why_not_used"] = np.select(
        [~la.counted, ~np.isin(table["granularity"].astype(str), ["HS6", "HS4"]), ~la.usable],
        [
            "unconfirmed link (suggestion)",
            "no trade data for this HS code",
            "HS line below the world-exports floor",
        ],
        "",
    )
    table["weight"] = np.where(used, w, 0.0)
    tot = pd.Series(table["weight"].to_numpy()).groupby(la.eccn_idx).transform("sum").to_numpy()
    table["weight_share"] = np.where(tot > 0, table["weight"] / np.where(tot > 0, tot, 1), 0.0)
    table["strength"] = np.where(
        used, la.confidence * la.specificity**ev.specificity_exponent * la.quality * la.scale, 0.0
    )
    table["n_effective"] = la.values[:, LINK_VALUES.index("n_effective")] if len(ind) else []
    table["_age"] = age
    table["_n_missing"] = n_missing
    return la, table


def link_weight(la: LinkArrays, confidence: np.ndarray, hs4: np.ndarray, weights: Weights) -> np.ndarray:
    """Weight of each link in its ECCN's indicators: confidence x specificity (x HS4 factor)."""
    spec = la.specificity if confidence.ndim == 1 else la.specificity[:, None]
    scale = la.scale if confidence.ndim == 1 else la.scale[:, None]
    weight: np.ndarray = confidence * spec * scale * np.where(hs4, weights.evidence.hs4_factor, 1.0)
    return weight
