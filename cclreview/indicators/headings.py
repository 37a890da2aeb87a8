"""HS4 headings of older revisions: converted to the target heading, or refused.

A truncated heading table (``oec_baci_top40``, ``otstats``) is in the revision of its
source; a heading whose content changed between revisions describes other goods, so
its figures are refused rather than carried over (``unconverted_hs_codes.csv``).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from cclreview.errors import InputError
from cclreview.indicators.schema import UNCONVERTED_COLUMNS, WORLD
from cclreview.trade import hsrev

log = logging.getLogger(__name__)


def heading_decisions(
    concordance: hsrev.Concordance,
    from_rev: str,
    target: str,
    min_main_share: float = 0.8,
    trade_weights: hsrev.TradeWeights | None = None,
    heading_values: pd.Series | None = None,
) -> pd.DataFrame:
    """Per old heading: the target heading, or why its table rows are refused.

    Shares of a heading's content are means over its subheadings of the share of each
    subheading's trade landing in each new heading: from the Growth Lab trade weights
    when they cover the path, else from the UN concordance (where a split subheading
    goes wholly to one target). A heading converts to its main new heading when at
    least ``min_main_share`` of it goes there and the new heading gets at most
    ``1 - min_main_share`` of its content from other old headings. Otherwise (HS1992
    8525, whose mobile phones moved to 8517 in HS2007; 8517, which received them) the
    table's figures describe another set of goods: refused. ``heading_values`` (the
    table's world total per old heading) weighs what flows in from other headings by
    trade; without it every heading counts alike.

    Returns ``hs4_from, hs4_to, status, share, convert (bool), reason``.
    """
    if trade_weights is not None and trade_weights.has_path(from_rev, target):
        cm = trade_weights.code_map(from_rev, target)
        basis = "trade weights"
    else:
        cm = concordance.code_map(from_rev, target)[["code_from", "code_to", "share"]]
        basis = "UN concordance"
    cm = cm.assign(hs4_from=cm["code_from"].str[:4], hs4_to=cm["code_to"].str[:4])
    n_sub = cm.groupby("hs4_from")["code_from"].nunique()
    # Carved-out residual headings fed by many old headings (HS2022 8549 e-waste, 8524
    # display modules) are left out, as the UN conversion does (RESIDUAL_MIN_SOURCES):
    # the trade weights spread every parts subheading a little into them.
    # A feeder counts when it sends at least 5% of a subheading (not a 1% leak); the
    # residual link is dropped only where the subheading has somewhere else to go.
    big = cm[cm["share"] >= 0.05]
    feeders = big.groupby("hs4_to")["hs4_from"].nunique()
    residual = set(feeders[feeders >= concordance.residual_min_sources].index)
    is_res = cm["hs4_to"].isin(residual)
    other = (~is_res).groupby(cm["code_from"]).transform("sum")
    rest = cm[~(is_res & (other > 0))]
    cm = rest.assign(share=rest["share"] / rest.groupby("code_from")["share"].transform("sum"))
    g = cm.groupby(["hs4_from", "hs4_to"], as_index=False)["share"].sum()
    g["share"] = g["share"] / g["hs4_from"].map(n_sub)
    g["same"] = g["hs4_from"] == g["hs4_to"]
    order = g.sort_values(["hs4_from", "share", "same", "hs4_to"], ascending=[True, False, False, True])
    main = order.drop_duplicates("hs4_from").copy()
    # What the main target receives from OTHER old headings, as a fraction of all it
    # receives; senders passing it under 5% of themselves are estimation spread, not
    # content (the trade weights leak ~1% of many codes into residual headings).
    # With the table's own heading totals (``heading_values``) flows are weighed by
    # trade: a parts heading sending 40% of itself to 8542 is small beside 8542.
    size = g["hs4_from"].map(heading_values).fillna(0.0) if heading_values is not None else 1.0
    flow = g.assign(mass=g["share"] * size)
    recv = flow[flow["share"] >= 0.05].groupby("hs4_to")["mass"].sum()
    own = main["share"] * (
        main["hs4_from"].map(heading_values).fillna(0.0) if heading_values is not None else 1.0
    )
    total = main["hs4_to"].map(recv).fillna(0.0)
    main["others"] = np.where(total > 0, 1.0 - own / total.where(total > 0, 1.0), 0.0).clip(0, 1)
    ok = (main["share"] >= min_main_share) & (main["others"] <= 1.0 - min_main_share)
    main["convert"] = ok
    main["status"] = np.select(
        [ok & (main["share"] > 0.999) & (main["others"] < 0.001) & main["same"], ok & main["same"], ok],
        ["unchanged", "minor change", "renamed"],
        "content changed",
    )
    g = g[g["share"] >= 0.01]
    g = g.assign(pct=(g["share"] * 100).round().astype(int).astype(str))
    goes = (
        g.sort_values(["hs4_from", "share"], ascending=[True, False])
        .assign(t=lambda d: d["hs4_to"] + " " + d["pct"] + "%")
        .groupby("hs4_from")["t"]
        .agg(", ".join)
    )
    main["reason"] = np.where(
        ok,
        "",
        f"heading content changed between {from_rev} and {target} ({basis}: it goes to "
        + main["hs4_from"].map(goes).fillna("").astype(str)
        + "; "
        + main["hs4_to"].astype(str)
        + " gets "
        + (main["others"] * 100).round().astype(int).astype(str)
        + "% of its content from other headings): figures not comparable, refused",
    )
    return main[["hs4_from", "hs4_to", "status", "share", "convert", "reason"]].reset_index(drop=True)


def convert_headings(
    df: pd.DataFrame,
    target: str,
    concordance: hsrev.Concordance,
    min_main_share: float,
    trade_weights: hsrev.TradeWeights | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move HS4 rows of older revisions to ``target`` headings, refusing changed ones."""
    four = (df["hs_level"] == 4).to_numpy() & (df["hs_version"].astype(str) != target).to_numpy()
    if not four.any():
        return df, pd.DataFrame(columns=UNCONVERTED_COLUMNS)
    keep, refused = [df[~four]], []
    for rev, chunk in df[four].groupby("hs_version", observed=True):
        try:
            vals = chunk[chunk["value_kind"].astype(str).isin(["value", "world_total"])]
            wld = vals["exporter_iso3"].astype(str) == WORLD
            # Heading totals: the published world row where there is one, else the sum.
            sums = vals[~wld].groupby(vals.loc[~wld, "hs6"].astype(str))["value_usd"].sum()
            sums = sums.combine(vals[wld].groupby(vals.loc[wld, "hs6"].astype(str))["value_usd"].max(), max)
            dec = heading_decisions(concordance, str(rev), target, min_main_share, trade_weights, sums)
            dec = dec.set_index("hs4_from")
        except InputError as exc:
            log.warning("HS4 rows of %s keep their revision: %s", rev, exc)
            keep.append(chunk)
            continue
        code = chunk["hs6"].astype(str)
        ok = code.map(dec["convert"]).fillna(False).astype(bool).to_numpy()
        # WLD total rows of a refused heading go too: they are the same heading.
        bad = chunk[~ok]
        if len(bad):
            rc = bad["hs6"].astype(str)
            agg = bad.assign(code=rc).groupby("code").agg(n_rows=("year", "size"), value=("value_usd", "sum"))
            agg = agg.reset_index()
            reason = (
                agg["code"]
                .map(dec["reason"])
                .fillna(f"heading not in the {rev} to {target} concordance: refused")
            )
            refused.append(agg.assign(level=4, from_rev=str(rev), to_rev=target, reason=reason))
        good = chunk[ok].copy()
        good["hs6"] = good["hs6"].astype(str).map(dec["hs4_to"])
        good["hs_version"] = target
        keep.append(good)
        log.info("HS4 %s -> %s: %d headings converted, %d refused", rev, target, int(ok.sum()), len(bad))
    out = pd.concat([k.astype({"hs6": str, "hs_version": str}) for k in keep], ignore_index=True)
    ref = pd.concat(refused, ignore_index=True) if refused else pd.DataFrame(columns=UNCONVERTED_COLUMNS)
    return out, ref[UNCONVERTED_COLUMNS]
