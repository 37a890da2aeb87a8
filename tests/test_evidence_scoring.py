"""Evidence that discriminates (issue 12): confirmed links, specificity weighting,
one nomenclature, evidence gates, unit values and sensitivity to links and data."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cclreview.indicators import compute_availability
from cclreview.score.engine import score_prepared, score_tables
from cclreview.score.gates import apply_evidence_gates
from cclreview.score.prepare import prepare
from cclreview.score.sensitivity import sensitivity
from cclreview.score.synthetic import make_synthetic
from cclreview.score.weights import load_weights, parse_weights
from cclreview.trade.hsrev import Concordance, TradeWeights

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def weights():
    return load_weights(ROOT / "config" / "weights.toml")


def _entry(eccn: str) -> dict:
    return {
        "eccn": eccn, "heading": "invented", "category": int(eccn[0]), "reasons": ["AT"],
        "chart_columns": ["AT1"], "is_600_series": False, "is_515": False, "reserved": False,
        "subject_to_itar": False,
    }  # fmt: skip


def _av(
    code: str, level: int, world: float, non_us: float, china: float, hhi: float, year: int = 2024
) -> dict:
    return {
        "hs_code": code, "hs_level": level, "hs6": code if level == 6 else None, "hs4": code[:4],
        "hs_version": "HS2022", "year": year, "source": "baci:test" if level == 6 else "otstats",
        "world_exports_usd": world, "us_exports_usd": world * (1 - non_us),
        "non_us_exports_usd": world * non_us, "non_us_share": non_us, "n_non_us_suppliers": 10,
        "hhi_non_us": hhi, "china_share": china, "china_exports_usd": world * china,
        "share_outside_regime": 0.5, "is_bounded": False, "missing_major_exporters": [],
        "top_suppliers": "DEU 30%", "partial_source": False,
    }  # fmt: skip


def test_broad_heading_cannot_swamp_a_specific_link(weights) -> None:
    """Hand-computed: a dedicated subheading (spec 1) and a whole heading (spec 0.1)."""
    entries = pd.DataFrame([_entry("1A999")])
    links = pd.DataFrame(
        [
            {"eccn": "1A999", "hs6": "111111", "source": "curated", "confidence": 0.9, "specificity": 1.0},
            {"eccn": "1A999", "hs6": "222222", "source": "curated", "confidence": 0.9, "specificity": 0.1},
        ]
    )
    # The specific line: $100M, U.S. half of it. The heading: $100bn, U.S. 5%, China 40%.
    avail = pd.DataFrame([_av("111111", 6, 1e8, 0.50, 0.0, 0.25), _av("2222", 4, 1e11, 0.95, 0.40, 0.10)])
    out = score_tables(entries, links, avail, weights).set_index("eccn").loc["1A999"]
    w_a, w_b = 0.9 * 1.0, 0.9 * 0.1 * weights.evidence.hs4_factor  # confidence x specificity (x HS4)
    assert out["non_us_share"] == pytest.approx((w_a * 0.50 + w_b * 0.95) / (w_a + w_b))
    assert out["china_share"] == pytest.approx((w_b * 0.40) / (w_a + w_b))
    assert out["n_effective_suppliers"] == pytest.approx((w_a * 4 + w_b * 10) / (w_a + w_b))
    # Weighting by trade value would have given ~0.95: the heading ($100bn) swamping.
    assert out["non_us_share"] < 0.55


def _identity_steps(codes: list[str], moves: dict[tuple[str, str], tuple[str, str]]) -> Concordance:
    """A concordance chain HS1992 -> HS2022 where codes keep their number except ``moves``."""
    revs = ["1992", "1996", "2002", "2007", "2012", "2017", "2022"]
    rows = []
    for a, b in itertools.pairwise(revs):
        for c in codes:
            after = moves.get((b, c), (c, ""))[0]
            rows.append(
                {"after": after, "before": c, "relationship": "1:1", "to_rev": f"HS{b}", "from_rev": f"HS{a}"}
            )
        codes = [moves.get((b, c), (c, ""))[0] for c in codes]
    return Concordance(pd.DataFrame(rows))


def test_hs1992_heading_whose_content_changed_is_refused() -> None:
    # HS2007 moved mobile phones (852520) from heading 8525 to 8517.
    conc = _identity_steps(["852510", "852520", "851711", "847130"], {("2007", "852520"): ("851712", "")})
    rows = []
    for code in ("8525", "8517", "8471"):
        for iso, v in (("DEU", 5e9), ("CHN", 8e9), ("USA", 2e9), ("JPN", 1e9)):
            rows.append({"year": 2023, "exporter_iso3": iso, "hs6": code, "hs_level": 4, "hs_version": "HS1992",
                         "value_usd": v, "source": "oec_baci_top40", "value_kind": "value"})  # fmt: skip
    res = compute_availability(pd.DataFrame(rows), concordance=conc, min_source_exporters=1)
    refused = res.unconverted.set_index("code")
    assert {"8525", "8517"} <= set(refused.index)
    assert "content changed" in refused.at["8525", "reason"] and "8517 50%" in refused.at["8525", "reason"]
    assert refused.at["8525", "level"] == 4
    av = res.availability
    assert list(av["hs_code"]) == ["8471"]  # converted to the HS2022 heading
    assert av.iloc[0]["hs_version"] == "HS2022" and av.iloc[0]["hs_version_source"] == "HS1992"


def test_trade_weights_drop_noise_renormalise_and_convert(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "atlas_conversion_weights_H5_to_H6.csv.gz", "wt") as fh:
        fh.write("H5,H6,weight,group_id\n845710,845710,0.995,1\n845710,854900,0.005,1\n")
        fh.write("847130,847130,0.6,2\n847130,847141,0.4,2\n")
    tw = TradeWeights.from_dir(tmp_path)
    assert tw.has_path("HS2017", "HS2022") and not tw.has_path("HS2012", "HS2022")
    df = pd.DataFrame({"hs6": ["845710", "847130", "999999"], "value_usd": [100.0, 50.0, 7.0]})
    out, unconv = tw.convert(df, "HS2017", "HS2022")
    got = out.groupby("hs6")["value_usd"].sum().to_dict()
    assert got == pytest.approx({"845710": 100.0, "847130": 30.0, "847141": 20.0})
    assert list(unconv["code"]) == ["999999"]


def test_unit_values_need_a_quantity_floor() -> None:
    rows = []
    for code, us_q in (("811292", 500.0), ("811293", 2.0)):
        for iso, v, q in (("USA", 1e7, us_q), ("DEU", 2e7, 400.0), ("CHN", 3e7, 1200.0)):
            rows.append({"year": 2024, "exporter_iso3": iso, "hs6": code, "hs_level": 6, "hs_version": "HS2022",
                         "value_usd": v, "qty": q, "source": "baci:t"})  # fmt: skip
    av = compute_availability(pd.DataFrame(rows), min_source_exporters=1, min_quantity_tonnes=10).availability
    av = av.set_index("hs_code")
    # Non-U.S. 5e7 USD / 1600 t against U.S. 1e7 / 500 t.
    assert av.at["811292", "unit_value_ratio"] == pytest.approx((5e7 / 1600) / (1e7 / 500))
    assert np.isnan(av.at["811293", "unit_value_ratio"])  # 2 U.S. tonnes cannot make a ratio


def _mini(fixtures: Path) -> dict[str, pd.DataFrame]:
    data = json.loads((fixtures / "score" / "mini.json").read_text(encoding="utf-8"))
    return {k: pd.DataFrame(v) for k, v in data.items() if not k.startswith("_")}


def test_unconfirmed_suggestions_give_insufficient_evidence(fixtures: Path, weights) -> None:
    mini = _mini(fixtures)
    links = mini["links"].copy()
    links.loc[links["eccn"] == "2B002", "source"] = "suggested"
    out = score_tables(mini["entries"], links, mini["availability"], weights).set_index("eccn")
    r = out.loc["2B002"]
    assert r["tier"] == "insufficient evidence"
    assert r["insufficient_reason"] == "unconfirmed links"
    assert r["explanation"].startswith("unconfirmed links")
    # The links table's own `confirmed` column wins over the source name.
    confirmed = links.assign(confirmed=links["eccn"].eq("2B002") | links["source"].ne("suggested"))
    out2 = score_tables(mini["entries"], confirmed, mini["availability"], weights).set_index("eccn")
    assert out2.loc["2B002", "insufficient_reason"] == "" and out2.loc["2B002", "evidence_strength"] > 0
    # The weights switch lets suggestions count, at a reduced strength.
    on = parse_weights({"evidence": {"unconfirmed_links_count": True, "unconfirmed_factor": 0.3}})
    out3 = score_tables(mini["entries"], links, mini["availability"], on).set_index("eccn")
    assert out3.loc["2B002", "insufficient_reason"] == ""
    assert 0 < out3.loc["2B002", "evidence_strength"] < out2.loc["2B002", "evidence_strength"]


def test_hs4_only_evidence_caps_at_review(weights) -> None:
    tier = np.array(["candidate", "candidate", "review"], dtype=object)
    assert list(apply_evidence_gates(tier, np.array([True, False, False]))) == [
        "candidate",
        "review",
        "review",
    ]
    entries = pd.DataFrame([_entry("1A998"), _entry("1A999")])
    links = pd.DataFrame(
        [
            {"eccn": "1A998", "hs6": "111111", "source": "curated", "confidence": 1.0, "specificity": 1.0},
            {"eccn": "1A999", "hs6": "222222", "source": "curated", "confidence": 1.0, "specificity": 1.0},
        ]
    )
    avail = pd.DataFrame([_av("111111", 6, 1e9, 0.97, 0.4, 0.05), _av("2222", 4, 1e9, 0.97, 0.4, 0.05)])
    loose = parse_weights({"tiers": {"candidate_min_score": 0.2, "review_min_score": 0.1}})
    out = score_tables(entries, links, avail, loose).set_index("eccn")
    assert out.loc["1A998", "tier"] == "candidate"
    assert out.loc["1A999", "tier"] == "review"
    assert "capped at review" in out.loc["1A999", "explanation"]
    off = parse_weights(
        {
            "tiers": {"candidate_min_score": 0.2, "review_min_score": 0.1},
            "evidence": {"hs4_only_caps_at_review": False},
        }
    )
    assert score_tables(entries, links, avail, off).set_index("eccn").loc["1A999", "tier"] == "candidate"


def test_stale_data_and_missing_exporters_are_named(weights) -> None:
    entries = pd.DataFrame([_entry("1A999")])
    links = pd.DataFrame([{"eccn": "1A999", "hs6": "222222", "source": "curated", "confidence": 1.0}])
    old = _av("2222", 4, 1e9, 0.9, 0.2, 0.1, year=2017) | {"missing_major_exporters": ["TWN"]}
    new = _av("333333", 6, 1e9, 0.9, 0.2, 0.1, year=2024)  # sets the reference year
    out = score_tables(entries, links, pd.DataFrame([old, new]), weights).set_index("eccn").loc["1A999"]
    assert "data from 2017 (older than 5 years)" in out["explanation"]
    assert "TWN" in out["explanation"]


def test_evidence_perturbation_lowers_a_one_link_leader(weights) -> None:
    d = make_synthetic(120, seed=3)
    prep = prepare(d["entries"], d["links"], d["availability"], weights, d["evidence"])
    base = score_prepared(prep, weights, "x").set_index("eccn")
    sens = sensitivity(prep, weights, draws=400, seed=2).set_index("eccn")
    leaders = base[
        (base["rank"] <= 5) & (base["n_links_confirmed"] == 1) & ~base["granularity"].str.contains("supply")
    ]
    assert len(leaders)
    for eccn in leaders.index:
        s = sens.loc[eccn]
        assert s["p_top25_weights"] == pytest.approx(1.0)  # weights alone: looks certain
        assert s["p_top25_links"] < 1.0  # leave its one link out: no evidence in that draw
        assert s["p_top25"] < 1.0
        assert s["rank_p95_links"] > s["rank_p95_weights"]


def test_a_broad_table_without_taiwan_names_it_on_every_row() -> None:
    """Taiwan is absent from the whole 2017 table but major in the other broad table."""
    rows = []
    for h in range(120):  # two broad HS4 tables (>= 100 headings each), both HS2022
        code = f"{8400 + h}"
        for iso, v in (("TWN", 9e8), ("CHN", 8e8), ("DEU", 5e8), ("JPN", 4e8), ("KOR", 3e8), ("USA", 2e8)):
            rows.append({"year": 2023, "exporter_iso3": iso, "hs6": code, "hs_level": 4, "hs_version": "HS2022",
                         "value_usd": v, "source": "oec_baci_top40", "value_kind": "value"})  # fmt: skip
            if iso != "TWN":
                rows.append({"year": 2017, "exporter_iso3": iso, "hs6": code, "hs_level": 4,
                             "hs_version": "HS2022", "value_usd": v, "source": "otstats",
                             "value_kind": "value"})  # fmt: skip
    av = compute_availability(pd.DataFrame(rows), min_source_exporters=1).availability
    old = av[av["year"] == 2017]
    assert old["missing_major_exporters"].map(lambda m: "TWN" in m).all()
    assert not av[av["year"] == 2023]["missing_major_exporters"].map(len).any()
