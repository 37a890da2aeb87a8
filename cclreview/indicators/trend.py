"""Years covered and the trend of the non-U.S. share, per chosen source and product."""

from __future__ import annotations

import pandas as pd


def share_trend(chosen: pd.DataFrame) -> pd.DataFrame:
    """years_covered and the least-squares slope of non_us_share per year."""
    key = ["unit", "hs_level", "hs_code"]
    d = chosen[[*key, "year", "non_us_share"]].dropna(subset=["non_us_share"])
    x, y = d["year"].astype(float), d["non_us_share"].astype(float)
    agg = (
        d.assign(x=x, y=y, xx=x * x, xy=x * y)
        .groupby(key)
        .agg(n=("x", "size"), sx=("x", "sum"), sy=("y", "sum"), sxx=("xx", "sum"), sxy=("xy", "sum"))
    )
    den = agg["n"] * agg["sxx"] - agg["sx"] ** 2
    agg["non_us_share_trend"] = ((agg["n"] * agg["sxy"] - agg["sx"] * agg["sy"]) / den).where(
        (agg["n"] > 1) & (den > 0)
    )
    years = chosen.groupby(key)["year"].nunique().rename("years_covered")
    return agg[["non_us_share_trend"]].join(years, how="outer").reset_index()
