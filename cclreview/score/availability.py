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
from typing import Any

import numpy as np
import pandas as pd

from cclreview.errors import InputError
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


def link_indicators(links: pd.DataFrame, availability: pd.DataFrame) -> pd.DataFrame:
    """Attach the best availability row to each (eccn, hs6) link.

    Uses :func:`cclreview.availability.indicators_for_links` when that module exists;
    otherwise picks, per link, the latest-year HS6 row, else the latest-year HS4 row
    of the heading. Links without any row are kept with NaN indicators.

    Parameters
    ----------
    links
        ``eccn_hs_links`` (``eccn, hs6, confidence, source`` at least).
    availability
        ``availability_hs`` rows.

    Returns
    -------
    pandas.DataFrame
        One row per (eccn, hs6): link columns, indicator columns, ``granularity``.
    """
    links = dedupe_links(links)
    try:  # the availability stage's own selector, when it has landed
        from cclreview.availability import indicators_for_links  # type: ignore[attr-defined]
    except ImportError:
        indicators_for_links = None
    if indicators_for_links is not None:
        out = _latest_per_link(indicators_for_links(links, availability))
        # The link's own confidence and source win over any copies in the indicators.
        out = out.drop(columns=[c for c in ("confidence", "link_source", "source") if c in out.columns])
        out["eccn"] = out["eccn"].astype(str).str[:5]
        out["hs6"] = out["hs6"].astype(str)
        return links.merge(out, on=["eccn", "hs6"], how="left", suffixes=("", "_indicator"))
    return _own_indicators(links, availability)


def dedupe_links(links: pd.DataFrame) -> pd.DataFrame:
    """One row per (eccn, hs6): the highest-confidence link (paragraphs collapse)."""
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
    df = df.sort_values(["eccn", "hs6", "confidence"], ascending=[True, True, False], kind="stable")
    return df.drop_duplicates(["eccn", "hs6"])[["eccn", "hs6", "confidence", "link_source"]].reset_index(
        drop=True
    )


def _latest_per_link(df: pd.DataFrame) -> pd.DataFrame:
    """Keep the latest year per (eccn, hs6) when several indicator rows come back."""
    if "year" not in df.columns or not df.duplicated(["eccn", "hs6"]).any():
        return df
    return df.sort_values(
        ["eccn", "hs6", "year"], ascending=[True, True, False], kind="stable"
    ).drop_duplicates(["eccn", "hs6"])


def _own_indicators(links: pd.DataFrame, availability: pd.DataFrame) -> pd.DataFrame:
    """Fallback selector: HS6 row if any, else HS4 heading row; latest year wins."""
    missing = [c for c in ("hs_code", "hs_level", "world_exports_usd") if c not in availability.columns]
    if missing:
        raise InputError(
            f"availability_hs: missing columns {missing} (found {list(availability.columns)}); "
            "re-run `cclreview availability` to rebuild it"
        )
    av = availability.copy()
    av["hs_code"] = av["hs_code"].astype(str)
    av["hs_level"] = pd.to_numeric(av["hs_level"], errors="coerce").astype("Int64")
    if "year" in av.columns:
        av = av.sort_values(["hs_code", "hs_level", "year"], ascending=[True, True, False], kind="stable")
    av = av.drop_duplicates(["hs_code", "hs_level"])
    av6 = av[av["hs_level"] == 6].drop(columns=["hs6"], errors="ignore").rename(columns={"hs_code": "hs6"})
    av4 = av[av["hs_level"] == 4].drop(columns=["hs4"], errors="ignore").rename(columns={"hs_code": "hs4"})
    out6 = links.merge(av6, on="hs6", how="inner")
    out6["granularity"] = "HS6"
    rest = links[~links.set_index(["eccn", "hs6"]).index.isin(out6.set_index(["eccn", "hs6"]).index)].copy()
    rest["hs4"] = rest["hs6"].str[:4]
    out4 = rest.merge(av4.drop(columns=["hs6"], errors="ignore"), on="hs4", how="left")
    out4["granularity"] = np.where(out4["world_exports_usd"].notna(), "HS4", None)
    out = pd.concat([out6, out4], ignore_index=True)
    return out.sort_values(["eccn", "hs6"], kind="stable").reset_index(drop=True)


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    """A float column, or NaNs when absent."""
    if col not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def _regime_share(df: pd.DataFrame, regime: str) -> np.ndarray:
    """Row-wise share of world exports from outside ``regime`` (first column present)."""
    out = np.full(len(df), np.nan)
    for col in REGIME_SHARE_COLUMNS[regime]:
        vals = _num(df, col)
        out = np.where(np.isnan(out), vals, out)
    return out


