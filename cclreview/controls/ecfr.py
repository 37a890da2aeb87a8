"""Read the Country Chart from the eCFR XML of 15 CFR Part 738 (Supplement No. 1).

The eCFR versioner API (``/api/versioner/v1/full/<date>/title-15.xml?part=738``) gives
Part 738 as GPO XML: the chart is one or more ``GPOTABLE`` elements whose column heads
(``CHED``) name the columns ("CB 1", "NS 2", ...), one ``ROW`` per country with an
``ENT`` per cell ("X" or empty); footnote numbers are ``SU`` elements after the country
name; the embargoed rows carry a pointer text instead of marks. This module turns that
into the mapping :func:`cclreview.controls.chart.chart_from_mapping` reads (the same form
as the JSON parse of the development mirror).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lxml import etree

from cclreview.errors import InputError

_COL_RE = re.compile(r"^(CB|NP|NS|MT|RS|FC|CC|AT)\s*(\d)$")


def _text(el: etree._Element) -> str:
    return " ".join("".join(el.itertext()).split())


def _country_cell(ent: etree._Element) -> tuple[str, list[int]]:
    """Country name and footnote numbers of a first cell (``SU`` elements are footnotes)."""
    notes = [int(t) for su in ent.iter("SU") for t in re.findall(r"\d+", _text(su))]
    parts = [ent.text or ""]
    for child in ent:
        if child.tag != "SU":
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split()).rstrip(" ,"), notes


def chart_mapping_from_xml(path: Path) -> dict[str, Any]:
    """The chart of a Part 738 XML as a mapping (columns, countries, embargoed).

    Raises
    ------
    InputError
        Malformed XML, or no table with Country Chart column heads (naming the file).
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as exc:
        raise InputError(
            f"{path}: malformed XML ({exc}); re-fetch Part 738 with `cclreview fetch ear`"
        ) from None
    columns: list[str] = []
    countries: dict[str, dict[str, Any]] = {}
    embargoed: dict[str, dict[str, Any]] = {}
    for table in root.iter("GPOTABLE"):
        heads = [_text(c) for c in table.iter("CHED")]
        cols = [f"{m.group(1)} {m.group(2)}" for h in heads if (m := _COL_RE.match(h))]
        if len(cols) < 8:
            continue  # another table of Part 738
        for col in cols:
            if col not in columns:
                columns.append(col)
        for row in table.iter("ROW"):
            ents = [e for e in row if e.tag == "ENT"]
            if not ents:
                continue
            name, notes = _country_cell(ents[0])
            if not name:
                continue
            cells = [_text(e) for e in ents[1:]]
            pointer = next((c for c in cells if c and c.upper() != "X"), "")
            if pointer and len(pointer) > 3:
                embargoed[name] = {"pointer": pointer, "footnotes": notes}
                continue
            marks = [cols[k] for k, c in enumerate(cells[: len(cols)]) if c.upper() == "X"]
            countries[name] = {"marks": marks, "footnotes": notes}
    if not columns:
        raise InputError(
            f"{path}: no Country Chart table (GPOTABLE with column heads such as 'NS 1'); "
            "is this the eCFR XML of 15 CFR Part 738?"
        )
    return {"columns": columns, "countries": countries, "embargoed": embargoed, "aliases": {}}
