"""Decontrol score, tiers, guardrails and the ranking.

``decontrol_score = A^a x (1 - S)^b x (f + (1 - f) x E) x m`` with availability ``A``,
security ``S``, evidence strength ``E``, ``a``/``b`` the exponents, ``f`` the evidence
floor and ``m`` the multilateral factor (1 when the U.S. can act alone).

Tiers (first rule wins): ``guardrail`` (guardrail match); ``retain`` when ``S`` is at
or above ``tiers.retain_min_security`` (even without availability evidence);
``insufficient evidence`` (no evidence, or ``E`` below ``evidence.min_strength``);
``retain`` when the score is below ``tiers.review_min_score``; ``candidate`` (score at or
above ``tiers.candidate_min_score``); ``review`` otherwise.

Ranking: group 0 (candidate/review/retain) before group 1 (insufficient evidence)
before group 2 (guardrail); inside a group by decontrol score descending (missing
scores last, e.g. a retained entry without evidence), ties broken by ECCN ascending. Rows are kept sorted by ECCN so that a
stable sort implements the tie-break, also for the sensitivity matrices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cclreview.score.weights import Weights

TIER_CANDIDATE = "candidate"
TIER_REVIEW = "review"
TIER_RETAIN = "retain"
TIER_GUARDRAIL = "guardrail"
TIER_INSUFFICIENT = "insufficient evidence"
TIERS = (TIER_CANDIDATE, TIER_REVIEW, TIER_RETAIN, TIER_GUARDRAIL, TIER_INSUFFICIENT)


def guardrail_reasons(
    eccns: Sequence[str],
    reasons: Sequence[Sequence[str]],
    weights: Weights,
    flags: Sequence[set[str]] | None = None,
) -> list[str | None]:
    """The reason of the first guardrail each ECCN matches, or None.

    Parameters
    ----------
    eccns
        ECCNs (``"3A090"``).
    reasons
        Each entry's two-letter reason codes (for ``requires_any_reason``).
    weights
        Holds the ordered guardrail list.
    flags
        Each entry's true flags (e.g. ``{"subject_to_itar"}``) for ``requires_flag``.
    """
    compiled = [
        (g.regex(), set(g.requires_any_reason), g.requires_flag, g.reason, g.pattern)
        for g in weights.guardrails
    ]
    flags = flags if flags is not None else [set() for _ in eccns]
    out: list[str | None] = []
    for eccn, rs, fl in zip(eccns, reasons, flags, strict=True):
        fams = {str(r).strip().upper()[:2] for r in rs}
        hit = None
        for rx, need, flag, reason, pattern in compiled:
            if rx.match(eccn) and (not need or fams & need) and (not flag or flag in fl):
                hit = f"{reason} [{pattern}]"
                break
        out.append(hit)
    return out


def decontrol_matrix(
    avail: np.ndarray, security: np.ndarray, evidence: np.ndarray, multilateral: np.ndarray, weights: Weights
) -> np.ndarray:
    """The decontrol score for ``(n,)`` vectors or ``(n, d)`` matrices of A and S."""
    d = weights.decontrol
    ev = evidence if avail.ndim == 1 else evidence[:, None]
    mult = np.where(multilateral, d.multilateral_factor, 1.0)
    mult = mult if avail.ndim == 1 else mult[:, None]
    with np.errstate(invalid="ignore"):
        return (
            np.power(np.clip(avail, 0, 1), d.availability_exponent)
            * np.power(np.clip(1.0 - security, 0, 1), d.security_exponent)
            * (d.evidence_floor + (1.0 - d.evidence_floor) * np.clip(ev, 0, 1))
            * mult
        )


def assign_tiers(
    score: np.ndarray, security: np.ndarray, guardrail: np.ndarray, insufficient: np.ndarray, weights: Weights
) -> np.ndarray:
    """Tier per ECCN (object array of :data:`TIERS` strings)."""
    t = weights.tiers
    tier = np.where(score >= t.candidate_min_score, TIER_CANDIDATE, TIER_REVIEW).astype(object)
    tier[(score < t.review_min_score) | np.isnan(score)] = TIER_RETAIN
    tier[insufficient] = TIER_INSUFFICIENT
    # High security relevance needs no availability evidence to justify keeping a control.
    tier[security >= t.retain_min_security] = TIER_RETAIN
    tier[guardrail] = TIER_GUARDRAIL
    return tier


def rank_groups(
    guardrail: np.ndarray, insufficient: np.ndarray, retained: np.ndarray | None = None
) -> np.ndarray:
    """Rank group per ECCN: 0 scored or retained, 1 insufficient evidence, 2 guardrail."""
    unscored = insufficient if retained is None else insufficient & ~retained
    return np.where(guardrail, 2, np.where(unscored, 1, 0))


def rank_matrix(score: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Ranks (1 = best) for ``(n,)`` or ``(n, d)`` scores; rows must be sorted by ECCN.

    The key ``4 x group + (1 - score)`` (missing score -> 2) orders groups first,
    then scores descending; ``np.argsort(kind="stable")`` along the ECCN axis breaks
    exact ties by row order, i.e. by ECCN. Fully vectorised over draws.
    """
    s = score if score.ndim == 2 else score[:, None]
    g = group[:, None] if s.ndim == 2 else group
    # Rounding makes scores equal up to float noise true ties (decided by ECCN).
    key = 4.0 * g + np.where(np.isnan(s), 2.0, np.round(1.0 - np.clip(s, 0, 1), 12))
    order = np.argsort(key, axis=0, kind="stable")
    ranks = np.empty_like(order)
    n = s.shape[0]
    np.put_along_axis(ranks, order, np.arange(1, n + 1)[:, None].repeat(s.shape[1], axis=1), axis=0)
    return ranks[:, 0] if score.ndim == 1 else ranks
