"""Availability sub-scores and the availability score of each ECCN.

The per-ECCN indicators (:mod:`cclreview.score.aggregate`) become six sub-scores in
[0, 1], one per criterion of 15 CFR 768.6 plus inside China and outside the regimes
(:func:`subscores`); an ECCN with no usable evidence keeps NaN sub-scores (never a
silent zero). The availability score is their weighted mean over those present
(:func:`availability_matrix`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cclreview.score.weights import AVAILABILITY_COMPONENTS, Weights


def subscore_arrays(
    n_eff: np.ndarray,
    share: np.ndarray,
    ratio: np.ndarray,
    hhi: np.ndarray,
    quality_flag: np.ndarray,
    uvr: np.ndarray,
    china: np.ndarray,
    outside: np.ndarray,
    has: np.ndarray,
    weights: Weights,
) -> np.ndarray:
    """The six sub-scores for arrays of any (same) shape; result has a last axis of 6.

    Each sub-score is a monotone non-decreasing function of its indicator, spread over
    the range real HS lines cover (so that availability discriminates):

    * ``available_in_fact = 1 - exp(-n_eff / supplier_saturation)``, ``n_eff`` the
      effective number of non-U.S. suppliers (``1 / HHI``): ten suppliers of which
      one holds 90% count as ~1.2, not 10.
    * ``non_us_source = (share - non_us_share_floor) / (1 - floor)`` clipped to [0, 1]
      (a U.S. share of 10% is common; 50% is U.S. dominance).
    * ``sufficient_quantity = log10(1 + ratio) / log10(1 + quantity_ratio_full)``
      clipped, x ``(1 - hhi_penalty x HHI)``.
    * ``comparable_quality = quality flag share, else min(1, unit-value ratio / full)``
    * ``inside_china = min(1, China share / china_share_full)``
    * ``outside_regime = min(1, outside-regime share / outside_regime_share_full)``
    """
    p = weights.availability_params
    with np.errstate(invalid="ignore", divide="ignore"):
        aif = 1.0 - np.exp(-np.maximum(n_eff, 0) / p.supplier_saturation)
        nus = np.clip((share - p.non_us_share_floor) / (1.0 - p.non_us_share_floor), 0, 1)
        qty = np.clip(np.log10(1.0 + np.maximum(ratio, 0)) / np.log10(1.0 + p.quantity_ratio_full), 0, 1)
        qty = qty * (1.0 - p.hhi_penalty * np.clip(np.nan_to_num(hhi, nan=0.0), 0, 1))
        cq = np.where(
            np.isnan(quality_flag),
            np.minimum(1.0, np.maximum(uvr, 0) / p.unit_value_ratio_full),
            quality_flag,
        )
        chn = np.minimum(1.0, np.clip(china, 0, 1) / p.china_share_full)
        outr = np.minimum(1.0, np.clip(outside, 0, 1) / p.outside_regime_share_full)
    out = np.stack([aif, nus, qty, cq, chn, outr], axis=-1)
    return np.where(has[..., None], out, np.nan)


def subscores(agg: pd.DataFrame, weights: Weights) -> pd.DataFrame:
    """Turn aggregated indicators into the six availability sub-scores in [0, 1].

    See :func:`subscore_arrays`; an ECCN without evidence keeps NaN sub-scores.
    """

    def col(name: str) -> np.ndarray:
        return agg[name].to_numpy(dtype=float) if name in agg.columns else np.full(len(agg), np.nan)

    n_eff = col("n_effective_suppliers")
    hhi = col("hhi_non_us")
    with np.errstate(divide="ignore"):
        n_eff = np.where(np.isnan(n_eff) & (hhi > 0), 1.0 / np.where(hhi > 0, hhi, 1), n_eff)
    arr = subscore_arrays(
        n_eff,
        col("non_us_share"),
        col("non_us_to_us_ratio"),
        hhi,
        col("quality_flag"),
        col("unit_value_ratio"),
        col("china_share"),
        col("outside_regime_share"),
        agg["has_evidence"].to_numpy(dtype=bool),
        weights,
    )
    return pd.DataFrame(arr, index=agg.index, columns=list(AVAILABILITY_COMPONENTS))


def availability_matrix(sub: np.ndarray, avail_w: np.ndarray) -> np.ndarray:
    """Weighted mean of sub-scores, renormalised over the ones that are present.

    Parameters
    ----------
    sub
        ``(n, 6)`` sub-scores (NaN = no data).
    avail_w
        ``(6,)`` or ``(d, 6)`` non-negative weights (one row per weighting draw).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` or ``(n, d)`` availability scores; NaN where no sub-score exists.
    """
    present = ~np.isnan(sub)
    filled = np.where(present, sub, 0.0)
    w = np.atleast_2d(avail_w)
    # Broadcast-and-sum instead of a BLAS product: identical rows give bit-identical
    # scores (BLAS kernels may round rows differently), so ties stay exact ties.
    num = (filled[:, :, None] * w.T[None, :, :]).sum(axis=1)
    den = (present[:, :, None] * w.T[None, :, :]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return res[:, 0] if np.ndim(avail_w) == 1 else res


def availability_draws(sub: np.ndarray, avail_w: np.ndarray) -> np.ndarray:
    """``(n, d)`` availability from ``(n, d, 6)`` sub-scores and ``(d, 6)`` weights."""
    present = ~np.isnan(sub)
    w = avail_w[None, :, :]
    num = (np.where(present, sub, 0.0) * w).sum(axis=2)
    den = (present * w).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
