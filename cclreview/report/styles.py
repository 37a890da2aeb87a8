"""Cell styles, number formats and colours of the review workbook.

A style is a mapping of xlsxwriter format properties; :class:`cclreview.report.xlsx.Formats`
turns each distinct one into a single shared workbook format. Styles combine with
``{**A, **B}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cclreview.contracts import TIER_ORDER as TIER_ORDER  # re-exported: sheets sort by it

#: xlsxwriter format properties (``{"bold": True, "font_color": "#FFFFFF"}``).
Style = Mapping[str, Any]

#: Number format per column kind (see :class:`cclreview.report.tables.Column`).
#: Kinds without a format (int, rank, num, text) are written unstyled: integers and
#: 3-decimal numbers read well in the General format.
NUMBER_FORMATS: dict[str, str] = {
    "score": "0.000",
    "pct": "0.0%",
    "usd": "#,##0",
    "float": "0.00",
    "ratio": "0.00",
}


def fill(colour: str) -> Style:
    """A solid background of ``colour`` (``"1F3864"``)."""
    return {"pattern": 1, "bg_color": f"#{colour}"}


def number(fmt: str) -> Style:
    """The number format ``fmt`` (``"0.000"``)."""
    return {"num_format": fmt}


WRAP_ALIGN: Style = {"text_wrap": True, "valign": "top"}
LEFT_ALIGN: Style = {"align": "left", "valign": "top"}
HEADER_FONT: Style = {"bold": True, "font_color": "#FFFFFF"}
HEADER: Style = {**HEADER_FONT, **fill("1F3864"), **WRAP_ALIGN}
#: Header of the columns reviewers type into.
REVIEWER_HEADER: Style = {**HEADER_FONT, **fill("7F6000"), **WRAP_ALIGN}
REVIEWER_CELL: Style = {**fill("FFF2CC"), **WRAP_ALIGN}
LINK_FONT: Style = {"font_color": "#0563C1", "underline": 1}
TITLE_FONT: Style = {"bold": True, "font_size": 16, "font_color": "#1F3864"}
SECTION_FONT: Style = {"bold": True, "font_size": 12, "font_color": "#1F3864"}
LABEL_FONT: Style = {"bold": True}
NOTE_FONT: Style = {"italic": True, "font_color": "#595959"}
#: Summary warnings a reviewer must not miss (e.g. a run without guardrails).
WARNING_FONT: Style = {"bold": True, "font_color": "#C00000"}

#: Fill colour of each tier (light, print-friendly), used by conditional formatting.
TIER_COLOURS: dict[str, str] = {
    "candidate": "C6EFCE",
    "review": "FFEB9C",
    "retain": "F4CCCC",
    "not a foreign-availability case": "DDEBF7",
    "guardrail": "D9D2E9",
    "insufficient evidence": "E7E6E6",
}

#: Colour scale for scores: low = white, high = green.
SCALE_LOW = "FFFFFF"
SCALE_MID = "FFE699"
SCALE_HIGH = "63BE7B"
#: Colour scale for the security score: high is a reason to keep the control (red).
SECURITY_HIGH = "F8696B"


def tier_sort_key(tier: str) -> tuple[int, str]:
    """Sort key that puts tiers in :data:`TIER_ORDER`, unknown tiers last."""
    try:
        return (TIER_ORDER.index(tier), tier)
    except ValueError:
        return (len(TIER_ORDER), tier)
