"""Overlapping sources whose totals disagree (``source_conflicts.csv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cclreview.indicators.schema import CONFLICT_COLUMNS, KEY


def find_conflicts(cands: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Overlapping candidates whose totals differ by more than ``tolerance``."""
    chosen = cands[cands["chosen"]].set_index(KEY)
    others = cands[~cands["chosen"]]
    rows = []
    for metric, col in (
        ("world_exports_usd", "W"),
        ("us_exports_usd", "US"),
        ("china_exports_usd", "china_exports_usd"),
    ):
        o = others[[*KEY, "unit", col]].join(chosen[["unit", col]].add_suffix("_c"), on=KEY)
        a, b = o[f"{col}_c"].astype(float), o[col].astype(float)
        denom = np.maximum(a.abs(), b.abs())
        rel = ((a - b).abs() / denom).where(denom > 0, 0.0)
        hit = o[rel > tolerance]
        rows.append(
            pd.DataFrame(
                {
                    "hs_code": hit["hs_code"],
                    "hs_level": hit["hs_level"],
                    "year": hit["year"],
                    "metric": metric,
                    "chosen_source": hit["unit_c"],
                    "chosen_value": a[hit.index],
                    "other_source": hit["unit"],
                    "other_value": b[hit.index],
                    "rel_diff": rel[hit.index],
                }
            )
        )
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=CONFLICT_COLUMNS)
    for col in ("chosen_source", "other_source"):
        out[col] = out[col].astype(str).map(unit_label)
    return out[CONFLICT_COLUMNS].sort_values(["hs_level", "hs_code", "year", "metric"]).reset_index(drop=True)


def unit_label(unit: str) -> str:
    """``"baci:V1|a.parquet"`` -> ``"baci:V1 (a.parquet)"``; ``"comtrade|"`` -> ``"comtrade"``."""
    source, _, file = unit.partition("|")
    return f"{source} ({file})" if file else source
