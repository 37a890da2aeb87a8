"""How robust is the ranking to the weights? Seeded perturbation, all draws at once.

Each draw multiplies every availability sub-score weight and every security weight by
``exp(spread x z)`` with ``z`` standard normal (``method="lognormal"``; security weights
are then clipped to [0, 1]), or draws the availability weights from a Dirichlet centred
on the shipped ones with concentration ``1 / spread^2`` (``method="dirichlet"``). The
whole computation is matrix algebra over ``(n_eccns, draws)`` arrays: no Python loop
per draw. Guardrail and insufficient-evidence status do not depend on these weights, so
those entries keep their place after the scored ones.

Output per ECCN: ``median_rank``, the 90% interval ``rank_p05``..``rank_p95`` and
``p_top25``, the share of draws in which it ranks in the top 25.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from cclreview.errors import ConfigError
from cclreview.score.availability import availability_matrix
from cclreview.score.engine import Prepared
from cclreview.score.security import security_scores, security_weight_vector
from cclreview.score.tiers import decontrol_matrix, rank_matrix
from cclreview.score.weights import Weights

log = logging.getLogger(__name__)

SENSITIVITY_COLUMNS = ("eccn", "median_rank", "rank_p05", "rank_p95", "p_top25", "base_rank", "rank_spread")
METHODS = ("lognormal", "dirichlet")


def perturbed_weights(
    weights: Weights, draws: int, spread: float, seed: int, method: str = "lognormal"
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(draws, 6)`` availability and ``(draws, K)`` security weight matrices.

    Parameters
    ----------
    weights
        The base weighting.
    draws
        Number of draws (>= 1).
    spread
        Noise scale (0.2 ~ +/-20% per weight).
    seed
        Seed of :func:`numpy.random.default_rng`: same seed, same draws.
    method
        ``"lognormal"`` (multiplicative noise) or ``"dirichlet"`` (availability weights).
    """
    if draws < 1:
        raise ConfigError(f"--draws {draws}: need at least 1 draw")
    if not 0 <= spread <= 5:
        raise ConfigError(f"--spread {spread}: out of range (allowed: 0 to 5)")
    if method not in METHODS:
        raise ConfigError(f"--method {method!r}: unknown (allowed: {', '.join(METHODS)})")
    rng = np.random.default_rng(seed)
    base_a = np.array(list(weights.availability.as_dict().values()), dtype=float)
    base_s = security_weight_vector(weights)
    if method == "dirichlet" and spread > 0:
        share = base_a / base_a.sum()
        alpha = np.maximum(share / spread**2, 1e-3)
        avail = np.where(share > 0, rng.dirichlet(alpha, size=draws), 0.0)
    else:
        avail = base_a * np.exp(spread * rng.standard_normal((draws, base_a.size)))
    sec = np.clip(base_s * np.exp(spread * rng.standard_normal((draws, base_s.size))), 0.0, 1.0)
    return avail, sec


def sensitivity(
    prep: Prepared,
    weights: Weights,
    draws: int = 1000,
    spread: float = 0.2,
    seed: int = 0,
    method: str = "lognormal",
    top: int = 25,
) -> pd.DataFrame:
    """Rank statistics per ECCN over ``draws`` perturbed weightings.

    Parameters
    ----------
    prep
        Weight-independent inputs from :func:`cclreview.score.engine.prepare`.
    weights
        The base weighting (also supplies exponents and the evidence floor).
    draws, spread, seed, method
        See :func:`perturbed_weights`.
    top
        Cut-off for ``p_top25`` (the column keeps its name).

    Returns
    -------
    pandas.DataFrame
        :data:`SENSITIVITY_COLUMNS`, sorted by median rank then ECCN.
    """
    avail_w, sec_w = perturbed_weights(weights, draws, spread, seed, method)
    A = availability_matrix(prep.sub, avail_w)
    S = security_scores(prep.sec_matrix, sec_w)
    D = decontrol_matrix(A, S, prep.evidence, prep.multilateral, weights)
    ranks = rank_matrix(D, prep.group)
    base_a = np.array(list(weights.availability.as_dict().values()))
    base_D = decontrol_matrix(
        availability_matrix(prep.sub, base_a),
        security_scores(prep.sec_matrix, security_weight_vector(weights)),
        prep.evidence,
        prep.multilateral,
        weights,
    )
    base_rank = rank_matrix(base_D, prep.group)
    p05, p50, p95 = np.percentile(ranks, [5, 50, 95], axis=1)
    out = pd.DataFrame(
        {
            "eccn": prep.frame.index.to_numpy(),
            "median_rank": p50,
            "rank_p05": p05,
            "rank_p95": p95,
            "p_top25": (ranks <= top).mean(axis=1),
            "base_rank": base_rank.astype("int64"),
            "rank_spread": p95 - p05,
        }
    )
    log.info(
        "sensitivity: %d draws x %d ECCNs (spread %.2f, seed %d, %s)", draws, len(out), spread, seed, method
    )
    return out.sort_values(["median_rank", "eccn"], kind="stable").reset_index(drop=True)
