"""The decision rules on the real CCL: guardrail membership (golden file), tiers, D/E caps.

The golden file ``tests/golden/guardrails.tsv`` lists every ECCN each guardrail matches
on the mirror's CCL edition, so any change of membership is a visible diff. After a
deliberate change, regenerate it with ``CCLREVIEW_UPDATE_GOLDEN=1 pytest
tests/test_decision_real.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cclreview.ccl import parse_ccl
from cclreview.controls import build_controls, load_country_chart, load_meu, load_sensitive_lists
from cclreview.score.engine import score_prepared
from cclreview.score.prepare import prepare
from cclreview.score.tiers import TIER_NOT_FA, cap_by_parents, parents_of
from cclreview.score.weights import load_weights

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden" / "guardrails.tsv"


@pytest.fixture(scope="module")
def real(shared_data: Path):
    entries = parse_ccl(shared_data / "ccl" / "ccl_supp1_ecfr_2026-06.xml")[0]
    chart = load_country_chart(shared_data / "ear" / "country_chart_2026-07-23.json")
    controls = build_controls(entries, chart)
    lists = pd.concat(
        [
            load_meu(shared_data / "ear" / "meu_supp2_part744_items_2026-09-24.csv"),
            load_sensitive_lists(shared_data / "ear" / "wassenaar_sl_vsl_part774_supp6_supp7_2026-09-24.csv"),
        ],
        ignore_index=True,
    )
    return entries, controls, lists


@pytest.fixture(scope="module")
def prepared(real):
    entries, controls, lists = real
    weights = load_weights(ROOT / "config" / "weights.toml")
    links = pd.DataFrame(columns=["eccn", "hs6", "confidence", "link_source", "granularity"])
    avail = pd.DataFrame(columns=["hs6", "year"])
    prep = prepare(entries, links, avail, weights, controls=controls, lists=lists)
    return weights, prep


def _membership(prep) -> pd.DataFrame:
    g = prep.frame["guardrail_reason"].dropna()
    return pd.DataFrame({"eccn": g.index, "guardrail": g.to_numpy()}).sort_values(["guardrail", "eccn"])


@pytest.mark.real
def test_guardrail_membership_matches_golden_file(prepared) -> None:
    _, prep = prepared
    got = _membership(prep)
    text = "eccn\tguardrail\n" + "".join(
        f"{e}\t{g}\n" for e, g in zip(got["eccn"], got["guardrail"], strict=True)
    )
    if os.environ.get("CCLREVIEW_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == text, "guardrail membership changed: review, then regenerate"


@pytest.mark.real
def test_guardrails_narrow_and_exact(prepared) -> None:
    _, prep = prepared
    g = prep.frame["guardrail_reason"]
    for eccn in ("3A090", "4A090", "4E091", "4D090", "3B001", "3B903", "3B904", "3B993", "3B994", "3D994",
                 "3E994", "9A515", "0A501", "9A610", "1C350", "9A101"):  # fmt: skip
        assert isinstance(g[eccn], str), eccn
    assert "advanced computing" in g["5A992"] and ".z" in g["5A992"]  # .z paragraphs
    assert "serves 3B994" in g["3D994"] or "3D99" in g["3D994"]
    # Not guardrailed: NP column 2 (U.S.-only) and legacy test/production equipment.
    for eccn in ("2A290", "2A291", "3B991", "3B992", "3D991", "3E991"):
        assert not isinstance(g[eccn], str), eccn
    # 3B611 is military electronics equipment (600 series), not chip-making equipment.
    assert "600-series" in g["3B611"] and "semiconductor" not in g["3B611"]
    # Software/technology of guardrailed hardware inherits the guardrail, naming it.
    inherited = g.dropna()[g.dropna().str.startswith("serves ")]
    assert len(inherited) >= 5
    assert inherited.index.str[1].isin(["D", "E"]).all()


@pytest.mark.real
def test_parents_of_software_and_technology(real) -> None:
    entries, _, _ = real
    p = dict(zip(entries["eccn"], parents_of(list(entries["eccn"]), list(entries["heading"])), strict=True))
    assert "6A992" in p["6D992"] and "6A992" in p["6E992"]
    assert "3B994" in p["3D994"]
    assert "1C997" in p["1E998"] or "1B999" in p["1E998"]
    assert p["2B001"] == []  # hardware has no parent


@pytest.mark.real
def test_not_a_foreign_availability_case_and_pointers(prepared) -> None:
    weights, prep = prepared
    s = score_prepared(prep, weights, "x").set_index("eccn")
    for eccn in ("0A979", "0A982", "1C988", "0A998", "8D999", "9A010"):
        assert s.loc[eccn, "tier"] == TIER_NOT_FA, eccn
        assert s.loc[eccn, "legal_basis"], eccn
        assert s.loc[eccn, "explanation"].startswith("not a foreign-availability case"), eccn
    assert "738.4(a)(1)" in s.loc["9A010", "legal_basis"] and not s.loc["9A010", "unilateral_action_possible"]
    nfa = s[s["tier"] == TIER_NOT_FA]
    assert nfa["rank"].min() > s.loc[s["tier"] != TIER_NOT_FA, "rank"].max()
    # Decision columns are there and consistent with the route.
    uni = s["unilateral_action_possible"].astype(bool)
    regime_route = s["route"].fillna("").str.contains("regime proposal|treaty|UN Security Council")
    assert not (uni & regime_route).any()
    assert (
        uni | regime_route | ~s["route"].fillna("").str.contains("U.S. unilateral rule") | s["pointer_entry"]
    ).all()


def test_cap_by_parents_tier_and_rank() -> None:
    eccns = ["1A001", "1A002", "1D001", "1E001"]
    tier = np.array(["review", "candidate", "candidate", "candidate"], dtype=object)
    group = np.array([0, 0, 0, 0])
    score = np.array([0.30, 0.60, 0.70, 0.50])
    parents = [[], [], ["1A001", "1A002"], ["1A002"]]
    t, _g, r, by = cap_by_parents(eccns, tier, group, score, parents)
    assert t[2] == "review" and "1A001" in by[2]  # strictest parent's tier
    assert r[2] < 0.30  # ranks after its lowest parent
    assert t[3] == "candidate" and r[3] == 0.50 and by[3] == ""  # already below its parent
    # A parent with insufficient evidence puts the child in that group, ranked last.
    t2, g2, r2, _ = cap_by_parents(
        eccns, np.array(["insufficient evidence", "candidate", "candidate", "candidate"], dtype=object),
        np.array([1, 0, 0, 0]), np.array([np.nan, 0.6, 0.7, 0.5]), parents,
    )  # fmt: skip
    assert t2[2] == "insufficient evidence" and g2[2] == 1 and np.isnan(r2[2])


@pytest.mark.real
def test_software_never_ranks_above_its_hardware(prepared) -> None:
    weights, prep = prepared
    # Give every entry the same evidence so only security and the cap order them.
    import dataclasses

    n = len(prep.frame)
    same = dataclasses.replace(
        prep, evidence=np.ones(n), insufficient=np.zeros(n, dtype=bool), sub=np.full_like(prep.sub, 0.8)
    )
    s = score_prepared(same, weights, "x").set_index("eccn")
    parents = dict(zip(same.frame.index, same.parents, strict=True))
    order = {"candidate": 0, "review": 1, "retain": 2, "insufficient evidence": 3, "guardrail": 4}
    checked = 0
    for child, ps in parents.items():
        if s.loc[child, "tier"] not in order:
            continue
        for p in ps:
            if s.loc[p, "tier"] not in order:
                continue
            if s.loc[p, "tier"] == "guardrail" and s.loc[child, "tier"] != "guardrail":
                continue  # a paragraph reference to guardrailed hardware: not a guardrail
            checked += 1
            assert order[s.loc[child, "tier"]] >= order[s.loc[p, "tier"]], (child, p)
            assert s.loc[child, "rank"] > s.loc[p, "rank"], (child, p)
    assert checked > 30
    assert "6A992" in s.loc["6D992", "capped_by"] or s.loc["6D992", "rank"] > s.loc["6A992", "rank"]
