"""Availability per ECCN: HS-level trade indicators and supply-side evidence, aggregated.

An ECCN links to one or more HS codes (``eccn_hs_links``); each link gets the best
indicator row of ``availability_hs`` (HS6 if present, else the HS4 heading).
Aggregation over an ECCN's usable links (world exports at least
``suppliers.min_world_exports_usd``):

* Dollar amounts (world, U.S., non-U.S., China, outside-regime exports) are summed
  weighted by link confidence; shares and ratios are taken from these sums, so large
  HS lines weigh more (value weighting) and weak links less (confidence weighting),
  and adding non-U.S. supply to any link can only raise the non-U.S. share.
* Counts, concentration (HHI) and unit-value ratios are confidence-weighted means.

Supply-side evidence (``evidence.parquet``: country shares of an item, matched by
``eccn`` or by an ``hs6`` the ECCN links to) overrides the trade proxies it covers.
Indicators become sub-scores in [0, 1] in :func:`subscores`; an ECCN with no usable
evidence keeps NaN sub-scores (never a silent zero).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cclreview.score.weights import AVAILABILITY_COMPONENTS, REGIMES, Weights

log = logging.getLogger(__name__)

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

#: Names used in ``reference/regimes.csv`` for the regime keys of the weights file.
REGIME_NAMES: dict[str, str] = {
    "Wassenaar": "wassenaar",
    "MTCR": "mtcr",
    "NSG": "nsg",
    "Australia Group": "australia_group",
}

#: Per-ECCN indicator columns produced by :func:`aggregate_availability`.
INDICATOR_COLUMNS = (
    "n_non_us_suppliers",
    "non_us_share",
    "non_us_to_us_ratio",
    "hhi_non_us",
    "china_share",
    "outside_regime_share",
    "unit_value_ratio",
    "quality_flag",
)


def _as_list(value: Any) -> list[str]:
    """A list of str from a list, numpy array, ``;``/``,``-separated string or null."""
    if value is None:
        return []
    if isinstance(value, float) and np.isnan(value):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    return [str(v) for v in list(value)]


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

#: Default specificity when the links table has no ``specificity`` column.
DEFAULT_SPECIFICITY = 0.5

#: Columns of ``eccn_hs_indicators.parquet`` (one row per ECCN x HS link, as scored).
INDICATOR_TABLE_COLUMNS = (
    "eccn",
    "hs6",
    "paragraph",
    "link_source",
    "confidence",
    "specificity",
    "specificity_class",
    "confirmed",
    "counted",
    "used",
    "why_not_used",
    "weight",
    "weight_share",
    "strength",
    "granularity",
    "hs_code",
    "hs_level",
    "hs_version",
    "hs_version_source",
    "heading_status",
    "year",
    "source",
    "world_exports_usd",
    "us_exports_usd",
    "non_us_share",
    "n_non_us_suppliers",
    "hhi_non_us",
    "n_effective",
    "china_share",
    "share_outside_regime",
    "unit_value_ratio",
    "unit_value_qty_tonnes",
    "top_suppliers",
    "missing_major_exporters",
    "alt_source",
    "alt_year",
    "alt_hs_level",
)


def link_indicators(links: pd.DataFrame, availability: pd.DataFrame) -> pd.DataFrame:
    """Attach the best availability row, and the next-best one, to each (eccn, hs6) link.

    The best row comes from :func:`cclreview.indicators.indicators_for_links`
    (HS6 if present, else the HS4 heading; latest year, then source precedence). The
    alternative (``alt_*`` columns) is what the same selector picks once the chosen
    rows are set aside: another year or source of the same code, or the heading; it
    is what the data perturbation of ``sensitivity`` swaps in.

    Parameters
    ----------
    links
        ``eccn_hs_links`` (``eccn, hs6, confidence, source`` at least; ``confirmed``,
        ``specificity``, ``specificity_class``, ``paragraph`` when present).
    availability
        ``availability_hs`` rows.

    Returns
    -------
    pandas.DataFrame
        One row per (eccn, hs6): link columns, indicator columns, ``granularity``,
        ``alt_*`` indicator columns.
    """
    from cclreview.indicators import indicators_for_links

    links = dedupe_links(links)
    base = links[["eccn", "hs6"]]
    best = indicators_for_links(base, availability)
    out = links.merge(best, on=["eccn", "hs6"], how="left", suffixes=("", "_indicator"))
    chosen = best.dropna(subset=["hs_code"])[["hs_code", "hs_level", "year"]].drop_duplicates()
    if len(availability) and len(chosen):
        key = ["hs_code", "hs_level", "year"]
        av = availability.merge(chosen.assign(_chosen=True), on=key, how="left")
        rest = av[av["_chosen"].isna()].drop(columns="_chosen")
        alt = indicators_for_links(base, rest) if len(rest) else best.iloc[0:0]
    else:
        alt = best.iloc[0:0]
    keep = [c for c in alt.columns if c not in ("eccn", "hs6")]
    alt = alt[["eccn", "hs6", *keep]].rename(columns={c: f"alt_{c}" for c in keep})
    return out.merge(alt, on=["eccn", "hs6"], how="left")


def dedupe_links(links: pd.DataFrame) -> pd.DataFrame:
    """One row per (eccn, hs6): the highest-confidence link (paragraphs joined).

    Adds the link-quality columns with defaults when the links table predates them:
    ``confirmed`` (``source != "suggested"``), ``specificity``
    (:data:`DEFAULT_SPECIFICITY`) and ``specificity_class`` (``"unknown"``).
    """
    need = {"eccn", "hs6"}
    if not need <= set(links.columns):
        missing = sorted(need - set(links.columns))
        raise KeyError(f"links lack columns {missing}")
    df = links.copy()
    df["eccn"] = df["eccn"].astype(str).str[:5]
    df["hs6"] = df["hs6"].astype(str)
    if "confidence" not in df.columns:
        df["confidence"] = 1.0
    df["confidence"] = pd.to_numeric(df["confidence"], errors="coerce").fillna(0.0).clip(0, 1)
    df["link_source"] = df["source"].astype(str) if "source" in df.columns else "unknown"
    if "confirmed" not in df.columns:
        df["confirmed"] = ~df["link_source"].str.startswith("suggested")
    df["confirmed"] = df["confirmed"].fillna(False).astype(bool)
    if "specificity" not in df.columns:
        df["specificity"] = DEFAULT_SPECIFICITY
    df["specificity"] = (
        pd.to_numeric(df["specificity"], errors="coerce").fillna(DEFAULT_SPECIFICITY).clip(0, 1)
    )
    if "specificity_class" not in df.columns:
        df["specificity_class"] = "unknown"
    if "paragraph" not in df.columns:
        df["paragraph"] = ""
    df["paragraph"] = df["paragraph"].fillna("").astype(str)
    paragraphs = df.groupby(["eccn", "hs6"])["paragraph"].agg(
        lambda s: ", ".join(sorted({p for p in s if p}))
    )
    # A confirmed link outranks an unconfirmed one; then confidence.
    df = df.sort_values(
        ["eccn", "hs6", "confirmed", "confidence"], ascending=[True, True, False, False], kind="stable"
    )
    cols = ["eccn", "hs6", "confidence", "link_source", "confirmed", "specificity", "specificity_class"]
    out = df.drop_duplicates(["eccn", "hs6"])[cols].reset_index(drop=True)
    out["paragraph"] = [paragraphs.get((e, h), "") for e, h in zip(out["eccn"], out["hs6"], strict=True)]
    return out


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    """A float column, or NaNs when absent."""
    if col not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


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
    n_missing = np.array([len(_as_list(v)) for v in df[col]]) if col in df.columns else np.zeros(len(df))
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
        return ~np.isnan(W) & (floor <= W) & (W > 0)

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
    return confidence * spec * scale * np.where(hs4, weights.evidence.hs4_factor, 1.0)


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


def aggregate_availability(
    eccn_regimes: pd.Series,
    indicators: pd.DataFrame,
    weights: Weights,
    evidence: pd.DataFrame | None = None,
    regime_members: dict[str, frozenset[str]] | None = None,
) -> pd.DataFrame:
    """Aggregate link indicators (and supply-side evidence) into one row per ECCN.

    Each indicator is the mean of the ECCN's used links weighted by
    ``confidence x specificity`` (:func:`aggregate_arrays`), so one broad heading
    with large trade cannot swamp a specific subheading. Use
    :func:`aggregate_with_links` to also get the per-link table and arrays.
    """
    return aggregate_with_links(eccn_regimes, indicators, weights, evidence, regime_members)[0]


def aggregate_with_links(
    eccn_regimes: pd.Series,
    indicators: pd.DataFrame,
    weights: Weights,
    evidence: pd.DataFrame | None = None,
    regime_members: dict[str, frozenset[str]] | None = None,
    ref_year: int | None = None,
) -> tuple[pd.DataFrame, LinkArrays, pd.DataFrame]:
    """As :func:`aggregate_availability`, plus the :class:`LinkArrays` and link table.

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
    indicators = _ensure_link_columns(indicators)
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
        out = _apply_supply_evidence(out, evidence, table, eccn_regimes, weights, regime_members)
    no_count = (out["n_links"] > 0) & (out["n_links_confirmed"] == 0) & ~out["has_evidence"].astype(bool)
    out.loc[no_count, "insufficient_reason"] = "unconfirmed links"
    return out.drop(columns=[f"_out_{r}" for r in REGIMES]), la, table.drop(columns=["_age", "_n_missing"])


def _ensure_link_columns(ind: pd.DataFrame) -> pd.DataFrame:
    """Defaults for a ready-made indicator frame lacking the link-quality columns."""
    ind = ind.copy()
    ind["eccn"] = ind["eccn"].astype(str).str[:5]
    if "link_source" not in ind.columns:
        ind["link_source"] = ind["source"].astype(str) if "source" in ind.columns else "unknown"
    if "confidence" not in ind.columns:
        ind["confidence"] = 1.0
    if "confirmed" not in ind.columns:
        ind["confirmed"] = ~ind["link_source"].astype(str).str.startswith("suggested")
    if "specificity" not in ind.columns:
        ind["specificity"] = DEFAULT_SPECIFICITY
    if "granularity" not in ind.columns:
        ind["granularity"] = None
    return ind


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
            sorted({m for v in rows["missing_major_exporters"] for m in _as_list(v)})
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
                result.setdefault(e, set()).update(_as_list(v))
    return pd.Series([sorted(result.get(e, set())) for e in eccns], index=eccns, dtype=object)


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


def _apply_supply_evidence(
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
