"""Executable contracts of the processed tables: names, columns, checks, tiers, stages.

One pandera :class:`~pandera.api.pandas.model.DataFrameModel` per table in
``data/processed/`` states the columns every consumer may rely on, their dtypes and the
checks their values pass. Models allow extra columns (a stage may add columns; it never
renames or drops one). Tables are validated lazily: every failure is collected and the
:class:`~cclreview.errors.ValidationError` holds a one-line summary followed by a table
of the failures.

``docs/CONTRACTS.md`` embeds :func:`contracts_markdown` (a test keeps them equal:
regenerate with ``python -m cclreview.contracts --write-docs``).

Importing this module loads pandera (slow): command-line code imports it lazily.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pandera.typing import Series

from cclreview.errors import InputError, OutputError, ValidationError

# --- file names -------------------------------------------------------------------------

CCL_ENTRIES = "ccl_entries.parquet"
CCL_PARAGRAPHS = "ccl_paragraphs.parquet"
EXPORTS = "exports.parquet"
FLOWS_FOCUS = "flows_focus.parquet"
US_EXPORTS = "us_exports.parquet"
EVIDENCE = "evidence.parquet"
AVAILABILITY_HS = "availability_hs.parquet"
CHINA_HS = "china_hs.parquet"
DIVERSION_HS = "diversion_hs.parquet"
ECCN_HS_LINKS = "eccn_hs_links.parquet"
ECCN_HS_LINK_CANDIDATES = "eccn_hs_link_candidates.parquet"
SCORES = "scores.parquet"
ECCN_HS_INDICATORS = "eccn_hs_indicators.parquet"
ECCN_CONTROLS = "eccn_controls.parquet"
ECCN_LISTS = "eccn_lists.parquet"
SENSITIVITY = "sensitivity.parquet"
# Side outputs (CSV, listed for the report and the docs; no model).
UNLINKED_ECCNS = "unlinked_eccns.csv"
WEIGHTS_COMPARISON = "weights_comparison.csv"
REJECTED_ROWS = "rejected_rows.csv"
UNMATCHED_COUNTRIES = "unmatched_countries.csv"
SOURCE_CONFLICTS = "source_conflicts.csv"

# --- tiers and stages -------------------------------------------------------------------

#: Every tier of ``scores.tier``, in the order reports and summaries list them.
TIER_ORDER: tuple[str, ...] = (
    "candidate",
    "review",
    "retain",
    "not a foreign-availability case",
    "guardrail",
    "insufficient evidence",
)


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline: its command and the tables it writes."""

    command: str
    tables: tuple[str, ...]


#: The stages in pipeline order (``cclreview run`` and the Makefile follow it).
STAGE_ORDER: tuple[Stage, ...] = (
    Stage("ingest-ccl", ("ccl_entries", "ccl_paragraphs")),
    Stage("controls", ("eccn_controls", "eccn_lists")),
    Stage("ingest-trade", ("exports", "flows_focus", "us_exports")),
    Stage("ingest-evidence", ("evidence",)),
    Stage("availability", ("availability_hs", "china_hs", "diversion_hs")),
    Stage("link", ("eccn_hs_links", "eccn_hs_link_candidates")),
    Stage("score", ("scores", "eccn_hs_indicators")),
    Stage("sensitivity", ("sensitivity",)),
)

# --- shared checks ----------------------------------------------------------------------

_ECCN = r"^[0-9][A-E][0-9]{3}$"
_HS6 = r"^[0-9]{6}$"
_ISO3 = r"^[A-Z]{3}$"
_HS_VERSION = r"^HS(1992|1996|2002|2007|2012|2017|2022)$"


@functools.cache
def _reason_codes() -> tuple[str, ...]:
    # Imported on first use: the ccl package itself imports this module.
    from cclreview.ccl.reasons import REASON_CODES

    return tuple(REASON_CODES)


@functools.cache
def _chart_re() -> re.Pattern[str]:
    return re.compile(rf"^({'|'.join(_reason_codes())})[1-3]$")


_LINK_SOURCE = r"^(curated|suggested|inherited|imported:.+)$"


def _is_str_list(values: pd.Series, pattern: re.Pattern[str] | None = None) -> pd.Series:
    """Element-wise: the cell is a list of str (each matching ``pattern``, if given)."""

    def ok(cell: object) -> bool:
        if cell is None or isinstance(cell, str) or not hasattr(cell, "__iter__"):
            return False
        return all(isinstance(x, str) and (pattern is None or pattern.match(x)) for x in cell)

    return values.map(ok)


def _str_list(error: str = "must be a list of str") -> pa.Check:
    return pa.Check(_is_str_list, element_wise=False, error=error)


def _unit(**kwargs: Any) -> Any:
    """A float field in [0, 1]."""
    return pa.Field(ge=0, le=1, **kwargs)


class _Model(pa.DataFrameModel):
    class Config:
        strict = False  # extra columns allowed: add, never rename
        coerce = False


# --- the models -------------------------------------------------------------------------


