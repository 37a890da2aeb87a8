"""Point values and lower/upper bounds of the indicators of truncated (top-N) tables."""

from __future__ import annotations

import numpy as np
import pandas as pd


def add_bounds(g: pd.DataFrame) -> pd.DataFrame:
    """Point values and lower/upper bounds (see :mod:`cclreview.indicators`)."""
    W, NU, T = g["W"].to_numpy(float), g["NU"].to_numpy(float), g["T"].to_numpy(float)
    vN = g["vN"].fillna(0.0).to_numpy(float)
    R = np.clip(W - g["sum_listed"].to_numpy(float), 0, None)
    m = g["m_tail"].to_numpy(float) - g["us_tail"].to_numpy(float)
    us_cut = np.where(g["us_tail"].to_numpy(bool), np.minimum(vN, R), 0.0)
    R_lo, R_hi = np.clip(R - us_cut, 0, None), R
    bounded = g["m_tail"].to_numpy() > 0
    k = g["k_above"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo_tail = np.where((vN > T) & (R_lo > m * T), np.ceil((R_lo - m * T) / (vN - T)), 0.0)
        hi_tail = np.where(vN >= T, np.minimum(m, np.floor(R_hi / T)), 0.0)
        even = np.where(m > 0, R_lo**2 / np.where(m > 0, m, 1), 0.0)
        q = np.where(vN > 0, np.minimum(m, np.floor(R_hi / np.where(vN > 0, vN, 1))), 0.0)
        r = np.where(q < m, np.minimum(R_hi - q * vN, vN), 0.0)
        piled = q * vN**2 + r**2
        sumsq = g["sumsq"].to_numpy(float)
        nu2 = np.where(NU > 0, NU**2, np.nan)
        hhi_lo = (sumsq + np.where(bounded, even, 0.0)) / nu2
        hhi_hi = (sumsq + np.where(bounded, piled, 0.0)) / nu2
    lo_tail = np.clip(lo_tail, 0, np.maximum(m, 0))
    hi_tail = np.clip(hi_tail, 0, np.maximum(m, 0))
    g["n_non_us_suppliers_lo"] = (k + np.where(bounded, lo_tail, 0)).astype("int64")
    g["n_non_us_suppliers_hi"] = (k + np.where(bounded, hi_tail, 0)).astype("int64")
    g["n_non_us_suppliers"] = g["n_non_us_suppliers_lo"]
    g["hhi_non_us_lo"], g["hhi_non_us_hi"] = hhi_lo, hhi_hi
    g["hhi_non_us"] = g["hhi_non_us_hi"]
    g["is_bounded"] = bounded
    cn = g["CN"].to_numpy(float)
    cn_tail = g["cn_tail"].to_numpy(bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        cshare = np.where(W > 0, np.nan_to_num(cn) / W, np.nan)
        g["china_exports_usd"] = np.where(cn_tail, np.nan, np.nan_to_num(cn))
        g["china_share"] = np.where(cn_tail, np.nan, cshare)
        g["china_share_lo"] = np.where(cn_tail, 0.0, cshare)
        g["china_share_hi"] = np.where(cn_tail, np.minimum(vN, R) / W, cshare)
        g["non_us_share"] = np.where(W > 0, NU / W, np.nan)
    g["world_exports_usd"], g["us_exports_usd"], g["non_us_exports_usd"] = W, g["US"], NU
    return g
