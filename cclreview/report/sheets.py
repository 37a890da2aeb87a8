"""Sheet writers of the review workbook (one function per sheet).

Each writer appends rows to a fresh write-only worksheet and records the columns it
wrote in a :class:`Dictionary`, from which the Data dictionary sheet is generated, so
that every column of every sheet is described.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
from openpyxl.styles import Alignment, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation

from cclreview.report import styles
from cclreview.report.carryover import DECISION_HEADER, NOTES_HEADER, PREV_DECISION_HEADER, PREV_NOTES_HEADER
from cclreview.report.china_sheet import china_candidate_columns
from cclreview.report.writer import CellFactory, Column, page_setup, set_widths, write_table

#: The choices of the Reviewer decision drop-down.
DECISIONS: tuple[str, ...] = ("decontrol", "keep", "needs review", "more evidence")


@dataclass
class Dictionary:
    """Collects (sheet, column, description, format) rows for the Data dictionary."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, sheet: str, columns: Sequence[Column]) -> None:
        for c in columns:
            self.rows.append((sheet, c.header, c.description, c.kind))


def _col_range(columns: Sequence[Column], header: str, n_rows: int) -> str:
    idx = [c.header for c in columns].index(header) + 1
    letter = get_column_letter(idx)
    return f"{letter}2:{letter}{max(n_rows + 1, 2)}"


def _note_table(ws: WriteOnlyWorksheet, columns: Sequence[Column], note: str) -> None:
    """Header plus one explanatory row, for a sheet whose input is absent."""
    write_table(ws, columns, pd.DataFrame(), autofilter=False)
    ws.append([CellFactory(ws).cell(note, font=styles.NOTE_FONT)])


# ------------------------------------------------------------------ decision columns
#: Route, legal basis and what a decontrol would change (cclreview.controls), shown on
#: Candidates and Guardrails; the two yes/no columns are the one-click filters.
DECISION_COLUMNS_SHOWN: list[Column] = [
    Column("U.S. can act alone", "unilateral_action_possible", "yes when every control of the entry can be lifted by a U.S. rule alone (no Wassenaar/NSG/MTCR/Australia Group list, treaty or UN programme owns one). Filter on yes.", "bool", 10),
    Column("Licence needed for China today", "licence_to_china", "yes when any control of the entry needs a licence for China today (China has an X in the control's Country Chart column, or the text names it). Filter on yes.", "bool", 10),
    Column("China licence reasons", "licence_to_china_reasons", "The controls (reason and column) that need a licence for China.", "text", 12),
    Column("Route", "route", "How each control could be lifted: U.S. unilateral rule, regime proposal (Wassenaar, NSG, MTCR, Australia Group), or the programme that owns it; with the reasons (and paragraphs) it covers.", "text", 40),
    Column("Legal basis", "legal_basis", "EAR sections of the entry's controls (e.g. 742.4 NS, 742.3(a)(2) NP column 2, 742.7 CC, 754 SS, 746.8 Russia/Belarus sanctions).", "text", 18),
    Column("Licence destinations", "licence_destinations", "Number of destinations needing a licence under any control of the entry (Country Chart X marks, embargoed destinations, countries the text names).", "int", 10),
    Column("MEU list (744 Supp. 2)", "meu_listed", "yes when the entry is on Supp. No. 2 to Part 744: removing it from the CCL also lifts the military end-use/user licence requirement for China (744.21).", "bool", 9),
    Column("MEU paragraphs", "meu_paragraphs", "The listed part of the entry ('(limited)' when the listing covers only part of what it names).", "text", 14),
    Column("Wassenaar Sensitive List", "sensitive_list", "Paragraphs on the Wassenaar Sensitive List (Supp. No. 6 to Part 774).", "text", 14),
    Column("Wassenaar Very Sensitive List", "very_sensitive_list", "Paragraphs on the Very Sensitive List (Supp. No. 7 to Part 774).", "text", 14),
    Column("LVS", "lvs", "License Exception LVS (shipments of limited value) as the entry states it.", "text", 14),
    Column("GBS", "gbs", "License Exception GBS (Country Group B) as the entry states it.", "text", 14),
    Column("STA", "sta", "License Exception STA conditions as the entry states them.", "text", 14),
    Column("Capped by", "capped_by", "Software/technology entries: the hardware entry whose tier or rank capped this one (a D/E entry never ranks above the hardware it serves).", "text", 10),
]  # fmt: skip