class CclEntries(_Model):
    """``ccl_entries.parquet``: one row per ECCN of 15 CFR 774 Supp. 1 (``cclreview ingest-ccl``)."""

    eccn: Series[str] = pa.Field(str_matches=_ECCN, unique=True, description='e.g. "2B001"')
    category: Series[int] = pa.Field(
        in_range={"min_value": 0, "max_value": 9}, description="CCL category 0-9"
    )
    category_title: Series[str] = pa.Field(str_length={"min_value": 1})
    product_group: Series[str] = pa.Field(isin=list("ABCDE"), description="product group A-E")
    group_title: Series[str] = pa.Field(str_length={"min_value": 1})
    series: Series[str] = pa.Field(str_matches=r"^[0-9]xx$", description='"0xx", "5xx", "6xx", "9xx"')
    heading: Series[str] = pa.Field(str_length={"min_value": 1})
    reasons: Series[object] = pa.Field(description="reasons for control (list of codes: NS, MT, ...)")
    chart_columns: Series[object] = pa.Field(description="Country Chart columns (list: NS1, AT1, ...)")
    control_rows: Series[object] = pa.Field(description="list of {control, applies_to, chart_or_requirement}")
    lvs: Series[str] = pa.Field(nullable=True)
    gbs: Series[str] = pa.Field(nullable=True)
    sta: Series[str] = pa.Field(nullable=True)
    related_controls: Series[str] = pa.Field(nullable=True)
    related_definitions: Series[str] = pa.Field(nullable=True)
    items_text: Series[str] = pa.Field(nullable=True)
    notes_text: Series[str] = pa.Field(nullable=True)
    subject_to_itar: Series[bool]
    reserved: Series[bool]
    is_600_series: Series[bool]
    is_515: Series[bool]
    no_reasons: Series[bool] = pa.Field(description="True exactly when reasons is empty")
    source_file: Series[str]
    source_sha256: Series[str] = pa.Field(str_matches=r"^[0-9a-f]{64}$")
    ecfr_date: Series[str] = pa.Field(nullable=True, description="eCFR issue date YYYY-MM-DD")

    @pa.check("reasons", error="unknown reason code or not a list of str")
    @classmethod
    def _reasons(cls, s: pd.Series) -> pd.Series:
        codes = set(_reason_codes())
        return _is_str_list(s) & s.map(
            lambda cell: all(c in codes for c in list(cell)) if cell is not None else False
        )

    @pa.check("chart_columns", error="chart_columns must be codes like NS1, AT1")
    @classmethod
    def _charts(cls, s: pd.Series) -> pd.Series:
        return _is_str_list(s, _chart_re())

    @pa.check("control_rows", error="control_rows must be dicts")
    @classmethod
    def _rows(cls, s: pd.Series) -> pd.Series:
        keys = {"control", "applies_to", "chart_or_requirement"}
        return s.map(lambda cell: all(isinstance(r, dict) and set(r) == keys for r in list(cell)))

    @pa.dataframe_check(error="category must equal the first digit of the ECCN")
    @classmethod
    def _category(cls, df: pd.DataFrame) -> pd.Series:
        return df["category"] == pd.to_numeric(df["eccn"].str[0], errors="coerce")

    @pa.dataframe_check(error="product_group must equal the letter of the ECCN")
    @classmethod
    def _group(cls, df: pd.DataFrame) -> pd.Series:
        return df["product_group"] == df["eccn"].str[1]

    @pa.dataframe_check(error="no_reasons must be True exactly when reasons is empty")
    @classmethod
    def _no_reasons(cls, df: pd.DataFrame) -> pd.Series:
        return df["no_reasons"] == (df["reasons"].map(lambda c: len(list(c)) if c is not None else 0) == 0)

    class Config:
        name = "ccl_entries"


class CclParagraphs(_Model):
    """``ccl_paragraphs.parquet``: one row per item paragraph, e.g. 2B001.a.1 (``cclreview ingest-ccl``)."""

    eccn: Series[str] = pa.Field(str_matches=_ECCN)
    paragraph_id: Series[str] = pa.Field(
        str_matches=r"^[0-9][A-E][0-9]{3}(\.[a-z0-9]+)+$", unique=True, description='"2B001.a.1"'
    )
    parent_id: Series[str] = pa.Field(
        str_matches=r"^[0-9][A-E][0-9]{3}(\.[a-z0-9]+)*$", description='"2B001.a" or "2B001"'
    )
    depth: Series[int] = pa.Field(ge=1, description='1 for "a."')
    label: Series[str] = pa.Field(str_matches=r"^[a-z0-9]+$", description='"1"')
    text: Series[str]

    @pa.dataframe_check(error="paragraph_id must start with its ECCN")
    @classmethod
    def _prefix(cls, df: pd.DataFrame) -> pd.Series:
        return pd.Series(
            [str(p).startswith(f"{e}.") for p, e in zip(df["paragraph_id"], df["eccn"], strict=True)],
            index=df.index,
        )

    @pa.dataframe_check(error="paragraph_id must be parent_id + '.' + label")
    @classmethod
    def _parent(cls, df: pd.DataFrame) -> pd.Series:
        return df["paragraph_id"] == df["parent_id"] + "." + df["label"]

    @pa.dataframe_check(error="depth must equal the number of segments after the ECCN")
    @classmethod
    def _depth(cls, df: pd.DataFrame) -> pd.Series:
        return df["depth"] == df["paragraph_id"].str.count(r"\.").astype("int64")

    class Config:
        name = "ccl_paragraphs"


