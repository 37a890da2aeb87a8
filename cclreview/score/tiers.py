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

from cclreview.contracts import TIER_ORDER
from cclreview.score.weights import Weights

TIER_CANDIDATE = "candidate"
TIER_REVIEW = "review"
TIER_RETAIN = "retain"
TIER_GUARDRAIL = "guardrail"
TIER_INSUFFICIENT = "insufficient evidence"
TIER_NOT_FA = "not a foreign-availability case"
#: Every tier, in display order (workbook, summaries, dossier): the contract's order.
TIERS = TIER_ORDER


def guardrail_reasons(
    eccns: Sequence[str],
    reasons: Sequence[Sequence[str]],
    weights: Weights,
    flags: Sequence[set[str]] | None = None,
    regimes: Sequence[set[str]] | None = None,
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
    regimes
        Each entry's control owners (``{"nsg", "mtcr"}``, from ``eccn_controls.regime``)
        for ``requires_regime``: NP column 2 (U.S.-only) is not ``nsg``.
    """
    compiled = [
        (g.regex(), set(g.requires_any_reason), g.requires_flag, set(g.requires_regime), g.reason, g.pattern)
        for g in weights.guardrails
    ]
    flags = flags if flags is not None else [set() for _ in eccns]
    regimes = regimes if regimes is not None else [set() for _ in eccns]
    out: list[str | None] = []
    for eccn, rs, fl, rg in zip(eccns, reasons, flags, regimes, strict=True):
        fams = {str(r).strip().upper()[:2] for r in rs}
        hit = None
        for rx, need, flag, need_reg, reason, pattern in compiled:
            if (
                rx.match(eccn)
                and (not need or fams & need)
                and (not flag or flag in fl)
                and (not need_reg or rg & need_reg)
            ):
                label = pattern if not need_reg else f"{pattern}, {'/'.join(sorted(rg & need_reg))}"
                hit = f"{reason} [{label}]"
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
        score: np.ndarray = (
            np.power(np.clip(avail, 0, 1), d.availability_exponent)
            * np.power(np.clip(1.0 - security, 0, 1), d.security_exponent)
            * (d.evidence_floor + (1.0 - d.evidence_floor) * np.clip(ev, 0, 1))
            * mult
        )
    return score


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
    guardrail: np.ndarray,
    insufficient: np.ndarray,
    retained: np.ndarray | None = None,
    not_fa: np.ndarray | None = None,
) -> np.ndarray:
    """Rank group per ECCN: 0 scored or retained, 1 insufficient evidence, 2 guardrail,
    3 not a foreign-availability case (listed last: not ranked as candidates)."""
    unscored = insufficient if retained is None else insufficient & ~retained
    group = np.where(guardrail, 2, np.where(unscored, 1, 0))
    if not_fa is not None:
        group = np.where(not_fa & ~guardrail, 3, group)
    return group


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


# --- Decision rules added with the controls table (kept apart from the score tiers) ---

#: Tier strictness for the D/E cap: a child never gets a tier earlier in this order
#: than its strictest parent.
_CAP_ORDER = {TIER_CANDIDATE: 0, TIER_REVIEW: 1, TIER_RETAIN: 2, TIER_INSUFFICIENT: 3, TIER_GUARDRAIL: 4}


def parents_of(
    eccns: Sequence[str],
    headings: Sequence[str],
    items: Sequence[str] | None = None,
    whole_only: bool = False,
) -> list[list[str]]:
    """The hardware (A/B/C) entries each software/technology (D/E) entry serves.

    References are read from the heading (then the items text when the heading names
    none) with :func:`cclreview.link.inherit.find_references`; ECCNs after "except" are
    left out; a referenced D entry is followed one hop to its own hardware. With
    ``whole_only`` only references to whole entries count ("3B001", not "3B001.g"):
    guardrails propagate along those, so a D/E entry serving one paragraph of
    guardrailed hardware among other items is capped, not guardrailed.
    """
    from cclreview.link.inherit import find_references

    known = set(eccns)
    items = items if items is not None else ["" for _ in eccns]
    direct: dict[str, list[str]] = {}
    for eccn, head, text in zip(eccns, headings, items, strict=True):
        if eccn[1] not in "DE":
            continue
        refs = (
            find_references(str(head or ""), eccn).eccns
            or find_references(str(text or "")[:2000], eccn).eccns
        )
        if whole_only:
            refs = [r for r in refs if len(r) == 5]
        bases = list(dict.fromkeys(r[:5] for r in refs if r[:5] in known and r[:5] != eccn))
        direct[eccn] = bases
    out: list[list[str]] = []
    for eccn in eccns:
        found: list[str] = []
        for ref in direct.get(eccn, []):
            hops = direct.get(ref, []) if ref[1] in "DE" else [ref]
            for p in hops:
                if p[1] in "ABC" and p not in found:
                    found.append(p)
        out.append(found)
    return out


def propagate_guardrails(
    eccns: Sequence[str], guard: Sequence[str | None], parents: Sequence[Sequence[str]]
) -> list[str | None]:
    """D/E entries serving guardrailed hardware inherit its guardrail (naming the parent)."""
    reason_of = dict(zip(eccns, guard, strict=True))
    out: list[str | None] = []
    for own, ps in zip(guard, parents, strict=True):
        if own is None:
            hit = next((p for p in ps if reason_of.get(p)), None)
            if hit is not None:
                own = f"serves {hit}, which is guardrailed: {reason_of[hit]}"
        out.append(own)
    return out


def not_fa_mask(controls_kind: Sequence[str], pointer: Sequence[bool]) -> np.ndarray:
    """Entries whose every control is not a foreign-availability case, or pointer entries."""
    return np.array(
        [k == TIER_NOT_FA or bool(p) for k, p in zip(controls_kind, pointer, strict=True)], dtype=bool
    )


def cap_by_parents(
    eccns: Sequence[str],
    tier: np.ndarray,
    group: np.ndarray,
    score: np.ndarray,
    parents: Sequence[Sequence[str]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Cap D/E entries by the hardware they serve: tier, rank group and rank score.

    A child's tier becomes its strictest parent's when that is stricter
    (candidate < review < retain < insufficient evidence < guardrail); its rank group is
    at least the parents'; its ranking score is at most just below its lowest-scored
    parent, so it ranks after it. Parents in the not-a-foreign-availability tier do not
    cap (they are not ranked); guardrailed parents cap only guardrailed children (the
    guardrail itself propagates along whole-entry references). Rows must be sorted by ECCN; D entries are capped before
    E entries.

    Returns
    -------
    (tier, group, rank_score, capped_by)
        New arrays and, per ECCN, the parent(s) that capped it ("" when none).
    """
    tier = tier.copy()
    group = group.copy()
    rscore = score.astype(float).copy()
    idx = {e: i for i, e in enumerate(eccns)}
    capped_by = ["" for _ in eccns]
    for letter in "DE":
        for i, eccn in enumerate(eccns):
            if eccn[1] != letter or tier[i] not in _CAP_ORDER:
                continue
            # A guardrailed parent caps through the guardrail itself (propagated along
            # whole-entry references); a paragraph reference to it does not make the
            # child a guardrail (3D991 serves 3B001.g/.h among legacy items).
            ps = [
                idx[p]
                for p in parents[i]
                if p in idx
                and tier[idx[p]] in _CAP_ORDER
                and (tier[idx[p]] != TIER_GUARDRAIL or tier[i] == TIER_GUARDRAIL)
            ]
            if not ps:
                continue
            names: list[str] = []
            strict = max(ps, key=lambda j: (_CAP_ORDER[str(tier[j])], j))
            if _CAP_ORDER[str(tier[strict])] > _CAP_ORDER[str(tier[i])]:
                tier[i] = tier[strict]
                names.append(eccns[strict])
            gmax = max(int(group[j]) for j in ps)
            if gmax > group[i]:
                group[i] = gmax
            same = [j for j in ps if group[j] == group[i]]
            if same:
                vals = [rscore[j] for j in same]
                if any(np.isnan(v) for v in vals):
                    if not np.isnan(rscore[i]):
                        rscore[i] = np.nan
                        names.append(eccns[next(j for j in same if np.isnan(rscore[j]))])
                else:
                    low = min(vals)
                    # A child without a score already ranks last in its group.
                    if not np.isnan(rscore[i]) and rscore[i] >= low:
                        rscore[i] = low - 1e-9
                        names.append(eccns[same[int(np.argmin(vals))]])
            capped_by[i] = ", ".join(dict.fromkeys(names))
    return tier, group, rscore, capped_by
