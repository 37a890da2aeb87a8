"""Availability on the real mirror, checked against independent sums of the raw files."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from cclreview.indicators import compute_availability, indicators_for_links
from cclreview.trade.hs4 import read_hs4_top_n, read_hs4_world_table
from cclreview.trade.hsrev import Concordance, TradeWeights

BACI = "trade/baci_hs17_V202601_minerals_2024.parquet"


def _baci_exports(shared: Path) -> pd.DataFrame:
    raw = pd.read_parquet(shared / BACI)
    # BACI's "S19" (Other Asia, nes) is Taiwan in practice.
    raw["exporter_iso3"] = raw["exporter"].replace({"S19": "TWN"})
    ex = raw.groupby(["year", "exporter_iso3", "hs6"], as_index=False).agg(
        value_usd=("value_kusd", "sum"), qty=("qty_t", "sum")
    )
    ex["value_usd"] *= 1000.0
    ex["hs_level"], ex["hs_version"], ex["source"], ex["value_kind"] = 6, "HS2017", "baci:V202601", "value"
    ex["source_file"] = "minerals.parquet"
    return ex


@pytest.fixture(scope="module")
def conc(shared_data: Path) -> Concordance:
    return Concordance.from_csv(shared_data / "hs" / "hs_concordances_comtrade.csv")


@pytest.fixture(scope="module")
def minerals(shared_data: Path, conc: Concordance) -> pd.DataFrame:
    return compute_availability(_baci_exports(shared_data), concordance=conc).availability


def _independent(shared: Path, hs6: str) -> dict[str, float]:
    """Plain-Python indicators from the raw bilateral flows."""
    totals: dict[str, float] = defaultdict(float)
    raw = pd.read_parquet(shared / BACI, columns=["exporter", "hs6", "value_kusd"])
    for exp, code, v in raw.itertuples(index=False):
        if code == hs6:
            totals["TWN" if exp == "S19" else exp] += v * 1000.0
    world = sum(totals.values())
    nu = world - totals.get("USA", 0.0)
    floor = max(0.01 * nu, 1e6)
    others = {k: v for k, v in totals.items() if k != "USA"}
    return {
        "world": world,
        "n": sum(1 for v in others.values() if v >= floor),
        "hhi": sum((v / nu) ** 2 for v in others.values()),
        "china": totals.get("CHN", 0.0) / world,
    }


@pytest.mark.parametrize("hs6", ["850511", "811292"])
def test_minerals_match_raw_flows(shared_data: Path, minerals: pd.DataFrame, hs6: str) -> None:
    row = minerals[(minerals["hs_code"] == hs6) & (minerals["year"] == 2024)].iloc[0]
    ind = _independent(shared_data, hs6)
    assert row["hs_version"] == "HS2022"  # magnets stay on 850511, not spread over 8549xx
    assert row["world_exports_usd"] == pytest.approx(ind["world"], rel=1e-9)
    assert row["n_non_us_suppliers"] == ind["n"]
    assert row["hhi_non_us"] == pytest.approx(ind["hhi"], rel=1e-9)
    assert row["china_share"] == pytest.approx(ind["china"], rel=1e-9)
    assert ind["n"] >= 5 and 0 < ind["china"] < 1


def test_parquet_and_csv_not_summed(shared_data: Path, conc: Concordance, minerals: pd.DataFrame) -> None:
    csv = pd.read_csv(shared_data / "trade/baci_hs17_V202601_minerals_2024_usd.csv", dtype={"cmd": str})
    ex = csv.groupby(["i", "cmd"], as_index=False)["value"].sum()
    ex = ex.rename(columns={"i": "exporter_iso3", "cmd": "hs6", "value": "value_usd"})
    ex["exporter_iso3"] = ex["exporter_iso3"].replace({"S19": "TWN"})
    ex["year"], ex["hs_level"], ex["hs_version"], ex["source"], ex["value_kind"] = (
        2024,
        6,
        "HS2017",
        "baci:V202601",
        "value",
    )
    ex["source_file"] = "minerals_usd.csv"
    res = compute_availability(pd.concat([_baci_exports(shared_data), ex]), concordance=conc)
    both = res.availability.set_index("hs_code")["world_exports_usd"]
    alone = minerals.set_index("hs_code")["world_exports_usd"]
    pd.testing.assert_series_equal(both.sort_index(), alone.sort_index(), rtol=1e-3)
    assert res.availability["n_sources_available"].eq(2).all()
    assert res.conflicts.empty  # the same flows: no difference above 5 %


def test_hs4_tables_end_to_end(shared_data: Path, conc: Concordance) -> None:
    ots_path = shared_data / "trade" / "otstats_world_exports_hs07_hs4_2017.csv"
    ots = read_hs4_world_table(ots_path).exports
    oec = read_hs4_top_n(shared_data / "trade" / "oec_baci_hs92_hs4_2023_exporter_ranks.csv").exports
    weights = TradeWeights.from_dir(shared_data / "hs")
    res = compute_availability(pd.concat([ots, oec]), concordance=conc, trade_weights=weights)
    av = res.availability
    raw = pd.read_csv(ots_path, dtype={"product_code": str})
    raw_total = raw.dropna(subset=["export_value_usd"]).groupby("product_code")["export_value_usd"].sum()
    y17 = av[av["year"] == 2017].set_index("hs_code")["world_exports_usd"]
    # Every HS2007 heading is converted to HS2022 or refused with a reason, never dropped.
    refused = res.unconverted[(res.unconverted["level"] == 4) & (res.unconverted["from_rev"] == "HS2007")]
    assert len(y17) + len(refused) == len(raw_total)
    assert refused["reason"].str.len().gt(20).all()
    # Nothing is lost or invented: converted plus refused value is the table's total ...
    assert y17.sum() + refused["value"].sum() == pytest.approx(raw_total.sum(), rel=1e-9)
    # ... and headings that keep their number keep their figures (a renamed heading may
    # take the number of another, so a few differ).
    same = y17.index.intersection(raw_total.index)
    equal = (y17.loc[same] - raw_total.loc[same]).abs() <= 1e-6 * raw_total.loc[same]
    assert len(same) > 1100 and equal.mean() > 0.99
    assert (av["hs_version"] == "HS2022").all()
    # HS1992 8525 (mobile phones moved to 8517 in HS2007) is refused, with the reason.
    r92 = res.unconverted[(res.unconverted["from_rev"] == "HS1992")].set_index("code")
    assert "8517" in r92.at["8525", "reason"]
    chips = av[av["hs_code"] == "8542"].set_index("year")
    assert "TWN" in chips.loc[2017, "missing_major_exporters"]
    assert "TWN" in chips.loc[2023, "top_suppliers_list"] and chips.loc[2023, "is_bounded"]
    lo, hi = chips.loc[2023, "hhi_non_us_lo"], chips.loc[2023, "hhi_non_us_hi"]
    assert 0 < lo <= hi < 1
    links = pd.DataFrame({"eccn": ["2B001", "3A001"], "hs6": ["845710", "854231"]})
    got = indicators_for_links(links, av, concordance=conc).set_index("eccn")
    assert got.loc["2B001", "granularity"] == "HS4" and got.loc["2B001", "hs4_table"] == "8457"
    assert got.loc["2B001", "source"] == "otstats" and got.loc["2B001", "n_non_us_suppliers"] >= 10
    assert got.loc["3A001", "year"] == 2023 and "TWN" in got.loc["3A001", "top_suppliers_list"]
