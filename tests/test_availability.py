"""Availability indicators on tiny hand-computed cases (no real data)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cclreview.cli import cli
from cclreview.errors import InputError
from cclreview.indicators import compute_availability, indicators_for_links
from cclreview.trade.hs4 import read_hs4_top_n, read_hs4_world_table
from cclreview.trade.hsrev import Concordance


def _rows(
    year: int, flows: dict[str, tuple[float, float | None]], hs: str = "850511", **extra: object
) -> pd.DataFrame:
    df = pd.DataFrame(
        [{"exporter_iso3": k, "value_usd": v, "qty": q} for k, (v, q) in flows.items()],
    )
    df["year"], df["hs6"], df["hs_level"], df["hs_version"] = year, hs, 6, "HS2022"
    df["source"], df["value_kind"] = "baci:V1", "value"
    for k, v in extra.items():
        df[k] = v
    return df


HAND = {"USA": (100, 10), "CHN": (600, 100), "DEU": (200, 10), "HKG": (50, 5), "LUX": (50, None)}


def test_indicator_formulas_hand_computed() -> None:
    ex = pd.concat([_rows(2024, HAND), _rows(2023, {"USA": (200, None), "CHN": (800, None)})])
    av = compute_availability(ex, min_share=0.01, min_value_usd=0).availability.set_index("year")
    r = av.loc[2024]
    assert r["world_exports_usd"] == 1000 and r["us_exports_usd"] == 100 and r["non_us_exports_usd"] == 900
    assert r["non_us_share"] == pytest.approx(0.9)
    assert r["n_non_us_suppliers"] == 4  # threshold max(1% of 900, 0) = 9
    assert r["hhi_non_us"] == pytest.approx((600**2 + 200**2 + 50**2 + 50**2) / 900**2)
    assert r["china_share"] == pytest.approx(0.6) and r["china_exports_usd"] == 600
    assert r["entrepot_share"] == pytest.approx(0.05)
    # Non-U.S. sum(v) / sum(q) over exporters with quantities, over the U.S. v / q.
    assert r["unit_value_ratio"] == pytest.approx((850 / 115) / (100 / 10))
    assert r["share_outside_regime"] == pytest.approx(650 / 900)  # CHN + HKG are not Wassenaar
    assert r["top_suppliers"] == "CHN 60%; DEU 20%; HKG 5%; LUX 5%"
    assert list(r["top_suppliers_list"]) == ["CHN", "DEU", "HKG", "LUX"]
    assert r["years_covered"] == 2
    assert r["non_us_share_trend"] == pytest.approx(0.1)  # 0.8 -> 0.9 in one year
    assert not r["is_bounded"] and r["hhi_non_us_lo"] == r["hhi_non_us_hi"]
    assert r["hs6"] == "850511" and r["hs4"] == "8505" and r["n_exporters"] == 5


def test_value_floor_counts_fewer_suppliers() -> None:
    av = compute_availability(_rows(2024, HAND), min_share=0.01, min_value_usd=100).availability
    assert av["n_non_us_suppliers"].iloc[0] == 2  # CHN 600, DEU 200


def test_truncated_bounds_hand_computed(fixtures: Path) -> None:
    fx = fixtures / "availability"
    ex = read_hs4_top_n(fx / "topn_exporter_ranks.csv", fx / "topn_products.csv").exports
    av = compute_availability(ex, min_share=0.01, min_value_usd=40).availability.set_index("hs_code")
    chips = av.loc["8542"]
    # W 1000, listed TWN 500, CHN 250, USA 100; 5 unlisted share R = 150, each <= vN = 100.
    # NU = 900, T = max(9, 40) = 40: lo = 2 + 0 (150 < 5*40), hi = 2 + min(5, floor(150/40)) = 5.
    assert chips["is_bounded"]
    assert (chips["n_non_us_suppliers_lo"], chips["n_non_us_suppliers_hi"]) == (2, 5)
    assert chips["n_non_us_suppliers"] == 2
    assert chips["hhi_non_us_lo"] == pytest.approx((500**2 + 250**2 + 150**2 / 5) / 900**2)
    assert chips["hhi_non_us_hi"] == pytest.approx((500**2 + 250**2 + 100**2 + 50**2) / 900**2)
    assert chips["china_share"] == pytest.approx(0.25)
    assert chips["world_exports_usd"] == 1000 and chips["n_exporters"] == 8
    lasers = av.loc["9013"]
    # China only ranked: share bounded by min(vN = 300, R = 100) / 1000.
    assert pd.isna(lasers["china_share"])
    assert (lasers["china_share_lo"], lasers["china_share_hi"]) == (0.0, pytest.approx(0.1))
    # The unlisted U.S. may hold all of R, so the non-U.S. tail total is in [0, 100].
    assert lasers["hhi_non_us_lo"] == pytest.approx((600**2 + 300**2) / 1000**2)
    assert lasers["hhi_non_us_hi"] == pytest.approx((600**2 + 300**2 + 100**2) / 1000**2)


def test_precedence_no_double_counting() -> None:
    one = _rows(2024, HAND, source_file="flows.parquet")
    two = _rows(2024, HAND, source_file="flows_usd.csv")
    alone = compute_availability(one, min_value_usd=0).availability.iloc[0]
    res = compute_availability(pd.concat([one, two]), min_value_usd=0)
    both = res.availability.iloc[0]
    assert both["world_exports_usd"] == alone["world_exports_usd"] == 1000
    assert both["n_sources_available"] == 2 and res.conflicts.empty
    # Same label without source_file: still one copy, not the sum.
    same = compute_availability(pd.concat([_rows(2024, HAND), _rows(2024, HAND)]), min_value_usd=0)
    assert same.availability["world_exports_usd"].iloc[0] == 1000


def test_precedence_order_and_conflicts() -> None:
    baci = _rows(2024, HAND)
    comtrade = _rows(2024, {**HAND, "CHN": (900, None)}, source="comtrade")
    res = compute_availability(pd.concat([comtrade, baci]), min_value_usd=0)
    row = res.availability.iloc[0]
    assert row["source"] == "baci:V1" and row["world_exports_usd"] == 1000
    metrics = set(res.conflicts["metric"])
    assert {"world_exports_usd", "china_exports_usd"} <= metrics and "us_exports_usd" not in metrics
    assert (res.conflicts["chosen_source"].str.startswith("baci")).all()
    flipped = compute_availability(
        pd.concat([comtrade, baci]), min_value_usd=0, precedence=("comtrade", "baci")
    ).availability.iloc[0]
    assert flipped["source"] == "comtrade" and flipped["world_exports_usd"] == 1300


def test_missing_major_exporter_flag(fixtures: Path) -> None:
    fx = fixtures / "availability"
    full = read_hs4_world_table(fx / "hs4_world_2019.csv").exports
    top = read_hs4_top_n(fx / "topn_exporter_ranks.csv", fx / "topn_products.csv").exports
    av = compute_availability(pd.concat([full, top]), min_source_exporters=1).availability
    chips = av[av["hs_code"] == "8542"].set_index("year")
    # TWN (rank 1) and JPN (rank 5) are top 5 in 2023 but absent from the 2019 table;
    # HKG is top 5 in 2019 but not even ranked in the 2023 table.
    assert list(chips.loc[2019, "missing_major_exporters"]) == ["JPN", "TWN"]
    assert list(chips.loc[2023, "missing_major_exporters"]) == ["HKG"]
    assert chips.loc[2019, "source"] == "otstats" and chips.loc[2023, "source"] == "oec_baci_top40"


def test_hs_conversion_before_indicators(fixtures: Path) -> None:
    conc = Concordance.from_csv(fixtures / "availability" / "concordance.csv", residual_min_sources=3)
    a = _rows(2024, {"CHN": (30, None)}, hs="333331", hs_version="HS2017")
    b = _rows(2024, {"CHN": (70, None), "DEU": (100, None)}, hs="333332", hs_version="HS2017")
    res = compute_availability(pd.concat([a, b]), min_value_usd=0, concordance=conc)
    row = res.availability.iloc[0]
    assert (
        row["hs_code"] == "333330" and row["hs_version"] == "HS2022" and row["hs_version_source"] == "HS2017"
    )
    assert row["china_exports_usd"] == 100 and row["world_exports_usd"] == 200


def test_indicators_for_links_hs6_then_hs4(fixtures: Path) -> None:
    fx = fixtures / "availability"
    top = read_hs4_top_n(fx / "topn_exporter_ranks.csv", fx / "topn_products.csv").exports
    ex = pd.concat([_rows(2023, HAND), _rows(2024, HAND), top])
    av = compute_availability(ex, min_value_usd=0, min_source_exporters=1).availability
    links = pd.DataFrame(
        {
            "eccn": ["1C001", "3A001", "9Z999"],
            "paragraph": ["", "3A001.a", ""],
            "hs6": ["850511", "854231", "010121"],
        }
    )
    got = indicators_for_links(links, av, concordance=None).set_index("eccn")
    assert got.loc["1C001", "granularity"] == "HS6" and got.loc["1C001", "year"] == 2024
    assert got.loc["3A001", "granularity"] == "HS4" and got.loc["3A001", "hs4_table"] == "8542"
    assert got.loc["3A001", "source"] == "oec_baci_top40" and got.loc["3A001", "is_bounded"]
    assert got.loc["9Z999", "granularity"] is None and pd.isna(got.loc["9Z999", "world_exports_usd"])
    assert len(got) == 3


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match="lacks columns"):
        compute_availability(pd.DataFrame({"year": [2024]}))
    with pytest.raises(InputError, match="min_share"):
        compute_availability(_rows(2024, HAND), min_share=2)


def test_cli_availability(tmp_path: Path) -> None:
    ex = _rows(2024, HAND)
    ex.to_parquet(tmp_path / "exports.parquet")
    res = CliRunner().invoke(
        cli,
        [
            "availability",
            "--exports",
            str(tmp_path / "exports.parquet"),
            "--concordance",
            str(tmp_path / "none.csv"),
            "--out",
            str(tmp_path / "out"),
            "--min-value-usd",
            "0",
        ],
    )
    assert res.exit_code == 0, res.output
    av = pd.read_parquet(tmp_path / "out" / "availability_hs.parquet")
    assert av["n_non_us_suppliers"].iloc[0] == 4
    assert (tmp_path / "out" / "source_conflicts.csv").is_file()
    ev = pd.DataFrame({"hs6": ["850511", "850511", None], "country_iso3": ["JPN", "DEU", "NLD"]})
    ev.to_parquet(tmp_path / "evidence.parquet")
    args = ["availability", "--exports", str(tmp_path / "exports.parquet"), "--out", str(tmp_path / "o2")]
    res = CliRunner().invoke(cli, [*args, "--evidence", str(tmp_path / "evidence.parquet")])
    assert res.exit_code == 0, res.output
    av = pd.read_parquet(tmp_path / "o2" / "availability_hs.parquet")
    assert av["n_evidence_rows"].iloc[0] == 2 and list(av["evidence_countries"].iloc[0]) == ["DEU", "JPN"]
    res = CliRunner().invoke(
        cli, ["availability", "--exports", str(tmp_path / "no.parquet"), "--out", str(tmp_path)]
    )
    assert res.exit_code == 1 and "ingest-trade" in res.output


def test_partial_source_not_used_for_links(fixtures: Path) -> None:
    fx = fixtures / "availability"
    top = read_hs4_top_n(fx / "topn_exporter_ranks.csv", fx / "topn_products.csv").exports
    sample = _rows(2024, {"ZAF": (10, None), "AFG": (5, None)}, hs="854231", source="baci")
    res = compute_availability(pd.concat([sample, top]), min_value_usd=0, min_source_exporters=5)
    av = res.availability.set_index("hs_code")
    assert av.loc["854231", "partial_source"] and av.loc["854231", "source_exporters"] == 2
    assert not av.loc["8542", "partial_source"]
    got = indicators_for_links(pd.DataFrame({"eccn": ["3A001"], "hs6": ["854231"]}), res.availability, None)
    # The two-exporter sample says nothing about world supply: the heading is used.
    assert got.loc[0, "granularity"] == "HS4" and got.loc[0, "indicator_source"] == "oec_baci_top40"
