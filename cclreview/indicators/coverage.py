"""Coverage warnings: major exporters a chosen source has no row for.

``missing_major_exporters`` lists exporters that another source shows among the top 5
for the same product (headings compared in HS2022 through the concordance), plus those
a broad table leaves out entirely (Taiwan in the 2017 Open Trade Statistics table).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cclreview.errors import InputError
from cclreview.indicators.schema import MAJOR_MIN_PRODUCTS, MIN_BROAD_PRODUCTS, TOP_K, USA, WORLD
from cclreview.trade import hsrev


def compare_key(df: pd.DataFrame, concordance: hsrev.Concordance | None, target: str) -> pd.Series:
    """A product key comparable across sources: HS4 headings mapped to ``target``."""
    key = df["hs_level"].astype(str) + ":" + df["hs_code"].astype(str)
    if concordance is None:
        return key
    four = df["hs_level"] == 4
    out = key.copy()
    for rev in df.loc[four, "hs_version"].unique():
        sel = four & (df["hs_version"] == rev)
        try:
            hm = concordance.heading_map(rev, target)
        except InputError:
            continue
        main = hm[hm["is_main"]].set_index("hs4_from")["hs4_to"]
        mapped = df.loc[sel, "hs_code"].map(main).fillna(df.loc[sel, "hs_code"])
        out[sel] = "4:" + mapped
    return out


def missing_major(
    df: pd.DataFrame,
    chosen: pd.DataFrame,
    concordance: hsrev.Concordance | None,
    target: str,
    partial_units: frozenset[str] = frozenset(),
) -> pd.Series:
    """Per chosen row, top-5 exporters of other sources absent from this source's data."""
    empty = pd.Series([[] for _ in range(len(chosen))], index=chosen.index, dtype=object)
    pkeys = ["unit", "hs_level", "hs_code", "hs_version"]
    # Work on the few (source, product) combinations first: only products that more
    # than one source covers can miss anything.
    combos = df[pkeys].drop_duplicates().astype({"unit": str, "hs_code": str, "hs_version": str})
    combos["ckey"] = compare_key(combos, concordance, target)
    n_units = combos.groupby("ckey")["unit"].transform("nunique")
    combos = combos[n_units > 1]
    if combos.empty:
        return empty
    sub = df[df["hs_code"].isin(set(combos["hs_code"])) & (df["exporter_iso3"] != WORLD)]
    rows = sub[[*pkeys, "year", "exporter_iso3", "value_usd", "rank"]].astype(
        {"unit": str, "hs_code": str, "hs_version": str, "exporter_iso3": str}
    )
    rows = rows.merge(combos, on=pkeys, how="inner")
    # Top 5 per (unit, ckey, year): by rank where given, else by value.
    order = pd.to_numeric(rows["rank"], errors="coerce")
    vrank = rows.groupby(["unit", "ckey", "year"])["value_usd"].rank(ascending=False, method="first")
    rows["r"] = order.where(order.notna(), vrank)
    top = rows[rows["r"] <= TOP_K][["unit", "ckey", "exporter_iso3"]].drop_duplicates()
    top = top[~top["unit"].isin(partial_units)]  # a sample's "top 5" is not "major"
    ch = chosen[[*pkeys, "year"]].astype({"unit": str, "hs_code": str, "hs_version": str})
    ch["row"] = np.arange(len(chosen))
    ch = ch.merge(combos, on=pkeys, how="inner")
    # Top-5 exporters of the other units for the same product ...
    cand = ch[["row", "unit", "year", "ckey"]].merge(top.rename(columns={"unit": "other"}), on="ckey")
    cand = cand[cand["other"] != cand["unit"]]
    # ... that have no row at all in this unit for this product and year.
    have = rows[["unit", "ckey", "year", "exporter_iso3"]].drop_duplicates().assign(present=True)
    cand = cand.merge(have, on=["unit", "ckey", "year", "exporter_iso3"], how="left")
    miss = cand[cand["present"].isna()].drop_duplicates(["row", "exporter_iso3"])
    lists = miss.sort_values("exporter_iso3").groupby("row")["exporter_iso3"].agg(list)
    return pd.Series([lists.get(i, []) for i in range(len(chosen))], index=chosen.index, dtype=object)


def absent_from_source(df: pd.DataFrame, partial_units: frozenset[str]) -> dict[str, list[str]]:
    """Per source unit: major exporters it has no row for at all (Taiwan in the 2017 table).

    Comtrade-based tables leave Taiwan out entirely ("Other Asia, nes"): the absence
    concerns every product of the table, including those no other source covers.
    """
    real = df[(df["exporter_iso3"] != WORLD) & (df["value_kind"] == "value")]
    if real.empty:
        return {}
    t = real[["unit", "hs_level", "hs_code", "year", "exporter_iso3", "value_usd"]].astype(
        {"unit": str, "exporter_iso3": str, "hs_code": str}
    )
    t["r"] = t.groupby(["unit", "hs_level", "hs_code", "year"])["value_usd"].rank(
        ascending=False, method="first"
    )
    # Only broad tables (many products) say who is "major" and can be found lacking:
    # a 30-code extract has no view on who exports everything else.
    n_products = t.groupby("unit")["hs_code"].nunique()
    broad = set(n_products[n_products >= MIN_BROAD_PRODUCTS].index) - set(partial_units)
    t = t[t["unit"].isin(broad)]
    top = t[t["r"] <= TOP_K]
    counts = top.groupby(["unit", "exporter_iso3"]).size().rename("n").reset_index()
    present = t.groupby("unit")["exporter_iso3"].agg(set).to_dict()
    out: dict[str, list[str]] = {}
    for unit, have in present.items():
        others = counts[(counts["unit"] != unit)]
        major = set(others.loc[others["n"] >= MAJOR_MIN_PRODUCTS, "exporter_iso3"]) - {USA}
        miss = sorted(major - have)
        if miss and unit not in partial_units:
            out[unit] = miss
    return out
