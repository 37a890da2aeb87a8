"""Load the tables a dossier shows and prepare one plain dict per ECCN.

The dossier decides nothing: it formats what the stages wrote. ``scores.parquet`` and
``ccl_entries.parquet`` are required; every other table (and every column added by
later stages: controls, routes, China lens, link specificity, focus flows) is optional,
and the page says "not yet available" for a section whose input is absent.

Everything per ECCN is grouped once up front (one pass over each table), so building
all pages costs a dictionary look-up per ECCN and section rather than a filter.
"""

from __future__ import annotations

import logging
import math
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from cclreview import contracts
from cclreview.config import REFERENCE_DIR
from cclreview.errors import InputError
from cclreview.io import sha256_file

log = logging.getLogger(__name__)

#: Required tables and the stage that writes each.
REQUIRED: dict[str, str] = {
    contracts.SCORES: contracts.PRODUCER["scores"],
    contracts.CCL_ENTRIES: contracts.PRODUCER["ccl_entries"],
}

#: Optional processed tables (file name -> attribute of :class:`DossierInputs`).
OPTIONAL: dict[str, str] = {
    contracts.CCL_PARAGRAPHS: "paragraphs",
    contracts.ECCN_HS_LINKS: "links",
    contracts.AVAILABILITY_HS: "availability",
    contracts.EXPORTS: "exports",
    contracts.EVIDENCE: "evidence",
    contracts.SENSITIVITY: "sensitivity",
    contracts.ECCN_CONTROLS: "controls",
    contracts.ECCN_HS_INDICATORS: "indicators",
    contracts.FLOWS_FOCUS: "flows_focus",
    contracts.US_EXPORTS: "us_exports",
}

#: Exports columns read (the table is the largest input; the rest is not needed).
EXPORT_COLUMNS = ("year", "exporter_iso3", "hs6", "hs_level", "source", "value_usd", "value_kind")

#: Every file whose change must rebuild the dossier (the Makefile lists the same).
INPUT_FILES: tuple[str, ...] = tuple(REQUIRED) + tuple(OPTIONAL)


@dataclass
class DossierInputs:
    """Everything one dossier build reads."""

    processed_dir: Path
    scores: pd.DataFrame
    entries: pd.DataFrame
    paragraphs: pd.DataFrame | None = None
    links: pd.DataFrame | None = None
    availability: pd.DataFrame | None = None
    exports: pd.DataFrame | None = None
    evidence: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    controls: pd.DataFrame | None = None
    indicators: pd.DataFrame | None = None
    flows_focus: pd.DataFrame | None = None
    us_exports: pd.DataFrame | None = None
    hs_descriptions: dict[str, str] = field(default_factory=dict)
    country_names: dict[str, str] = field(default_factory=dict)
    regime_members: dict[str, frozenset[str]] = field(default_factory=dict)
    annotations: dict[str, dict[str, str]] = field(default_factory=dict)
    workbook: Path | None = None
    files: list[tuple[str, int, str]] = field(default_factory=list)


