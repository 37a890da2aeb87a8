"""Compare two weightings: which ECCNs change rank or tier."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cclreview.score.engine import score_prepared
from cclreview.score.prepare import prepare
from cclreview.score.weights import Weights

COMPARE_COLUMNS = (
    "eccn",
    "rank_a",
    "rank_b",
    "rank_change",
    "tier_a",
    "tier_b",
    "tier_changed",
    "decontrol_score_a",
    "decontrol_score_b",
)


def compare_weights(
    tables: dict[str, pd.DataFrame | None],
    weights_a: Weights,
    weights_b: Weights,
    sha_a: str = "a",
    sha_b: str = "b",
) -> pd.DataFrame:
    """Score the same processed tables under two weightings and list the differences.

    Parameters
    ----------
    tables
        ``entries, links, availability, evidence`` frames (from
        :func:`cclreview.score.engine.load_score_inputs`).
    weights_a, weights_b
        The two weightings (A = reference, B = alternative).
    sha_a, sha_b
        Identifiers stored in the scores (file hashes).

    Returns
    -------
    pandas.DataFrame
        :data:`COMPARE_COLUMNS`; ``rank_change = rank_a - rank_b`` (positive: B ranks
        the ECCN higher). Sorted by absolute change descending, then ECCN.
    """
    scored = []
    for w, sha in ((weights_a, sha_a), (weights_b, sha_b)):
        prep = prepare(tables["entries"], tables["links"], tables["availability"], w, tables.get("evidence"))
        scored.append(score_prepared(prep, w, sha).set_index("eccn")[["rank", "tier", "decontrol_score"]])
    a, b = scored
    df = a.add_suffix("_a").join(b.add_suffix("_b"), how="outer").reset_index()
    df["rank_change"] = df["rank_a"] - df["rank_b"]
    df["tier_changed"] = df["tier_a"] != df["tier_b"]
    df["_abs"] = np.abs(df["rank_change"])
    df = df.sort_values(["_abs", "eccn"], ascending=[False, True], kind="stable")
    return df[list(COMPARE_COLUMNS)].reset_index(drop=True)
