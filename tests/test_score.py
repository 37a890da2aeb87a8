"""Scoring on invented fixtures (tests/fixtures/score/mini.json) and on the real CCL."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures.contract_fill import fill

from cclreview.errors import SourceMissingError, ValidationError
from cclreview.score.engine import SCORE_COLUMNS, load_score_inputs, run_score, score_tables
from cclreview.score.weights import AVAILABILITY_COMPONENTS, load_weights, parse_weights

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "config" / "weights.toml"


def load_mini(fixtures: Path) -> dict[str, pd.DataFrame]:
    data = json.loads((fixtures / "score" / "mini.json").read_text(encoding="utf-8"))
    return {k: pd.DataFrame(v) for k, v in data.items() if not k.startswith("_")}


@pytest.fixture(scope="module")
def mini(fixtures: Path) -> dict[str, pd.DataFrame]:
    return load_mini(fixtures)


@pytest.fixture(scope="module")
def weights():
    return load_weights(WEIGHTS)


@pytest.fixture(scope="module")
def scores(mini, weights) -> pd.DataFrame:
    return score_tables(mini["entries"], mini["links"], mini["availability"], weights, mini["evidence"])


def row(scores: pd.DataFrame, eccn: str) -> pd.Series:
    return scores.set_index("eccn").loc[eccn]


def test_contract_columns_and_ranges(scores: pd.DataFrame) -> None:
    assert list(scores.columns[: len(SCORE_COLUMNS)]) == list(SCORE_COLUMNS)
    assert sorted(scores["rank"]) == list(range(1, len(scores) + 1))
    for col in (
        "decontrol_score",
        "availability_score",
        "security_score",
        "evidence_strength",
        *AVAILABILITY_COMPONENTS,
    ):
        vals = scores[col].dropna()
        assert ((vals >= 0) & (vals <= 1)).all(), col
    assert scores["unilateral_action_possible"].dtype == bool
    assert scores["weights_sha256"].nunique() == 1


def test_guardrails_win_whatever_the_scores(scores: pd.DataFrame) -> None:
    for eccn in ("3A090", "3B001", "9A610"):
        r = row(scores, eccn)
        assert r["tier"] == "guardrail", eccn
        assert r["guardrail_reason"]
        assert r["explanation"].startswith("guardrail: ")
    # 3A090 has strong availability but is still guardrailed, with its reason.
    assert row(scores, "3A090")["availability_score"] > 0.5
    assert "advanced computing" in row(scores, "3A090")["guardrail_reason"]
    assert "600-series" in row(scores, "9A610")["guardrail_reason"]


def test_nsg_entry_is_guardrailed(scores: pd.DataFrame, weights) -> None:
    r = row(scores, "2B001")  # NP column 1 on 2B001.a-.d: an NSG control, a core WMD list
    assert r["tier"] == "guardrail"
    assert "NSG" in r["guardrail_reason"]
    assert r["security_score"] >= weights.tiers.retain_min_security
    assert r["explanation"].startswith("guardrail: ")
    assert not r["unilateral_action_possible"]


def test_crime_control_only_is_not_a_foreign_availability_case(scores: pd.DataFrame) -> None:
    r = row(scores, "0A980")  # CC only: foreign availability cannot lift it
    assert r["tier"] == "not a foreign-availability case"
    assert r["legal_basis"] == "742.7"
    assert "742.7" in r["explanation"]
    # Listed after every other group.
    assert r["rank"] > scores.loc[scores["tier"] != "not a foreign-availability case", "rank"].max()


def test_missing_evidence_is_insufficient_not_zero(scores: pd.DataFrame) -> None:
    r = row(scores, "5A001")
    assert r["tier"] == "insufficient evidence"
    for col in AVAILABILITY_COMPONENTS:
        assert math.isnan(r[col])
    assert math.isnan(r["availability_score"]) and math.isnan(r["decontrol_score"])
    assert "no HS link" in r["explanation"]
    # Insufficient evidence ranks after every scored entry and before guardrails.
    scored = scores[
        ~scores["tier"].isin(["guardrail", "insufficient evidence", "not a foreign-availability case"])
    ]
    guard = scores[scores["tier"] == "guardrail"]
    assert r["rank"] > scored["rank"].max()
    assert r["rank"] < guard["rank"].min()


def test_low_security_high_availability_is_candidate(scores: pd.DataFrame) -> None:
    top = scores.iloc[0]
    assert top["tier"] == "candidate"
    assert top["eccn"] in ("0A980", "4A994", "1A999", "6A995")
    r = row(scores, "4A994")
    assert r["tier"] == "candidate"
    assert r["unilateral_action_possible"]
    assert "significant non-U.S. suppliers" in r["explanation"] or "non-U.S." in r["explanation"]
    assert "controlled for AT only" in r["explanation"]
    # A link without trade data lowers coverage, hence evidence strength below the data link's confidence.
    assert r["evidence_strength"] < 1.0
    assert r["top_sources"].startswith("CHN 40%")
    assert r["china_share"] == pytest.approx(0.4 * 1.0 * 1.5e11 / (1.0 * 1.5e11), rel=1e-6)


def test_security_order_and_unilateral(scores: pd.DataFrame) -> None:
    s = scores.set_index("eccn")["security_score"]
    assert s["1A999"] < s["0A980"] < s["2B002"] < s["2B001"] < s["9A610"]
    u = scores.set_index("eccn")["unilateral_action_possible"]
    assert not u["2B001"] and not u["2B002"] and not u["9A610"]  # Wassenaar / NSG / MTCR listed
    assert u["3A090"] and u["1A999"] and u["0A980"]
    assert "Wassenaar-listed: U.S. cannot act alone" in row(scores, "2B002")["explanation"] or (
        row(scores, "2B002")["tier"] in ("retain", "insufficient evidence")
    )


def test_hs4_evidence_weaker_and_flagged(scores: pd.DataFrame) -> None:
    r = row(scores, "2B002")
    assert r["granularity"] == "HS4"
    assert r["missing_major_exporters"] == ["TWN"]
    # HS4, bounded, one missing exporter, 7 years old, confidence 0.5.
    # confidence x specificity^0.5 (default 0.5) x HS4 x bounded x missing TWN x 7 years
    # of recency decay x older than five years.
    assert r["evidence_strength"] == pytest.approx(0.5 * 0.5**0.5 * 0.6 * 0.8 * 0.9 * 0.65 * 0.7, rel=1e-6)
    assert r["evidence_strength"] < row(scores, "0A980")["evidence_strength"]


def test_supply_side_evidence_overrides_trade(scores: pd.DataFrame, mini, weights) -> None:
    r = row(scores, "6A995")  # evidence only, no link
    assert r["tier"] != "insufficient evidence"
    assert r["granularity"] == "supply-side"
    floor = weights.availability_params.non_us_share_floor
    assert r["non_us_source"] == pytest.approx((0.75 - floor) / (1 - floor))
    assert r["inside_china"] == pytest.approx(min(1.0, 0.15 / weights.availability_params.china_share_full))
    assert r["comparable_quality"] == pytest.approx(2 / 3)
    assert r["top_sources"] == "DEU 35%; JPN 25%; CHN 15%"
    assert r["evidence_strength"] == pytest.approx(weights.evidence.supply_side_strength)
    # Evidence matched through hs6 (3B001 links 848620) overrides the trade share.
    g = row(scores, "3B001")
    assert g["granularity"] == "supply-side+HS6"
    assert g["non_us_source"] == pytest.approx((0.6 - floor) / (1 - floor))
    without = score_tables(mini["entries"], mini["links"], mini["availability"], weights, None)
    assert row(without, "3B001")["non_us_source"] == pytest.approx((0.8 - floor) / (1 - floor))


def test_duplicate_links_collapse_to_best_confidence(scores: pd.DataFrame) -> None:
    r = row(scores, "2B001")
    assert r["n_links"] == 1
    # NSG share of non-U.S. exports x the link's non-U.S. share, for an NP entry.
    assert r["outside_regime_share"] == pytest.approx(0.05 * 7.5e9 / 8.0e9, rel=0.01)


def test_explanations_present_for_every_entry_with_evidence(scores: pd.DataFrame) -> None:
    has = scores[scores["tier"] != "insufficient evidence"]
    assert has["explanation"].str.len().gt(20).all()
    assert scores["explanation"].str.split("; ").map(len).between(2, 6).all()


def test_weight_change_moves_scores(mini) -> None:
    heavy_sec = parse_weights({"security": {"reasons": {"AT1": 0.6, "AT2": 0.6, "NS1": 0.7, "NS2": 0.6}}})
    base = parse_weights({})
    a = score_tables(mini["entries"], mini["links"], mini["availability"], base)
    b = score_tables(mini["entries"], mini["links"], mini["availability"], heavy_sec)
    assert row(b, "4A994")["security_score"] > row(a, "4A994")["security_score"]
    assert row(b, "4A994")["decontrol_score"] < row(a, "4A994")["decontrol_score"]


def test_run_score_files_and_missing_inputs(tmp_path: Path, mini) -> None:
    proc = tmp_path / "processed"
    proc.mkdir()
    with pytest.raises(
        SourceMissingError, match=r"ccl_entries.parquet not found; run `cclreview ingest-ccl` first"
    ):
        load_score_inputs(proc)
    fill("ccl_entries", mini["entries"]).to_parquet(proc / "ccl_entries.parquet")
    fill("eccn_hs_links", mini["links"]).to_parquet(proc / "eccn_hs_links.parquet")
    fill("availability_hs", mini["availability"]).to_parquet(proc / "availability_hs.parquet")
    scores, path = run_score(proc, WEIGHTS, tmp_path / "out")
    back = pd.read_parquet(path)
    assert len(back) == len(mini["entries"])
    assert back["eccn"].tolist() == scores["eccn"].tolist()
    assert isinstance(back["missing_major_exporters"].iloc[0], np.ndarray | list)
    # Validity of the entries is the contract's, checked on read (no second check in scoring).
    fill("ccl_entries", mini["entries"]).drop(columns=["reasons"]).to_parquet(proc / "ccl_entries.parquet")
    with pytest.raises(ValidationError, match=r"ccl_entries \(.*\) failed its contract: .* in reasons"):
        load_score_inputs(proc)


@pytest.mark.real
def test_real_ccl_guardrails_and_security(shared_data: Path, weights) -> None:
    from cclreview.ccl import parse_ccl

    entries, _ = parse_ccl(shared_data / "ccl" / "ccl_supp1_ecfr_2026-06.xml")
    links = pd.DataFrame(columns=["eccn", "hs6", "confidence", "source"])
    availability = pd.DataFrame(columns=["hs_code", "hs_level", "world_exports_usd"])
    s = score_tables(entries, links, availability, weights).set_index("eccn")
    for eccn in (
        "3A090",
        "4A090",
        "4D090",
        "4E091",
        "3B001",
        "3B993",
        "3B994",
        "3D992",
        "3E993",
        "9A515",
        "1C350",
        "2B350",
        "0A501",
    ):
        assert s.loc[eccn, "tier"] == "guardrail", eccn
    # Core WMD lists (NSG = NP column 1, MTCR, Australia Group, CWC) are guardrailed;
    # NP column 2 (U.S.-only, 742.3(a)(2)) is not.
    assert s.loc["2A290", "guardrail_reason"] is None or pd.isna(s.loc["2A290", "guardrail_reason"])
    assert s.loc["2A290", "unilateral_action_possible"]
    for eccn in ("2B001", "1C350", "9A101", "2B350"):
        assert s.loc[eccn, "tier"] == "guardrail", eccn
    # Chip-making equipment is guardrailed by name, not by a 3B* catch-all.
    for eccn in ("3B903", "3B904", "3D994"):
        assert s.loc[eccn, "tier"] == "guardrail", eccn
    assert (
        "chip" not in str(s.loc["3B611", "guardrail_reason"])
        and "600-series" in s.loc["3B611", "guardrail_reason"]
    )
    assert s.loc["3B991", "tier"] != "guardrail" and s.loc["3B992", "tier"] != "guardrail"
    # AT-only entries (not on the military end-use list) are the lowest on security.
    fams = s["reasons"].map(lambda r: {str(x)[:2] for x in r})
    at_only = fams.map(lambda f: f == {"AT"}) & ~s["meu_listed"].astype(bool)
    controlled = fams.map(bool)
    assert at_only.sum() > 50
    assert s.loc[at_only, "security_score"].max() <= s.loc[controlled & ~at_only, "security_score"].min()
    # The U.S. can act alone on 3A090 (RS/AT), not on Wassenaar-listed 2B001 or MTCR-listed 9A101.
    assert s.loc["3A090", "unilateral_action_possible"]
    assert not s.loc["2B001", "unilateral_action_possible"]
    assert not s.loc["9A101", "unilateral_action_possible"]


def test_hs6_evidence_needs_a_confident_link(mini, weights) -> None:
    links = mini["links"].copy()
    links.loc[links["eccn"] == "3B001", "confidence"] = 0.5  # below supply_side_min_link_confidence
    out = score_tables(mini["entries"], links, mini["availability"], weights, mini["evidence"])
    r = row(out, "3B001")
    assert r["granularity"] == "HS6"  # trade proxy kept: the HS-only evidence row is not imported
    floor = weights.availability_params.non_us_share_floor
    assert r["non_us_source"] == pytest.approx((0.8 - floor) / (1 - floor))
    # ECCN-tagged evidence still applies whatever the links.
    assert row(out, "6A995")["granularity"] == "supply-side"


def test_presence_only_evidence_adds_to_trade_never_replaces_it(mini, weights) -> None:
    """Producers named without shares (e.g. a list of FPGA makers) keep the trade picture."""
    base = score_tables(mini["entries"], mini["links"], mini["availability"], weights, None)
    presence = pd.DataFrame(
        [
            {
                "eccn": "0A980",
                "hs6": None,
                "item": "invented widget",
                "country_iso3": c,
                "producer": p,
                "share": None,
                "year": 2025,
                "comparable_quality": "unknown",
                "source": "invented",
                "source_url": "",
            }
            for c, p in [("CHN", "Firm A"), ("USA", "Firm B")]
        ]
    )
    with_presence = score_tables(mini["entries"], mini["links"], mini["availability"], weights, presence)
    before, after = row(base, "0A980"), row(with_presence, "0A980")
    assert after["available_in_fact"] >= before["available_in_fact"]
    assert after["non_us_source"] == pytest.approx(before["non_us_source"])
    assert after["top_sources"].startswith(before["top_sources"])
    assert after["top_sources"].endswith("producers in CHN")
    assert after["evidence_strength"] >= before["evidence_strength"]
