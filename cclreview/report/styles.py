"""Cell styles, number formats and colours of the review workbook.

Styles are built once per (kind, variant) and their style arrays shared by every cell
of that kind, which keeps write-only mode fast while every cell is still formatted.
"""

from __future__ import annotations

from openpyxl.styles import Alignment, Font, PatternFill

from cclreview.contracts import TIER_ORDER as TIER_ORDER  # re-exported: sheets sort by it

#: Number format per column kind (see :class:`cclreview.report.columns.Column`).
#: Kinds without a format (int, rank, num, text) are written unstyled, the fast path
#: of write-only mode; integers and 3-decimal numbers read well in General format.
NUMBER_FORMATS: dict[str, str] = {
    "score": "0.000",
    "pct": "0.0%",
    "usd": "#,##0",
    "float": "0.00",
    "ratio": "0.00",
}

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", start_color="1F3864", end_color="1F3864")
HEADER_ALIGN = Alignment(wrap_text=True, vertical="top")
REVIEWER_HEADER_FILL = PatternFill("solid", start_color="7F6000", end_color="7F6000")
REVIEWER_FILL = PatternFill("solid", start_color="FFF2CC", end_color="FFF2CC")
LINK_FONT = Font(color="0563C1", underline="single")
TITLE_FONT = Font(bold=True, size=16, color="1F3864")
SECTION_FONT = Font(bold=True, size=12, color="1F3864")
LABEL_FONT = Font(bold=True)
NOTE_FONT = Font(italic=True, color="595959")
WRAP_ALIGN = Alignment(wrap_text=True, vertical="top")

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


def tier_sort_key(tier: str) -> tuple[int, str]:
    """Sort key that puts tiers in :data:`TIER_ORDER`, unknown tiers last."""
    try:
        return (TIER_ORDER.index(tier), tier)
    except ValueError:
        return (len(TIER_ORDER), tier)