class Exports(_Model):
    """``exports.parquet``: exporter-level totals to the world by HS code and year (``cclreview ingest-trade``)."""

    year: Series[int]
    exporter_iso3: Series[str] = pa.Field(description='ISO3 ("WLD" for a world total)')
    hs6: Series[str] = pa.Field(
        str_matches=r"^[0-9]{2}([0-9]{2}([0-9]{2})?)?$", description="HS code: 6 digits, or 4/2 per hs_level"
    )
    hs_level: Series[int] = pa.Field(isin=[2, 4, 6])
    hs_version: Series[str] = pa.Field(str_matches=_HS_VERSION)
    value_usd: Series[float] = pa.Field(nullable=True, ge=0, description="USD (not thousands)")
    qty: Series[float] = pa.Field(nullable=True, description="tonnes")
    source: Series[str] = pa.Field(description='"baci:V202601", "comtrade", "otstats", ...')
    value_kind: Series[str] = pa.Field(isin=["value", "rank_only", "world_total"])
    rank: Series[int] = pa.Field(nullable=True)

    @pa.dataframe_check(error="hs6 must have hs_level digits")
    @classmethod
    def _level(cls, df: pd.DataFrame) -> pd.Series:
        return df["hs6"].str.len() == df["hs_level"]

    class Config:
        name = "exports"


#: One row per key of a bilateral table (flows are summed by key within a file).
_BILATERAL_KEY = ["source_file", "year", "exporter_iso3", "importer_iso3", "hs6", "hs_version"]


def _unique_rows(df: pd.DataFrame, key: list[str]) -> pd.Series:
    """Row-wise: no other row has the same ``key`` (every row of a duplicate is marked)."""
    return ~df.duplicated(key, keep=False)


class _Bilateral(_Model):
    """Columns of the bilateral tables of the trade stage (flows summed by key within a file)."""

    year: Series[int]
    exporter_iso3: Series[str] = pa.Field(str_matches=_ISO3)
    importer_iso3: Series[str] = pa.Field(str_matches=_ISO3)
    hs6: Series[str] = pa.Field(str_matches=_HS6)
    hs_version: Series[str] = pa.Field(str_matches=_HS_VERSION, description="revision of the source file")
    value_usd: Series[float] = pa.Field(ge=0, description="USD (not thousands)")
    qty: Series[float] = pa.Field(nullable=True, description="tonnes")
    source: Series[str] = pa.Field(description='"baci:V202601", "generic:<file>", ...')
    source_file: Series[str] = pa.Field(
        description="input file of the row; consumers use one file per code and year, never the sum of two"
    )

    @pa.dataframe_check(error="one row per source_file, year, exporter, importer, hs6 and hs_version")
    @classmethod
    def _key(cls, df: pd.DataFrame) -> pd.Series:
        return _unique_rows(df, _BILATERAL_KEY)


class FlowsFocus(_Bilateral):
    """``flows_focus.parquet``: bilateral flows to the focus importers, HS6 x year (``cclreview ingest-trade``).

    Every exporter to the importers of ``[trade] focus_importers`` (config/sources.toml;
    default CHN, HKG, MAC, RUS, BLR), from the files with partner detail. The China lens
    and the dossier read it.
    """

    importer_iso3: Series[str] = pa.Field(str_matches=_ISO3, description="a focus importer")

    class Config:
        name = "flows_focus"


class UsExports(_Bilateral):
    """``us_exports.parquet``: U.S. exports to every importer, HS6 x year (``cclreview ingest-trade``).

    The columns of ``flows_focus.parquet``; the China lens and the dossier read it for
    the U.S. stake.
    """

    exporter_iso3: Series[str] = pa.Field(isin=["USA"])

    class Config:
        name = "us_exports"


class Evidence(_Model):
    """``evidence.parquet``: supply-side evidence, one row per item x country/producer (``cclreview ingest-evidence``)."""

    eccn: Series[str] = pa.Field(nullable=True)
    hs6: Series[str] = pa.Field(nullable=True)
    item: Series[str] = pa.Field(
        nullable=True, description="item named by the source (analyst rows may leave it empty)"
    )
    country_iso3: Series[str] = pa.Field(nullable=True, str_matches=_ISO3)
    producer: Series[str] = pa.Field(nullable=True)
    share: Series[float] = _unit(nullable=True, description="market share 0-1")
    year: Series[int] = pa.Field(nullable=True)
    comparable_quality: Series[str] = pa.Field(isin=["yes", "no", "unknown"])
    source: Series[str]
    source_url: Series[Any] = pa.Field(nullable=True)

    class Config:
        name = "evidence"


