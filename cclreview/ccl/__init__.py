"""CCL ingest: parse the eCFR XML of the Commerce Control List into validated tables.

Public API: :func:`parse_ccl` (XML -> entries, paragraphs DataFrames),
:func:`ingest_ccl` (parse, validate, write ``ccl_entries.parquet`` and
``ccl_paragraphs.parquet``) and :func:`validate_ccl`.
"""

from __future__ import annotations

from cclreview.ccl.ingest import ENTRIES_FILE, PARAGRAPHS_FILE, default_ccl_xml, ingest_ccl
from cclreview.ccl.parse import parse_ccl
from cclreview.ccl.schema import validate_ccl

__all__ = ["ENTRIES_FILE", "PARAGRAPHS_FILE", "default_ccl_xml", "ingest_ccl", "parse_ccl", "validate_ccl"]