# --------------------------------------------------------------------------- Candidates
def candidates_columns(has_sensitivity: bool) -> list[Column]:
    """Columns of the Candidates sheet, in order (reviewer columns last)."""
    cols = [
        Column(
            "Rank",
            "rank",
            "Rank by decontrol score as scoring assigned it (1 = strongest candidate).",
            "rank",
            7,
        ),
        Column(
            "ECCN", "eccn", "Export Control Classification Number; links to its text on the eCFR.", "link", 9
        ),
        Column("Heading", "heading", "Heading of the ECCN in the Commerce Control List.", "text", 50),
        Column("Category", "category_label", "CCL category (0-9) and its name.", "text", 24),
        Column(
            "Reasons for control",
            "reasons_text",
            "Reason-for-control codes of the entry (NS, MT, NP, CB, RS, AT, ...).",
            "text",
            14,
        ),
        Column(
            "Tier",
            "tier",
            "Tier from scoring: candidate, review, retain, guardrail, insufficient evidence or not a "
            "foreign-availability case.",
            "text",
            13,
        ),
        Column(
            "Decontrol score",
            "decontrol_score",
            "Overall decontrol score from scoring (higher = stronger case to decontrol).",
            "score",
            10,
        ),
        Column(
            "Availability score",
            "availability_score",
            "Foreign-availability score (15 CFR 768.6 criteria combined).",
            "score",
            10,
        ),
        Column(
            "Security score",
            "security_score",
            "Security-relevance score (higher = more security-relevant).",
            "score",
            10,
        ),
        Column(
            "Evidence strength",
            "evidence_strength",
            "Strength of the evidence behind the availability score (link confidence, granularity, sources).",
            "score",
            10,
        ),
        Column(
            "Top non-U.S. sources",
            "top_sources",
            "Largest non-U.S. suppliers with their shares, as scoring recorded them.",
            "text",
            28,
        ),
        Column(
            "China share", "china_share", "China's share of world exports of the linked HS codes.", "pct", 8
        ),
        *DECISION_COLUMNS_SHOWN,
        Column(
            "Guardrail reason",
            "guardrail_reason",
            "Why a guardrail retains the entry whatever its availability.",
            "text",
            28,
        ),
        Column("Explanation", "explanation", "Scoring's plain-words explanation of the score.", "text", 60),
        Column(
            "Granularity",
            "granularity",
            "Trade data level behind the evidence: HS6 (product) or HS4 (heading, weaker).",
            "text",
            9,
        ),
        Column(
            "Data flags",
            "flags",
            "Caveats on the data: HS4-only evidence, bounded counts, major exporters missing.",
            "text",
            28,
        ),
        Column(
            "Available in fact",
            "available_in_fact",
            "Sub-score: the item can actually be bought abroad (768.6).",
            "score",
            9,
        ),
        Column(
            "Non-U.S. source", "non_us_source", "Sub-score: there are non-U.S. sources (768.6).", "score", 9
        ),
        Column(
            "Sufficient quantity",
            "sufficient_quantity",
            "Sub-score: non-U.S. supply is large enough to make the control ineffective (768.6).",
            "score",
            9,
        ),
        Column(
            "Comparable quality",
            "comparable_quality",
            "Sub-score: non-U.S. items are of comparable quality (768.6), e.g. unit value ratio.",
            "score",
            9,
        ),
        Column("Inside China", "inside_china", "Sub-score: availability from China itself.", "score", 9),
        Column(
            "Outside regime",
            "outside_regime",
            "Sub-score: availability from countries outside the control regime.",
            "score",
            9,
        ),
        Column(
            "Significant non-U.S. suppliers",
            "n_non_us_suppliers",
            "Number of significant non-U.S. supplier countries behind the score (as scoring computed it).",
            "float",
            10,
        ),
        Column(
            "Non-U.S. share",
            "non_us_share",
            "Non-U.S. share of world exports (or of supply) behind the score.",
            "pct",
            9,
        ),
        Column(
            "Unit value ratio",
            "unit_value_ratio",
            "Non-U.S. / U.S. unit value behind the comparable-quality sub-score.",
            "ratio",
            9,
        ),
        Column("Data year", "latest_year", "Latest year of the trade data behind the score.", "int", 7),
        Column(
            "Evidence source",
            "evidence_source",
            "Kind of evidence scoring used: trade data, supply-side evidence, or none.",
            "text",
            12,
        ),
    ]
    if has_sensitivity:
        cols += [
            Column(
                "Median rank",
                "median_rank",
                "Median rank over the sensitivity runs (links, data and weights perturbed).",
                "float",
                8,
            ),
            Column(
                "Rank interval (P5-P95)",
                "rank_interval",
                "5th to 95th percentile of the rank over the sensitivity runs.",
                "text",
                10,
            ),
            Column(
                "P(top 25)",
                "p_top25",
                "Share of sensitivity runs in which the ECCN ranks in the top 25.",
                "pct",
                8,
            ),
        ]
    cols += china_candidate_columns()  # the China lens (cclreview/report/china_sheet.py)
    cols.append(
        Column(
            "Dossier",
            "dossier",
            "The ECCN's evidence dossier page (relative link; built by `cclreview dossier`).",
            "link",
            12,
        )
    )
    cols += [
        Column(DECISION_HEADER, "reviewer_decision", "For reviewers: decontrol / keep / needs review / more evidence (drop-down). Carried over on rebuild.", "reviewer", 16),
        Column(NOTES_HEADER, "reviewer_notes", "For reviewers: free notes. Carried over to the same ECCN on rebuild.", "reviewer", 50),
    ]  # fmt: skip
    return cols


def dossier_link(value: Any) -> str | None:
    """The relative link of a Dossier cell (``dossier/2B001.html``), else None."""
    return value if isinstance(value, str) and value.startswith("dossier/") else None


def write_candidates(
    wb: Workbook,
    df: pd.DataFrame,
    links: dict[str, str],
    score_fmt: str,
    has_sensitivity: bool,
    dic: Dictionary,
) -> WriteOnlyWorksheet:
    """Write the Candidates sheet: all ECCNs, ranked, with reviewer columns."""
    ws = wb.create_sheet("Candidates")
    cols = candidates_columns(has_sensitivity)
    # Too wide for one page: three pages wide, repeating the header and ECCN columns.
    n = write_table(
        ws,
        cols,
        df,
        link_for=lambda v: links.get(v) or dossier_link(v),
        score_format=score_fmt,
        freeze="C2",
        pages_wide=3,
    )
    ws.print_title_cols = "A:B"
    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(DECISIONS) + '"',
        allow_blank=True,
        showDropDown=False,  # False = show the in-cell arrow (the XML flag is inverted)
        showErrorMessage=True,
        errorStyle="warning",  # a warning, so an old free-text decision can be kept
        errorTitle="Reviewer decision",
        error="Choose decontrol, keep, needs review or more evidence.",
        promptTitle="Reviewer decision",
        prompt="decontrol / keep / needs review / more evidence",
        showInputMessage=True,
    )
    dv.add(_col_range(cols, DECISION_HEADER, n))
    ws.data_validations.append(dv)
    scale = ColorScaleRule(
        start_type="min", start_color=styles.SCALE_LOW,
        mid_type="percentile", mid_value=50, mid_color=styles.SCALE_MID,
        end_type="max", end_color=styles.SCALE_HIGH,
    )  # fmt: skip
    for header in ("Decontrol score", "Availability score", "Evidence strength"):
        ws.conditional_formatting.add(_col_range(cols, header, n), scale)
    # Security: high is a reason to keep the control, so high shows red.
    ws.conditional_formatting.add(
        _col_range(cols, "Security score", n),
        ColorScaleRule(start_type="min", start_color="FFFFFF", end_type="max", end_color="F8696B"),
    )
    tier_range = _col_range(cols, "Tier", n)
    for tier, colour in styles.TIER_COLOURS.items():
        ws.conditional_formatting.add(
            tier_range,
            CellIsRule(
                operator="equal",
                formula=[f'"{tier}"'],
                fill=PatternFill("solid", start_color=colour, end_color=colour, bgColor=colour),
            ),
        )
    ws.print_title_rows = "1:1"
    dic.add("Candidates", cols)
    return ws


