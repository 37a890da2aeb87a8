"""Scoring every ECCN: availability, security, decontrol score, tier, rank, explanation.

The formula (weights and thresholds in ``config/weights.toml``):

* ``availability_score A`` = weighted mean of the six sub-scores of
  :func:`cclreview.score.availability.subscores` (renormalised over those with data).
* ``security_score S`` = ``1 - prod(1 - w)`` over the entry's reason families (strictest
  chart column of each) and
  status flags (:mod:`cclreview.score.security`).
* Indicators per ECCN: means over its confirmed links weighted by ``confidence x
  specificity`` (x ``evidence.hs4_factor`` for heading data), never by trade value
  (:func:`cclreview.score.aggregate.aggregate_arrays`); the links and rows used go
  to ``eccn_hs_indicators.parquet``. Suggestions only: ``insufficient evidence``
  ("unconfirmed links").
* ``evidence_strength E`` = sum over used links of ``weight x confidence x
  specificity^e x factors`` (HS4 vs HS6, bounded data, missing major exporters,
  recency, data older than ``stale_after_years``, inherited links) over the weight of
  all counted links; at least ``evidence.supply_side_strength`` with supply-side data.
* Evidence gate (:mod:`cclreview.score.gates`): ``candidate`` needs HS6 or
  supply-side evidence, else ``review``.
* ``decontrol_score = A^a x (1 - S)^b x (f + (1 - f) E) x m``
  (:mod:`cclreview.score.tiers`, which also documents tiers and ranking).

Inputs are prepared once (:func:`cclreview.score.prepare.prepare`, reused by
``sensitivity``); :func:`score_prepared` applies the weights.

Scoring reads only processed tables (``ccl_entries``, ``eccn_hs_links``,
``availability_hs``, optional ``evidence``) and the weights, never raw files.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from cclreview import contracts
from cclreview.china.stage import score_hook as china_score_hook
from cclreview.errors import SourceMissingError
from cclreview.score.availability import availability_matrix
from cclreview.score.explain import explain
from cclreview.score.gates import apply_evidence_gates
from cclreview.score.prepare import DECISION_COLUMNS, Prepared, prepare
from cclreview.score.security import security_scores, security_weight_vector
from cclreview.score.tiers import TIER_NOT_FA, assign_tiers, cap_by_parents, decontrol_matrix, rank_matrix
from cclreview.score.weights import AVAILABILITY_COMPONENTS, Weights, weights_sha256

log = logging.getLogger(__name__)

#: Columns of ``scores.parquet`` in order (contract columns first, then convenience).
SCORE_COLUMNS = (
    "eccn",
    "rank",
    "tier",
    "decontrol_score",
    "availability_score",
    "security_score",
    "evidence_strength",
    *AVAILABILITY_COMPONENTS,
    "unilateral_action_possible",
    "guardrail_reason",
    "explanation",
    "top_sources",
    "china_share",
    "granularity",
    "missing_major_exporters",
    "weights_sha256",
    "heading",
    "category",
    "reasons",
    "chart_columns",
    "regimes",
    "evidence_source",
    "n_links",
    "n_links_with_data",
    "n_non_us_suppliers",
    "non_us_share",
    "non_us_to_us_ratio",
    "hhi_non_us",
    "outside_regime_share",
    "unit_value_ratio",
    "latest_year",
    # Decision columns (cclreview.controls): how each control could be lifted and what
    # a decontrol would change (unilateral_action_possible is listed above).
    *(c for c in DECISION_COLUMNS if c != "unilateral_action_possible"),
    "capped_by",
    "n_effective_suppliers",
    "n_links_confirmed",
    "oldest_year",
    "evidence_notes",
    "insufficient_reason",
)
#: Inputs scoring can do without (a log line says what is lost; without the controls
#: they are built from the entries without the Country Chart).
OPTIONAL_INPUTS = ("evidence", "controls", "lists")

#: Input key -> the processed table it is read from (:mod:`cclreview.contracts`).
INPUT_TABLES = {
    "entries": "ccl_entries",
    "links": "eccn_hs_links",
    "availability": "availability_hs",
    "evidence": "evidence",
    "controls": "eccn_controls",
    "lists": "eccn_lists",
}

#: Columns of ``eccn_hs_indicators.parquet`` (one row per ECCN x HS link, as scored).
INDICATOR_TABLE_COLUMNS = (
    "eccn",
    "hs6",
    "paragraph",
    "link_source",
    "confidence",
    "specificity",
    "specificity_class",
    "confirmed",
    "counted",
    "used",
    "why_not_used",
    "weight",
    "weight_share",
    "strength",
    "granularity",
    "hs_code",
    "hs_level",
    "hs_version",
    "hs_version_source",
    "heading_status",
    "year",
    "source",
    "world_exports_usd",
    "us_exports_usd",
    "non_us_share",
    "n_non_us_suppliers",
    "hhi_non_us",
    "n_effective",
    "china_share",
    "share_outside_regime",
    "unit_value_ratio",
    "unit_value_qty_tonnes",
    "top_suppliers",
    "missing_major_exporters",
    "alt_source",
    "alt_year",
    "alt_hs_level",
)


def score_prepared(prep: Prepared, weights: Weights, sha: str) -> pd.DataFrame:
    """Apply the weights to prepared inputs; return the ranked scores table."""
    avail_w = np.array(list(weights.availability.as_dict().values()))
    A = availability_matrix(prep.sub, avail_w)
    S = security_scores(prep.sec_matrix, security_weight_vector(weights))
    D = decontrol_matrix(A, S, prep.evidence, prep.multilateral, weights)
    tier = assign_tiers(D, S, prep.guardrail, prep.insufficient, weights)
    group = prep.group
    capped_by = ["" for _ in range(len(D))]
    rank_score = D
    if prep.not_fa is not None:
        tier[prep.not_fa & ~prep.guardrail] = TIER_NOT_FA
    if prep.parents is not None:
        tier, group, rank_score, capped_by = cap_by_parents(
            list(prep.frame.index), tier, group, D, prep.parents
        )
    if prep.candidate_ok is not None:
        tier = apply_evidence_gates(tier, prep.candidate_ok)
    rank = rank_matrix(rank_score, group)
    f = prep.frame.copy()
    f["availability_score"] = A
    f["security_score"] = S
    f["decontrol_score"] = D
    f["tier"] = tier
    f["rank"] = rank
    f["capped_by"] = capped_by
    if "unilateral_action_possible" not in f.columns:
        f["unilateral_action_possible"] = ~prep.multilateral
    f["weights_sha256"] = sha
    f["explanation"] = [explain(row, weights) for row in f.reset_index().to_dict("records")]
    f = f.reset_index()
    out = pd.DataFrame({c: f[c] if c in f.columns else None for c in SCORE_COLUMNS})
    out["rank"] = out["rank"].astype("int64")
    # Plain numpy dtypes (no pd.NA) so downstream writers can test cells with ``v != v``.
    cat = pd.to_numeric(out["category"], errors="coerce")  # the ECCN's digit where absent (prepare)
    out["category"] = cat.astype("int64") if cat.notna().all() else cat.astype("float64")
    out["latest_year"] = pd.to_numeric(out["latest_year"], errors="coerce").astype("float64")
    out["evidence_source"] = out["evidence_source"].fillna("")
    out["regimes"] = [list(r) for r in out["regimes"]]
    out["missing_major_exporters"] = [
        list(m) if isinstance(m, list) else [] for m in out["missing_major_exporters"]
    ]
    out["top_sources"] = out["top_sources"].fillna("").astype(str)
    out["granularity"] = out["granularity"].fillna("").astype(str)
    return out.sort_values("rank", kind="stable").reset_index(drop=True)


def score_tables(
    entries: pd.DataFrame,
    links: pd.DataFrame,
    availability: pd.DataFrame,
    weights: Weights,
    evidence: pd.DataFrame | None = None,
    sha: str | None = None,
    regime_members: dict[str, frozenset[str]] | None = None,
    controls: pd.DataFrame | None = None,
    lists: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score every ECCN from in-memory processed tables.

    Returns
    -------
    pandas.DataFrame
        The ``scores.parquet`` table (:data:`SCORE_COLUMNS`), sorted by rank.
    """
    prep = prepare(
        entries, links, availability, weights, evidence, regime_members, controls=controls, lists=lists
    )
    return score_prepared(prep, weights, sha or weights_sha256(weights=weights))


