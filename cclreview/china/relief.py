"""The "China licence relief" ranking: what the U.S. could stop licensing for China.

Eligible entries (all must hold; ``china_relief_why_not`` names the first that fails):

1. a licence is needed for China today (``licence_to_china``; with
   ``include_meu_only`` also entries needing one only under the military end-use/user
   rule, ``meu_listed``);
2. not guardrailed, and not of the tier "not a foreign-availability case";
3. available inside China: ``available_inside_china >= min_inside_china``;
4. available from suppliers outside the regime(s) and China:
   ``outside_china_regime_share >= min_outside_regime_share``;
5. ``china_evidence_strength >= min_evidence_strength``;
6. the China licence does not come from a control foreign availability cannot lift
   (``china_licence_not_fa``, e.g. CC1 or SL);
7. hardware or materials: D/E entries only with ``include_software_technology``
   (trade in goods does not show that software or technology is available).

Score (weights in ``[china_relief]`` of ``config/weights.toml``)::

    relief = (inside_china x A_CN + outside_regime x O + security x (1 - S)
              + commercial_stake x K) / (inside_china + outside_regime + security + commercial_stake)
             x (evidence_floor + (1 - evidence_floor) x E_CN)

with ``A_CN = available_inside_china``, ``O = min(1, outside_china_regime_share /
outside_regime_share_full)``, ``S = security_score`` and ``K`` the commercial stake:
the mean of ``size`` (log scale of China's imports between ``stake_floor_usd`` and
``stake_full_usd``; U.S. world exports when there are no bilateral data) and ``gap``
(U.S. share of world exports minus its share of China's imports, over
``share_gap_full``; only with bilateral data), ``E_CN = china_evidence_strength``.
Missing parts count 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cclreview.score.weights import ChinaRelief

RELIEF_COLUMNS = ("china_relief_eligible", "china_relief_score", "china_relief_rank", "china_relief_why_not")

EXCLUDED_TIERS = ("guardrail", "not a foreign-availability case")


def _num(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype="float64")
    return pd.to_numeric(df[col], errors="coerce").astype("float64")


def _flag(df: pd.DataFrame, col: str) -> pd.Series:
    """A nullable boolean column (missing column -> all unknown)."""
    if col not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="boolean")
    return df[col].astype("boolean")


def stake_score(df: pd.DataFrame, cr: ChinaRelief) -> pd.Series:
    """``K`` in [0, 1]: market size (log scale) and the U.S. share gap."""
    bil = df.get("stake_basis", pd.Series("", index=df.index)).astype(str).eq("bilateral")
    usd = _num(df, "china_imports_usd").where(bil, _num(df, "us_exports_usd"))
    span = np.log10(cr.stake_full_usd / cr.stake_floor_usd)
    size = (np.log10(usd.clip(lower=cr.stake_floor_usd) / cr.stake_floor_usd) / span).clip(0, 1).fillna(0.0)
    gap = ((_num(df, "us_share_world") - _num(df, "us_share_china_imports")) / cr.share_gap_full).clip(0, 1)
    gap = gap.where(bil, 0.0).fillna(0.0)
    return (size + gap) / 2


def relief_table(scores: pd.DataFrame, cr: ChinaRelief) -> pd.DataFrame:
    """The relief columns (:data:`RELIEF_COLUMNS`) for every row of ``scores`` (same index)."""
    inside = _num(scores, "available_inside_china")
    outside = _num(scores, "outside_china_regime_share")
    strength = _num(scores, "china_evidence_strength")
    security = _num(scores, "security_score")
    lic = _flag(scores, "licence_to_china")
    meu = _flag(scores, "meu_listed").fillna(False)
    tier = scores.get("tier", pd.Series("", index=scores.index)).astype(str)
    why = pd.Series("", index=scores.index, dtype=object)

    def fail(mask: pd.Series, text: pd.Series | str) -> None:
        m = mask.fillna(False).astype(bool) & why.eq("")
        why[m] = text[m] if isinstance(text, pd.Series) else text

    fail(
        lic.isna(), "licence for China unknown (no licence_to_china: run scoring with eccn_controls.parquet)"
    )
    needs = lic.fillna(False) | (meu if cr.include_meu_only else False)
    fail(
        ~needs,
        "no licence needed for China today" + ("" if cr.include_meu_only else " (MEU-only entries excluded)"),
    )
    fail(tier.isin(EXCLUDED_TIERS), "tier: " + tier)
    not_fa = scores.get("china_licence_not_fa", pd.Series("", index=scores.index)).fillna("").astype(str)
    fail(
        not_fa.ne("") & lic.fillna(False),
        "licence for China stays: " + not_fa + " not a foreign-availability case",
    )
    if not cr.include_software_technology:
        group = (
            scores["eccn"].astype(str).str[1]
            if "eccn" in scores.columns
            else pd.Series("", index=scores.index)
        )
        fail(group.isin(["D", "E"]), "software/technology: follows the hardware it serves")
    fail(inside.isna(), "no evidence of availability inside China")
    fail(
        inside < cr.min_inside_china,
        inside.map(lambda v: f"available inside China {v:.2f} < {cr.min_inside_china}"),
    )
    fail(outside.isna(), "no data on suppliers outside the regime and China")
    fail(
        outside < cr.min_outside_regime_share,
        outside.map(lambda v: f"outside regime and China {v:.0%} < {cr.min_outside_regime_share:.0%}"),
    )
    fail(
        strength < cr.min_evidence_strength,
        strength.map(lambda v: f"China evidence strength {v:.2f} too low"),
    )
    eligible = why.eq("")
    o = (outside / cr.outside_regime_share_full).clip(0, 1).fillna(0.0)
    total = cr.inside_china + cr.outside_regime + cr.security + cr.commercial_stake
    score = (
        cr.inside_china * inside.fillna(0.0)
        + cr.outside_regime * o
        + cr.security * (1 - security.fillna(1.0))
        + cr.commercial_stake * stake_score(scores, cr)
    ) / total
    score = score * (cr.evidence_floor + (1 - cr.evidence_floor) * strength.fillna(0.0).clip(0, 1))
    score = score.where(eligible)
    rank = score.rank(ascending=False, method="first").astype("Int64")
    return pd.DataFrame(
        {
            "china_relief_eligible": eligible.astype(bool),
            "china_relief_score": score.astype("float64"),
            "china_relief_rank": rank,
            "china_relief_why_not": why.where(~eligible, ""),
        },
        index=scores.index,
    )
