"""Names, defaults and output columns of the per-HS indicators, and source precedence.

The formulas these feed are documented in :mod:`cclreview.indicators`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

USA, CHN, WORLD = "USA", "CHN", "WLD"
ENTREPOTS: tuple[str, ...] = ("HKG", "SGP", "NLD", "BEL", "ARE")
DEFAULT_PRECEDENCE: tuple[str, ...] = ("baci", "comtrade", "otstats", "oec_baci_top40")
MIN_SHARE = 0.01
MIN_VALUE_USD = 1e6
#: Unit values need at least this many tonnes on each side (U.S., non-U.S.).
MIN_QTY_TONNES = 10.0
#: A source (file) with fewer distinct exporters in a year, over all its products, is a
#: partial extract (e.g. a two-exporter sample): it is demoted and not used for links.
MIN_SOURCE_EXPORTERS = 20
CONFLICT_TOLERANCE = 0.05
TOP_K = 5
#: Regime columns: output column suffix -> (kind, name) in the reference tables.
REGIME_COLUMNS: dict[str, tuple[str, str]] = {
    "regime": ("regime", "Wassenaar"),
    "a1": ("group", "A:1"),
    "mtcr": ("regime", "MTCR"),
    "nsg": ("regime", "NSG"),
    "ag": ("regime", "Australia Group"),
}
REQUIRED = ("year", "exporter_iso3", "hs6", "hs_version", "value_usd", "source")
KEY = ["hs_level", "hs_code", "year"]

OUTPUT_COLUMNS = [
    "hs_code",
    "hs_level",
    "hs6",
    "hs4",
    "hs_version",
    "hs_version_source",
    "year",
    "source",
    "source_file",
    "world_exports_usd",
    "us_exports_usd",
    "non_us_exports_usd",
    "non_us_share",
    "n_non_us_suppliers",
    "n_non_us_suppliers_lo",
    "n_non_us_suppliers_hi",
    "hhi_non_us",
    "hhi_non_us_lo",
    "hhi_non_us_hi",
    "is_bounded",
    "china_exports_usd",
    "china_share",
    "china_share_lo",
    "china_share_hi",
    "share_outside_regime",
    "share_outside_a1",
    "share_outside_mtcr",
    "share_outside_nsg",
    "share_outside_ag",
    "top_suppliers",
    "top_suppliers_list",
    "unit_value_ratio",
    "unit_value_qty_tonnes",
    "entrepot_share",
    "years_covered",
    "non_us_share_trend",
    "missing_major_exporters",
    "n_exporters",
    "n_sources_available",
    "source_exporters",
    "partial_source",
]
CONFLICT_COLUMNS = [
    "hs_code",
    "hs_level",
    "year",
    "metric",
    "chosen_source",
    "chosen_value",
    "other_source",
    "other_value",
    "rel_diff",
]
UNCONVERTED_COLUMNS = ["code", "level", "n_rows", "value", "from_rev", "to_rev", "reason"]

#: An exporter in the top 5 of at least this many products of other sources, but with no
#: row at all in a source, is missing from every product of that source.
MAJOR_MIN_PRODUCTS = 5
#: Sources with fewer distinct products are not used for (or checked by) that rule.
MIN_BROAD_PRODUCTS = 100


@dataclass
class AvailabilityResult:
    """Output of :func:`~cclreview.indicators.compute.compute_availability`."""

    availability: pd.DataFrame
    conflicts: pd.DataFrame
    unconverted: pd.DataFrame = field(default_factory=pd.DataFrame)
    counts: dict[str, int] = field(default_factory=dict)


def source_rank(source: pd.Series, precedence: Sequence[str]) -> pd.Series:
    """Rank of each source label in ``precedence`` (prefix match), unknown last."""
    rank = pd.Series(len(precedence), index=source.index, dtype="int64")
    for i, prefix in reversed(list(enumerate(precedence))):
        rank[source.astype(str).str.startswith(prefix)] = i
    return rank
