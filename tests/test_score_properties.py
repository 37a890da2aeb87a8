"""Property tests (hypothesis) of the monotonic and ordering promises of the score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cclreview.score.availability import availability_matrix
from cclreview.score.engine import score_prepared, score_tables
from cclreview.score.prepare import prepare
from cclreview.score.security import (
    SECURITY_COMPONENTS,
    entry_components,
    security_matrix,
    security_scores,
    security_weight_vector,
)
from cclreview.score.synthetic import make_synthetic
from cclreview.score.tiers import rank_matrix
from cclreview.score.weights import AVAILABILITY_COMPONENTS, REASON_CODES, REASON_FAMILIES, parse_weights

WEIGHTS = parse_weights({})
# Pure-numpy properties run many examples; those that build frames run fewer (the
# machine is shared, the whole file must stay quick).
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FRAMES = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])

link_st = st.fixed_dictionaries(
    {
        "us": st.floats(1e6, 1e11),
        "non_us": st.floats(2e6, 1e11),
        "china_frac": st.floats(0, 1),
        "outside": st.floats(0, 1),
        "n": st.integers(0, 40),
        "hhi": st.floats(0.01, 1),
        "uvr": st.one_of(st.none(), st.floats(0.05, 5)),
        "conf": st.floats(0.05, 1),
        "gran": st.sampled_from(["HS6", "HS4"]),
    }
)


def _entries(
    eccns: list[str], reasons: list[str] | None = None, charts: list[str] | None = None
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "eccn": eccns,
            "reasons": [list(reasons or ["AT"]) for _ in eccns],
            "chart_columns": [list(charts or ["AT1"]) for _ in eccns],
            # Explicit flags: otherwise 600-series/515 status is derived from the ECCN digits.
            "is_600_series": False,
            "is_515": False,
        }
    )


def _indicators(eccn: str, links: list[dict], scale: float = 1.0, extra_n: int = 0) -> pd.DataFrame:
    rows = []
    for i, lk in enumerate(links):
        non_us = lk["non_us"] * scale
        china = lk["non_us"] * lk["china_frac"] * scale
        world = lk["us"] + non_us
        rows.append(
            {
                "eccn": eccn,
                "hs6": f"{100000 + i}",
                "confidence": lk["conf"],
                "link_source": "curated",
                "granularity": lk["gran"],
                "year": 2024,
                "world_exports_usd": world,
                "us_exports_usd": lk["us"],
                "non_us_exports_usd": non_us,
                "non_us_share": non_us / world,
                "china_exports_usd": china,
                "china_share": china / world,
                "share_outside_regime": lk["outside"],
                "n_non_us_suppliers": lk["n"] + extra_n,
                "hhi_non_us": lk["hhi"],
                "unit_value_ratio": lk["uvr"],
                "is_bounded": False,
                "missing_major_exporters": [],
            }
        )
    return pd.DataFrame(rows)


def _availability(entries: pd.DataFrame, ind: pd.DataFrame) -> tuple[np.ndarray, float]:
    prep = prepare(entries, pd.DataFrame(), pd.DataFrame(), WEIGHTS, indicators=ind)
    w = np.array(list(WEIGHTS.availability.as_dict().values()))
    return prep.sub[0], float(availability_matrix(prep.sub, w)[0])


@FRAMES
@given(
    links=st.lists(link_st, min_size=1, max_size=3),
    scale=st.floats(1.0, 50.0),
    extra=st.integers(0, 20),
    reasons=st.sampled_from([["AT"], ["NS", "AT"], ["MT"], ["NP", "NS"]]),
)
def test_more_non_us_supply_never_lowers_availability(links, scale, extra, reasons) -> None:
    entries = _entries(["2B001"], reasons, [])
    sub0, a0 = _availability(entries, _indicators("2B001", links))
    sub1, a1 = _availability(entries, _indicators("2B001", links, scale, extra))
    assert a1 >= a0 - 1e-9
    for k, name in enumerate(AVAILABILITY_COMPONENTS):
        if not np.isnan(sub0[k]):
            assert sub1[k] >= sub0[k] - 1e-9, name


codes_st = st.sets(st.sampled_from(REASON_CODES), min_size=0, max_size=5)


@FAST
@given(codes=codes_st, new=st.sampled_from(REASON_CODES), flags=st.tuples(st.booleans(), st.booleans()))
def test_adding_a_reason_never_lowers_security(codes, new, flags) -> None:
    before = pd.DataFrame(
        {
            "eccn": ["1A001"],
            "reasons": [sorted({c[:2] for c in codes})],
            "chart_columns": [sorted(codes)],
            "is_600_series": [flags[0]],
            "is_515": [flags[1]],
        }
    )
    after = before.copy()
    after.at[0, "chart_columns"] = sorted(codes | {new})
    after.at[0, "reasons"] = sorted({c[:2] for c in codes | {new}})
    w = security_weight_vector(WEIGHTS)
    s0 = security_scores(security_matrix(before), w)[0]
    s1 = security_scores(security_matrix(after), w)[0]
    if codes:  # (an entry with no code at all is scored as unknown, not as harmless)
        assert s1 >= s0 - 1e-12


@FAST
@given(codes=codes_st.filter(bool), data=st.data())
def test_stronger_column_or_weight_never_lowers_security(codes, data) -> None:
    # Replacing a column 2/3 by the family's column 1 (a stronger reason) never lowers security.
    weaker = [c for c in codes if c in REASON_CODES and REASON_FAMILIES[c[:2]][0] != c]
    comps = entry_components(sorted({c[:2] for c in codes}), sorted(codes), "1A001", False, False)
    base_w = security_weight_vector(WEIGHTS)
    mat = np.array([[c in comps for c in SECURITY_COMPONENTS]])
    s0 = security_scores(mat, base_w)[0]
    if weaker:
        swap = data.draw(st.sampled_from(weaker))
        stronger = (set(codes) - {swap}) | {REASON_FAMILIES[swap[:2]][0]}
        comps2 = entry_components(sorted({c[:2] for c in stronger}), sorted(stronger), "1A001", False, False)
        mat2 = np.array([[c in comps2 for c in SECURITY_COMPONENTS]])
        assert security_scores(mat2, base_w)[0] >= s0 - 1e-12
    # Raising any single weight never lowers security either.
    k = data.draw(st.integers(0, len(base_w) - 1))
    raised = base_w.copy()
    raised[k] = data.draw(st.floats(float(base_w[k]), 1.0))
    assert security_scores(mat, raised)[0] >= s0 - 1e-12


control_st = st.fixed_dictionaries(
    {
        "reason": st.sampled_from(
            ["NS", "MT", "NP", "CB", "CW", "RS", "CC", "AT", "FC", "SL", "SS", "UN", "EI", "SI", "FP"]
        ),
        "col": st.sampled_from(["", "1", "2", "3"]),
        "n": st.one_of(st.none(), st.integers(0, 220)),
    }
)


def _controls(eccn: str, rows: list[dict]) -> pd.DataFrame:
    out = []
    for r in rows:
        col = f"{r['reason']}{r['col']}" if r["col"] and f"{r['reason']}{r['col']}" in REASON_CODES else ""
        out.append({"eccn": eccn, "reason": r["reason"], "column": col,
                    "n_destinations": float("nan") if r["n"] is None else float(r["n"])})  # fmt: skip
    return pd.DataFrame(out, columns=["eccn", "reason", "column", "n_destinations"])


@FAST
@given(
    rows=st.lists(control_st, min_size=0, max_size=6),
    new=control_st,
    meu=st.sampled_from([None, 0.6, 1.0]),
    wider=st.integers(0, 220),
)
def test_adding_or_widening_a_control_never_lowers_security(rows, new, meu, wider) -> None:
    """Control rows with scope: a new control, a wider scope or an MEU listing never lower S."""
    # No reason recorded outside the control rows (a reason without rows is a parse gap).
    entries = pd.DataFrame({"eccn": ["1A001"], "reasons": [[]], "chart_columns": [[]],
                            "is_600_series": [False], "is_515": [False]})  # fmt: skip
    w = security_weight_vector(WEIGHTS)
    scope = WEIGHTS.security.scope
    meu_map = {"1A001": meu} if meu else None
    s0 = security_scores(security_matrix(entries, _controls("1A001", rows), scope, meu_map), w)[0]
    s1 = security_scores(security_matrix(entries, _controls("1A001", [*rows, new]), scope, meu_map), w)[0]
    assert s1 >= s0 - 1e-12
    s_meu = security_scores(security_matrix(entries, _controls("1A001", rows), scope, {"1A001": 1.0}), w)[0]
    assert s_meu >= s0 - 1e-12
    if rows:
        widened = [dict(rows[0], n=None if rows[0]["n"] is None else max(rows[0]["n"], wider)), *rows[1:]]
        s2 = security_scores(security_matrix(entries, _controls("1A001", widened), scope, meu_map), w)[0]
        assert s2 >= s0 - 1e-12
    # One WMD term: NP1 together with MT1 is the stronger of the two, not their noisy-or.
    both = _controls(
        "1A001", [{"reason": "NP", "col": "1", "n": None}, {"reason": "MT", "col": "1", "n": None}]
    )
    s_both = security_scores(security_matrix(entries, both, scope), w)[0]
    assert s_both == pytest.approx(max(WEIGHTS.security.reasons.NP1, WEIGHTS.security.reasons.MT1))


eccn_st = st.builds(
    lambda c, g, d: f"{c}{g}{d:03d}", st.integers(0, 9), st.sampled_from("ABCDE"), st.integers(0, 999)
)


@FRAMES
@given(
    eccn=eccn_st,
    links=st.lists(link_st, min_size=0, max_size=2),
    wildcard=st.integers(0, 4),
    reasons=st.sampled_from([["AT"], ["NS", "AT"], ["CC"], []]),
)
def test_guardrail_match_always_yields_guardrail(eccn, links, wildcard, reasons) -> None:
    pattern = eccn[:wildcard] + "?" + eccn[wildcard + 1 :]
    w = parse_weights({"guardrails": [{"pattern": pattern, "reason": "test guardrail"}]})
    entries = _entries([eccn, "0A999" if eccn != "0A999" else "0A998"], reasons, [])
    ind = _indicators(eccn, links) if links else None
    prep = prepare(
        entries,
        pd.DataFrame(columns=["eccn", "hs6"]),
        pd.DataFrame(),
        w,
        indicators=ind
        if ind is not None
        else pd.DataFrame(columns=["eccn", "hs6", "confidence", "link_source", "granularity"]),
    )
    out = score_prepared(prep, w, "x").set_index("eccn")
    assert out.loc[eccn, "tier"] == "guardrail"
    assert out.loc[eccn, "guardrail_reason"].startswith("test guardrail")


@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 10_000), perm_seed=st.integers(0, 10_000))
def test_permuting_input_rows_does_not_change_ranking(seed, perm_seed) -> None:
    d = make_synthetic(25, seed=seed)
    rng = np.random.default_rng(perm_seed)
    shuffled = {k: v.iloc[rng.permutation(len(v))].reset_index(drop=True) for k, v in d.items()}
    a = score_tables(d["entries"], d["links"], d["availability"], WEIGHTS, d["evidence"], sha="s")
    b = score_tables(
        shuffled["entries"],
        shuffled["links"],
        shuffled["availability"],
        WEIGHTS,
        shuffled["evidence"],
        sha="s",
    )
    pd.testing.assert_frame_equal(a, b)


@FRAMES
@given(eccns=st.lists(eccn_st, min_size=2, max_size=6, unique=True), link=link_st)
def test_ties_break_by_eccn(eccns, link) -> None:
    entries = _entries(eccns, ["AT"], ["AT1"])
    ind = pd.concat([_indicators(e, [link]) for e in eccns], ignore_index=True)
    prep = prepare(entries, pd.DataFrame(), pd.DataFrame(), WEIGHTS, indicators=ind)
    out = score_prepared(prep, WEIGHTS, "x")
    assert out["decontrol_score"].nunique(dropna=False) == 1
    assert out["eccn"].tolist() == sorted(eccns)
    assert out["rank"].tolist() == list(range(1, len(eccns) + 1))


@FAST
@given(
    scores=st.lists(st.sampled_from([0.1, 0.5, 0.5, 0.9, float("nan")]), min_size=1, max_size=30),
    draws=st.integers(1, 4),
)
def test_rank_matrix_orders_groups_scores_then_row_order(scores, draws) -> None:
    s = np.array(scores)
    group = np.zeros(len(s), dtype=int)
    ranks = rank_matrix(np.repeat(s[:, None], draws, axis=1), group)
    assert (ranks == ranks[:, [0]]).all()
    r = ranks[:, 0]
    assert sorted(r) == list(range(1, len(s) + 1))
    for i in range(len(s)):
        for j in range(i + 1, len(s)):
            si, sj = (-1 if np.isnan(s[i]) else s[i]), (-1 if np.isnan(s[j]) else s[j])
            assert (r[i] < r[j]) == (si >= sj)  # equal scores: earlier row (smaller ECCN) first