def _read(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    try:
        if columns is not None:
            import pyarrow.parquet as pq

            present = set(pq.read_schema(path).names)
            columns = [c for c in columns if c in present]
        return pd.read_parquet(path, columns=columns)
    except Exception as exc:  # any reader failure is an input problem
        raise InputError(f"cannot read {path}: {exc}; rebuild it with the stage that writes it") from exc


def _hs_descriptions(hs_file: Path | None) -> dict[str, str]:
    """HS6 and HS4 code -> description (an HS6 "Other" gets its heading in front).

    Read directly (not through the link stage, whose import pulls in its text models).
    """
    if hs_file is None or not hs_file.is_file():
        return {}
    try:
        hs = pd.read_csv(hs_file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        codes, texts, levels = hs["hscode"].str.strip(), hs["description"], hs["level"].str.strip()
    except (OSError, ValueError, KeyError) as exc:
        log.warning("HS descriptions not shown: %s: %s", hs_file, exc)
        return {}
    out: dict[str, str] = {}
    for code, text, level in zip(codes, texts, levels, strict=True):
        if level in ("4", "6"):
            code = code.zfill(int(level))
            # Descriptions carry their code ("8456.10 - Operated by laser"): keep the words.
            out[code] = re.sub(r"^[0-9.]+\s*-*\s*", "", str(text)).strip() or str(text)
    for code in [c for c in out if len(c) == 6]:
        h4 = out.get(code[:4])
        if h4 and out[code].lower().lstrip("- ").startswith("other"):
            out[code] = f"{h4}: {out[code]}"
    return out


def _reference_tables() -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    from cclreview.trade.groups import load_regimes

    names: dict[str, str] = {}
    try:
        countries = pd.read_csv(REFERENCE_DIR / "countries.csv", dtype=str, keep_default_na=False)
        names = dict(zip(countries["iso3"], countries["name"], strict=True))
    except (OSError, KeyError) as exc:  # the shipped table; a broken install only loses names
        log.warning("country names not shown: %s", exc)
    members: dict[str, set[str]] = defaultdict(set)
    regimes = load_regimes()
    for iso3, regime in zip(regimes["iso3"], regimes["regime"], strict=True):
        # "Australia Group" -> "australia_group": the keys scores.parquet uses in `regimes`.
        members[str(regime).lower().replace(" ", "_")].add(iso3)
    return names, {k: frozenset(v) for k, v in members.items()}


def read_annotations(workbook: Path) -> dict[str, dict[str, str]]:
    """Reviewer decision and notes per ECCN from the workbook's Candidates sheet.

    Reads only that sheet's XML (openpyxl's loader sizes every sheet first, which takes
    seconds on a full workbook), with the header names of
    :mod:`cclreview.report.carryover`; the result is merged as the carry-over merges it.
    A workbook this reader cannot follow goes through
    :func:`cclreview.report.carryover.read_previous` instead.
    """
    from cclreview.report import carryover

    try:
        rows = _sheet_rows(workbook, carryover.CANDIDATES_SHEET)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile, ElementTree.ParseError) as exc:
        log.info("fast reader cannot read %s (%s); using the carry-over reader", workbook, exc)
        ann = carryover.read_previous(workbook).annotations
    else:
        header = {str(v).strip(): i for i, v in enumerate(rows[0] if rows else []) if v}
        need = ("ECCN", carryover.DECISION_HEADER, carryover.NOTES_HEADER)
        if any(h not in header for h in need):
            # Let the carry-over reader name the problem in its own words.
            ann = carryover.read_previous(workbook).annotations
        else:
            recs = []
            for row in rows[1:]:
                cell = [row[header[h]] if header[h] < len(row) else None for h in need]
                eccn, decision, notes = (str(v).strip() if v is not None else "" for v in cell)
                if eccn and (decision or notes):
                    recs.append({"eccn": eccn, "decision": decision, "notes": notes,
                                 "origin": carryover.CANDIDATES_SHEET})  # fmt: skip
            ann = carryover.merge_annotations(
                pd.DataFrame(recs, columns=["eccn", "decision", "notes", "origin"])
            )
    return {
        str(r["eccn"]): {"decision": r.get("decision") or "", "notes": r.get("notes") or ""}
        for r in ann.to_dict("records")
    }


_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}


def _col_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + (ord(ch.upper()) - 64)
    return n - 1


def _sheet_rows(path: Path, sheet: str) -> list[list[Any]]:
    """Cell values (text or number) of one sheet of an .xlsx, row by row."""
    with zipfile.ZipFile(path) as zf:
        wb = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rid = next(
            s.get(f"{{{_NS['r']}}}id") for s in wb.iter(f"{{{_NS['m']}}}sheet") if s.get("name") == sheet
        )
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        target = next(
            r.get("Target") or "" for r in rels.iter(f"{{{_NS['p']}}}Relationship") if r.get("Id") == rid
        )
        target = target.lstrip("/")
        target = target if target.startswith("xl/") else f"xl/{target}"
        shared: list[str] = []
        if "xl/sharedStrings.xml" in zf.namelist():
            sst = ElementTree.fromstring(zf.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t")) for si in sst]
        out: list[list[Any]] = []
        with zf.open(target) as fh:
            for _, el in ElementTree.iterparse(fh):
                if el.tag != f"{{{_NS['m']}}}row":
                    continue
                row: list[Any] = []
                for c in el.iter(f"{{{_NS['m']}}}c"):
                    i = _col_index(c.get("r") or "") if c.get("r") else len(row)
                    kind = c.get("t")
                    v = c.find(f"{{{_NS['m']}}}v")
                    if kind == "inlineStr":
                        value: Any = "".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))
                    elif v is None:
                        value = None
                    elif kind == "s":
                        value = shared[int(v.text or 0)]
                    elif kind in ("str", "e"):
                        value = v.text
                    elif kind == "b":
                        value = v.text == "1"
                    else:
                        value = float(v.text) if v.text else None
                        if value is not None and value.is_integer():
                            value = int(value)
                    row.extend([None] * (i + 1 - len(row)))
                    row[i] = value
                out.append(row)
                el.clear()
    return out