class AvailabilityHs(_Model):
    """``availability_hs.parquet``: one row per HS code, level and year, one source (``cclreview availability``)."""

    hs_code: Series[str] = pa.Field(str_matches=r"^[0-9]{4}([0-9]{2})?$")
    hs_level: Series[int] = pa.Field(isin=[4, 6])
    hs6: Series[str] = pa.Field(
        nullable=True, str_matches=_HS6, description="= hs_code at level 6, else null"
    )
    hs4: Series[str] = pa.Field(str_matches=r"^[0-9]{4}$")
    hs_version: Series[str]
    year: Series[int]
    source: Series[str]
    world_exports_usd: Series[float] = pa.Field(ge=0)
    us_exports_usd: Series[float] = pa.Field(ge=0)
    non_us_exports_usd: Series[float] = pa.Field(ge=0)
    non_us_share: Series[float] = _unit(nullable=True)
    n_non_us_suppliers: Series[int] = pa.Field(ge=0)
    n_non_us_suppliers_lo: Series[int] = pa.Field(ge=0)
    n_non_us_suppliers_hi: Series[int] = pa.Field(ge=0)
    hhi_non_us: Series[float] = _unit(nullable=True, description="null when there are no non-U.S. exports")
    hhi_non_us_lo: Series[float] = _unit(nullable=True)
    hhi_non_us_hi: Series[float] = _unit(nullable=True)
    is_bounded: Series[bool]
    china_exports_usd: Series[float] = pa.Field(nullable=True, ge=0)
    china_share: Series[float] = _unit(nullable=True)
    share_outside_regime: Series[float] = _unit(nullable=True)
    share_outside_a1: Series[float] = _unit(nullable=True)
    top_suppliers: Series[str] = pa.Field(description='"CHN 41%; DEU 12%; ..."')
    top_suppliers_list: Series[object] = pa.Field(description="list of ISO3")
    unit_value_ratio: Series[float] = pa.Field(nullable=True)
    entrepot_share: Series[float] = _unit(nullable=True)
    years_covered: Series[int]
    non_us_share_trend: Series[float] = pa.Field(nullable=True)
    missing_major_exporters: Series[object] = pa.Field(description="list of ISO3")
    n_exporters: Series[int] = pa.Field(ge=0)

    @pa.check("top_suppliers_list", "missing_major_exporters", error="must be a list of str")
    @classmethod
    def _lists(cls, s: pd.Series) -> pd.Series:
        return _is_str_list(s)

    @pa.dataframe_check(error="n_non_us_suppliers must lie within [n_non_us_suppliers_lo, _hi]")
    @classmethod
    def _supplier_bounds(cls, df: pd.DataFrame) -> pd.Series:
        n = df["n_non_us_suppliers"]
        return (df["n_non_us_suppliers_lo"] <= n) & (n <= df["n_non_us_suppliers_hi"])

    class Config:
        name = "availability_hs"


_STAKE_BASIS = ["bilateral", "world exports only"]


class ChinaHs(_Model):
    """``china_hs.parquet``: per HS6 code and year, China's imports and the U.S. stake (``cclreview availability``).

    Written by the China lens from the bilateral tables (``stake_basis`` "bilateral"), or
    from U.S. exports to the world when a code and year has none ("world exports only":
    China's imports unknown, left empty).
    """

    hs6: Series[str] = pa.Field(str_matches=_HS6)
    year: Series[int]
    hs_version: Series[str] = pa.Field(description='revision of the source ("" when the input lacked it)')
    china_imports_usd: Series[float] = pa.Field(
        nullable=True, gt=0, description="empty without bilateral data"
    )
    china_imports_from_us_usd: Series[float] = pa.Field(nullable=True, ge=0)
    china_imports_us_share: Series[float] = _unit(nullable=True, description="U.S. share of China's imports")
    n_suppliers_to_china: Series[int] = pa.Field(
        nullable=True, ge=0, description="exporters with at least 2% of China's imports"
    )
    top_suppliers_to_china: Series[str] = pa.Field(description='"DEU 31%; JPN 22%; ..." ("" without data)')
    supplier_shares_to_china: Series[object] = pa.Field(description='list of "ISO3=share", largest first')
    us_exports_usd: Series[float] = pa.Field(
        nullable=True,
        ge=0,
        description="U.S. exports to every destination (bilateral sum, else to the world)",
    )
    us_exports_to_china_usd: Series[float] = pa.Field(nullable=True, ge=0)
    stake_basis: Series[str] = pa.Field(isin=_STAKE_BASIS)
    source: Series[str]
    source_file: Series[str]

    @pa.check("supplier_shares_to_china", error='must be a list of "ISO3=share"')
    @classmethod
    def _shares(cls, s: pd.Series) -> pd.Series:
        return _is_str_list(s, re.compile(r"^[A-Z]{3}=[0-9.]+$"))

    @pa.dataframe_check(error="one row per hs6 and year")
    @classmethod
    def _key(cls, df: pd.DataFrame) -> pd.Series:
        return _unique_rows(df, ["hs6", "year"])

    @pa.dataframe_check(error="china_imports_usd is set exactly on bilateral rows")
    @classmethod
    def _basis(cls, df: pd.DataFrame) -> pd.Series:
        return df["china_imports_usd"].notna() == (df["stake_basis"] == "bilateral")

    class Config:
        name = "china_hs"


