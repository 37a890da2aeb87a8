"""The eCFR XML of the CCL as a sequence of elements, cut into one piece per ECCN.

The eCFR rendering is a flat sequence of elements: ``HD1`` category and product-group
headings, an ECCN header (``<FP-2><B>2B001 Machine tools ...</B>``, once ``FP-1``), then
the entry's ``FP-1``/``P``/``FP`` paragraphs, tables (inside ``DIV``) and ``NOTE`` blocks
until the next header. An ECCN is therefore everything from its header to the next
header (or the next category/group heading, or the category's EAR99 line).

This module loads the file (:func:`load_root`), reads the text of elements and table
cells, finds the eCFR date, and cuts the sequence into :class:`RawEntry` pieces
(:func:`split_entries`); :mod:`cclreview.ccl.fields` reads each piece.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from cclreview.errors import InputError

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
_ISO_DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})")
_WS_RE = re.compile(r"\s+")


@dataclass
class RawEntry:
    """The elements of one ECCN, collected before interpretation."""

    eccn: str
    line: int
    category: int
    category_title: str
    heading: str
    elements: list[etree._Element] = field(default_factory=list)


#: Marker put after every <br/> (:func:`mark_line_breaks`) so table cells split into lines.
BR = "\ue000"


def element_text(el: etree._Element) -> str:
    """Return the element's text with whitespace collapsed (``br`` read as a space)."""
    # str.split() collapses whitespace faster than a regex (this runs ~20,000 times).
    return " ".join("".join(el.itertext()).replace(BR, " ").split())


def cell_lines(el: etree._Element) -> list[str]:
    """Return the lines of a table cell (split at ``br``), whitespace collapsed."""
    raw = "".join(el.itertext()).split(BR)
    return [t for t in (" ".join(r.split()) for r in raw) if t]


def _clean_title(text: str) -> str:
    """Drop quotes and "[Reserved]" from a heading and tidy its commas."""
    text = re.sub(r"[“”\"]", " ", text)  # a space: quotes sometimes glue words ("Components”and")
    text = re.sub(r"\s*\[Reserved\]\s*", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\s*,\s*", ", ", text)
    return _WS_RE.sub(" ", text).strip().rstrip(",")


def load_root(path: Path) -> etree._Element:
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


def ecfr_date_of(root: etree._Element) -> str | None:
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
    bold = element_text(el[0])
    token = bold.split(" ", 1)[0].rstrip(".,;:") if bold else ""
    heading = element_text(el)[len(token) :].strip()
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


def split_entries(root: etree._Element, path: Path) -> list[RawEntry]:
    """Cut the flat element sequence into entries, tracking the category headings."""
    entries: list[RawEntry] = []
    seen: dict[str, int] = {}
    cat_titles: dict[int, str] = {}
    category: int | None = None
    current: RawEntry | None = None
    for el in root:
        if not isinstance(el.tag, str):  # comments, processing instructions
            continue
        if el.tag == "HD1":
            text = element_text(el)
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
            current = RawEntry(
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


def table_rows(table: etree._Element) -> tuple[list[str], list[list[list[str]]]]:
    """Return (header texts, body rows) of a GPO table; a body cell is a list of lines."""
    head: list[str] = []
    rows: list[list[list[str]]] = []
    for tr in table.iter("TR"):
        cells = [c for c in tr if c.tag in ("TD", "TH")]
        parent = tr.getparent()
        if (parent is not None and parent.tag == "THEAD") or all(c.tag == "TH" for c in cells):
            head.extend(element_text(c) for c in cells)
        else:
            rows.append([cell_lines(c) for c in cells])
    return head, rows


def mark_line_breaks(root: etree._Element) -> None:
    """Put :data:`BR` after every ``<br/>`` under ``root``.

    Table cells use ``<br/>`` as a line break: the marker lets :func:`cell_lines` split
    a cell into its lines and :func:`element_text` read it as a space, so words do not
    merge.
    """
    for br in root.iter("br"):
        br.tail = BR + (br.tail or "")
