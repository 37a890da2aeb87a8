"""How robust is the ranking? Perturb the links, the data and the weights.

Four kinds of draws, each vectorised over ``(ECCNs or links) x draws`` arrays (no
Python loop per draw), then combined:

* ``links``: each ECCN leaves one of its counted links out with probability
  ``sensitivity.link_drop_probability`` (an ECCN resting on one link then has no
  evidence in that draw), and every link confidence is drawn from a Beta distribution
  with the link's confidence as mean and ``confidence_concentration`` as ``a + b``.
* ``data``: each link whose HS line has a second indicator row (another year or
  source, or the heading instead of the subheading) uses it with probability
  ``data_swap_probability``; with ``bootstrap_suppliers`` each link's supplier count
  is redrawn as a Poisson count around the observed one (a parametric bootstrap of
  its exporters) and its effective number of suppliers and HHI scaled alike.
* ``weights``: every availability sub-score weight and security weight is multiplied
  by ``exp(spread x z)`` (``method="lognormal"``; security weights clipped to [0, 1])
  or the availability weights are drawn from a Dirichlet (``method="dirichlet"``).
* ``all``: the three at once.

Per ECCN and kind: ``p_candidate``, ``p_top25`` (top ``sensitivity.top``), and the
rank interval ``rank_p05``..``rank_p95`` with the median. The contract columns
(``median_rank, rank_p05, rank_p95, p_top25``) are those of ``all``;
``moved_most_by`` names the kind with the widest rank interval. Supply-side
indicators stay fixed (no per-draw source exists for them); guardrails stay
guardrails, and an ECCN retained on security stays in the scored group.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from cclreview.errors import ConfigError
from cclreview.score.aggregate import aggregate_arrays
from cclreview.score.availability import availability_draws, availability_matrix, subscore_arrays
from cclreview.score.link_arrays import LinkArrays
from cclreview.score.prepare import Prepared
from cclreview.score.security import security_scores, security_weight_vector
from cclreview.score.tiers import decontrol_matrix, rank_matrix
from cclreview.score.weights import REGIMES, Weights

log = logging.getLogger(__name__)

KINDS = ("links", "data", "weights", "all")
SENSITIVITY_COLUMNS = (
    "eccn",
    "median_rank",
    "rank_p05",
    "rank_p95",
    "p_top25",
    "p_candidate",
    "base_rank",
    "rank_spread",
    "moved_most_by",
    *(
        f"{stat}_{k}"
        for k in KINDS
        for stat in ("p_candidate", "p_top25", "rank_p05", "median_rank", "rank_p95")
    ),
)
METHODS = ("lognormal", "dirichlet")
#: Draws evaluated at once (bounds memory: links x chunk arrays).
CHUNK = 250


def perturbed_weights(
    weights: Weights, draws: int, spread: float, seed: int | np.random.Generator, method: str = "lognormal"
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
        Seed (or generator) of :func:`numpy.random.default_rng`: same seed, same draws.
    method
        ``"lognormal"`` (multiplicative noise) or ``"dirichlet"`` (availability weights).
    """
    if draws < 1:
        raise ConfigError(f"--draws {draws}: need at least 1 draw")
    if not 0 <= spread <= 5:
        raise ConfigError(f"--spread {spread}: out of range (allowed: 0 to 5)")
    if method not in METHODS:
        raise ConfigError(f"--method {method!r}: unknown (allowed: {', '.join(METHODS)})")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
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


def _segment_starts(idx: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]]) if len(idx) else np.zeros(0, int)