# --------------------------------------------------------------------------- Evidence
EVIDENCE_SHEET_COLUMNS = [
    Column("ECCN", "eccn", "ECCN the evidence is for (its eCFR link is on the Candidates sheet).", "text", 9),
    Column("Paragraph", "paragraph", "Paragraph(s) of the ECCN the HS link is for (empty = whole entry).", "text", 12),
    Column("HS code", "hs_code", "HS code whose trade data is shown: the linked HS6, or its HS4 heading when no HS6 data exists.", "text", 9),
    Column("HS level", "hs_level", "6 = product-level data; 4 = heading-level data (weaker, covers more goods).", "int", 6),
    Column("Data revision", "hs_version_source", "HS revision the source published the code in (converted to HS2022 before any indicator).", "text", 9),
    Column("Link source", "link_source", "How the ECCN-HS link was made: curated, imported:<name>, suggested, inherited; or supply-side evidence.", "text", 16),
    Column("Link confidence", "link_confidence", "Confidence of the ECCN-HS link (0-1) from the link stage.", "num", 9),
    Column("Specificity", "specificity", "How much of the HS line the controlled item plausibly is (1 = dedicated subheading; low = whole heading).", "num", 9),
    Column("Weight share", "weight_share", "Share of the ECCN's indicators that come from this link (confidence x specificity, never trade value).", "pct", 8),
    Column("Used", "used", "yes, or no with the reason (unconfirmed suggestion, no trade data, HS line below the floor): from scoring's eccn_hs_indicators.parquet.", "text", 16),
    Column("Year", "year", "Year of the trade or evidence data (latest year available for the code).", "int", 6),
    Column("Supplier", "supplier", "Exporting (supplying) country, ISO 3166 alpha-3; the United States is excluded.", "text", 8),
    Column("Supplier rank", "supplier_rank", "Rank of the supplier for this code and year (1 = largest).", "int", 7),
    Column("Producer", "producer", "Firm and item named by supply-side evidence.", "text", 24),
    Column("Export value (USD)", "value_usd", "Supplier's exports of the code to the world in that year, U.S. dollars.", "usd", 14),
    Column("Share", "share", "Supplier's share of world exports of the code (trade rows) or of the market (supply-side rows).", "pct", 8),
    Column("Unit value ratio", "unit_value_ratio", "Supplier's unit value (USD per tonne) divided by the U.S. one: a crude comparable-quality proxy.", "num", 9),
    Column("Comparable quality", "comparable_quality", "Supply-side evidence: is the foreign item of comparable quality (yes / no / unknown).", "text", 10),
    Column("Data source", "data_source", "Source of the row (e.g. baci:V202601, comtrade, otstats, or the evidence source).", "text", 18),
    Column("Basis", "basis", "Which table the row comes from and what it can show.", "text", 34),
    Column("Source URL", "source_url", "Where the supply-side evidence was published.", "text", 30),
]  # fmt: skip


def write_evidence(
    wb: Workbook, df: pd.DataFrame, links: dict[str, str], dic: Dictionary, note: str | None
) -> WriteOnlyWorksheet:
    """Write the Evidence sheet: one row per ECCN x HS code x supplier."""
    ws = wb.create_sheet("Evidence")
    if note:
        _note_table(ws, EVIDENCE_SHEET_COLUMNS, note)
    else:
        write_table(ws, EVIDENCE_SHEET_COLUMNS, df, link_for=links.get, freeze="B2", pages_wide=2)
        ws.print_title_rows = "1:1"
    dic.add("Evidence", EVIDENCE_SHEET_COLUMNS)
    return ws


# --------------------------------------------------------------------------- simple tables
UNLINKED_COLUMNS = [
    Column("ECCN", "eccn", "ECCN without a confirmed HS link; links to its eCFR text.", "link", 9),
    Column("Heading", "heading", "Heading of the ECCN.", "text", 50),
    Column("Category", "category_label", "CCL category.", "text", 20),
    Column("Tier", "tier", "Tier from scoring (usually insufficient evidence without links).", "text", 13),
    Column("Reason", "reason", "Why no confirmed link exists (from the link stage): no link, unconfirmed links (suggestions only), or a software/technology reason.", "text", 30),
    Column("Best suggestions", "suggestions", "Suggested HS6 codes with similarity scores, for staff to confirm or reject (not evidence until confirmed in a data/raw/concordance CSV; link_suggestions.csv has their descriptions and the line to paste).", "text", 60),
    Column("Evidence preview", "evidence_preview", "What the first three suggestions would bring if confirmed: latest world exports, non-U.S. share, suppliers and top two suppliers from availability_hs (HS4 heading when the code has no HS6 data).", "text", 70),
]  # fmt: skip

