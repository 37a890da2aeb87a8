"""Parse the eCFR XML of the Commerce Control List (15 CFR 774 Supp. 1) into tables.

:mod:`cclreview.ccl.elements` cuts the XML into one piece per ECCN and
:mod:`cclreview.ccl.fields` reads each piece (sections, labelled fields, control rows in
their several layouts, item paragraphs); this module turns what they found into the
rows of ``ccl_entries`` and ``ccl_paragraphs`` (:func:`parse_ccl`).

The reasons of an entry are the codes of its "Reason for Control" line(s); when an entry
has no such line, the codes of its control rows, then of the prose (``reasons_source``
says which). "Foreign policy", written in words (the Russian industry-sector sanctions
of 746.8), is read as ``FP``, and so is its control row ("Russian industry sector
sanctions apply to entire entry"). Entries with none (ITAR pointers, entries with no
items, pointers to other ECCNs) get an empty list,
``no_reasons = True`` and a ``no_reasons_why``, never a guess. When the line and the
control rows disagree (3A232 in the 2026-06 edition) ``reasons_conflict`` is set.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
from lxml import etree

from cclreview.ccl import reasons as rc
from cclreview.ccl.elements import (
    GROUP_TITLES,
    RawEntry,
    ecfr_date_of,
    load_root,
    mark_line_breaks,
    split_entries,
)
from cclreview.ccl.fields import LABEL_RE, label_key, walk_entry
from cclreview.errors import InputError
from cclreview.io import sha256_file

log = logging.getLogger(__name__)

# "a.", "a.1.", "b.2.c." or "k.1" opening an item paragraph (first segment a letter).
# A lone letter needs its dot ("a. Gallows"), so words like "an" or "or" never match.
_PARA_RE = re.compile(
    r"^(?P<path>[a-z]{1,2}(?:\.(?:[a-z]{1,2}|\d{1,2}))+\.?|[a-z]{1,2}\.)(?:\s+|(?<=\.)(?=[‘'“]))(?P<text>\S.*)$",
    re.DOTALL,
)
_ITAR_RE = re.compile(r"(?:items|they|this entry|entry)\s+(?:are|is)\s+[“\"]?subject to the ITAR", re.I)
_RESERVED_RE = re.compile(r"^\s*\[\s*Reserved\s*\]", re.IGNORECASE)
# "No items currently are in this ECCN.", "No software is currently controlled ...".
_EMPTY_ENTRY_RE = re.compile(
    r"^\s*No\s+(?:items|commodities|software|technology|\S+)\s+(?:is\s+|are\s+)?currently\b", re.IGNORECASE
)
# A "Control(s)" text handing the whole entry to the State Department (ITAR).
_ITAR_CONTROL_RE = re.compile(
    r"subject to the ITAR|licensing authority of the U\.S\. Department of State", re.I
)


def _paragraphs(eccn: str, items: list[tuple[etree._Element, str]]) -> tuple[list[dict[str, Any]], str]:
    """Return the item paragraphs of an entry and the full items text."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    texts: list[str] = []
    for el, text in items:
        m_lab = LABEL_RE.match(text)
        if m_lab and label_key(m_lab.group("label")) == "items":
            text = m_lab.group("rest").strip()
        if not text:
            continue
        texts.append(text)
        if el.tag not in ("P", "FP", "FP-1", "FP-2"):
            continue
        m_par = _PARA_RE.match(text)
        if not m_par:
            continue
        segs = m_par.group("path").rstrip(".").split(".")
        pid = f"{eccn}.{'.'.join(segs)}"
        if pid in seen:  # a repeated label (e.g. in a sub-list) keeps the first paragraph
            log.debug("%s: repeated paragraph label %s ignored", eccn, pid)
            continue
        seen.add(pid)
        rows.append(
            {
                "eccn": eccn,
                "paragraph_id": pid,
                "parent_id": f"{eccn}.{'.'.join(segs[:-1])}" if len(segs) > 1 else eccn,
                "depth": len(segs),
                "label": segs[-1],
                "text": m_par.group("text").strip(),
            }
        )
    return rows, " ".join(texts)


