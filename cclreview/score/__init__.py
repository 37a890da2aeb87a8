"""Scoring stage: availability by the four criteria of 15 CFR 768.6, security relevance,
guardrails, decontrol score and tier, explanations, sensitivity and weight comparison.

Public API
----------
- :func:`cclreview.score.weights.load_weights` / :func:`weights_sha256`
- :func:`cclreview.score.engine.score_tables` (in-memory) and :func:`~cclreview.score.engine.run_score` (files)
- :func:`cclreview.score.prepare.prepare` + :func:`cclreview.score.sensitivity.sensitivity`
- :func:`cclreview.score.compare.compare_weights`
"""

from __future__ import annotations

from cclreview.score.weights import Weights, load_weights, weights_sha256

__all__ = ["Weights", "load_weights", "weights_sha256"]
