"""The Candidates sheet: every ECCN, ranked, with the reviewer columns and their drop-down."""

from __future__ import annotations

from typing import Any

import pandas as pd
from xlsxwriter import Workbook

from cclreview.errors import ConfigError
from cclreview.report import styles
from cclreview.report.carryover import DECISION_HEADER, NOTES_HEADER
from cclreview.report.tables import Column, Dictionary, col_range, columns, write_table
from cclreview.report.xlsx import Formats, Sheet

#: The choices of the Reviewer decision drop-down.
DECISIONS: tuple[str, ...] = ("decontrol", "keep", "needs review", "more evidence")

SHEET = "Candidates"


def decision_columns() -> list[Column]:
    """Route, legal basis and what a decontrol would change (cclreview.controls).

    Shown on Candidates and Guardrails; the two yes/no columns are the one-click filters.
    """
    return columns("decision")


def candidates_columns(has_sensitivity: bool) -> list[Column]:
    """Columns of the Candidates sheet, in order (reviewer columns last).

    Raises
    ------
    ConfigError
        ``columns.csv`` is broken (e.g. the reviewer headers differ from the ones the
        carry-over reads).
    """
    cols = [
        *columns("candidates"),
        *decision_columns(),
        *columns("candidates_detail"),
        *(columns("candidates_sensitivity") if has_sensitivity else []),
        *columns("china_candidates"),  # the China lens (cclreview/report/china_sheet.py)
        *columns("candidates_reviewer"),
    ]
    headers = [c.header for c in cols]
    if headers[-2:] != [DECISION_HEADER, NOTES_HEADER]:
        raise ConfigError(
            f"columns.csv: the Candidates sheet must end with {DECISION_HEADER!r} and {NOTES_HEADER!r} "
            "(the columns the carry-over reads back)"
        )
    return cols


def guardrail_columns() -> list[Column]:
    """Columns of the Guardrails sheet (the decision columns but 'Capped by')."""
    return [*columns("guardrails"), *(c for c in decision_columns() if c.key != "capped_by")]


def dossier_link(value: Any) -> str | None:
    """The relative link of a Dossier cell (``dossier/2B001.html``), else None."""
    return value if isinstance(value, str) and value.startswith("dossier/") else None


def write_candidates(
    wb: Workbook,
    formats: Formats,
    df: pd.DataFrame,
    links: dict[str, str],
    score_fmt: str,
    has_sensitivity: bool,
    dic: Dictionary,
) -> Sheet:
    """Write the Candidates sheet: all ECCNs, ranked, with reviewer columns."""
    sheet = Sheet(wb, formats, SHEET)
    ws = sheet.ws
    cols = candidates_columns(has_sensitivity)
    # Too wide for one page: three pages wide, repeating the header and ECCN columns.
    n = write_table(
        sheet, cols, df, link_for=lambda v: links.get(v) or dossier_link(v), score_format=score_fmt,
        freeze="C2", pages_wide=3,
    )  # fmt: skip
    ws.repeat_rows(0)
    ws.repeat_columns(0, 1)
    ws.data_validation(
        *col_range(cols, DECISION_HEADER, n),
        {
            "validate": "list",
            "source": list(DECISIONS),
            "ignore_blank": True,
            "dropdown": True,  # the in-cell arrow
            "show_error": True,
            "error_type": "warning",  # a warning, so an old free-text decision can be kept
            "error_title": "Reviewer decision",
            "error_message": "Choose decontrol, keep, needs review or more evidence.",
            "input_title": "Reviewer decision",
            "input_message": "decontrol / keep / needs review / more evidence",
            "show_input": True,
        },
    )
    scale = {
        "type": "3_color_scale",
        "min_type": "min", "min_color": f"#{styles.SCALE_LOW}",
        "mid_type": "percentile", "mid_value": 50, "mid_color": f"#{styles.SCALE_MID}",
        "max_type": "max", "max_color": f"#{styles.SCALE_HIGH}",
    }  # fmt: skip
    for header in ("Decontrol score", "Availability score", "Evidence strength"):
        ws.conditional_format(*col_range(cols, header, n), scale)
    # Security: high is a reason to keep the control, so high shows red.
    ws.conditional_format(
        *col_range(cols, "Security score", n),
        {"type": "2_color_scale", "min_type": "min", "min_color": "#FFFFFF", "max_type": "max",
         "max_color": f"#{styles.SECURITY_HIGH}"},
    )  # fmt: skip
    tier_range = col_range(cols, "Tier", n)
    for tier, colour in styles.TIER_COLOURS.items():
        ws.conditional_format(
            *tier_range,
            {"type": "cell", "criteria": "==", "value": f'"{tier}"', "format": wb.add_format({"bg_color": f"#{colour}"})},
        )  # fmt: skip
    dic.add(SHEET, cols)
    return sheet
