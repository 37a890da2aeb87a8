"""``availability_hs`` from an ``exports`` table: one source per product and year."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from cclreview.errors import InputError
from cclreview.indicators.conflicts import find_conflicts
from cclreview.indicators.coverage import absent_from_source, missing_major
from cclreview.indicators.kernels import membership, per_unit
from cclreview.indicators.prepare import prepare_exports
from cclreview.indicators.schema import (
    CONFLICT_TOLERANCE,
    DEFAULT_PRECEDENCE,
    KEY,
    MIN_QTY_TONNES,
    MIN_SHARE,
    MIN_SOURCE_EXPORTERS,
    MIN_VALUE_USD,
    OUTPUT_COLUMNS,
    WORLD,
    AvailabilityResult,
    source_rank,
)
from cclreview.indicators.trend import share_trend
from cclreview.trade import hsrev

log = logging.getLogger(__name__)


def compute_availability(
    exports: pd.DataFrame,
    *,
    min_share: float = MIN_SHARE,
    min_value_usd: float = MIN_VALUE_USD,
    min_quantity_tonnes: float = MIN_QTY_TONNES,
    precedence: Sequence[str] = DEFAULT_PRECEDENCE,
    tolerance: float = CONFLICT_TOLERANCE,
    min_source_exporters: int = MIN_SOURCE_EXPORTERS,
    target_revision: str = hsrev.DEFAULT_TARGET,
    concordance: hsrev.Concordance | None = None,
    trade_weights: hsrev.TradeWeights | None = None,
    hs4_min_main_share: float = 0.8,
) -> AvailabilityResult:
    """Compute ``availability_hs`` from an ``exports`` table (formulas: :mod:`cclreview.indicators`).

    Parameters
    ----------
    exports
        The tidy exporter-level table of ``ingest-trade`` (docs/CONTRACTS.md).
    min_share, min_value_usd
        Floors a non-U.S. exporter must reach to count as a supplier.
    precedence
        Source label prefixes, best first.
    tolerance
        Relative difference above which overlapping sources are reported.
    min_source_exporters
        A source file with fewer distinct exporters in a year is ``partial_source``:
        chosen only when nothing else covers the product and year, never used by
        :func:`~cclreview.indicators.links.indicators_for_links`.
    target_revision
        HS revision HS6 codes are converted to.
    concordance
        HS concordance; without it HS6 codes keep their revision (logged).

    Returns
    -------
    AvailabilityResult
        ``availability`` (columns :data:`OUTPUT_COLUMNS`), ``conflicts``
        (:data:`~cclreview.indicators.schema.CONFLICT_COLUMNS`), ``unconverted`` HS codes, ``counts``.
    """
    if not 0 <= min_share < 1:
        raise InputError(f"min_share {min_share} must be in [0, 1), e.g. 0.01 for 1 %")
    if min_value_usd < 0:
        raise InputError(f"min_value_usd {min_value_usd} must be >= 0")
    target = hsrev.normalise_revision(target_revision)
    if exports.empty:
        raise InputError(
            "the exports table is empty; run `cclreview ingest-trade` with some trade files first"
        )
    df, unconverted = prepare_exports(exports, target, concordance, trade_weights, hs4_min_main_share)
    cands = per_unit(df, min_share, min_value_usd, membership(), min_quantity_tonnes)
    # Back to plain strings: the candidate table is small and is what users see.
    cands = cands.astype({"unit": str, "hs_code": str})
    src = cands["unit"].str.split("|", n=1)
    cands["source"], cands["source_file"] = src.str[0], src.str[1]
    cands["prec"] = source_rank(cands["source"], precedence)
    # Exporters a source file covers in a year, over all its products.
    real = df[df["exporter_iso3"] != WORLD]
    cover = (
        real.groupby(["unit", "year"], observed=True)["exporter_iso3"].nunique().rename("source_exporters")
    )
    cover = cover.reset_index().astype({"unit": str})
    cands = cands.merge(cover, on=["unit", "year"], how="left")
    cands["source_exporters"] = cands["source_exporters"].fillna(0).astype("int64")
    cands["partial_source"] = cands["source_exporters"] < min_source_exporters
    cands = cands.sort_values(
        [*KEY, "partial_source", "prec", "n_exporters", "source_file"],
        ascending=[True, True, True, True, True, False, True],
    )
    cands["n_sources_available"] = cands.groupby(KEY)["unit"].transform("nunique")
    cands["chosen"] = ~cands.duplicated(KEY)
    conflicts = find_conflicts(cands, tolerance)
    chosen = cands[cands["chosen"]].copy()
    chosen = chosen.merge(share_trend(chosen), on=["unit", "hs_level", "hs_code"], how="left")
    hv = df.drop_duplicates(["unit", *KEY])[["unit", *KEY, "hs_version", "hs_version_source"]]
    hv = hv.astype({"unit": str, "hs_code": str, "hs_version": str, "hs_version_source": str})
    chosen = chosen.merge(hv, on=["unit", *KEY], how="left")
    partial_units = frozenset(cover.loc[cover["source_exporters"] < min_source_exporters, "unit"])
    chosen["missing_major_exporters"] = missing_major(df, chosen, concordance, target, partial_units)
    absent = absent_from_source(df, partial_units)
    if absent:
        chosen["missing_major_exporters"] = [
            sorted(set(m) | set(absent.get(u, ())))
            for u, m in zip(chosen["unit"], chosen["missing_major_exporters"], strict=True)
        ]
    chosen["hs6"] = chosen["hs_code"].where(chosen["hs_level"] == 6)
    chosen["hs4"] = chosen["hs_code"].str[:4]
    chosen["top_suppliers"] = chosen["top_suppliers"].fillna("")
    chosen["top_suppliers_list"] = chosen["top_suppliers_list"].map(
        lambda x: list(x) if isinstance(x, list) else []
    )
    out = chosen[OUTPUT_COLUMNS].sort_values(KEY).reset_index(drop=True)
    out["years_covered"] = out["years_covered"].astype("Int64")
    out["n_exporters"] = out["n_exporters"].astype("int64")
    counts = {
        "rows": len(out),
        "candidates": len(cands),
        "conflicts": len(conflicts),
        "bounded_rows": int(out["is_bounded"].sum()),
        "rows_missing_major_exporters": int(out["missing_major_exporters"].map(len).gt(0).sum()),
        "unconverted_codes": len(unconverted),
        "partial_source_rows": int(out["partial_source"].sum()),
    }
    log.info("availability: %s", counts)
    return AvailabilityResult(out, conflicts, unconverted, counts)
