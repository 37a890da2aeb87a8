"""Scoring every ECCN: availability, security, decontrol score, tier, rank, explanation.

The formula (weights and thresholds in ``config/weights.toml``):

* ``availability_score A`` = weighted mean of the six sub-scores of
  :func:`cclreview.score.availability.subscores` (renormalised over those with data).
* ``security_score S`` = ``1 - prod(1 - w)`` over the entry's reason families (strictest
  chart column of each) and
  status flags (:mod:`cclreview.score.security`).
* Indicators per ECCN: means over its confirmed links weighted by ``confidence x
  specificity`` (x ``evidence.hs4_factor`` for heading data), never by trade value
  (:func:`cclreview.score.availability.aggregate_arrays`); the links and rows used go
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

Scoring reads only processed tables (``ccl_entries``, ``eccn_hs_links``,
``availability_hs``, optional ``evidence``) and the weights, never raw files.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cclreview import contracts
from cclreview.china.stage import score_hook as china_score_hook
from cclreview.errors import InputError, SourceMissingError
from cclreview.score.availability import (
    INDICATOR_TABLE_COLUMNS,
    REGIME_NAMES,
    LinkArrays,
    aggregate_with_links,
    availability_matrix,
    link_indicators,
    subscores,
)
from cclreview.score.explain import explain
from cclreview.score.gates import apply_evidence_gates, candidate_allowed
from cclreview.score.security import (
    SECURITY_COMPONENTS,
    regimes_of,
    security_matrix,
    security_scores,
    security_weight_vector,
)
from cclreview.score.tiers import (
    TIER_NOT_FA,
    assign_tiers,
    cap_by_parents,
    decontrol_matrix,
    guardrail_reasons,
    not_fa_mask,
    parents_of,
    propagate_guardrails,
    rank_groups,
    rank_matrix,
)
from cclreview.score.weights import AVAILABILITY_COMPONENTS, GUARDRAIL_FLAGS, REGIMES, Weights, weights_sha256

log = logging.getLogger(__name__)

#: Per-ECCN indicators that supply-side evidence may have set (kept fixed in draws).
_SUPPLY_COLUMNS = (
    "non_us_share",
    "non_us_to_us_ratio",
    "n_effective_suppliers",
    "hhi_non_us",
    "china_share",
    "outside_regime_share",
    "quality_flag",
    "unit_value_ratio",
)

#: Decision columns taken from :func:`cclreview.controls.summarise`.
DECISION_COLUMNS = (
    "route",
    "legal_basis",
    "controls_kind",
    "licence_to_china",
    "licence_to_china_reasons",
    "licence_destinations",
    "licence_destinations_unknown",
    "meu_listed",
    "meu_paragraphs",
    "sensitive_list",
    "very_sensitive_list",
    "lvs",
    "gbs",
    "sta",
    "pointer_entry",
    "unilateral_action_possible",
)

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


@dataclass
class Prepared:
    """Weight-independent inputs of the score, one row per ECCN sorted by ECCN.

    ``sub`` (n x 6 sub-scores), ``sec_matrix`` (n x K components) and the masks are
    all sensitivity needs to re-score under perturbed weights with matrix algebra.
    """

    frame: pd.DataFrame
    sub: np.ndarray
    sec_matrix: np.ndarray
    evidence: np.ndarray
    multilateral: np.ndarray
    guardrail: np.ndarray
    insufficient: np.ndarray
    retained: np.ndarray
    links: LinkArrays | None = None
    link_table: pd.DataFrame | None = None
    regimes_listed: np.ndarray | None = None
    supply: dict[str, np.ndarray] | None = None
    candidate_ok: np.ndarray | None = None
    not_fa: np.ndarray | None = None
    parents: list[list[str]] | None = None

    @property
    def group(self) -> np.ndarray:
        """Rank group per ECCN (0 scored/retained, 1 insufficient evidence, 2 guardrail,
        3 not a foreign-availability case).

        ``retained`` (security at or above the retain cut-off under the base weights)
        is fixed at preparation, so sensitivity draws keep each ECCN in its group.
        """
        return rank_groups(self.guardrail, self.insufficient, self.retained, self.not_fa)


def _list_col(values: pd.Series) -> list[list[str]]:
    """A list column as Python lists of str (Parquet gives numpy arrays)."""
    out: list[list[str]] = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append([])
        elif isinstance(v, str):
            out.append([x.strip() for x in v.replace(";", ",").split(",") if x.strip()])
        else:
            out.append([str(x) for x in list(v)])
    return out


def _regime_members() -> dict[str, frozenset[str]] | None:
    """Regime key -> ISO3 members from the reference table, if the module is present."""
    try:
        from cclreview.trade.groups import load_regimes

        df = load_regimes()
    except Exception as exc:
        log.warning(
            "regime memberships unavailable (%s); evidence-based outside_regime left to trade data", exc
        )
        return None
    out: dict[str, frozenset[str]] = {}
    for name, rows in df.groupby("regime"):
        key = REGIME_NAMES.get(str(name))
        if key:
            out[key] = frozenset(rows["iso3"].astype(str))
    return out


def _check_entries(entries: pd.DataFrame) -> pd.DataFrame:
    """Validate and normalise the entries table; sort by ECCN; drop duplicate ECCNs."""
    missing = [c for c in ("eccn", "reasons") if c not in entries.columns]
    if missing:
        raise InputError(
            f"ccl_entries: missing columns {missing} (found {list(entries.columns)}); "
            "re-run `cclreview ingest-ccl` to rebuild it"
        )
    df = entries.copy()
    df["eccn"] = df["eccn"].astype(str).str.strip()
    dupes = df["eccn"][df["eccn"].duplicated()].unique()
    if len(dupes):
        log.warning(
            "ccl_entries: %d duplicated ECCN(s) (%s); the first row of each is scored",
            len(dupes),
            ", ".join(dupes[:5]),
        )
        df = df.drop_duplicates("eccn")
    df["reasons"] = _list_col(df["reasons"])
    df["chart_columns"] = (
        _list_col(df["chart_columns"]) if "chart_columns" in df else [[] for _ in range(len(df))]
    )
    for col, default in (("heading", ""), ("category", None), ("reserved", False)):
        if col not in df.columns:
            df[col] = default
    if df["category"].isna().all():
        df["category"] = pd.to_numeric(df["eccn"].str[0], errors="coerce")
    return df.sort_values("eccn", kind="stable").reset_index(drop=True)


def prepare(
    entries: pd.DataFrame,
    links: pd.DataFrame,
    availability: pd.DataFrame,
    weights: Weights,
    evidence: pd.DataFrame | None = None,
    regime_members: dict[str, frozenset[str]] | None = None,
    indicators: pd.DataFrame | None = None,
    controls: pd.DataFrame | None = None,
    lists: pd.DataFrame | None = None,
) -> Prepared:
    """Build the weight-independent scoring inputs.

    Parameters
    ----------
    entries, links, availability, evidence
        The processed tables (``evidence`` optional).
    weights
        Floors, saturation points and evidence factors (component weights are applied
        later, by :func:`score_prepared` or the sensitivity draws).
    regime_members
        Regime key -> ISO3 members; loaded from the reference table when None.
    indicators
        A ready per-link indicator frame (skips :func:`link_indicators`).
    controls, lists
        ``eccn_controls`` and ``eccn_lists`` (:mod:`cclreview.controls`). Without
        ``controls`` they are built from the entries without the Country Chart (every
        scope then counts as full, destinations stay unknown).
    """
    from cclreview.controls import build_controls, summarise

    ent = _check_entries(entries)
    eccns = ent["eccn"].to_numpy()
    if controls is None:
        log.warning(
            "eccn_controls not given: controls built without the Country Chart (run `cclreview controls`)"
        )
        controls = build_controls(ent, chart=None)
    decision = summarise(controls, ent, lists)
    regs = regimes_of(ent, weights, controls)
    if indicators is None:
        indicators = (
            link_indicators(links, availability)
            if len(links)
            else pd.DataFrame(columns=["eccn", "hs6", "confidence", "link_source", "granularity"])
        )
    unknown = sorted(set(indicators["eccn"]) - set(eccns))
    if unknown:
        log.warning(
            "%d linked ECCN(s) are not in ccl_entries and are ignored: %s",
            len(unknown),
            ", ".join(unknown[:5]),
        )
    if regime_members is None and evidence is not None and len(evidence):
        regime_members = _regime_members()
    # Recency is measured against the latest year of the availability data, not of
    # the ECCN's own links (a 2017-only ECCN is old however it is linked).
    years = pd.to_numeric(availability["year"], errors="coerce") if "year" in availability else pd.Series()
    ref_year = weights.evidence.reference_year or (int(years.max()) if years.notna().any() else None)
    agg, la, link_table = aggregate_with_links(regs, indicators, weights, evidence, regime_members, ref_year)
    sub = subscores(agg, weights)
    frame = ent.set_index("eccn").join(agg).join(sub)
    frame["regimes"] = regs.reindex(frame.index)
    frame.index.name = "eccn"
    reserved = frame["reserved"].fillna(False).astype(bool).to_numpy()
    evidence_strength = frame["evidence_strength"].to_numpy(dtype=float)
    insufficient = (
        ~frame["has_evidence"].to_numpy(dtype=bool)
        | (evidence_strength < weights.evidence.min_strength)
        | reserved
    )
    flag_cols = {
        f: frame[f].fillna(False).astype(bool).to_numpy() for f in GUARDRAIL_FLAGS if f in frame.columns
    }
    flags = [{f for f, col in flag_cols.items() if col[i]} for i in range(len(frame))]
    ac_z = _advanced_computing_z(controls)
    for i, eccn in enumerate(frame.index):
        if eccn in ac_z:
            flags[i].add("advanced_computing_z")
    owners: dict[str, set[str]] = {}
    for eccn, reg in zip(controls["eccn"].astype(str), controls["regime"].astype(str), strict=True):
        owners.setdefault(eccn, set()).add(reg)
    control_regimes = [owners.get(e, set()) for e in frame.index]
    guard = guardrail_reasons(list(frame.index), list(frame["reasons"]), weights, flags, control_regimes)
    parents = parents_of(
        list(frame.index),
        list(frame["heading"].fillna("")),
        list(frame["items_text"].fillna("")) if "items_text" in frame.columns else None,
    )
    whole = parents_of(
        list(frame.index),
        list(frame["heading"].fillna("")),
        list(frame["items_text"].fillna("")) if "items_text" in frame.columns else None,
        whole_only=True,
    )
    guard = propagate_guardrails(list(frame.index), guard, whole)
    frame["guardrail_reason"] = guard
    for col in DECISION_COLUMNS:
        frame[col] = decision[col].reindex(frame.index).to_numpy()
    scope = weights.security.scope
    meu = {
        str(r.eccn): (scope.meu_limited_factor if bool(r.limited) else 1.0)
        for r in (
            lists if lists is not None else pd.DataFrame(columns=["list", "eccn", "limited"])
        ).itertuples()
        if r.list == "MEU"
    }
    sec = security_matrix(ent, controls, scope, meu)
    frame["security_components"] = [[SECURITY_COMPONENTS[k] for k in np.flatnonzero(row)] for row in sec]
    base_security = security_scores(sec, security_weight_vector(weights))
    not_fa = not_fa_mask(list(frame["controls_kind"]), list(frame["pointer_entry"].fillna(False))) & ~reserved
    frame["candidate_gate"] = candidate_allowed(frame, weights)
    supply_mask = frame["supply_side"].fillna(False).astype(bool).to_numpy()
    supply = {
        "mask": supply_mask,
        "strength": np.where(supply_mask, evidence_strength, np.nan),
        **{c: frame[c].to_numpy(dtype=float) for c in _SUPPLY_COLUMNS if c in frame.columns},
    }
    return Prepared(
        not_fa=not_fa,
        parents=parents,
        links=la,
        link_table=link_table,
        regimes_listed=np.array(
            [[r in (rs if isinstance(rs, list) else []) for r in REGIMES] for rs in frame["regimes"]],
            dtype=bool,
        ).reshape(len(frame), len(REGIMES)),
        supply=supply,
        candidate_ok=frame["candidate_gate"].to_numpy(dtype=bool),
        retained=base_security >= weights.tiers.retain_min_security,
        frame=frame,
        sub=sub.to_numpy(dtype=float),
        sec_matrix=sec,
        evidence=evidence_strength,
        multilateral=np.array([bool(r) for r in frame["regimes"]]),
        guardrail=np.array([g is not None for g in guard]),
        insufficient=insufficient,
    )


def _advanced_computing_z(controls: pd.DataFrame) -> set[str]:
    """ECCNs with an RS control on ".z" paragraphs or on 3A090/4A090 items (advanced computing)."""
    rs = controls[controls["reason"] == "RS"]
    hit = rs["scope_text"].fillna("").str.contains(r"\.z\b|\bz\.\d|[34]A090", regex=True)
    return set(rs.loc[hit, "eccn"].astype(str))


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
    cat = pd.to_numeric(out["category"], errors="coerce")
    cat = cat.fillna(pd.to_numeric(out["eccn"].str[0], errors="coerce"))
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


def load_inputs(processed: str | os.PathLike[str]) -> dict[str, pd.DataFrame | None]:
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
    tables = load_inputs(processed)
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


INDICATORS_FILE = contracts.ECCN_HS_INDICATORS


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
