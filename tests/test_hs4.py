"""HS4 readers: the full world table and the truncated top-N layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from cclreview.errors import InputError
from cclreview.trade.countries import CountryResolver
from cclreview.trade.hs4 import read_hs4_top_n, read_hs4_world_table
from cclreview.trade.registry import detect_reader
from cclreview.trade.tidy import ReadContext


@pytest.fixture()
def fx(fixtures: Path) -> Path:
    return fixtures / "availability"


def test_world_table(fx: Path) -> None:
    res = read_hs4_world_table(fx / "hs4_world_2019.csv")
    ex = res.exports
    assert set(ex["year"]) == {2019} and set(ex["hs_level"]) == {4} and set(ex["hs_version"]) == {"HS2007"}
    # Leading zeros kept; empty value skipped (not a zero); bad number rejected with its line.
    assert "0101" in set(ex["hs6"])
    assert "DEU" not in set(ex.loc[ex["hs6"] == "8542", "exporter_iso3"])
    assert res.counts["empty_values"] == 1
    assert res.rejected["line"].tolist() == [10] and "non-numeric" in res.rejected["reason"].iloc[0]
    assert res.unmatched["value"].tolist() == ["xyz"]
    chips = ex[ex["hs6"] == "8542"].set_index("exporter_iso3")
    assert chips["value_usd"].sum() == 700.0
    assert chips.loc["CHN", "rank"] == 1 and chips.loc["HKG", "rank"] == 4


def test_top_n_layout(fx: Path) -> None:
    res = read_hs4_top_n(fx / "topn_exporter_ranks.csv", fx / "topn_products.csv")
    ex = res.exports
    chips = ex[ex["hs6"] == "8542"]
    assert chips["value_kind"].value_counts().to_dict() == {"rank_only": 5, "value": 3, "world_total": 1}
    world = chips[chips["value_kind"] == "world_total"].iloc[0]
    assert world["exporter_iso3"] == "WLD" and world["value_usd"] == 1000 and world["n_exporters"] == 8
    # ISO2 "NA" is Namibia, not a missing value.
    assert "NAM" in set(chips["exporter_iso3"])
    assert chips.loc[chips["exporter_iso3"] == "TWN", "rank"].iloc[0] == 1
    assert chips.loc[chips["value_kind"] == "rank_only", "value_usd"].isna().all()
    assert set(ex["hs_version"]) == {"HS1992"}


def test_top_n_requires_products(fx: Path, tmp_path: Path) -> None:
    ranks = tmp_path / "x_exporter_ranks.csv"
    shutil.copy(fx / "topn_exporter_ranks.csv", ranks)
    with pytest.raises(InputError, match="world totals file"):
        read_hs4_top_n(ranks)
    bad = tmp_path / "bad.csv"
    bad.write_text("reporter_iso,product_code\nusa,8542\n")
    with pytest.raises(InputError, match="missing columns"):
        read_hs4_world_table(bad, year=2017)


def test_registry_picks_hs4_readers(fx: Path) -> None:
    ctx = ReadContext(resolver=CountryResolver())
    assert detect_reader(fx / "hs4_world_2019.csv", ctx).name == "otstats_hs4"
    reader = detect_reader(fx / "topn_exporter_ranks.csv", ctx)
    assert reader.name == "oec_hs4_top_n"
    assert detect_reader(fx / "topn_products.csv", ctx).name == "oec_hs4_products"
    out = reader.read(fx / "topn_exporter_ranks.csv", ctx)
    assert (out.exports["value_kind"] == "world_total").sum() == 2
    assert {"hs_level", "rank", "value_kind"} <= set(out.exports.columns)


def test_real_ots_world_totals(shared_data: Path) -> None:
    path = shared_data / "trade" / "otstats_world_exports_hs07_hs4_2017.csv"
    ex = read_hs4_world_table(path).exports
    raw = pd.read_csv(path, dtype={"product_code": str})
    expected = raw.dropna(subset=["export_value_usd"]).groupby("product_code")["export_value_usd"].sum()
    got = ex.groupby("hs6")["value_usd"].sum()
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
    assert "TWN" not in set(ex["exporter_iso3"])  # the documented gap of this table


def test_real_oec_taiwan_in_chips(shared_data: Path) -> None:
    ex = read_hs4_top_n(shared_data / "trade" / "oec_baci_hs92_hs4_2023_exporter_ranks.csv").exports
    chips = ex[ex["hs6"] == "8542"]
    assert "TWN" in set(chips.loc[chips["value_kind"] == "value", "exporter_iso3"])
    prods = pd.read_csv(
        shared_data / "trade" / "oec_baci_hs92_hs4_2023_products.csv", dtype={"hs4_hs92": str}
    )
    wt = chips.loc[chips["value_kind"] == "world_total", "value_usd"].iloc[0]
    assert wt == prods.set_index("hs4_hs92").loc["8542", "world_export_usd"]
