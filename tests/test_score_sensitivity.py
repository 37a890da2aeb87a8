"""Sensitivity draws and weight comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cclreview.errors import ConfigError
from cclreview.score.compare import COMPARE_COLUMNS, compare_weights
from cclreview.score.engine import score_prepared
from cclreview.score.prepare import prepare
from cclreview.score.sensitivity import SENSITIVITY_COLUMNS, perturbed_weights, sensitivity
from cclreview.score.synthetic import make_synthetic
from cclreview.score.weights import load_weights, parse_weights

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    return make_synthetic(120, seed=3)


@pytest.fixture(scope="module")
def weights():
    return load_weights(ROOT / "config" / "weights.toml")


@pytest.fixture(scope="module")
def prep(data, weights):
    return prepare(data["entries"], data["links"], data["availability"], weights, data["evidence"])


def test_sensitivity_shape_and_bounds(prep, weights) -> None:
    out = sensitivity(prep, weights, draws=300, spread=0.3, seed=5)
    assert list(out.columns) == list(SENSITIVITY_COLUMNS)
    assert len(out) == len(prep.frame) and out["eccn"].is_unique
    assert (out["rank_p05"] <= out["median_rank"]).all() and (out["median_rank"] <= out["rank_p95"]).all()
    assert out["p_top25"].between(0, 1).all()
    # Each draw is a permutation of 1..n, so exactly 25 ECCNs are in the top 25 per draw.
    assert out["p_top25"].sum() == pytest.approx(25.0)
    # Guardrails stay behind every other entry in every draw (link and data draws can
    # move an entry between the scored and the insufficient-evidence groups).
    guard = prep.group == 2
    n_other = int((~guard).sum())
    by = out.set_index("eccn")
    assert (by.loc[prep.frame.index[guard], "rank_p05"] > n_other).all()
    for kind in ("links", "data", "weights", "all"):
        assert out[f"p_top25_{kind}"].sum() == pytest.approx(25.0)
        assert out[f"p_candidate_{kind}"].between(0, 1).all()
    assert set(out["moved_most_by"]) <= {"links", "data", "weights", "none"}


def test_sensitivity_is_seeded_and_zero_spread_reproduces_base(prep, weights) -> None:
    a = sensitivity(prep, weights, draws=50, spread=0.2, seed=11)
    b = sensitivity(prep, weights, draws=50, spread=0.2, seed=11)
    c = sensitivity(prep, weights, draws=50, spread=0.2, seed=12)
    assert a.equals(b)
    assert not a["median_rank"].equals(
        c.set_index("eccn").loc[a["eccn"], "median_rank"].reset_index(drop=True)
    ) or (not np.allclose(a["p_top25"], c.set_index("eccn").loc[a["eccn"], "p_top25"]))
    flat = sensitivity(prep, weights, draws=20, spread=0.0, seed=1, kinds=("weights",))
    assert (flat["median_rank"] == flat["base_rank"]).all()
    assert (flat["rank_spread"] == 0).all()
    base = score_prepared(prep, weights, "x").set_index("eccn")["rank"]
    assert (flat.set_index("eccn")["base_rank"] == base.loc[flat["eccn"]].to_numpy()).all()


def test_dirichlet_method_and_bad_arguments(prep, weights) -> None:
    avail, sec = perturbed_weights(weights, 200, 0.2, 0, "dirichlet")
    assert avail.shape == (200, 6) and np.allclose(avail.sum(axis=1), 1.0)
    assert ((sec >= 0) & (sec <= 1)).all()
    out = sensitivity(prep, weights, draws=40, spread=0.2, seed=0, method="dirichlet")
    assert out["p_top25"].sum() == pytest.approx(25.0)
    with pytest.raises(ConfigError, match="need at least 1 draw"):
        perturbed_weights(weights, 0, 0.2, 0)
    with pytest.raises(ConfigError, match="unknown"):
        perturbed_weights(weights, 10, 0.2, 0, "uniform")


def test_compare_weights_lists_changes(data, weights) -> None:
    same = compare_weights(data, weights, weights)
    assert list(same.columns) == list(COMPARE_COLUMNS)
    assert (same["rank_change"] == 0).all() and not same["tier_changed"].any()
    alt = weights.model_copy(deep=True)
    alt.availability = parse_weights(
        {"availability": {"inside_china": 2.0, "non_us_source": 0.0}}
    ).availability
    diff = compare_weights(data, weights, alt)
    assert (diff["rank_change"] != 0).any()
    # Sorted by size of the move; rank_change = rank_a - rank_b.
    assert (diff["rank_change"].abs().diff().dropna() <= 0).all()
    assert (diff["rank_change"] == diff["rank_a"] - diff["rank_b"]).all()