def load_score_inputs(processed: str | os.PathLike[str]) -> dict[str, pd.DataFrame | None]:
    """Read the processed tables scoring needs (evidence is optional).

    Raises
    ------
    SourceMissingError
        When a required table is absent, naming the command that writes it.
    """
    processed = Path(processed)
    out: dict[str, pd.DataFrame | None] = {}
    for key, table in INPUT_TABLES.items():
        path = processed / contracts.FILES[table]
        if not path.is_file() and key not in OPTIONAL_INPUTS:
            raise SourceMissingError(
                f"{path} not found; run `cclreview {contracts.PRODUCER[table]}` first (or pass --processed DIR)"
            )
        out[key] = contracts.read(table, processed, required=False)
        if out[key] is None:
            log.info("%s not found: scoring without it (run `cclreview %s`)", path, contracts.PRODUCER[table])
    return out


def load_prepared(
    processed: str | os.PathLike[str], weights_path: str | os.PathLike[str]
) -> tuple[Weights, Prepared]:
    """Load the weights and the processed tables and prepare them once.

    ``score`` and ``sensitivity`` both start from this (preparing takes ~2 s on the
    real CCL), so a caller running both passes the result to each.
    """
    from cclreview.score.weights import load_weights

    weights = load_weights(weights_path)
    tables = load_score_inputs(processed)
    prep = prepare(
        tables["entries"],
        tables["links"],
        tables["availability"],
        weights,
        tables["evidence"],
        controls=tables["controls"],
        lists=tables["lists"],
    )
    return weights, prep


