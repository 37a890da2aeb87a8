"""The chain of stages (:func:`run_pipeline`) and the short summary printed after a build.

``cclreview run`` calls :func:`run_pipeline`, which calls each stage's library function
in :data:`cclreview.contracts.STAGE_ORDER` with the default inputs of the project
folders (the same inputs the Makefile passes, stage by stage, to the commands).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cclreview import contracts
from cclreview.config import ProjectPaths
from cclreview.contracts import SCORES, TIER_ORDER, UNLINKED_ECCNS
from cclreview.errors import SourceMissingError
from cclreview.io import stage_outputs

log = logging.getLogger(__name__)

#: HS nomenclature the link stage reads by default (under ``data/raw/hs``).
HS_NOMENCLATURE = "harmonized_system_HS2022.csv"


@dataclass
class Run:
    """Folders and settings of one pipeline run, and state shared between stages."""

    paths: ProjectPaths
    processed: Path
    weights: Path
    report: Path
    previous: Path | None = None
    draws: int = 1000
    prepared: Any = None  # (weights, Prepared) from the score stage, reused by sensitivity


def _ingest_ccl(run: Run) -> object:
    from cclreview.ccl import default_ccl_xml, ingest_ccl

    return ingest_ccl(default_ccl_xml(run.paths.raw_ccl), run.processed)


def _ingest_trade(run: Run) -> object:
    from cclreview.trade.ingest import find_trade_files, ingest_trade

    return ingest_trade(find_trade_files(run.paths.raw_trade), run.processed)


def _ingest_evidence(run: Run) -> object:
    from cclreview.trade.evidence import ingest_evidence

    return ingest_evidence(None, run.processed)


def _controls(run: Run) -> object:
    from cclreview.controls import run_controls

    return run_controls(run.processed, run.paths.raw)


def _availability(run: Run) -> object:
    from cclreview.indicators import run_availability
    from cclreview.score.weights import load_weights

    evidence = run.processed / contracts.EVIDENCE
    # Supplier floors have one owner: weights.toml [suppliers] (as `cclreview availability`).
    floors = load_weights(run.weights).suppliers
    return run_availability(
        run.processed / contracts.EXPORTS,
        run.processed,
        None,
        evidence if evidence.is_file() else None,
        min_share=floors.min_share,
        min_value_usd=floors.min_value_usd,
        min_quantity_tonnes=floors.min_quantity_tonnes,
    )


def _link(run: Run) -> object:
    from cclreview.link.curated import CURATED_FILE
    from cclreview.link.pipeline import run_link

    paragraphs = run.processed / contracts.CCL_PARAGRAPHS
    concordance = run.paths.raw_concordance
    return run_link(
        run.processed / contracts.CCL_ENTRIES,
        paragraphs if paragraphs.is_file() else None,
        run.paths.raw_hs / HS_NOMENCLATURE,
        run.processed,
        [concordance] if concordance.is_dir() else [],
        CURATED_FILE,
    )


def _score(run: Run) -> object:
    from cclreview.score.engine import load_prepared, run_score

    run.prepared = load_prepared(run.processed, run.weights)
    return run_score(run.processed, run.weights, run.processed, prepared=run.prepared)


def _sensitivity(run: Run) -> object:
    from cclreview.score.engine import load_prepared
    from cclreview.score.sensitivity import sensitivity

    weights, prep = run.prepared or load_prepared(run.processed, run.weights)
    return contracts.write("sensitivity", sensitivity(prep, weights, draws=run.draws), run.processed)


def _report(run: Run) -> object:
    from cclreview.report import build_report

    return build_report(
        run.processed,
        run.report,
        weights=run.weights,
        manifest=run.paths.manifest,
        previous=run.previous,
    )


#: Stage command -> the library call that does its work (``report`` last).
STAGE_FUNCTIONS: dict[str, Callable[[Run], object]] = {
    "ingest-ccl": _ingest_ccl,
    "controls": _controls,
    "ingest-trade": _ingest_trade,
    "ingest-evidence": _ingest_evidence,
    "availability": _availability,
    "link": _link,
    "score": _score,
    "sensitivity": _sensitivity,
    "report": _report,
}


@dataclass(frozen=True)
class StageRun:
    """What one stage of :func:`run_pipeline` returned, and how long it took."""

    stage: str
    seconds: float
    result: object


def run_pipeline(
    paths: ProjectPaths,
    *,
    processed: Path | None = None,
    weights: Path | None = None,
    report: Path | None = None,
    previous: Path | None = None,
    draws: int = 1000,
    on_stage: Callable[[str], None] | None = None,
) -> list[StageRun]:
    """Run every stage in order, from the sources in ``paths.raw`` to the workbook.

    Parameters
    ----------
    paths
        The project folders (sources under ``paths.raw``; fetch them first).
    processed, weights, report
        Override the default stage-output folder, weights file and workbook path.
    previous
        A reviewed workbook whose decisions and notes are carried over.
    draws
        Weight draws of the sensitivity analysis.
    on_stage
        Called with each stage's name before it runs (the CLI prints it).

    Raises
    ------
    CCLReviewError
        From the first stage that fails; later stages do not run.
    """
    run = Run(
        paths=paths,
        processed=processed or paths.processed,
        weights=weights or paths.weights,
        report=report or paths.report,
        previous=previous,
        draws=draws,
    )
    done: list[StageRun] = []
    for stage in [s.command for s in contracts.STAGE_ORDER] + ["report"]:
        if on_stage is not None:
            on_stage(stage)
        start = time.perf_counter()
        # Each stage's outputs are renamed together when it succeeds (make targets last).
        with stage_outputs():
            result = STAGE_FUNCTIONS[stage](run)
        done.append(StageRun(stage, time.perf_counter() - start, result))
        log.info("%s took %.1f s", stage, done[-1].seconds)
    return done


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
