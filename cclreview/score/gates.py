"""Evidence gates on the tiers: what kind of evidence a ``candidate`` needs.

Kept apart from :mod:`cclreview.score.tiers` (score thresholds, guardrails) so that
each rule stays one small function.

* :func:`candidate_allowed`: by default (``evidence.hs4_only_caps_at_review``) an
  ECCN can be a ``candidate`` only with HS6-level trade data or supply-side evidence;
  evidence from HS4 headings alone describes far more than the controlled item.
* :func:`apply_evidence_gates`: such an ECCN is capped at ``review``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cclreview.score.weights import Weights

TIER_CANDIDATE = "candidate"
TIER_REVIEW = "review"


def candidate_allowed(frame: pd.DataFrame, weights: Weights) -> np.ndarray:
    """Per ECCN: True when its evidence may support a ``candidate`` tier."""
    n = len(frame)
    if not weights.evidence.hs4_only_caps_at_review:
        return np.ones(n, bool)
    hs6 = (
        frame["hs6_evidence"].fillna(False).astype(bool).to_numpy()
        if "hs6_evidence" in frame
        else np.zeros(n, bool)
    )
    supply = (
        frame["supply_side"].fillna(False).astype(bool).to_numpy()
        if "supply_side" in frame
        else np.zeros(n, bool)
    )
    allowed: np.ndarray = hs6 | supply
    return allowed


def apply_evidence_gates(tier: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Cap ``candidate`` at ``review`` where the evidence gate is not met."""
    out = np.asarray(tier, dtype=object).copy()
    out[(out == TIER_CANDIDATE) & ~allowed] = TIER_REVIEW
    return out