class DiversionHs(_Model):
    """``diversion_hs.parquet``: HS6 codes of the Russia/Belarus diversion lists (``cclreview availability``).

    The Common High Priority List and the HS lists of 15 CFR Part 746, read from
    ``data/raw``; a code on either is flagged on every ECCN linked to it.
    """

    hs6: Series[str] = pa.Field(str_matches=_HS6)
    list: Series[str] = pa.Field(isin=["Common High Priority List", "Part 746"])
    tier: Series[str] = pa.Field(
        str_length={"min_value": 1}, description='"Tier 1" ... "Tier 4" (CHPL); "Supp. No. 4 to Part 746"'
    )
    legal_basis: Series[str] = pa.Field(description='EAR paragraph, e.g. "746.8(a)(5)"')
    source_file: Series[str]

    class Config:
        name = "diversion_hs"


class EccnHsLinks(_Model):
    """``eccn_hs_links.parquet``: each ECCN's links from its best source (``cclreview link``)."""

    eccn: Series[str] = pa.Field(str_matches=_ECCN)
    paragraph: Series[str] = pa.Field(description='"" for the whole entry, e.g. "2B001.a"')
    hs6: Series[str] = pa.Field(str_matches=_HS6)
    hs_version: Series[str]
    source: Series[str] = pa.Field(
        str_matches=_LINK_SOURCE, description='"curated", "imported:<name>", "suggested", "inherited"'
    )
    confidence: Series[float] = _unit()
    rank: Series[int] = pa.Field(ge=1, description="1 = best within the ECCN")
    rationale: Series[str]
    confirmed: Series[bool] = pa.Field(
        description="evidence as it stands: curated, analyst, trusted imports, inherited from a confirmed "
        "link; False for suggestions, the China catalogue, conflicting imports (issue 12)"
    )
    specificity: Series[float] = pa.Field(
        gt=0, le=1, description="share of the HS line the item plausibly is, from specificity_classes.csv"
    )
    specificity_class: Series[str] = pa.Field(
        isin=["dedicated", "shared", "residual", "heading"],
        description="dedicated 1.0, shared 0.6, residual 0.3, heading 0.15",
    )

    class Config:
        name = "eccn_hs_links"


class EccnHsLinkCandidates(EccnHsLinks):
    """``eccn_hs_link_candidates.parquet``: every candidate link, incl. lower-ranked suggestions (``cclreview link``)."""

    class Config:
        name = "eccn_hs_link_candidates"


class EccnControls(_Model):
    """``eccn_controls.parquet``: one row per ECCN x reason x chart column or requirement (``cclreview controls``)."""

    eccn: Series[str] = pa.Field(str_matches=_ECCN)
    reason: Series[str] = pa.Field(description='"NS", "NP", ..., "FP" (foreign policy, 746.8)')
    column: Series[str] = pa.Field(description='Country Chart column, e.g. "NS2"; "" when none')
    scope_text: Series[str] = pa.Field(description="what the control applies to, as written")
    destinations: Series[object] = pa.Field(description="list of ISO3 needing a licence under it")
    n_destinations: Series[float] = pa.Field(ge=0, nullable=True, description="empty when not determinable")
    legal_basis: Series[str] = pa.Field(description='EAR section, e.g. "742.4", "742.3(a)(2)", "746.8"')
    regime: Series[str] = pa.Field(isin=["wassenaar", "nsg", "mtcr", "australia_group", "cwc", "none"])
    kind: Series[str] = pa.Field(isin=["foreign-availability case", "not a foreign-availability case"])
    route: Series[str] = pa.Field(description='"U.S. unilateral rule", "regime proposal: Wassenaar", ...')

    class Config:
        name = "eccn_controls"


class EccnLists(_Model):
    """``eccn_lists.parquet``: items of Supp. 2 to Part 744 (MEU) and Supps. 6/7 to Part 774 (SL/VSL) (``cclreview controls``)."""

    list: Series[str] = pa.Field(isin=["MEU", "SL", "VSL"])
    eccn: Series[str] = pa.Field(str_matches=_ECCN)
    paragraphs: Series[object] = pa.Field(description='list of paragraph references, e.g. "5A001.b.5"')
    limited: Series[bool] = pa.Field(description="only part of what the references name is listed")

    class Config:
        name = "eccn_lists"


class Scores(_Model):
    """``scores.parquet``: every ECCN ranked, with tier and explanation (``cclreview score``)."""

    eccn: Series[str] = pa.Field(str_matches=_ECCN, unique=True)
    rank: Series[int] = pa.Field(ge=1)
    tier: Series[str] = pa.Field(isin=list(TIER_ORDER))
    decontrol_score: Series[float] = _unit(nullable=True)
    availability_score: Series[float] = _unit(nullable=True)
    security_score: Series[float] = _unit()
    evidence_strength: Series[float] = _unit()
    available_in_fact: Series[float] = _unit(nullable=True)
    non_us_source: Series[float] = _unit(nullable=True)
    sufficient_quantity: Series[float] = _unit(nullable=True)
    comparable_quality: Series[float] = _unit(nullable=True)
    inside_china: Series[float] = _unit(nullable=True)
    outside_regime: Series[float] = _unit(nullable=True)
    unilateral_action_possible: Series[bool]
    guardrail_reason: Series[str] = pa.Field(nullable=True)
    explanation: Series[str]
    top_sources: Series[str]
    china_share: Series[float] = _unit(nullable=True)
    granularity: Series[str] = pa.Field(description='"HS6", "HS4", "HS6+HS4", "supply-side+...", ""')
    missing_major_exporters: Series[object] = pa.Field(description="list of ISO3")
    weights_sha256: Series[str] = pa.Field(str_matches=r"^[0-9a-f]{64}$")
    route: Series[str] = pa.Field(description="every route needed to lift the entry's controls")
    licence_to_china: Series[bool] = pa.Field(description="any control needs a licence for China today")
    licence_to_china_reasons: Series[str]
    licence_destinations: Series[int] = pa.Field(ge=0)
    meu_listed: Series[bool] = pa.Field(description="on Supp. No. 2 to Part 744 (744.21)")
    meu_paragraphs: Series[str]
    sensitive_list: Series[str] = pa.Field(description="paragraphs on the Wassenaar Sensitive List")
    very_sensitive_list: Series[str] = pa.Field(description="paragraphs on the Very Sensitive List")
    lvs: Series[str]
    gbs: Series[str]
    sta: Series[str]

    class Config:
        name = "scores"


