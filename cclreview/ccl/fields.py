"""One entry's elements read into sections, labelled fields, control rows and items.

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

:func:`walk_entry` collects what an entry says in a :class:`Fields`; which of these
codes become the entry's reasons is decided in :mod:`cclreview.ccl.parse`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from cclreview.ccl import reasons as rc
from cclreview.ccl.elements import RawEntry, element_text, table_rows

# Section headings inside an entry.
_SECTION_RE = re.compile(
    r"^(?P<sec>License Requirements(?!\s*Notes?)|List Based License Exceptions|List of Items Controlled)",
    re.IGNORECASE,
)
# Labelled fields inside an entry ("LVS: $500", "Related Controls: ...").
LABEL_RE = re.compile(
    r"^(?P<label>Reasons?\s+for\s+Control|Control\(s\)|License\s+Requirements?\s+Notes?|"
    r"Special\s+Conditions\s+for\s+STA|LVS|GBS|STA|CIV|TSR|APP|ACA|Related\s+Controls?|"
    r"Related\s+Definitions?|Items|Units?|Reporting\s+Requirements?|"
    # other list-based license exceptions ("NAC/ACA:", "AIA:", "ENC:", "HBM:")
    r"[A-Z]{2,4}(?:/[A-Z]{2,4})?(?=:))\s*(?::|(?=\s*$))\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)


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
class Fields:
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


def label_key(label: str) -> str:
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


def _store_label(f: Fields, section: str, label: str, rest: str) -> str:
    """Store a labelled field; return the key that continuation lines go to."""
    key = label_key(label)
    if key in _OUTPUT_KEYS:
        f.add(key, rest)
        return key
    # "NAC/ACA: Yes", "TSR: N/A", "Reporting Requirements ...": nothing silently dropped.
    target = "other_exceptions" if section == "exceptions" else "notes"
    f.add(target, f"{' '.join(label.split())}: {rest}".rstrip(": "))
    return target


def _add_control_row(f: Fields, applies: str, chart: str) -> None:
    """Record one row of the License Requirements table (one per code it names)."""
    for code in rc.controls_of_row(applies) or [""]:
        f.control_rows.append({"control": code, "applies_to": applies, "chart_or_requirement": chart})


def walk_entry(entry: RawEntry) -> Fields:
    """Interpret the elements of one entry: sections, labelled fields, tables, notes."""
    f = Fields()
    section = "heading"
    key: str | None = None
    for el in entry.elements:
        if el.tag == "NOTE":
            f.notes.append(element_text(el))
            continue
        tables = [el] if el.tag == "TABLE" else list(el.iter("TABLE"))
        if tables:
            for table in tables:
                head, rows = table_rows(table)
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
        text = element_text(el)
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
            m_lab = LABEL_RE.match(rest) if rest else None
            if m_lab:  # "Reporting Requirements See § 743.1" on the same line
                key = _store_label(f, section, m_lab.group("label"), m_lab.group("rest").strip())
            continue
        m_lab = LABEL_RE.match(text)
        if m_lab and key != "items":
            rest = m_lab.group("rest").strip()
            key = label_key(m_lab.group("label"))
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