def _entry_row(entry: RawEntry) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Build the ``ccl_entries`` row and the paragraph rows of one entry."""
    f = walk_entry(entry)
    eccn = entry.eccn
    line_codes = rc.order_codes([c for codes in f.reason_lines for c in codes])
    row_codes = rc.order_codes([r["control"] for r in f.control_rows if r["control"]])
    prose_codes = rc.order_codes([code for code, _ in f.prose_codes])
    # The "Reason for Control" line is the declared reasons; the control rows (and, for
    # the 0x521 entries, the prose) only stand in when an entry has no such line.
    if line_codes:
        reasons, source = line_codes, "reason_line"
    elif row_codes:
        reasons, source = row_codes, "control_rows"
    elif prose_codes:
        reasons, source = prose_codes, "prose"
    else:
        reasons, source = [], "none"
    charts: list[str] = []
    for r in f.control_rows:
        for col in rc.chart_columns_of_row(r["control"], r["chart_or_requirement"]):
            if col not in charts:
                charts.append(col)
    if not f.control_rows:
        charts.extend(col for _, col in f.prose_codes if col and col not in charts)
    paragraphs, items_text = _paragraphs(eccn, f.items)
    heading = entry.heading.rstrip()
    body = (f.texts.get("notes") or [""])[0]
    reserved = bool(
        _RESERVED_RE.match(heading) or _EMPTY_ENTRY_RE.match(body) or _EMPTY_ENTRY_RE.match(items_text)
    )
    controls_text = " ".join(f.texts.get("controls", []))
    itar = bool(_ITAR_RE.search(heading)) or (not reasons and bool(_ITAR_CONTROL_RE.search(controls_text)))
    notes = [*f.texts.get("notes", []), *f.notes]
    reason_text = f.get("reason_text")
    if reasons:
        why = None
    elif itar:
        why = "subject to the ITAR (State Department), no Commerce reason"
    elif reserved:
        why = "no items currently in this entry"
    elif reason_text:
        why = f"reason stated without a code: {reason_text}"
    else:
        why = "no License Requirements; the entry refers to other ECCNs"
    row = {
        "eccn": eccn,
        "category": entry.category,
        "category_title": entry.category_title,
        "product_group": eccn[1],
        "group_title": GROUP_TITLES[eccn[1]],
        "series": f"{eccn[2]}xx",
        "heading": heading,
        "reasons": reasons,
        "chart_columns": charts,
        "control_rows": f.control_rows,
        "lvs": f.get("lvs"),
        "gbs": f.get("gbs"),
        "sta": f.get("sta"),
        "other_license_exceptions": f.get("other_exceptions"),
        "related_controls": f.get("related_controls"),
        "related_definitions": f.get("related_definitions"),
        "items_text": items_text or None,
        "notes_text": "\n".join(notes) or None,
        "subject_to_itar": itar,
        "reserved": reserved,
        "is_600_series": eccn[2] == "6",
        "is_515": eccn[2:] == "515",
        "no_reasons": not reasons,
        "reasons_source": source,
        "reasons_text": reason_text,
        "no_reasons_why": why,
        "reasons_from_rows": row_codes,
        "reasons_conflict": bool(line_codes and row_codes and set(line_codes) != set(row_codes)),
        "n_paragraphs": len(paragraphs),
        "source_line": entry.line,
    }
    return row, paragraphs


#: Column order of ``ccl_entries`` (contract columns first, then additions).
ENTRY_COLUMNS: tuple[str, ...] = (
    "eccn", "category", "category_title", "product_group", "group_title", "series", "heading",
    "reasons", "chart_columns", "control_rows", "lvs", "gbs", "sta", "related_controls",
    "related_definitions", "items_text", "notes_text", "subject_to_itar", "reserved",
    "is_600_series", "is_515", "no_reasons", "source_file", "source_sha256", "ecfr_date",
    "other_license_exceptions", "reasons_source", "reasons_text", "no_reasons_why", "reasons_from_rows", "reasons_conflict", "n_paragraphs",
    "source_line",
)  # fmt: skip
PARAGRAPH_COLUMNS: tuple[str, ...] = ("eccn", "paragraph_id", "parent_id", "depth", "label", "text")


def parse_ccl(xml_path: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse the eCFR XML of CCL Supplement No. 1 into entry and paragraph tables.

    Parameters
    ----------
    xml_path
        The eCFR XML of 15 CFR 774 Supp. 1 (or of the whole Part 774).

    Returns
    -------
    (entries, paragraphs)
        ``entries``: one row per ECCN with the columns of :data:`ENTRY_COLUMNS`
        (``reasons``/``chart_columns`` are lists of str, ``control_rows`` a list of
        dicts ``control, applies_to, chart_or_requirement``). ``paragraphs``: one row per
        item paragraph (``2B001.a.1``) with :data:`PARAGRAPH_COLUMNS`.

    Raises
    ------
    InputError
        Malformed XML (file and line), no ECCN header at all, a duplicated ECCN or a
        header id that is not digit-letter-three-digits (ECCN and line).
    """
    path = Path(xml_path)
    root = load_root(path)
    mark_line_breaks(root)
    entries = split_entries(root, path)
    if not entries:
        raise InputError(
            f"{path}: no CCL entries found (no <FP-2><B>ECCN ...</B> header such as 2B001); "
            "is this the eCFR XML of 15 CFR 774 Supplement No. 1?"
        )
    sha = sha256_file(path)
    date = ecfr_date_of(root)
    rows: list[dict[str, Any]] = []
    paras: list[dict[str, Any]] = []
    for entry in entries:
        row, prows = _entry_row(entry)
        row.update(source_file=path.name, source_sha256=sha, ecfr_date=date)
        rows.append(row)
        paras.extend(prows)
    entries_df = pd.DataFrame(rows, columns=list(ENTRY_COLUMNS))
    paras_df = pd.DataFrame(paras, columns=list(PARAGRAPH_COLUMNS))
    entries_df["category"] = entries_df["category"].astype("int64")
    paras_df["depth"] = paras_df["depth"].astype("int64")
    log.info("parsed %d ECCNs, %d paragraphs from %s", len(entries_df), len(paras_df), path)
    return entries_df, paras_df