class EccnHsIndicators(_Model):
    """``eccn_hs_indicators.parquet``: the per-link indicators scoring used (``cclreview score``).

    One row per ECCN x HS link; the Evidence sheet reads it (one owner for the choice of
    data behind each link).
    """

    eccn: Series[str] = pa.Field(str_matches=_ECCN)
    hs6: Series[str] = pa.Field(str_matches=_HS6)
    link_source: Series[str]
    confidence: Series[float] = _unit()
    specificity: Series[float] = _unit()
    confirmed: Series[bool]
    counted: Series[bool] = pa.Field(
        description="confirmed, or unconfirmed with evidence.unconfirmed_links_count"
    )
    used: Series[bool] = pa.Field(
        description="counted and its HS line has data above the world-exports floor"
    )
    why_not_used: Series[str] = pa.Field(description='"" when used')
    weight: Series[float] = pa.Field(
        ge=0, description="confidence x specificity (x HS4 factor); 0 when not used"
    )
    weight_share: Series[float] = _unit(description="share of the ECCN's indicator weight")
    granularity: Series[str] = pa.Field(nullable=True, description='"HS6", "HS4" or null (no data)')
    hs_code: Series[str] = pa.Field(nullable=True, description="HS2022 code of the data row used")
    hs_level: Series[float] = pa.Field(nullable=True, isin=[4.0, 6.0])
    hs_version_source: Series[str] = pa.Field(nullable=True, description="revision the source published")
    year: Series[float] = pa.Field(nullable=True)
    source: Series[str] = pa.Field(nullable=True)

    class Config:
        name = "eccn_hs_indicators"


class Sensitivity(_Model):
    """``sensitivity.parquet``: rank robustness under perturbed weights (``cclreview sensitivity``)."""

    eccn: Series[str] = pa.Field(str_matches=_ECCN, unique=True)
    median_rank: Series[float] = pa.Field(ge=1)
    rank_p05: Series[float] = pa.Field(ge=1)
    rank_p95: Series[float] = pa.Field(ge=1)
    p_top25: Series[float] = _unit(
        description="share of draws (links, data, weights) ranking the ECCN in the top 25"
    )
    p_candidate: Series[float] = _unit(description="share of draws (all perturbations) with tier candidate")
    moved_most_by: Series[str] = pa.Field(
        isin=["links", "data", "weights", "none"], description="kind with the widest rank interval"
    )

    @pa.dataframe_check(error="rank_p05 <= median_rank <= rank_p95")
    @classmethod
    def _order(cls, df: pd.DataFrame) -> pd.Series:
        return (df["rank_p05"] <= df["median_rank"]) & (df["median_rank"] <= df["rank_p95"])

    class Config:
        name = "sensitivity"


#: Table name -> (model, file name).
MODELS: dict[str, type[_Model]] = {
    "ccl_entries": CclEntries,
    "ccl_paragraphs": CclParagraphs,
    "exports": Exports,
    "flows_focus": FlowsFocus,
    "us_exports": UsExports,
    "evidence": Evidence,
    "availability_hs": AvailabilityHs,
    "china_hs": ChinaHs,
    "diversion_hs": DiversionHs,
    "eccn_hs_links": EccnHsLinks,
    "eccn_hs_link_candidates": EccnHsLinkCandidates,
    "eccn_controls": EccnControls,
    "eccn_lists": EccnLists,
    "scores": Scores,
    "eccn_hs_indicators": EccnHsIndicators,
    "sensitivity": Sensitivity,
}
FILES: dict[str, str] = {
    "ccl_entries": CCL_ENTRIES,
    "ccl_paragraphs": CCL_PARAGRAPHS,
    "exports": EXPORTS,
    "flows_focus": FLOWS_FOCUS,
    "us_exports": US_EXPORTS,
    "evidence": EVIDENCE,
    "availability_hs": AVAILABILITY_HS,
    "china_hs": CHINA_HS,
    "diversion_hs": DIVERSION_HS,
    "eccn_hs_links": ECCN_HS_LINKS,
    "eccn_hs_link_candidates": ECCN_HS_LINK_CANDIDATES,
    "eccn_controls": ECCN_CONTROLS,
    "eccn_lists": ECCN_LISTS,
    "scores": SCORES,
    "eccn_hs_indicators": ECCN_HS_INDICATORS,
    "sensitivity": SENSITIVITY,
}
#: Table name -> the command that writes it.
PRODUCER: dict[str, str] = {t: s.command for s in STAGE_ORDER for t in s.tables}