def _link_draws(
    la: LinkArrays, d: int, rng: np.random.Generator, weights: Weights, links: bool, data: bool
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Drawn confidences, kept-link masks, data swaps and supplier scales ``(L, d)``."""
    cfg = weights.sensitivity
    L = len(la.eccn_idx)
    conf = keep = swap = n_scale = None
    if links and L:
        c = np.clip(la.confidence, 0.01, 0.99)[:, None]
        k = cfg.confidence_concentration
        conf = rng.beta(c * k, (1 - c) * k, size=(L, d))
        # Leave one counted link out per ECCN (with probability p): the link with the
        # largest uniform key inside its ECCN's segment (links are sorted by ECCN).
        key = np.where(la.counted[:, None], rng.random((L, d)), -1.0)
        starts = _segment_starts(la.eccn_idx)
        seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, L]))
        seg_max = np.maximum.reduceat(key, starts, axis=0)
        drop_ecc = rng.random((len(starts), d)) < cfg.link_drop_probability
        drop = (key == seg_max[seg]) & (key >= 0) & drop_ecc[seg]
        keep = ~drop
    if data and L:
        swap = (rng.random((L, d)) < cfg.data_swap_probability) & la.alt_usable[:, None]
        if cfg.bootstrap_suppliers:
            n = la.n_suppliers[:, None]
            drawn = rng.poisson(np.broadcast_to(n, (L, d)))
            n_scale = np.where(n > 0, np.maximum(drawn, 0.5) / np.where(n > 0, n, 1), 1.0)
    return conf, keep, swap, n_scale


def _evaluate(
    prep: Prepared,
    weights: Weights,
    avail_w: np.ndarray,
    sec_w: np.ndarray,
    conf: np.ndarray | None,
    keep: np.ndarray | None,
    swap: np.ndarray | None,
    n_scale: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Ranks and candidate masks ``(n, d)`` for one chunk of draws."""
    la = prep.links
    n, d = len(prep.frame), avail_w.shape[0]
    assert la is not None and prep.supply is not None
    if conf is None:
        conf = np.broadcast_to(la.confidence[:, None], (len(la.eccn_idx), d))
    vals, E, has, hs6 = aggregate_arrays(la, weights, conf, keep, swap, n_scale)
    share = vals["non_us_share"]
    listed: np.ndarray = (
        prep.regimes_listed if prep.regimes_listed is not None else np.zeros((n, len(REGIMES)), bool)
    )
    outs = np.stack([vals[f"outside_{r}"] for r in REGIMES], axis=-1)  # (n, d, R)
    masked = np.where(listed[:, None, :] & ~np.isnan(outs), outs, np.inf).min(axis=-1)
    any_listed = np.asarray(listed.any(axis=1), dtype=bool)
    outside = np.where(any_listed[:, None], np.where(np.isinf(masked), np.nan, masked), share)
    ind = {
        "n_effective_suppliers": vals["n_effective"],
        "non_us_share": share,
        "non_us_to_us_ratio": np.power(10.0, vals["log_ratio"]),
        "hhi_non_us": vals["hhi_non_us"],
        "china_share": vals["china_share"],
        "outside_regime_share": outside,
        "unit_value_ratio": vals["unit_value_ratio"],
        "quality_flag": np.full((n, d), np.nan),
    }
    sup = prep.supply["mask"]
    for col in ind:
        if col in prep.supply:
            fixed = prep.supply[col][:, None]
            ind[col] = np.where(sup[:, None] & ~np.isnan(fixed), fixed, ind[col])
    E = np.where(sup[:, None], np.fmax(E, prep.supply["strength"][:, None]), E)
    has = has | sup[:, None]
    sub = subscore_arrays(
        ind["n_effective_suppliers"],
        ind["non_us_share"],
        ind["non_us_to_us_ratio"],
        ind["hhi_non_us"],
        ind["quality_flag"],
        ind["unit_value_ratio"],
        ind["china_share"],
        ind["outside_regime_share"],
        has,
        weights,
    )
    A = availability_draws(sub, avail_w)
    S = security_scores(prep.sec_matrix, sec_w)
    f = weights.decontrol.evidence_floor
    D = decontrol_matrix(A, S, np.ones(n), prep.multilateral, weights) * (f + (1 - f) * np.clip(E, 0, 1))
    reserved = prep.frame["reserved"].fillna(False).astype(bool).to_numpy()[:, None]
    insufficient = ~has | (weights.evidence.min_strength > E) | reserved
    group = np.where(prep.guardrail[:, None], 2, np.where(insufficient & ~prep.retained[:, None], 1, 0))
    ranks = _ranks(D, group)
    gate = hs6 | sup[:, None] if weights.evidence.hs4_only_caps_at_review else np.ones((n, d), bool)
    t = weights.tiers
    cand = (
        (t.candidate_min_score <= D)
        & ~insufficient
        & (t.retain_min_security > S)
        & ~prep.guardrail[:, None]
        & gate
    )
    if prep.not_fa is not None:  # not a foreign-availability case: never a candidate
        cand &= ~prep.not_fa[:, None]
    return ranks, cand


def _ranks(score: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Ranks per column with a per-draw group (as :func:`rank_matrix`, 2-D groups)."""
    key = 4.0 * group + np.where(np.isnan(score), 2.0, np.round(1.0 - np.clip(score, 0, 1), 12))
    order = np.argsort(key, axis=0, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(
        ranks, order, np.arange(1, score.shape[0] + 1)[:, None].repeat(score.shape[1], axis=1), axis=0
    )
    return ranks


def _counted_only(la: LinkArrays) -> LinkArrays:
    """Drop links that never count (suggestions with the switch off): less work per draw."""
    keep = la.counted
    if keep.all():
        return la
    fields = {
        k: (v[keep] if isinstance(v, np.ndarray) and v.shape[:1] == keep.shape else v)
        for k, v in la.__dict__.items()
    }
    return LinkArrays(**fields)


def sensitivity(
    prep: Prepared,
    weights: Weights,
    draws: int = 1000,
    spread: float | None = None,
    seed: int = 0,
    method: str = "lognormal",
    top: int | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> pd.DataFrame:
    """Rank and tier statistics per ECCN under each kind of perturbation and combined.

    Parameters
    ----------
    prep
        Inputs from :func:`cclreview.score.prepare.prepare`.
    weights
        The base weighting; ``[sensitivity]`` sets the perturbation sizes.
    draws, seed, method
        Number of draws per kind, random seed, weight-draw method.
    spread
        Weight noise scale (default ``sensitivity.spread``).
    top
        Cut-off for ``p_top25`` (default ``sensitivity.top``; the column keeps its name).
    kinds
        Which kinds to run (``all`` is the combined one).

    Returns
    -------
    pandas.DataFrame
        :data:`SENSITIVITY_COLUMNS` (columns of kinds not run are NaN), sorted by
        median rank then ECCN.
    """
    cfg = weights.sensitivity
    spread = cfg.spread if spread is None else spread
    top = cfg.top if top is None else top
    if draws < 1:
        raise ConfigError(f"--draws {draws}: need at least 1 draw")
    if prep.links is None:
        raise ConfigError("sensitivity needs inputs prepared by cclreview.score.prepare.prepare")
    local = Prepared(**{**prep.__dict__, "links": _counted_only(prep.links)})
    rng = np.random.default_rng(seed)
    n = len(prep.frame)
    base_a = np.array(list(weights.availability.as_dict().values()))
    base_D = decontrol_matrix(
        availability_matrix(prep.sub, base_a),
        security_scores(prep.sec_matrix, security_weight_vector(weights)),
        prep.evidence,
        prep.multilateral,
        weights,
    )
    out = pd.DataFrame({"eccn": prep.frame.index.to_numpy(), "base_rank": rank_matrix(base_D, prep.group)})
    base_s = security_weight_vector(weights)
    for kind in KINDS:
        if kind not in kinds:
            for stat in ("p_candidate", "p_top25", "rank_p05", "median_rank", "rank_p95"):
                out[f"{stat}_{kind}"] = np.nan
            continue
        all_ranks, all_cand = [], []
        done = 0
        while done < draws:
            d = min(CHUNK, draws - done)
            if kind in ("weights", "all"):
                avail_w, sec_w = perturbed_weights(weights, d, spread, rng, method)
            else:
                avail_w, sec_w = np.tile(base_a, (d, 1)), np.tile(base_s, (d, 1))
            assert local.links is not None
            conf, keep, swap, n_scale = _link_draws(
                local.links, d, rng, weights, kind in ("links", "all"), kind in ("data", "all")
            )
            r, c = _evaluate(local, weights, avail_w, sec_w, conf, keep, swap, n_scale)
            all_ranks.append(r)
            all_cand.append(c)
            done += d
        ranks = np.concatenate(all_ranks, axis=1)
        cand = np.concatenate(all_cand, axis=1)
        p05, p50, p95 = np.percentile(ranks, [5, 50, 95], axis=1)
        out[f"p_candidate_{kind}"] = cand.mean(axis=1)
        out[f"p_top25_{kind}"] = (ranks <= top).mean(axis=1)
        out[f"rank_p05_{kind}"], out[f"median_rank_{kind}"], out[f"rank_p95_{kind}"] = p05, p50, p95
    combined = "all" if "all" in kinds else kinds[-1]
    out["median_rank"] = out[f"median_rank_{combined}"]
    out["rank_p05"] = out[f"rank_p05_{combined}"]
    out["rank_p95"] = out[f"rank_p95_{combined}"]
    out["p_top25"] = out[f"p_top25_{combined}"]
    out["p_candidate"] = out[f"p_candidate_{combined}"]
    out["rank_spread"] = out["rank_p95"] - out["rank_p05"]
    singles = [k for k in ("links", "data", "weights") if k in kinds]
    if singles:
        spreads = np.column_stack([out[f"rank_p95_{k}"] - out[f"rank_p05_{k}"] for k in singles])
        out["moved_most_by"] = np.where(
            spreads.max(axis=1) > 0, np.array(singles)[spreads.argmax(axis=1)], "none"
        )
    else:
        out["moved_most_by"] = "none"
    out["base_rank"] = out["base_rank"].astype("int64")
    log.info(
        "sensitivity: %d draws x %d kinds x %d ECCNs (spread %.2f, seed %d)",
        draws,
        len(kinds),
        n,
        spread,
        seed,
    )
    return (
        out[list(SENSITIVITY_COLUMNS)]
        .sort_values(["median_rank", "eccn"], kind="stable")
        .reset_index(drop=True)
    )
