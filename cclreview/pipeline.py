"""The chain of stages, and the short summary printed at the end of a build."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from cclreview.contracts import SCORES, TIER_ORDER, UNLINKED_ECCNS
from cclreview.errors import SourceMissingError


def summary_lines(processed: str | os.PathLike[str], report: str | os.PathLike[str]) -> list[str]:
    """Return the workbook path and a five-line summary of a build.

    Lines: the workbook path; ECCNs scored; ECCNs per tier; unlinked count; top 3
    candidates; evidence coverage.

    Raises
    ------
    SourceMissingError
        When ``scores.parquet`` is absent (run ``cclreview score`` first).
    """
    processed = Path(processed)
    scores_path = processed / SCORES
    if not scores_path.exists():
        raise SourceMissingError(f"{scores_path} not found; run `cclreview score` (or `make reports`) first")
    scores = pd.read_parquet(scores_path)
    counts = scores["tier"].value_counts()
    tiers = ", ".join(
        f"{t} {int(counts.get(t, 0))}"
        for t in TIER_ORDER
        if t in counts or t != "not a foreign-availability case"  # listed once scoring assigns it
    )
    unlinked_path = processed / UNLINKED_ECCNS
    unlinked = len(pd.read_csv(unlinked_path)) if unlinked_path.exists() else 0
    top = scores[scores["tier"] == "candidate"].sort_values("rank").head(3)
    top_text = "; ".join(f"{r.eccn} ({r.decontrol_score:.2f})" for r in top.itertuples()) or "none"
    # Guardrail entries keep their tier whatever the evidence: count evidence directly.
    with_evidence = int(scores["availability_score"].notna().sum())
    return [
        f"Workbook: {Path(report)}",
        f"  ECCNs scored:      {len(scores)} ({with_evidence} with availability evidence)",
        f"  Per tier:          {tiers}",
        f"  Unlinked ECCNs:    {unlinked}",
        f"  Top 3 candidates:  {top_text}",
    ]