# --- validation -------------------------------------------------------------------------

_MAX_ROWS = 25  # failures shown in the table; the rest are counted


def failure_table(exc: SchemaErrors, df: pd.DataFrame, key: str = "eccn") -> pd.DataFrame:
    """One row per distinct failure: column, check, row, key (e.g. the ECCN) and value."""
    fc = exc.failure_cases.copy()
    table_level = fc["schema_context"].astype(str).eq("DataFrameSchema")
    missing = fc["check"].astype(str).eq("column_in_dataframe")
    fc.loc[missing, "column"] = fc.loc[missing, "failure_case"]
    fc.loc[missing, "check"] = "required column is missing"
    table_level &= ~missing
    index = pd.to_numeric(fc["index"], errors="coerce")
    out = pd.DataFrame(
        {
            "column": fc["column"].where(~table_level & fc["column"].notna(), "(table)").astype(str),
            "check": fc["check"].astype(str),
            "row": index.astype("Int64"),
            "value": fc["failure_case"].map(repr).where(~(table_level | missing), ""),
        }
    )
    # A wrong dtype is one problem of the column (its value checks cannot run): one line.
    wrong_type = out["check"].str.startswith("dtype(")
    if wrong_type.any():
        bad_columns = set(out.loc[wrong_type, "column"])
        out.loc[wrong_type, "row"] = pd.NA
        out.loc[wrong_type, "value"] = [
            f"found {df[c].dtype}" if c in df.columns else "" for c in out.loc[wrong_type, "column"]
        ]
        out = out[wrong_type | ~out["column"].isin(bad_columns)]
        out = out[~(wrong_type & out.duplicated(["column", "check"]))]
    if key in df.columns:
        keys = df[key].astype(str).to_dict()  # pandera reports index labels
        out[key] = [keys.get(int(i), "") if pd.notna(i) else "" for i in out["row"]]
    # A table-level check reports each column of a failing row: keep one line per row.
    return out.drop_duplicates(subset=[c for c in out.columns if c != "value"] if table_level.any() else None)