GUARDRAIL_COLUMNS = [
    Column("Rank", "rank", "Rank from scoring.", "rank", 7),
    Column("ECCN", "eccn", "ECCN retained by a guardrail; links to its eCFR text.", "link", 9),
    Column("Heading", "heading", "Heading of the ECCN.", "text", 50),
    Column("Category", "category_label", "CCL category.", "text", 20),
    Column("Reasons for control", "reasons_text", "Reason-for-control codes.", "text", 14),
    Column("Tier", "tier", "Tier from scoring.", "text", 13),
    Column("Guardrail reason", "guardrail_reason", "The guardrail rule that retains the entry and why.", "text", 50),
    Column("Availability score", "availability_score", "Foreign-availability score (shown, but overridden by the guardrail).", "score", 11),
    Column("Security score", "security_score", "Security-relevance score.", "score", 11),
    *[c for c in DECISION_COLUMNS_SHOWN if c.key != "capped_by"],
]  # fmt: skip

SENSITIVITY_COLUMNS = [
    Column("Rank", "rank", "Rank with the configured weights.", "rank", 7),
    Column("ECCN", "eccn", "ECCN; links to its eCFR text.", "link", 9),
    Column("Heading", "heading", "Heading of the ECCN.", "text", 50),
    Column("Tier", "tier", "Tier from scoring.", "text", 13),
    Column("Median rank", "median_rank", "Median rank over the runs with links, data and weights perturbed.", "float", 8),
    Column("Rank P5", "rank_p05", "5th percentile of the rank over the runs.", "float", 8),
    Column("Rank P95", "rank_p95", "95th percentile of the rank over the runs.", "float", 8),
    Column("Interval width", "interval_width", "Rank P95 minus Rank P5: small = robust ranking.", "float", 8),
    Column("P(top 25)", "p_top25", "Share of runs (links, data and weights perturbed together) in which the ECCN ranks in the top 25.", "pct", 8),
    Column("P(candidate)", "p_candidate", "Share of runs (all perturbations) in which the ECCN is a candidate.", "pct", 8),
    Column("Moved most by", "moved_most_by", "Kind of perturbation with the widest rank interval: links (leave one out, confidences), data (year/source swap, supplier bootstrap) or weights.", "text", 10),
    Column("P(top 25), links", "p_top25_links", "P(top 25) when only the links are perturbed (one link left out, confidences drawn).", "pct", 8),
    Column("P(top 25), data", "p_top25_data", "P(top 25) when only the data are perturbed (other year or source, suppliers bootstrapped).", "pct", 8),
    Column("P(top 25), weights", "p_top25_weights", "P(top 25) when only the weights are perturbed.", "pct", 8),
    Column("Width, links", "width_links", "Rank P95 - P5 under link perturbation.", "float", 8),
    Column("Width, data", "width_data", "Rank P95 - P5 under data perturbation.", "float", 8),
    Column("Width, weights", "width_weights", "Rank P95 - P5 under weight perturbation.", "float", 8),
]  # fmt: skip

CHANGES_COLUMNS = [
    Column("Change", "change", "new ECCN, removed ECCN, removed ECCN (annotation kept), tier changed or rank changed.", "text", 26),
    Column("ECCN", "eccn", "ECCN concerned.", "text", 9),
    Column("Heading", "heading", "Heading (from the new list, or the previous workbook for removed ECCNs).", "text", 40),
    Column("Previous rank", "prev_rank", "Rank in the previous workbook.", "rank", 8),
    Column("New rank", "new_rank", "Rank in this workbook.", "rank", 8),
    Column("Rank change", "rank_change", "Previous rank minus new rank: positive = moved up.", "int", 8),
    Column("Previous tier", "prev_tier", "Tier in the previous workbook.", "text", 13),
    Column("New tier", "new_tier", "Tier in this workbook.", "text", 13),
    Column(PREV_DECISION_HEADER, "prev_decision", "Reviewer decision in the previous workbook.", "text", 16),
    Column(PREV_NOTES_HEADER, "prev_notes", "Reviewer notes in the previous workbook (never dropped: kept here if the ECCN is gone).", "wrap", 50),
    Column("Carried to", "carried_to", "Where the annotation is now: the Candidates sheet, or kept on this sheet.", "text", 30),
]  # fmt: skip


def write_simple(
    wb: Workbook,
    title: str,
    columns: Sequence[Column],
    df: pd.DataFrame | None,
    dic: Dictionary,
    *,
    links: dict[str, str] | None = None,
    score_fmt: str = "0.000",
    note: str | None = None,
    freeze: str = "A2",
) -> WriteOnlyWorksheet:
    """Write a plain table sheet, or its header and ``note`` when ``df`` is None/empty."""
    ws = wb.create_sheet(title)
    if df is None or (note and df.empty):
        _note_table(ws, columns, note or "(no data)")
    else:
        write_table(
            ws, columns, df, link_for=links.get if links else None, score_format=score_fmt, freeze=freeze
        )
    dic.add(title, columns)
    return ws


#: Descriptions of the columns of ``weights_comparison.csv`` (``cclreview compare-weights``).
KNOWN_SCENARIO_COLUMNS: dict[str, tuple[str, str]] = {
    "eccn": ("ECCN compared.", "text"),
    "rank_a": ("Rank under weighting A (the reference).", "rank"),
    "rank_b": ("Rank under weighting B (the alternative).", "rank"),
    "rank_change": ("rank_a - rank_b: positive = B ranks the ECCN higher.", "int"),
    "tier_a": ("Tier under weighting A.", "text"),
    "tier_b": ("Tier under weighting B.", "text"),
    "tier_changed": ("yes when the two weightings put the ECCN in different tiers.", "bool"),
    "decontrol_score_a": ("Decontrol score under weighting A.", "score"),
    "decontrol_score_b": ("Decontrol score under weighting B.", "score"),
}


