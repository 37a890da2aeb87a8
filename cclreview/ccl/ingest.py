"""The CCL stage: parse the XML, validate, write ``ccl_entries`` and ``ccl_paragraphs``."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cclreview import contracts
from cclreview.ccl.parse import parse_ccl
from cclreview.ccl.schema import validate_ccl
from cclreview.errors import OutputError, SourceMissingError
from cclreview.io import atomic_path

log = logging.getLogger(__name__)

ENTRIES_FILE = contracts.CCL_ENTRIES
PARAGRAPHS_FILE = contracts.CCL_PARAGRAPHS

_STR_LIST = pa.list_(pa.string())
_CONTROL_ROW = pa.struct(
    [("control", pa.string()), ("applies_to", pa.string()), ("chart_or_requirement", pa.string())]
)
# Explicit Arrow types for the columns whose type pandas cannot infer from empty lists.
_ENTRY_TYPES: dict[str, pa.DataType] = {
    "reasons": _STR_LIST,
    "chart_columns": _STR_LIST,
    "reasons_from_rows": _STR_LIST,
    "control_rows": pa.list_(_CONTROL_ROW),
    "category": pa.int64(),
    "n_paragraphs": pa.int64(),
    "source_line": pa.int64(),
    "ecfr_date": pa.string(),
}


def _to_arrow(df: pd.DataFrame, types: dict[str, pa.DataType]) -> pa.Table:
    """Convert ``df`` to Arrow with ``types`` fixed and other columns inferred."""
    arrays: list[pa.Array] = []
    for name in df.columns:
        values = df[name].tolist()
        if name in types:
            arrays.append(pa.array(values, type=types[name]))
        else:
            arrays.append(pa.array(values, from_pandas=True))
    return pa.Table.from_arrays(arrays, names=list(df.columns))


def _write(table: pa.Table, target: Path) -> None:
    """Write an Arrow table to Parquet atomically."""
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp)


def ingest_ccl(xml_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse, validate and write the CCL tables.

    Parameters
    ----------
    xml_path
        eCFR XML of 15 CFR 774 Supp. 1.
    out_dir
        Folder that receives ``ccl_entries.parquet`` and ``ccl_paragraphs.parquet``.

    Returns
    -------
    dict
        Counts: ``eccns``, ``paragraphs``, ``with_reasons``, ``no_reasons``,
        ``subject_to_itar``, ``reserved``, ``reasons_conflict``, and the output paths
        ``entries_path``, ``paragraphs_path``.

    Raises
    ------
    InputError, ValidationError
        Malformed or empty XML, duplicated/bad ECCN ids, schema failures.
    OutputError
        ``out_dir`` is a file or cannot be written.
    """
    xml = Path(xml_path)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder; give a folder for the CCL tables")
    entries, paragraphs = parse_ccl(xml)
    validate_ccl(entries, paragraphs, source=str(xml))
    entries_path = out / ENTRIES_FILE
    paragraphs_path = out / PARAGRAPHS_FILE
    _write(_to_arrow(entries, _ENTRY_TYPES), entries_path)
    _write(_to_arrow(paragraphs, {"depth": pa.int64()}), paragraphs_path)
    counts: dict[str, Any] = {
        "eccns": len(entries),
        "paragraphs": len(paragraphs),
        "with_reasons": int((~entries["no_reasons"]).sum()),
        "no_reasons": int(entries["no_reasons"].sum()),
        "subject_to_itar": int(entries["subject_to_itar"].sum()),
        "reserved": int(entries["reserved"].sum()),
        "reasons_conflict": int(entries["reasons_conflict"].sum()),
        "entries_path": str(entries_path),
        "paragraphs_path": str(paragraphs_path),
    }
    log.info("wrote %s and %s", entries_path, paragraphs_path)
    return counts


def default_ccl_xml(raw_ccl: str | os.PathLike[str]) -> Path:
    """Return the newest ``*.xml`` in ``raw_ccl`` (by modification time, then name).

    Raises
    ------
    SourceMissingError
        When the folder holds no XML.
    """
    folder = Path(raw_ccl)
    files = sorted(folder.glob("*.xml"), key=lambda p: (p.stat().st_mtime, p.name)) if folder.is_dir() else []
    if not files:
        raise SourceMissingError(
            f"no CCL XML in {folder}: run `cclreview fetch ccl` or place the eCFR XML of "
            f"15 CFR 774 Supp. 1 (e.g. ccl_supp1_ecfr_2026-06.xml) in {folder}/"
        )
    return files[-1]