def failures(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Every failure of ``df`` against the contract of table ``name`` (empty when it passes).

    Columns: ``table, column, check, row, value`` and ``eccn`` when the table has one.
    """
    try:
        MODELS[name].validate(df, lazy=True)
    except SchemaErrors as exc:
        return failure_table(exc, df).assign(table=name)
    return pd.DataFrame(columns=["table", "column", "check", "row", "value"])


def failure_message(summary: str, table: pd.DataFrame) -> str:
    """``summary`` (one line) followed by the failure ``table`` (first rows, then a count)."""
    shown = table.head(_MAX_ROWS).astype(object).fillna("").to_string(index=False)
    more = f"\n... and {len(table) - _MAX_ROWS} more" if len(table) > _MAX_ROWS else ""
    return f"{summary}\n{shown}{more}"


def validate(
    name: str, df: pd.DataFrame, path: str | os.PathLike[str] | None = None, *, writing: bool = False
) -> pd.DataFrame:
    """Validate ``df`` against the contract of table ``name``; return it unchanged.

    Parameters
    ----------
    name
        A key of :data:`MODELS` (``"scores"``, ``"ccl_entries"``, ...).
    df
        The table.
    path
        File it was read from or is written to, for the message.
    writing
        True when a stage is about to write the table (the fix is then a bug report,
        not a rebuild).

    Raises
    ------
    ValidationError
        One summary line, then a table of every failure (column, check, row, key, value).
    """
    table = failures(name, df)
    if len(table):
        where = f" ({path})" if path is not None else ""
        fix = (
            f"this is a bug in `cclreview {PRODUCER[name]}`; please report it"
            if writing
            else f"rebuild it with `cclreview {PRODUCER[name]}` (see docs/CONTRACTS.md)"
        )
        columns = ", ".join(dict.fromkeys(table["column"]))
        summary = f"{name}{where} failed its contract: {len(table)} problem(s) in {columns}; {fix}"
        raise ValidationError(failure_message(summary, table.drop(columns="table")))
    return df


def empty(name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """An empty table ``name`` whose required columns have the contract's dtypes.

    ``columns`` (optional) gives the full column order; extra columns are ``object``.
    """
    schema = MODELS[name].to_schema()
    dtypes = {
        c: str(spec.dtype) if spec.dtype is not None else "object" for c, spec in schema.columns.items()
    }
    order = columns if columns is not None else list(dtypes)
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "object")) for c in order})


def write(name: str, df: pd.DataFrame, out_dir: str | os.PathLike[str]) -> Path:
    """Validate table ``name`` and write it atomically to ``out_dir/<file name>``."""
    from cclreview.io import write_parquet

    target = Path(out_dir) / FILES[name]
    validate(name, df, target, writing=True)
    return write_parquet(df, target)


def read(name: str, folder: str | os.PathLike[str], *, required: bool = True) -> pd.DataFrame | None:
    """Read table ``name`` from ``folder`` and validate it.

    Returns None when the file is absent and ``required`` is False.

    Raises
    ------
    InputError
        The file is absent (``required``) or unreadable.
    ValidationError
        It breaks its contract.
    """
    path = Path(folder) / FILES[name]
    if not path.is_file():
        if not required:
            return None
        raise InputError(
            f"{path} not found: run `cclreview {PRODUCER[name]}` first, or pass the folder that holds it"
        )
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # any reader failure is an input problem
        raise InputError(f"cannot read {path}: {exc}; rebuild it with `cclreview {PRODUCER[name]}`") from exc
    return validate(name, df, path)


def validate_file(
    name: str,
    path: str | os.PathLike[str],
    target: str | os.PathLike[str] | None = None,
    *,
    batch_rows: int = 50_000,
    rows: bool = True,
) -> None:
    """Validate a Parquet file a stage has just written, before it is renamed into place.

    For stages that write table ``name`` without a frame in memory (streamed to ``path``);
    ``target`` is the final path, named in the message (default ``path``). The file is
    read ``batch_rows`` rows at a time, so memory stays flat whatever its size; checks
    across rows (a unique key) then hold within each batch. ``rows=False`` checks the
    columns and their types only (for a table too big to check row by row on every
    write, whose rows are checked where it is read).

    Raises
    ------
    OutputError
        ``path`` cannot be read back.
    ValidationError
        The table breaks its contract (worded as a bug of the stage).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    where = target if target is not None else path

    def unreadable(exc: Exception) -> OutputError:
        return OutputError(f"cannot read back {path} ({exc}); free space or choose another --out")

    try:
        # No read-ahead: memory stays at one batch, whatever the file's size.
        pf = pq.ParquetFile(path, pre_buffer=False)
        batches = iter(pf.iter_batches(batch_size=batch_rows, use_threads=False))
        first = next(batches, None)
    except (OSError, pa.ArrowException) as exc:  # a file we just wrote and cannot read
        raise unreadable(exc) from exc
    if first is None or not rows:  # the schema alone (columns, dtypes) is checked
        validate(name, pf.schema_arrow.empty_table().to_pandas(), where, writing=True)
        return
    batch = first
    while batch is not None:
        # The file's pandas metadata gives the contract dtypes back (Int64, string).
        df = pa.Table.from_batches([batch]).replace_schema_metadata(pf.schema_arrow.metadata).to_pandas()
        validate(name, df, where, writing=True)
        try:
            batch = next(batches, None)
        except (OSError, pa.ArrowException) as exc:
            raise unreadable(exc) from exc


# --- documentation ----------------------------------------------------------------------

DOCS_BEGIN = "<!-- contracts:begin (generated by `python -m cclreview.contracts --write-docs`) -->"
DOCS_END = "<!-- contracts:end -->"


def _dtype_name(column: Any) -> str:
    dtype = column.dtype
    if dtype is None:
        return "any"
    text = str(dtype)
    if text == "object":
        return "list"
    if text.startswith("str"):  # str, string, string[pyarrow]: by pandas version
        return "str"
    return text


def contracts_markdown() -> str:
    """The table contracts as Markdown: one section per table, one line per column."""
    lines = [
        f"Tier order: {', '.join(f'`{t}`' for t in TIER_ORDER)}.",
        "",
        "Stage order: " + " -> ".join(f"`{s.command}`" for s in STAGE_ORDER) + " -> `report`.",
        "",
    ]
    for name, model in MODELS.items():
        schema = model.to_schema()
        doc = " ".join((model.__doc__ or "").split()).split(": ", 1)[-1]
        lines += [
            f"### `{FILES[name]}`",
            "",
            doc,
            "",
            "| column | dtype | null | checks | meaning |",
            "|---|---|---|---|---|",
        ]
        for col_name, col in schema.columns.items():
            checks = [str(c.error or c.name) for c in col.checks]
            if col.unique:
                checks.append("unique")
            lines.append(
                f"| `{col_name}` | {_dtype_name(col)} | {'yes' if col.nullable else ''} | "
                f"{'; '.join(checks).replace('|', '/')} | {col.description or ''} |"
            )
        table_checks = [c.error or c.name for c in schema.checks]
        if table_checks:
            lines += ["", "Table checks: " + "; ".join(str(c) for c in table_checks) + "."]
        lines.append("")
    return "\n".join(lines)


def render_docs(text: str) -> str:
    """Return ``text`` (docs/CONTRACTS.md) with its generated section replaced."""
    start, end = text.find(DOCS_BEGIN), text.find(DOCS_END)
    if start < 0 or end < start:
        raise InputError(f"docs/CONTRACTS.md lacks the markers {DOCS_BEGIN!r} ... {DOCS_END!r}")
    return text[: start + len(DOCS_BEGIN)] + "\n\n" + contracts_markdown() + "\n" + text[end:]


def _main(argv: list[str]) -> int:  # pragma: no cover - maintenance helper
    docs = Path(__file__).resolve().parent.parent / "docs" / "CONTRACTS.md"
    if argv[1:] == ["--write-docs"]:
        docs.write_text(render_docs(docs.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    sys.stdout.write(contracts_markdown())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main(sys.argv))
