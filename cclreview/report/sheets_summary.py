"""Free-layout sheets: the row writer :class:`Block` and the Summary sheet with its charts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd
from xlsxwriter import Workbook

from cclreview.report import styles
from cclreview.report.tables import Column, Dictionary, columns
from cclreview.report.xlsx import Sheet

SHEET = "Summary"

#: Score columns of the top-20 table, after ECCN and Rank.
_TOP_SCORES = ("decontrol_score", "availability_score", "security_score", "evidence_strength")

#: Chart sizes in pixels (96 dpi): 12 x 12 cm and 14 x 12 cm.
_CM = 96 / 2.54


class Cell(NamedTuple):
    """A value of a free-layout row with its style and link target."""

    value: Any
    style: styles.Style | None = None
    link: str | None = None


class Block:
    """Row-by-row writer for free-layout sheets (Summary, Method)."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        #: 0-based index of the next row to write.
        self.row = 0

    def cells(self, items: Sequence[Cell | Any]) -> int:
        """Write one row (plain values or :class:`Cell`); return its 0-based index."""
        for col, item in enumerate(items):
            cell = item if isinstance(item, Cell) else Cell(item)
            self.sheet.put(self.row, col, cell.value, cell.style, cell.link)
        self.row += 1
        return self.row - 1

    def line(self, *values: Any, style: styles.Style | None = None) -> int:
        return self.cells([Cell(v, style) for v in values])

    def blank(self) -> None:
        self.row += 1

    def title(self, text: str) -> None:
        self.line(text, style=styles.TITLE_FONT)

    def section(self, text: str) -> None:
        self.blank()
        self.line(text, style=styles.SECTION_FONT)

    def label(self, label: str, *values: Any) -> None:
        self.cells([Cell(label, styles.LABEL_FONT), *values])

    def header(self, headers: Sequence[str]) -> int:
        return self.line(*headers, style=styles.HEADER)


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


def _by_category(cands: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Groups of ``cands`` by category label, sorted, the unnamed category last."""
    return sorted(cands.groupby("category_label"), key=lambda kv: (len(kv[0]) == 0, kv[0]))


def _tables(b: Block, cands: pd.DataFrame) -> None:
    """The tier, category x tier and evidence coverage tables."""
    b.section("ECCNs by tier")
    b.header(["Tier", "ECCNs", "Meaning"])
    tier = cands["tier"].fillna("(none)")
    counts = tier.value_counts()
    tiers = sorted(counts.index, key=styles.tier_sort_key)
    for t in tiers:
        colour = styles.TIER_COLOURS.get(t)
        b.cells([Cell(t, styles.fill(colour) if colour else None), int(counts[t]), TIER_MEANINGS.get(t, "")])

    b.section("ECCNs by category and tier")
    b.header(["Category", "Total", *tiers])
    for cat, grp in _by_category(cands.assign(tier=tier)):
        in_tier = grp["tier"].value_counts()
        row = [int(in_tier.get(t, 0)) for t in tiers]
        b.cells([cat or "(unknown)", sum(row), *row])

    b.section("Evidence coverage (ECCNs with trade evidence, by granularity of the data scoring used)")
    b.header(["Category", "ECCNs", "With evidence", "HS6", "HS4", "No evidence"])
    gran = cands["granularity"] if "granularity" in cands.columns else pd.Series(None, index=cands.index)
    cov = cands.assign(gran=gran.where(gran.isin(["HS6", "HS4"])))
    totals = [0, 0, 0, 0, 0]
    for cat, grp in _by_category(cov):
        n6 = int((grp["gran"] == "HS6").sum())
        n4 = int((grp["gran"] == "HS4").sum())
        row = [len(grp), n6 + n4, n6, n4, len(grp) - n6 - n4]
        totals = [a + v for a, v in zip(totals, row, strict=True)]
        b.cells([cat or "(unknown)", *row])
    b.line("All categories", *totals, style=styles.LABEL_FONT)


def write_summary(
    wb: Workbook,
    sheet: Sheet,
    facts: SummaryFacts,
    cands: pd.DataFrame,
    links: dict[str, str],
    score_fmt: str,
    cand_cols: Sequence[Column],
    dic: Dictionary,
) -> None:
    """Write the Summary sheet (created first so that it opens first, written last)."""
    sheet.set_widths([44, 11, 11, 11, 11, 11, 11, 11, 40, 26])
    sheet.page_setup()
    b = Block(sheet)
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
        b.line(text, style=styles.WARNING_FONT)
    if facts.carry_line:
        b.label("Reviewer work", facts.carry_line)
    _tables(b, cands)

    top = cands[cands["tier"] == "candidate"].head(20)
    b.section("Top 20 candidates" if len(top) else "Top 20 by rank (no ECCN is in the candidate tier)")
    if top.empty:
        top = cands.head(20)
    header_row = b.header(["ECCN", "Rank", "Decontrol score", "Availability score", "Security score",
                           "Evidence strength", "China share", "Tier", "Heading", "Top non-U.S. sources"])  # fmt: skip
    score = styles.number(score_fmt)
    for rec in top.to_dict("records"):
        b.cells(
            [
                Cell(rec["eccn"], styles.LINK_FONT, links.get(rec["eccn"])),
                Cell(rec.get("rank"), styles.number("0")),
                *(Cell(rec.get(k), score) for k in _TOP_SCORES),
                Cell(rec.get("china_share"), styles.number("0.0%")),
                rec.get("tier"),
                rec.get("heading"),
                rec.get("top_sources"),
            ]
        )
    _charts(wb, sheet, header_row, b.row - 1, len(top), len(cands), cand_cols, b.row + 2)
    dic.add(SHEET, columns("summary_dictionary"))


def _charts(
    wb: Workbook,
    sheet: Sheet,
    header_row: int,
    last_row: int,
    n_top: int,
    n_cands: int,
    cand_cols: Sequence[Column],
    chart_row: int,
) -> None:
    """Bar chart of the top candidates; scatter of availability vs security of all ECCNs."""
    if n_top:
        bar = wb.add_chart({"type": "bar"})
        bar.add_series(
            {
                "name": [SHEET, header_row, 2],
                "categories": [SHEET, header_row + 1, 0, last_row, 0],
                "values": [SHEET, header_row + 1, 2, last_row, 2],
            }
        )
        bar.set_title({"name": "Top candidates: decontrol score"})
        bar.set_legend({"none": True})
        bar.set_y_axis({"reverse": True})  # the category axis of a bar chart: rank 1 at the top
        bar.set_size({"width": round(12 * _CM), "height": round(12 * _CM)})  # room to label 20 bars
        sheet.ws.insert_chart(chart_row, 0, bar)
    if n_cands:
        idx = {c.header: i for i, c in enumerate(cand_cols)}
        x, y = idx["Availability score"], idx["Security score"]
        sc = wb.add_chart({"type": "scatter"})  # markers only
        sc.add_series(
            {
                "name": "ECCN",
                "categories": ["Candidates", 1, x, n_cands, x],
                "values": ["Candidates", 1, y, n_cands, y],
                "marker": {"type": "circle", "size": 5, "fill": {"color": "#2F5597"},
                           "border": {"color": "#2F5597"}},
            }
        )  # fmt: skip
        sc.set_title({"name": "All ECCNs: availability (x) vs security (y)"})
        sc.set_style(13)
        sc.set_x_axis({"name": "Availability score"})
        sc.set_y_axis({"name": "Security score"})
        sc.set_legend({"none": True})
        sc.set_size({"width": round(14 * _CM), "height": round(12 * _CM)})
        sheet.ws.insert_chart(chart_row, 4, sc)