def run_score(
    processed: str | os.PathLike[str],
    weights_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    prepared: tuple[Weights, Prepared] | None = None,
) -> tuple[pd.DataFrame, Path]:
    """Score from ``processed`` with the weights file and write ``scores.parquet``.

    ``prepared`` (from :func:`load_prepared`) skips loading and preparing again.

    Returns
    -------
    (scores, path)
        The scores table and the written file.
    """
    weights, prep = prepared or load_prepared(processed, weights_path)
    scores = score_prepared(prep, weights, weights_sha256(weights_path))
    scores = china_score_hook(scores, processed, weights)  # China lens: cclreview/china/
    path = contracts.write("scores", scores, out_dir)
    log.info("wrote %s (%d ECCNs)", path, len(scores))
    ipath = contracts.write("eccn_hs_indicators", indicator_table(prep), out_dir)
    log.info("wrote %s", ipath)
    return scores, path


def indicator_table(prep: Prepared) -> pd.DataFrame:
    """The per-link indicators scoring used (``eccn_hs_indicators.parquet``).

    One row per ECCN x HS link: the link (source, confidence, specificity, whether it
    counted), the availability row it drew on (code, level, revision, year, source),
    its weight and share of weight in the ECCN's indicators, and why it was not used.
    """
    t = prep.link_table if prep.link_table is not None else pd.DataFrame()
    out = pd.DataFrame({c: t[c] if c in t.columns else None for c in INDICATOR_TABLE_COLUMNS})
    out["missing_major_exporters"] = [
        [str(x) for x in v] if isinstance(v, (list, np.ndarray)) else []
        for v in out["missing_major_exporters"]
    ]
    for c in (
        "hs_code",
        "hs_version",
        "hs_version_source",
        "heading_status",
        "source",
        "alt_source",
        "top_suppliers",
        "paragraph",
        "specificity_class",
        "granularity",
        "why_not_used",
    ):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
        out[c] = [None if v is None else str(v) for v in out[c]]
    for c in ("year", "hs_level", "alt_year", "alt_hs_level"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    return out.sort_values(
        ["eccn", "weight", "hs6"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)