def load_dossier_inputs(
    processed_dir: str | Path,
    workbook: str | Path | None = None,
    hs_file: str | Path | None = None,
) -> DossierInputs:
    """Read every table the dossier shows.

    Parameters
    ----------
    processed_dir
        Folder with the stage outputs.
    workbook
        The review workbook whose reviewer decisions and notes are shown (absent = the
        pages say no workbook was found).
    hs_file
        HS nomenclature CSV for the descriptions of linked HS codes (optional).

    Raises
    ------
    InputError
        A required table is missing or unreadable, or the workbook cannot be read.
    """
    processed_dir = Path(processed_dir)
    for name, stage in REQUIRED.items():
        if not (processed_dir / name).is_file():
            raise InputError(
                f"{processed_dir / name} not found: run `cclreview {stage}` first or pass --processed DIR"
            )
    # Not validated again here: the stages validated on write, and the pages only show
    # what the tables hold (columns they lack say "not yet available").
    scores = _read(processed_dir / contracts.SCORES)
    entries = _read(processed_dir / contracts.CCL_ENTRIES)
    for df, name in ((scores, contracts.SCORES), (entries, contracts.CCL_ENTRIES)):
        if "eccn" not in df.columns:
            raise InputError(f"{processed_dir / name} lacks column eccn; rebuild it with its stage")
    inputs = DossierInputs(processed_dir=processed_dir, scores=scores, entries=entries)
    for name in INPUT_FILES:
        path = processed_dir / name
        if not path.is_file():
            continue
        inputs.files.append((name, path.stat().st_size, sha256_file(path)[:12]))
        if name in OPTIONAL:
            cols = list(EXPORT_COLUMNS) if name == contracts.EXPORTS else None
            setattr(inputs, OPTIONAL[name], _read(path, cols))
    inputs.hs_descriptions = _hs_descriptions(Path(hs_file) if hs_file else None)
    inputs.country_names, inputs.regime_members = _reference_tables()
    if workbook is not None and Path(workbook).is_file():
        inputs.workbook = Path(workbook)
        inputs.annotations = read_annotations(inputs.workbook)
    return inputs


# --------------------------------------------------------------------------- helpers
def is_missing(value: Any) -> bool:
    """True for None, NaN, NA and empty strings/lists."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, list | tuple | np.ndarray):
        return len(value) == 0
    return False


def as_list(value: Any) -> list[Any]:
    """A list from a list/array/``;``-separated string, [] for missing."""
    if is_missing(value):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    if isinstance(value, list | tuple | np.ndarray):
        return [v for v in list(value) if not is_missing(v)]
    return [value]


def clean(value: Any) -> Any:
    """numpy scalars to Python, NaN to None (templates test ``is none``)."""
    if isinstance(value, np.generic):
        value = value.item()
    if is_missing(value) and not isinstance(value, list | tuple | np.ndarray):
        return None
    if isinstance(value, np.ndarray):
        return [clean(v) for v in value.tolist()]
    return value


def records_by_eccn(df: pd.DataFrame | None, key: str = "eccn") -> dict[str, list[dict[str, Any]]]:
    """Group a table's rows (as dicts of clean values) by ECCN, keeping row order."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if df is None or key not in df.columns or df.empty:
        return out
    cols = list(df.columns)
    for row in zip(*(df[c].tolist() for c in cols), strict=True):
        rec = {c: clean(v) for c, v in zip(cols, row, strict=True)}
        out[str(rec[key])].append(rec)
    return out


def exports_index(exports: pd.DataFrame | None) -> dict[tuple[str, int, int, str], dict[str, float | None]]:
    """(code, level, year, source) -> {exporter: value or None for rank-only rows}."""
    out: dict[tuple[str, int, int, str], dict[str, float | None]] = defaultdict(dict)
    if exports is None or exports.empty:
        return out
    ex = exports
    level = ex["hs_level"].tolist() if "hs_level" in ex.columns else [6] * len(ex)
    kind = ex["value_kind"].tolist() if "value_kind" in ex.columns else ["value"] * len(ex)
    for code, lvl, year, src, iso, val, k in zip(
        ex["hs6"].astype(str).tolist(),
        level,
        ex["year"].tolist(),
        ex["source"].astype(str).tolist(),
        ex["exporter_iso3"].astype(str).tolist(),
        pd.to_numeric(ex["value_usd"], errors="coerce").tolist(),
        kind,
        strict=True,
    ):
        if k == "world_total" or iso == "WLD":
            continue
        bucket = out[(code, int(lvl), int(year), src)]
        v = None if val is None or (isinstance(val, float) and math.isnan(val)) else float(val)
        bucket[iso] = (bucket.get(iso) or 0.0) + v if v is not None else bucket.get(iso)
    return out


def availability_index(avail: pd.DataFrame | None) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """(hs_code, level) -> availability rows (all years and sources), newest first."""
    out: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    if avail is None or avail.empty:
        return out
    df = avail.copy()
    if "hs_code" not in df.columns:
        df["hs_code"] = df["hs6"]
    if "hs_level" not in df.columns:
        df["hs_level"] = 6
    df = df.sort_values(["hs_code", "hs_level", "year"], ascending=[True, True, False], kind="stable")
    keep = [
        c
        for c in (
            "hs_code",
            "hs_level",
            "year",
            "source",
            "world_exports_usd",
            "us_exports_usd",
            "non_us_exports_usd",
            "china_exports_usd",
            "china_share",
            "non_us_share",
            "n_non_us_suppliers",
            "top_suppliers",
            "missing_major_exporters",
            "is_bounded",
            "n_exporters",
            "partial_source",
        )
        if c in df.columns
    ]
    for rec in records_by_eccn(df[keep], key="hs_code").values():
        for r in rec:
            out[(str(r["hs_code"]), int(r["hs_level"]))].append(r)
    return out