def _trade_strength(df: pd.DataFrame, weights: Weights, ref_year: int) -> np.ndarray:
    """Per-link evidence strength factor (before link confidence and coverage)."""
    ev = weights.evidence
    s = np.ones(len(df))
    s = np.where(df["granularity"].astype(str).eq("HS4").to_numpy(), s * ev.hs4_factor, s)
    if "is_bounded" in df.columns:
        bounded = df["is_bounded"].fillna(False).astype(bool).to_numpy()
        s = np.where(bounded, s * ev.bounded_factor, s)
    n_missing = np.array(
        [len(_as_list(v)) for v in df.get("missing_major_exporters", pd.Series([None] * len(df)))]
    )
    s = s * np.maximum(ev.missing_exporter_floor, ev.missing_exporter_factor**n_missing)
    year = _num(df, "year")
    age = np.where(np.isnan(year), 0.0, np.maximum(0.0, ref_year - np.nan_to_num(year)))
    s = s * np.maximum(ev.recency_floor, 1.0 - ev.recency_decay_per_year * age)
    inherited = df["link_source"].astype(str).str.startswith("inherited").to_numpy()
    return np.where(inherited, s * ev.inherited_factor, s)


def aggregate_availability(
    eccn_regimes: pd.Series,
    indicators: pd.DataFrame,
    weights: Weights,
    evidence: pd.DataFrame | None = None,
    regime_members: dict[str, frozenset[str]] | None = None,
) -> pd.DataFrame:
    """Aggregate link indicators (and supply-side evidence) into one row per ECCN.

    Parameters
    ----------
    eccn_regimes
        Index: every ECCN to score; values: list of regime keys listing it (may be
        empty: then ``outside_regime`` uses all non-U.S. supply).
    indicators
        One row per link, from :func:`link_indicators` (or the availability stage's
        ``indicators_for_links``): ``eccn, hs6, confidence, link_source, granularity``
        plus ``availability_hs`` columns.
    weights
        Scoring settings (floors and evidence-strength factors).
    evidence
        Optional supply-side evidence rows (``evidence.parquet``).
    regime_members
        Regime key -> ISO3 members (for evidence-based ``outside_regime``); optional.

    Returns
    -------
    pandas.DataFrame
        Index ``eccn`` (all of ``eccn_regimes``); columns :data:`INDICATOR_COLUMNS`
        and ``evidence_strength, has_evidence, evidence_source, granularity,
        top_sources, missing_major_exporters, n_links, n_links_with_data, latest_year``.
    """
    eccns = pd.Index(eccn_regimes.index, name="eccn")
    ind = indicators[indicators["eccn"].isin(eccns)].reset_index(drop=True)
    W = _num(ind, "world_exports_usd")
    usable = ~np.isnan(W) & (weights.suppliers.min_world_exports_usd <= W) & (W > 0)
    conf = _num(ind, "confidence")
    conf = np.where(np.isnan(conf), 0.0, conf)
    years = _num(ind, "year")[usable]
    years = years[~np.isnan(years)]
    ref_year = weights.evidence.reference_year or (int(years.max()) if years.size else 0)
    N = _num(ind, "non_us_exports_usd")
    N = np.where(np.isnan(N), W * _num(ind, "non_us_share"), N)
    U = _num(ind, "us_exports_usd")
    U = np.where(np.isnan(U), W - N, U)
    C = _num(ind, "china_exports_usd")
    C = np.where(np.isnan(C), W * _num(ind, "china_share"), C)

    c = np.where(usable, conf, 0.0)
    frame = pd.DataFrame(
        {"eccn": ind["eccn"].to_numpy(), "c_all": conf, "c": c, "usable": usable.astype(float)}
    )

    def wsum(values: np.ndarray, name: str, mask: np.ndarray | None = None) -> None:
        ok = usable & ~np.isnan(values) if mask is None else mask
        frame[name] = np.where(ok, c * np.nan_to_num(values), 0.0)
        frame[name + "_w"] = np.where(ok, c, 0.0)

    wsum(W, "W")
    wsum(N, "N")
    wsum(U, "U")
    wsum(C, "C")
    for reg in REGIMES:
        # Shares are of non-U.S. exports: outside amount = share x non-U.S. exports.
        wsum(_regime_share(ind, reg) * N, f"O_{reg}")
    wsum(_num(ind, "n_non_us_suppliers"), "n")
    wsum(_num(ind, "hhi_non_us"), "hhi")
    wsum(_num(ind, "unit_value_ratio"), "uvr")
    if len(ind):
        frame["s"] = np.where(usable, c * c * _trade_strength(ind, weights, ref_year), 0.0)
    else:
        frame["s"] = 0.0
    frame["year"] = np.where(usable, _num(ind, "year"), np.nan)
    g = frame.groupby("eccn", sort=True).sum(numeric_only=True).reindex(eccns)
    g = g.fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame(index=eccns)
        out["n_links"] = frame.groupby("eccn").size().reindex(eccns).fillna(0).astype(int)
        out["n_links_with_data"] = g["usable"].astype(int)
        has_trade = g["c"].to_numpy() > 0
        out["non_us_share"] = np.where(g["W_w"] > 0, g["N"] / g["W"].where(g["W"] > 0), np.nan)
        out["non_us_to_us_ratio"] = np.where(
            g["N_w"] > 0, np.where(g["U"] > 0, g["N"] / g["U"].where(g["U"] > 0), np.inf), np.nan
        )
        out["china_share"] = np.where(g["C_w"] > 0, g["C"] / g["W"].where(g["W"] > 0), np.nan)
        for reg in REGIMES:
            out[f"_out_{reg}"] = np.where(
                g[f"O_{reg}_w"] > 0, g[f"O_{reg}"] / g["W"].where(g["W"] > 0), np.nan
            )
        out["n_non_us_suppliers"] = np.where(g["n_w"] > 0, g["n"] / g["n_w"].where(g["n_w"] > 0), np.nan)
        out["hhi_non_us"] = np.where(g["hhi_w"] > 0, g["hhi"] / g["hhi_w"].where(g["hhi_w"] > 0), np.nan)
        out["unit_value_ratio"] = np.where(
            g["uvr_w"] > 0, g["uvr"] / g["uvr_w"].where(g["uvr_w"] > 0), np.nan
        )
        coverage = np.where(g["c_all"] > 0, g["c"] / g["c_all"].where(g["c_all"] > 0), 0.0)
        strength = np.where(g["c"] > 0, g["s"] / g["c"].where(g["c"] > 0), 0.0)
        out["evidence_strength"] = np.clip(coverage * strength, 0, 1)
    out["quality_flag"] = np.nan
    latest = frame.groupby("eccn")["year"].max().reindex(eccns)
    out["latest_year"] = latest.astype("Float64").round().astype("Int64")
    out["outside_regime_share"] = _pick_regime_share(out, eccn_regimes)
    out["has_evidence"] = has_trade
    out["evidence_source"] = np.where(has_trade, "trade", "")
    out["granularity"] = _granularity(ind, usable, eccns)
    out["top_sources"] = _top_sources(ind, usable, c * np.nan_to_num(W), eccns)
    out["missing_major_exporters"] = _missing(ind, usable, eccns)
    if evidence is not None and len(evidence):
        out = _apply_supply_evidence(out, evidence, indicators, eccn_regimes, weights, regime_members)
    return out.drop(columns=[f"_out_{r}" for r in REGIMES])


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
                out.at[eccn, "hhi_non_us"] = float(((non_us / non_us.sum()) ** 2).sum())
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
        out.at[eccn, "evidence_source"] = "supply-side+trade" if had_trade else "supply-side"
        gran = out.at[eccn, "granularity"]
        out.at[eccn, "granularity"] = f"supply-side+{gran}" if gran else "supply-side"
        match = float(pd.to_numeric(rows["match_confidence"], errors="coerce").max())
        # Shares are strong evidence; a bare list of producer countries counts half.
        strength = weights.evidence.supply_side_strength * match * (1.0 if len(known) else 0.5)
        current = float(out.at[eccn, "evidence_strength"])
        out.at[eccn, "evidence_strength"] = max(current if current == current else 0.0, strength)
    return out


