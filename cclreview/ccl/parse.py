"""Parse the eCFR XML of the Commerce Control List (15 CFR 774 Supp. 1) into tables.

The eCFR rendering is a flat sequence of elements: ``HD1`` category and product-group
headings, an ECCN header (``<FP-2><B>2B001 Machine tools ...</B>``, once ``FP-1``), then
the entry's ``FP-1``/``P``/``FP`` paragraphs, tables (inside ``DIV``) and ``NOTE`` blocks
until the next header. An ECCN is therefore everything from its header to the next
header (or the next category/group heading, or the category's EAR99 line).

Reasons for control are written in several layouts, all handled here:

* a "Reason for Control:" label in an ``FP-1``, ``FP-2``, ``FP`` or ``P`` (label inside
  or outside the ``<I>``), also "Reasons for Control:", codes separated by commas,
  spaces or "and", sometimes with a column digit ("CC 1");
* a "Reason for Control:" line inside a table cell;
* control rows in a "Control(s) | Country chart" table ("NS applies to entire entry" |
  "NS Column 2."), a cell holding several rows split by ``<br/>``, a single cell holding
  scope and column, or a bare "Column 1." that takes the row's code;
* control rows written as paragraphs, after a "Control(s)" label or on the label line
  ("CW applies to entire entry. The Commerce Country Chart is not designed ..."),
  including rows naming two controls ("SL and AT apply to entire entry");
* prose only, in the 0x521 entries ("0A521 commodities are subject to RS1 controls").

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from lxml import etree

from cclreview.ccl import reasons as rc
from cclreview.errors import InputError
from cclreview.io import sha256_file

log = logging.getLogger(__name__)

#: A well-formed ECCN: digit (category), letter A-E (product group), three digits.
ECCN_RE = re.compile(r"^[0-9][A-E][0-9]{3}$")
# What a header's first word looks like when it is meant to be an ECCN (starts with a
# digit, a few letters/digits): used to reject malformed ids instead of skipping them.
_ECCNISH_RE = re.compile(r"^[0-9]{1,2}[A-Za-z]{1,2}[0-9]{1,5}[A-Za-z]?$")

#: Fallback titles when the XML lacks the category heading (fixed by the regulation).
CATEGORY_TITLES: dict[int, str] = {
    0: "Nuclear materials, facilities and equipment (and miscellaneous items)",
    1: "Special materials and related equipment, chemicals, microorganisms and toxins",
    2: "Materials processing",
    3: "Electronics",
    4: "Computers",
    5: "Telecommunications and information security",
    6: "Sensors and lasers",
    7: "Navigation and avionics",
    8: "Marine",
    9: "Aerospace and propulsion",
}
#: Product-group titles: the same five groups in every category. A fixed mapping (the
#: HD1 headings spell them with small variations that would split group-bys).
GROUP_TITLES: dict[str, str] = {
    "A": "End Items, Equipment, Accessories, Attachments, Parts, Components and Systems",
    "B": "Test, Inspection and Production Equipment",
    "C": "Materials",
    "D": "Software",
    "E": "Technology",
}

_CATEGORY_HD_RE = re.compile(r"^Category\s+(\d)\s*[—–-]+\s*(.+)$")
_GROUP_HD_RE = re.compile(r"^([A-E])\.\s+(.+)$")
# Headings that close the current entry without starting a new one.
_BREAK_HD_RE = re.compile(r"^(Annex to Category|Part\s+\d|[IVX]+\.\s)", re.IGNORECASE)
# Section headings inside an entry.
_SECTION_RE = re.compile(
    r"^(?P<sec>License Requirements(?!\s*Notes?)|List Based License Exceptions|List of Items Controlled)",
    re.IGNORECASE,
)
# Labelled fields inside an entry ("LVS: $500", "Related Controls: ...").
_LABEL_RE = re.compile(
    r"^(?P<label>Reasons?\s+for\s+Control|Control\(s\)|License\s+Requirements?\s+Notes?|"
    r"Special\s+Conditions\s+for\s+STA|LVS|GBS|STA|CIV|TSR|APP|ACA|Related\s+Controls?|"
    r"Related\s+Definitions?|Items|Units?|Reporting\s+Requirements?|"
    # other list-based license exceptions ("NAC/ACA:", "AIA:", "ENC:", "HBM:")
    r"[A-Z]{2,4}(?:/[A-Z]{2,4})?(?=:))\s*(?::|(?=\s*$))\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
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
_ISO_DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})")
_WS_RE = re.compile(r"\s+")


@dataclass
class _RawEntry:
    """The elements of one ECCN, collected before interpretation."""

    eccn: str
    line: int
    category: int
    category_title: str
    heading: str
    elements: list[etree._Element] = field(default_factory=list)


# Marker put after every <br/> so table cells can be split into their lines.
_BR = "\ue000"


def _text(el: etree._Element) -> str:
    """Return the element's text with whitespace collapsed (``br`` read as a space)."""
    # str.split() collapses whitespace faster than a regex (this runs ~20,000 times).
    return " ".join("".join(el.itertext()).replace(_BR, " ").split())


