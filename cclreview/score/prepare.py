"""The weight-independent inputs of the score, prepared once per run.

:func:`prepare` reads the processed tables into one row per ECCN: aggregated
indicators and sub-scores (:mod:`cclreview.score.aggregate`), security components,
guardrails, parent caps, decision columns (:mod:`cclreview.controls`) and the masks
``score`` and ``sensitivity`` both apply the weights to (:class:`Prepared`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cclreview.cells import str_list
from cclreview.score.aggregate import aggregate_with_links
from cclreview.score.availability import subscores
from cclreview.score.explain import REGIME_LABELS
from cclreview.score.gates import candidate_allowed
from cclreview.score.link_arrays import LinkArrays
from cclreview.score.links import link_indicators
from cclreview.score.security import (
    SECURITY_COMPONENTS,
    regimes_of,
    security_matrix,
    security_scores,
    security_weight_vector,
)
from cclreview.score.tiers import (
    guardrail_reasons,
    not_fa_mask,
    parents_of,
    propagate_guardrails,
    rank_groups,
)
from cclreview.score.weights import GUARDRAIL_FLAGS, REGIMES, Weights
from cclreview.trade import groups

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


def reference_regime_members() -> dict[str, frozenset[str]]:
    """Regime key of the weights file -> ISO3 members (``reference/regimes.csv``)."""
    return {key: groups.members("regime", label) for key, label in REGIME_LABELS.items()}


def _entries(entries: pd.DataFrame) -> pd.DataFrame:
    """The entries sorted by ECCN, list cells as lists, the optional columns filled in.

    Validity (required columns, unique ECCNs, lists of known codes, category = the
    ECCN's first digit) is the ``ccl_entries`` contract's, checked when the table is
    read (:func:`cclreview.score.engine.load_score_inputs`); a frame built in memory may
    leave out the columns scoring does not read.
    """
    df = entries.sort_values("eccn", kind="stable").reset_index(drop=True)
    df["reasons"] = [str_list(v) for v in df["reasons"]]
    df["chart_columns"] = (
        [str_list(v) for v in df["chart_columns"]] if "chart_columns" in df else [[] for _ in range(len(df))]
    )
    for col, default in (("heading", ""), ("reserved", False)):
        if col not in df.columns:
            df[col] = default
    digit = pd.to_numeric(df["eccn"].astype(str).str[0], errors="coerce")
    df["category"] = (
        pd.to_numeric(df["category"], errors="coerce").fillna(digit) if "category" in df.columns else digit
    )
    return df


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
        later, by :func:`cclreview.score.engine.score_prepared` or the sensitivity draws).
    regime_members
        Regime key -> ISO3 members; :func:`reference_regime_members` when None.
    indicators
        A ready per-link indicator frame (skips :func:`link_indicators`).
    controls, lists
        ``eccn_controls`` and ``eccn_lists`` (:mod:`cclreview.controls`). Without
        ``controls`` they are built from the entries without the Country Chart (every
        scope then counts as full, destinations stay unknown).
    """
    from cclreview.controls import build_controls, summarise

    ent = _entries(entries)
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
        regime_members = reference_regime_members()
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