def subscores(agg: pd.DataFrame, weights: Weights) -> pd.DataFrame:
    """Turn aggregated indicators into the six availability sub-scores in [0, 1].

    Each sub-score is a monotone non-decreasing function of its indicator(s), so more
    non-U.S. supply never lowers it; a missing indicator gives NaN, not 0.

    * ``available_in_fact = 1 - exp(-n / supplier_saturation)``
    * ``non_us_source = non-U.S. share``
    * ``sufficient_quantity = min(1, ratio / quantity_ratio_full) x (1 - hhi_penalty x HHI)``
    * ``comparable_quality = quality flag share, else min(1, unit-value ratio / full)``
    * ``inside_china = min(1, China share / china_share_full)``
    * ``outside_regime = min(1, outside-regime share / outside_regime_share_full)``
    """
    p = weights.availability_params
    n = agg["n_non_us_suppliers"].to_numpy(dtype=float)
    out = pd.DataFrame(index=agg.index)
    out["available_in_fact"] = 1.0 - np.exp(-np.maximum(n, 0) / p.supplier_saturation)
    out["non_us_source"] = np.clip(agg["non_us_share"].to_numpy(dtype=float), 0, 1)
    ratio = agg["non_us_to_us_ratio"].to_numpy(dtype=float)
    hhi = np.nan_to_num(agg["hhi_non_us"].to_numpy(dtype=float), nan=0.0)
    with np.errstate(invalid="ignore"):
        out["sufficient_quantity"] = np.minimum(1.0, np.maximum(ratio, 0) / p.quantity_ratio_full) * (
            1.0 - p.hhi_penalty * np.clip(hhi, 0, 1)
        )
    flag = agg["quality_flag"].to_numpy(dtype=float)
    uvr = np.minimum(
        1.0, np.maximum(agg["unit_value_ratio"].to_numpy(dtype=float), 0) / p.unit_value_ratio_full
    )
    out["comparable_quality"] = np.where(np.isnan(flag), uvr, flag)
    out["inside_china"] = np.minimum(
        1.0, np.clip(agg["china_share"].to_numpy(dtype=float), 0, 1) / p.china_share_full
    )
    out["outside_regime"] = np.minimum(
        1.0, np.clip(agg["outside_regime_share"].to_numpy(dtype=float), 0, 1) / p.outside_regime_share_full
    )
    none = ~agg["has_evidence"].to_numpy(dtype=bool)
    out.loc[none, list(AVAILABILITY_COMPONENTS)] = np.nan
    return out[list(AVAILABILITY_COMPONENTS)]


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