def _lines(el: etree._Element) -> list[str]:
    """Return the lines of a table cell (split at ``br``), whitespace collapsed."""
    raw = "".join(el.itertext()).split(_BR)
    return [t for t in (" ".join(r.split()) for r in raw) if t]


def _clean_title(text: str) -> str:
    """Drop quotes and "[Reserved]" from a heading and tidy its commas."""
    text = re.sub(r"[“”\"]", " ", text)  # a space: quotes sometimes glue words ("Components”and")
    text = re.sub(r"\s*\[Reserved\]\s*", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\s*,\s*", ", ", text)
    return _WS_RE.sub(" ", text).strip().rstrip(",")


def _load_root(path: Path) -> etree._Element:
    """Parse ``path`` and return the element whose children are the CCL sequence."""
    if not path.is_file():
        raise InputError(f"{path}: CCL XML not found; give an existing file or run `cclreview fetch ccl`")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        tree = etree.parse(str(path), parser)
    except etree.XMLSyntaxError as exc:
        msg = _WS_RE.sub(" ", str(exc.msg or exc)).strip()
        line = exc.lineno if exc.lineno is not None else (exc.position[0] if exc.position else "?")
        raise InputError(
            f"{path}: malformed XML at line {line}: {msg}; re-download it with `cclreview fetch ccl`"
        ) from exc
    root = tree.getroot()
    # The eCFR API may wrap the supplement in the whole Part 774; pick the supplement.
    for div in root.iter("DIV9"):
        if re.match(r"Supplement No\. 1\b", div.get("N") or ""):
            return div
    return root


def _ecfr_date(root: etree._Element) -> str | None:
    """Return the eCFR date found in attributes of ``root`` or its ancestors, if any."""
    node: etree._Element | None = root
    while node is not None:
        for name, value in node.attrib.items():
            lname = name.lower()
            if "date" in lname or lname == "hierarchy_metadata":
                if lname == "hierarchy_metadata":
                    match = re.search(r"/on/(\d{4}-\d{2}-\d{2})/", value)
                else:
                    match = _ISO_DATE_RE.search(value)
                if match:
                    return match.group(1)
        node = node.getparent()
    return None


def _header(el: etree._Element, path: Path) -> tuple[str, str] | None:
    """Return ``(token, heading)`` if ``el`` is an ECCN header (or an EAR99 line).

    Raises
    ------
    InputError
        When a header's id looks like an attempted ECCN but is not digit-letter-three
        digits (e.g. "2B01", "2X001").
    """
    if el.tag not in ("FP-2", "FP-1") or len(el) == 0 or el[0].tag != "B":
        return None
    if (el.text or "").strip():
        return None
    bold = _text(el[0])
    token = bold.split(" ", 1)[0].rstrip(".,;:") if bold else ""
    heading = _text(el)[len(token) :].strip()
    if token.upper() == "EAR99":
        return ("EAR99", heading)
    if ECCN_RE.match(token):
        return (token, heading)
    # FP-1 with a bold word is common prose; only FP-2 headers must be ECCN ids.
    if el.tag == "FP-2" and _ECCNISH_RE.match(token):
        raise InputError(
            f"{path}: line {el.sourceline}: ECCN header id {token!r} is not digit-letter-three-digits "
            "(e.g. 2B001); fix the header in the XML or fetch a clean copy"
        )
    return None


def _split_entries(root: etree._Element, path: Path) -> list[_RawEntry]:
    """Cut the flat element sequence into entries, tracking the category headings."""
    entries: list[_RawEntry] = []
    seen: dict[str, int] = {}
    cat_titles: dict[int, str] = {}
    category: int | None = None
    current: _RawEntry | None = None
    for el in root:
        if not isinstance(el.tag, str):  # comments, processing instructions
            continue
        if el.tag == "HD1":
            text = _text(el)
            m_cat = _CATEGORY_HD_RE.match(text)
            m_grp = _GROUP_HD_RE.match(text)
            if m_cat:
                category = int(m_cat.group(1))
                cat_titles[category] = _clean_title(m_cat.group(2))
                current = None
                continue
            if m_grp and category is not None:
                current = None
                continue
            if _BREAK_HD_RE.match(text):
                current = None
                continue
            # Other HD1s ("List of Items Controlled") are section headings of the entry.
        hdr = _header(el, path)
        if hdr is not None:
            token, heading = hdr
            if token == "EAR99":
                current = None
                continue
            if token in seen:
                raise InputError(
                    f"{path}: line {el.sourceline}: duplicated ECCN {token} (first header at line "
                    f"{seen[token]}); each ECCN must appear once, fix or re-fetch the XML"
                )
            seen[token] = el.sourceline or 0
            cat = int(token[0])
            current = _RawEntry(
                eccn=token,
                line=el.sourceline or 0,
                category=cat,
                category_title=cat_titles.get(cat, CATEGORY_TITLES[cat]),
                heading=heading,
            )
            entries.append(current)
            continue
        if current is not None:
            current.elements.append(el)
    return entries


def _table_rows(table: etree._Element) -> tuple[list[str], list[list[list[str]]]]:
    """Return (header texts, body rows) of a GPO table; a body cell is a list of lines."""
    head: list[str] = []
    rows: list[list[list[str]]] = []
    for tr in table.iter("TR"):
        cells = [c for c in tr if c.tag in ("TD", "TH")]
        parent = tr.getparent()
        if (parent is not None and parent.tag == "THEAD") or all(c.tag == "TH" for c in cells):
            head.extend(_text(c) for c in cells)
        else:
            rows.append([_lines(c) for c in cells])
    return head, rows


def _split_row_text(text: str) -> tuple[str, str]:
    """Split a one-piece control row into (scope, chart or requirement).

    "CB applies to entire entry CB Column 2." -> ("CB applies to entire entry",
    "CB Column 2."); "CW applies to entire entry. A license is required ..." ->
    ("CW applies to entire entry", "A license is required ...").
    """
    col = rc.first_column_match(text)
    if col is not None and col > 0:
        return text[:col].strip(), text[col:].strip()
    parts = re.split(r"\.\s+", text, maxsplit=1)
    return parts[0].strip().rstrip("."), (parts[1].strip() if len(parts) > 1 else "")


def _control_rows_of_table_row(cells: list[list[str]]) -> list[tuple[str, str]]:
    """Return the (scope, chart) pairs of one table row.

    A row usually holds one control; a few hold several, one per line of the cell
    ("NP applies to entire entry<br/>AT applies to entire entry" | "NP Column 1<br/>AT
    Column 1"), which are paired line by line.
    """
    if not cells or not cells[0]:
        return []
    first = cells[0]
    rest = [line for cell in cells[1:] for line in cell]
    starts = [i for i, line in enumerate(first) if rc.control_of_row(line)]
    if len(starts) > 1 and len(starts) == len(first) and len(rest) == len(first):
        return list(zip(first, rest, strict=True))
    scope = " ".join(first)
    if not rest:
        return [_split_row_text(scope)]
    return [(scope, " ".join(rest))]


@dataclass
class _Fields:
    """Accumulates the texts of one entry while its elements are walked."""

    reason_lines: list[list[str]] = field(default_factory=list)
    control_rows: list[dict[str, str]] = field(default_factory=list)
    texts: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    items: list[tuple[etree._Element, str]] = field(default_factory=list)  # (element, text)
    prose_codes: list[tuple[str, str]] = field(default_factory=list)

    def add(self, key: str, text: str) -> None:
        if text:
            self.texts.setdefault(key, []).append(text)

    def get(self, key: str) -> str | None:
        parts = self.texts.get(key)
        return " ".join(parts) if parts else None


_LABEL_KEYS = {
    "reasonforcontrol": "reason",
    "reasonsforcontrol": "reason",
    "control(s)": "controls",
    "lvs": "lvs",
    "gbs": "gbs",
    "sta": "sta",
    "specialconditionsforsta": "sta",
    "relatedcontrol": "related_controls",
    "relatedcontrols": "related_controls",
    "relateddefinition": "related_definitions",
    "relateddefinitions": "related_definitions",
    "items": "items",
}


def _label_key(label: str) -> str:
    """Map a field label as written to the key it is stored under."""
    squashed = re.sub(r"\s+", "", label).lower()
    if squashed.startswith("licenserequirement"):
        return "notes"
    return _LABEL_KEYS.get(squashed, squashed)


# Labels with a column of their own; any other label is kept in notes or exceptions.
_OUTPUT_KEYS = {
    "reason",
    "controls",
    "lvs",
    "gbs",
    "sta",
    "related_controls",
    "related_definitions",
    "items",
    "notes",
}


def _store_label(f: _Fields, section: str, label: str, rest: str) -> str:
    """Store a labelled field; return the key that continuation lines go to."""
    key = _label_key(label)
    if key in _OUTPUT_KEYS:
        f.add(key, rest)
        return key
    # "NAC/ACA: Yes", "TSR: N/A", "Reporting Requirements ...": nothing silently dropped.
    target = "other_exceptions" if section == "exceptions" else "notes"
    f.add(target, f"{' '.join(label.split())}: {rest}".rstrip(": "))
    return target


def _add_control_row(f: _Fields, applies: str, chart: str) -> None:
    """Record one row of the License Requirements table (one per code it names)."""
    for code in rc.controls_of_row(applies) or [""]:
        f.control_rows.append({"control": code, "applies_to": applies, "chart_or_requirement": chart})


def _walk(entry: _RawEntry) -> _Fields:
    """Interpret the elements of one entry: sections, labelled fields, tables, notes."""
    f = _Fields()
    section = "heading"
    key: str | None = None
    for el in entry.elements:
        if el.tag == "NOTE":
            f.notes.append(_text(el))
            continue
        tables = [el] if el.tag == "TABLE" else list(el.iter("TABLE"))
        if tables:
            for table in tables:
                head, rows = _table_rows(table)
                is_control = any("control" in h.lower() for h in head) or any(
                    rc.control_of_row(r[0][0]) for r in rows if r and r[0]
                )
                for row in rows:
                    joined = " ".join(line for cell in row for line in cell)
                    reasons = rc.reasons_after_label(joined)
                    if reasons is not None:  # "Reason for Control:" written in a cell
                        f.reason_lines.append(reasons)
                        f.add("reason_text", rc.text_after_label(joined))
                    elif is_control:
                        for scope, chart in _control_rows_of_table_row(row):
                            _add_control_row(f, scope, chart)
                if not is_control:
                    if key == "items":
                        f.items.append((el, " | ".join(" ".join(map(" ".join, r)) for r in rows)))
                    else:
                        f.add(key or "other", " | ".join(" ".join(map(" ".join, r)) for r in rows))
            continue
        text = _text(el)
        if not text:
            continue
        m_sec = _SECTION_RE.match(text)
        if m_sec:
            sec = m_sec.group("sec").lower()
            section = (
                "license"
                if sec.startswith("license")
                else "exceptions"
                if "exception" in sec
                else "items_list"
            )
            key = None
            rest = text[m_sec.end() :].strip()
            m_lab = _LABEL_RE.match(rest) if rest else None
            if m_lab:  # "Reporting Requirements See § 743.1" on the same line
                key = _store_label(f, section, m_lab.group("label"), m_lab.group("rest").strip())
            continue
        m_lab = _LABEL_RE.match(text)
        if m_lab and key != "items":
            rest = m_lab.group("rest").strip()
            key = _label_key(m_lab.group("label"))
            if key == "reason":
                f.reason_lines.append(rc.reasons_after_label(text) or [])
                f.add("reason_text", rc.text_after_label(text))
            elif key == "controls":
                f.add("controls", rest)
                if rest:  # "Control(s): AT applies to ..." or a control stated in prose
                    _add_control_row(f, *(_split_row_text(rest) if rc.control_of_row(rest) else (rest, "")))
            elif key == "items":
                f.items.append((el, text))
            else:
                key = _store_label(f, section, m_lab.group("label"), rest)
            continue
        if key == "items":
            f.items.append((el, text))
            continue
        if section == "license" and rc.control_of_row(text):
            # Control row written as a paragraph; scope and requirement in one line.
            _add_control_row(f, *_split_row_text(text))
            key = "controls"
            continue
        if section != "items_list":
            # 0x521 entries state their control in prose: "subject to RS1 controls".
            f.prose_codes.extend(rc.prose_controls(text))
        if (
            section == "license"
            and f.control_rows
            and not f.control_rows[-1]["chart_or_requirement"]
            and rc.chart_columns_in(text)  # "NS Column 2" on its own line after the row
        ):
            f.control_rows[-1]["chart_or_requirement"] = text
            continue
        if key == "controls" and f.control_rows:
            # A further paragraph of a control row's requirement text.
            last = f.control_rows[-1]
            last["chart_or_requirement"] = f"{last['chart_or_requirement']} {text}".strip()
            continue
        f.add(key or ("other_exceptions" if section == "exceptions" else "notes"), text)
    return f


def _paragraphs(eccn: str, items: list[tuple[etree._Element, str]]) -> tuple[list[dict[str, Any]], str]:
    """Return the item paragraphs of an entry and the full items text."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    texts: list[str] = []
    for el, text in items:
        m_lab = _LABEL_RE.match(text)
        if m_lab and _label_key(m_lab.group("label")) == "items":
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


def _entry_row(entry: _RawEntry) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Build the ``ccl_entries`` row and the paragraph rows of one entry."""
    f = _walk(entry)
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
    root = _load_root(path)
    # Table cells use <br/> as a line break; give it a space so words do not merge.
    for br in root.iter("br"):
        br.tail = _BR + (br.tail or "")
    entries = _split_entries(root, path)
    if not entries:
        raise InputError(
            f"{path}: no CCL entries found (no <FP-2><B>ECCN ...</B> header such as 2B001); "
            "is this the eCFR XML of 15 CFR 774 Supplement No. 1?"
        )
    sha = sha256_file(path)
    date = _ecfr_date(root)
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