def generic_columns(df: pd.DataFrame, source: str) -> list[Column]:
    """Columns for a table written by another stage (scenarios, comparisons), as it is."""
    cols = []
    for name in df.columns:
        if name in KNOWN_SCENARIO_COLUMNS:
            text, kind = KNOWN_SCENARIO_COLUMNS[name]
            cols.append(Column(str(name), str(name), f"{text} (from {source})", kind, 12))
            continue
        kind = "float" if pd.api.types.is_float_dtype(df[name]) else (
            "int" if pd.api.types.is_integer_dtype(df[name]) else "text")  # fmt: skip
        cols.append(
            Column(str(name), str(name), f"Column {name} of {source}, as the score stage wrote it.", kind, 14)
        )
    return cols


# --------------------------------------------------------------------------- Summary
class Block:
    """Row-by-row writer for free-layout sheets (Summary, Method)."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.ws = ws
        self.f = CellFactory(ws)
        self.row = 0

    def line(self, *values: Any, **style: Any) -> int:
        self.ws.append(self.f.row(values, **style) if values else [])
        self.row += 1
        return self.row

    def blank(self) -> None:
        self.line()

    def title(self, text: str) -> None:
        self.line(text, font=styles.TITLE_FONT)

    def section(self, text: str) -> None:
        self.blank()
        self.line(text, font=styles.SECTION_FONT)

    def label(self, label: str, *values: Any) -> None:
        cells = [self.f.cell(label, font=styles.LABEL_FONT)] + [self.f.cell(v) for v in values]
        self.ws.append(cells)
        self.row += 1

    def header(self, headers: Sequence[str]) -> int:
        self.ws.append(
            [
                self.f.cell(
                    h, font=styles.HEADER_FONT, fill=styles.HEADER_FILL, alignment=styles.HEADER_ALIGN
                )
                for h in headers
            ]
        )
        self.row += 1
        return self.row

    def cells(self, cells: list[Any]) -> int:
        self.ws.append(cells)
        self.row += 1
        return self.row


SUMMARY_INTRO = (
    "This workbook ranks every entry (ECCN) of the Commerce Control List by how strong the case is to "
    "decontrol it.",
    "A strong case means the item is widely available from non-U.S. sources (in fact, in quantity, of "
    "comparable quality) and its security relevance is low.",
    "Foundational controls (advanced computing, chip-making tools, WMD and munitions items) are held back by "
    "explicit guardrails whatever their availability.",
    "Trade data are upper bounds: an HS code covers many uncontrolled goods. Check the Evidence sheet and "
    "the evidence strength before relying on a score.",
    "The workbook formats what the scoring stage decided; it decides nothing. Reviewers record decisions "
    "and notes in the yellow columns of the Candidates sheet; they are kept when the workbook is rebuilt.",
)

TIER_MEANINGS: dict[str, str] = {
    "candidate": "strong foreign availability, modest security relevance: propose for decontrol",
    "review": "mixed evidence: staff review needed",
    "retain": "low availability or high security relevance: keep the control",
    "guardrail": "foundational control retained by an explicit guardrail rule",
    "insufficient evidence": "no usable availability evidence (often no HS link)",
    "not a foreign-availability case": "every control is one foreign availability cannot lift (crime control, "
    "short supply, sanctions, treaty), or a pointer entry with no licence requirement of its own",
}


@dataclass
class SummaryFacts:
    """Everything the Summary sheet states besides the tables."""

    run_date: str
    ccl_edition: str
    n_eccns: int
    trade_vintages: list[str]
    weights_line: str
    carry_line: str | None
    #: Lines shown in red under "This run" (e.g. no guardrails).
    warnings: list[str] = field(default_factory=list)


def write_summary(
    ws: WriteOnlyWorksheet,
    facts: SummaryFacts,
    cands: pd.DataFrame,
    links: dict[str, str],
    score_fmt: str,
    candidates_ws: WriteOnlyWorksheet,
    cand_cols: Sequence[Column],
    dic: Dictionary,
) -> None:
    """Write the Summary sheet (created first so that it opens first)."""
    set_widths(ws, [44, 11, 11, 11, 11, 11, 11, 11, 40, 26])
    page_setup(ws)
    b = Block(ws)
    b.title("CCL decontrol review: ranked candidates")
    for text in SUMMARY_INTRO:
        b.line(text)
    b.section("This run")
    b.label("Run date", facts.run_date)
    b.label("CCL edition (eCFR date)", facts.ccl_edition)
    b.label("ECCNs ranked", facts.n_eccns)
    for i, v in enumerate(facts.trade_vintages or ["(no trade data recorded)"]):
        b.label("Trade data vintages" if i == 0 else "", v)
    b.label("Weights", facts.weights_line)
    for text in facts.warnings:
        b.line(text, font=styles.WARNING_FONT)
    if facts.carry_line:
        b.label("Reviewer work", facts.carry_line)

    # Tier counts.
    b.section("ECCNs by tier")
    b.header(["Tier", "ECCNs", "Meaning"])
    counts = cands["tier"].fillna("(none)").value_counts()
    for tier in sorted(counts.index, key=styles.tier_sort_key):
        colour = styles.TIER_COLOURS.get(tier)
        fill = PatternFill("solid", start_color=colour, end_color=colour) if colour else None
        b.cells(
            [b.f.cell(tier, fill=fill), b.f.cell(int(counts[tier])), b.f.cell(TIER_MEANINGS.get(tier, ""))]
        )

    # Category x tier.
    tiers = sorted(counts.index, key=styles.tier_sort_key)
    b.section("ECCNs by category and tier")
    b.header(["Category", "Total", *tiers])
    table = cands.assign(tier=cands["tier"].fillna("(none)")).pivot_table(
        index="category_label", columns="tier", values="eccn", aggfunc="count", fill_value=0
    )
    for cat in sorted(table.index, key=lambda c: (len(c) == 0, c)):
        row = [int(table.at[cat, t]) if t in table.columns else 0 for t in tiers]
        b.cells([b.f.cell(cat or "(unknown)"), b.f.cell(sum(row))] + [b.f.cell(v) for v in row])

    # Evidence coverage by category and granularity.
    b.section("Evidence coverage (ECCNs with trade evidence, by granularity of the data scoring used)")
    b.header(["Category", "ECCNs", "With evidence", "HS6", "HS4", "No evidence"])
    gran = cands["granularity"] if "granularity" in cands.columns else pd.Series(None, index=cands.index)
    gran = gran.where(gran.isin(["HS6", "HS4"]))
    cov = pd.DataFrame({"cat": cands["category_label"], "gran": gran})
    totals = [0, 0, 0, 0, 0]
    for cat, grp in sorted(cov.groupby("cat"), key=lambda kv: (len(kv[0]) == 0, kv[0])):
        n6 = int((grp["gran"] == "HS6").sum())
        n4 = int((grp["gran"] == "HS4").sum())
        row = [len(grp), n6 + n4, n6, n4, len(grp) - n6 - n4]
        totals = [a + v for a, v in zip(totals, row, strict=True)]
        b.cells([b.f.cell(cat or "(unknown)")] + [b.f.cell(v) for v in row])
    b.cells(
        [b.f.cell("All categories", font=styles.LABEL_FONT)]
        + [b.f.cell(v, font=styles.LABEL_FONT) for v in totals]
    )

    # Top 20 candidates.
    top = cands[cands["tier"] == "candidate"].head(20)
    b.section("Top 20 candidates" if len(top) else "Top 20 by rank (no ECCN is in the candidate tier)")
    if top.empty:
        top = cands.head(20)
    top_head = ["ECCN", "Rank", "Decontrol score", "Availability score", "Security score", "Evidence strength",
                "China share", "Tier", "Heading", "Top non-U.S. sources"]  # fmt: skip
    first = b.header(top_head) + 1
    for rec in top.to_dict("records"):
        b.cells(
            [
                b.f.cell(rec["eccn"], font=styles.LINK_FONT, hyperlink=links.get(rec["eccn"])),
                b.f.cell(rec.get("rank"), number_format="0"),
                b.f.cell(rec.get("decontrol_score"), number_format=score_fmt),
                b.f.cell(rec.get("availability_score"), number_format=score_fmt),
                b.f.cell(rec.get("security_score"), number_format=score_fmt),
                b.f.cell(rec.get("evidence_strength"), number_format=score_fmt),
                b.f.cell(rec.get("china_share"), number_format="0.0%"),
                b.f.cell(rec.get("tier")),
                b.f.cell(rec.get("heading")),
                b.f.cell(rec.get("top_sources")),
            ]
        )
    last = b.row
    chart_row = last + 3
    if len(top):
        bar = BarChart()
        bar.type = "bar"
        bar.title = "Top candidates: decontrol score"
        bar.legend = None
        bar.add_data(Reference(ws, min_col=3, min_row=first - 1, max_row=last), titles_from_data=True)
        bar.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
        bar.x_axis.scaling.orientation = "maxMin"  # rank 1 at the top
        bar.x_axis.delete = False
        bar.y_axis.delete = False
        bar.height, bar.width = 12, 12  # tall enough to label all 20 bars
        ws.add_chart(bar, f"A{chart_row}")
    n = len(cands)
    if n:
        idx = {c.header: i + 1 for i, c in enumerate(cand_cols)}
        sc = ScatterChart()
        sc.title = "All ECCNs: availability (x) vs security (y)"
        sc.style = 13
        sc.x_axis.title = "Availability score"
        sc.y_axis.title = "Security score"
        sc.x_axis.delete = False
        sc.y_axis.delete = False
        xs = Reference(candidates_ws, min_col=idx["Availability score"], min_row=2, max_row=n + 1)
        ys = Reference(candidates_ws, min_col=idx["Security score"], min_row=2, max_row=n + 1)
        series = Series(ys, xs, title="ECCN")
        series.marker.symbol = "circle"
        series.marker.size = 5
        series.marker.graphicalProperties = GraphicalProperties(solidFill="2F5597")
        series.marker.graphicalProperties.line.solidFill = "2F5597"
        series.graphicalProperties.line.noFill = True  # points only
        sc.series.append(series)
        sc.legend = None
        sc.height, sc.width = 12, 14
        ws.add_chart(sc, f"E{chart_row}")
    dic.rows += [
        ("Summary", "ECCNs by tier", "Count of ECCNs per tier, with what the tier means.", "table"),
        ("Summary", "ECCNs by category and tier", "Count of ECCNs per CCL category and tier.", "table"),
        ("Summary", "Evidence coverage", "ECCNs per category with trade evidence at HS6 or only HS4 level (column granularity of scores).", "table"),
        ("Summary", "Top 20 candidates", "The 20 best-ranked ECCNs of the candidate tier (same columns as Candidates).", "table"),
        ("Summary", "Charts", "Bar chart of the top candidates' decontrol scores; scatter of availability vs security for all ECCNs.", "chart"),
    ]  # fmt: skip


# --------------------------------------------------------------------------- Method
METHOD_TEXT = (
    ("Availability score A", "Weighted mean of six sub-scores in [0, 1]: the four foreign-availability "
     "criteria of 15 CFR 768.6 (available-in-fact: effective number of non-U.S. suppliers, 1/HHI; non-U.S. source: "
     "non-U.S. share of world exports; sufficient quantity: non-U.S. supply relative to U.S. exports, "
     "discounted for concentration; comparable quality: unit value ratio non-U.S./U.S. or analyst quality "
     "flags), availability inside China, and supply from outside the regime that lists the item. Weights of "
     "[availability], renormalised over the sub-scores that have data. Each indicator is the mean over the "
     "ECCN's confirmed links weighted by link confidence x specificity (x the HS4 factor for heading data), "
     "never by trade value; text-similarity suggestions are not evidence until confirmed."),
    ("Security score S", "Each control of the entry (eccn_controls.parquet) weighs w x scope, w from "
     "[security.reasons] (its Country Chart column, else the reason's strictest column) and scope = floor + "
     "(1 - floor) x min(1, ln(1 + n) / ln(1 + full_destinations)) with n the destinations needing a licence "
     "under it ([security.scope]): a control naming one country weighs far less than a column covering 150. "
     "Terms combine by noisy-or over groups: one per reason family, ONE for all WMD reasons (NP, MT, CB, CW), "
     "one per flag (600 series, 9x515, military end-use list, unknown code). Adding a control never lowers S."),
    ("Evidence strength E", "Link confidence x specificity^e x coverage x factors for HS4-only data, bounded "
     "data, missing major exporters, data age (and data older than five years) and inherited links "
     "([evidence]); supply-side evidence sets a floor. Old data and missing exporters are named in the "
     "explanation."),
    ("Decontrol score", "A^availability_exponent x (1 - S)^security_exponent x (evidence_floor + (1 - "
     "evidence_floor) x E) x multilateral_factor when a regime lists the item ([decontrol])."),
    ("Tiers (first rule wins)", "guardrail: the ECCN matches a [[guardrails]] entry, whatever the scores, or "
     "is software/technology serving guardrailed hardware; not a foreign-availability case: every control is "
     "crime control (742.7), short supply (754), UN sanctions (746.1), surreptitious listening (742.13), "
     "firearms convention (742.17), CWC (742.18) or foreign-policy sanctions (746.8), or the entry is a "
     "pointer with no licence requirement of its own; insufficient evidence: no linked trade or supply-side "
     "data, or E below evidence.min_strength; retain: S >= tiers.retain_min_security or decontrol score < "
     "tiers.review_min_score; candidate: decontrol score >= tiers.candidate_min_score, with HS6-level trade "
     "or supply-side evidence (HS4 headings only: review); review: everything else. A software (D) or technology (E) entry never gets a better tier than the hardware it serves."),
    ("Ranking", "Scored entries (candidate, review, retain) first by decontrol score, then insufficient "
     "evidence, then guardrail, then not a foreign-availability case; ties broken by decontrol score, then "
     "ECCN. A D/E entry is ranked just after the hardware it serves when it would otherwise rank above it "
     "('Capped by' names the hardware)."),
    ("Route", "How each control could be lifted, by the rules of the regulation: NS on x0xx entries is "
     "Wassenaar (600 series, 9x515 and 0x5xx: the Wassenaar Munitions List), NS on x9xx a U.S. addition; NP "
     "column 1 the NSG, NP column 2 U.S.-only (742.3(a)(2)); MT the MTCR; CB the Australia Group; CW the "
     "CWC (a treaty); RS, AT, EI and SI have no regime (U.S. unilateral rule; 600-series/9x515 RS follows "
     "the Wassenaar Munitions List); CC, SS, UN, SL, FC and foreign-policy sanctions name their programme."),
    ("U.S. can act alone", "yes when every control's route is a U.S. rule or a U.S. programme; no when a "
     "regime list, a treaty or UN sanctions owns one, and for entries with no control of their own."),
    ("Legal basis", "The EAR section of each control: the section its text cites, else the reason's "
     "section (742.4 NS, 742.3(a)(1)/(a)(2) NP, 742.5 MT, 742.2 CB, 742.18 CW, 742.6 RS, 742.7 CC, 754 SS, "
     "746.1(b) UN, 742.13 SL, 742.17 FC, 742.15 EI, 742.14 SI, 746.8 FP)."),
    ("Licence destinations / China", "A Country Chart column needs a licence for the countries with an X in "
     "it (15 CFR 738 Supp. 1) plus the four embargoed destinations (Part 746); a control without a column "
     "covers the countries its text names ('to Iraq'), the Country Groups it names (740 Supp. 1), all "
     "destinations ('worldwide'), or the reason's default (AT: the embargoed destinations; EI, SI: all but "
     "Canada; FP: Russia and Belarus; UN: the rows pointing to 746.1(b)). 'Licence needed for China today' "
     "is yes when any control covers China."),
    ("MEU, Sensitive Lists, LVS/GBS/STA", "MEU: Supp. No. 2 to Part 744 (the military end-use/user rule of "
     "744.21 applies these items to China, Burma, Cambodia, Nicaragua and Venezuela); removing the entry "
     "from the CCL removes that requirement too. SL/VSL: the paragraphs on the Wassenaar Sensitive and Very "
     "Sensitive Lists (Supps. No. 6/7 to Part 774), which limit licence exceptions. LVS, GBS and STA: the "
     "entry's list-based licence exceptions as written."),
    ("Sensitivity", "Draws of each kind: links (one link left out, confidences drawn), data (another year or "
     "source of the HS line, suppliers bootstrapped), weights, and all together ([sensitivity]); per ECCN the "
     "probability of a top-25 place and of candidate, the rank interval, and the kind that moves it most."),
    ("Evidence sheet", "The links and indicator rows scoring used (eccn_hs_indicators.parquet): per link its "
     "share of the ECCN's weight, whether it counted and why not, and the HS code, level, revision and year "
     "of its data (all aligned to HS2022 first). Suppliers are the largest non-U.S. exporters of "
     "that code, year and source in exports.parquet (share = exports / world exports; unit value ratio = "
     "supplier USD per tonne / U.S. USD per tonne); without exports.parquet, the shares listed by "
     "availability_hs. Supply-side market shares from evidence.parquet follow."),
    ("eCFR links", "The whole CCL is one eCFR page (Supplement No. 1 to Part 774, the path the eCFR XML "
     "declares). Links carry a text fragment (#:~:text=ECCN first-word-of-heading) so that browsers that "
     "support it jump to the entry's header line; others open the top of the page (use Ctrl+F)."),
    ("This workbook", "Formats what the score stage decided and decides nothing: scores, tiers and ranks are "
     "copied from scores.parquet as written."),
)  # fmt: skip

LINK_SOURCE_MEANINGS: dict[str, str] = {
    "curated": "analyst-written link with a rationale (reference table of the project)",
    "imported": "from an external concordance (EU correlation table, China's dual-use catalogue)",
    "suggested": "text-similarity suggestion between CCL item text and HS descriptions",
    "inherited": "software/technology entry inheriting the HS codes of the commodities it supports",
}


def write_method(
    wb: Workbook,
    weights: dict[str, Any] | None,
    weights_note: str,
    link_sources: pd.DataFrame | None,
    method_text: Sequence[tuple[str, str]],
    dic: Dictionary,
) -> WriteOnlyWorksheet:
    """Write the Method sheet: formulas in words, every weight, link sources."""
    ws = wb.create_sheet("Method")
    set_widths(ws, [34, 100, 10, 10, 12])
    page_setup(ws)
    b = Block(ws)
    left = Alignment(horizontal="left", vertical="top")
    b.title("Method")
    b.section("How the scores are built")
    for label, text in method_text:
        b.cells(
            [
                b.f.cell(label, font=styles.LABEL_FONT, alignment=left),
                b.f.cell(text, alignment=styles.WRAP_ALIGN),
            ]
        )
    b.section("Weights used (every key of the weights file)")
    b.line(weights_note, font=styles.NOTE_FONT)
    b.header(["Weights key", "Value"])
    for key, value in (weights or {}).items():
        if isinstance(value, list | tuple):
            value = "; ".join(str(v) for v in value)
        elif not isinstance(value, bool | int | float | str) and value is not None:
            value = str(value)
        b.cells([b.f.cell(key), b.f.cell(value, alignment=left)])
    b.section("ECCN-HS link sources")
    b.header(["Link source", "Meaning", "Links", "ECCNs", "Mean confidence"])
    if link_sources is not None:
        for rec in link_sources.to_dict("records"):
            kind = str(rec["source"]).split(":", 1)[0]
            b.cells(
                [
                    b.f.cell(rec["source"]),
                    b.f.cell(LINK_SOURCE_MEANINGS.get(kind, "")),
                    b.f.cell(int(rec["links"])),
                    b.f.cell(int(rec["eccns"])),
                    b.f.cell(rec["mean_confidence"], number_format="0.00"),
                ]
            )
    else:
        b.line("(eccn_hs_links.parquet not found)", font=styles.NOTE_FONT)
    dic.rows += [
        ("Method", "Weights key", "Dotted key of the weights file (section.key).", "text"),
        ("Method", "Value", "Effective value of the weight used by scoring.", "value"),
        ("Method", "Link source", "Source of ECCN-HS links (curated, imported:<name>, suggested, inherited).", "text"),
        ("Method", "Links", "Number of ECCN-HS links from that source.", "int"),
        ("Method", "ECCNs", "Number of ECCNs with at least one link from that source.", "int"),
        ("Method", "Mean confidence", "Mean link confidence (0-1) of that source.", "float"),
        ("Method", "Meaning", "What the link source is.", "text"),
    ]  # fmt: skip
    return ws


SOURCES_COLUMNS = [
    Column("Kind", "kind", "Kind of input: ccl, trade, hs, evidence, ... (manifest), processed or config.", "text", 12),
    Column("File", "path", "Path of the file (raw files relative to data/raw).", "text", 44),
    Column("URL", "url", "Where the file was downloaded from.", "text", 50),
    Column("Vintage", "vintage", "Edition, release or year of the data.", "text", 14),
    Column("Retrieved", "retrieved", "When it was downloaded (UTC).", "text", 20),
    Column("Size (bytes)", "bytes", "File size in bytes.", "usd", 12),
    Column("Rows", "rows", "Rows read by the report (processed tables).", "usd", 9),
    Column("sha256", "sha256", "SHA-256 checksum of the file.", "text", 66),
    Column("Licence", "licence", "Licence or terms of use of the source.", "text", 24),
    Column("Note", "note", "Remarks from the manifest.", "text", 40),
]  # fmt: skip

DICTIONARY_COLUMNS = [
    Column("Sheet", "sheet", "Sheet of this workbook.", "text", 14),
    Column("Column", "column", "Column header (or table name on free-layout sheets).", "text", 28),
    Column("Description", "description", "What the column means.", "text", 90),
    Column("Format", "format", "Kind of value: text, link, rank, score, pct (percent), usd, int, float, ratio, bool (yes/no), reviewer.", "text", 10),
]  # fmt: skip


def write_dictionary(wb: Workbook, dic: Dictionary) -> WriteOnlyWorksheet:
    """Write the Data dictionary from everything the other writers recorded."""
    ws = wb.create_sheet("Data dictionary")
    dic.add("Data dictionary", DICTIONARY_COLUMNS)
    df = pd.DataFrame(dic.rows, columns=["sheet", "column", "description", "format"])
    write_table(ws, DICTIONARY_COLUMNS, df)
    return ws
