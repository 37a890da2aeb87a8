"""The "China licence relief" sheet and the China columns of the Candidates sheet.

The report formats what scoring decided (:mod:`cclreview.china`): the eligibility, the
relief score and rank, ``china_effect`` and the evidence behind them are all columns
of ``scores.parquet``.
"""

from __future__ import annotations

import pandas as pd
from openpyxl.workbook import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from cclreview.report.writer import Column

SHEET = "China licence relief"

_STAKE_CAVEAT = "An HS line is broader than the controlled item: an upper bound, weighted by link confidence x specificity."


def china_candidate_columns() -> list[Column]:
    """China columns appended to the Candidates sheet (before the reviewer columns)."""
    return [
        Column("Available inside China", "inside_china_filter", "Filter: yes when the available-inside-China score reaches [china_relief] min_inside_china, no below it, no data without evidence.", "text", 10),
        Column("Available inside China score", "available_inside_china", "Availability inside China in [0, 1]: China's share of world exports and rank among exporters, or Chinese producers named in supply-side evidence (cclreview/china/eccn.py).", "score", 10),
        Column("China effect", "china_effect", "What removing the entry from the CCL would change for China (Country Chart columns covering China; 744 Supp. 2 military end-use/user rule).", "text", 40),
        Column("China rank", "china_rank_of", "China's rank among exporters of the heaviest link (code, granularity, year).", "text", 18),
        Column("China trend", "china_trend", "Change of China's share of world exports over the years available (same source).", "text", 18),
        Column("China's imports (USD)", "china_imports_usd", f"China's imports of the linked HS lines, latest year. {_STAKE_CAVEAT}", "usd", 14),
        Column("U.S. share of China's imports", "us_share_china_imports", "U.S. share of China's imports of the linked HS lines (bilateral data only).", "pct", 9),
        Column("U.S. share of world exports", "us_share_world", "U.S. share of world exports of the linked HS lines: the gap to its share of China's imports is the market the control hands to others.", "pct", 9),
        Column("Stake basis", "stake_basis", "bilateral (China's imports by supplier) or world exports only (no bilateral table: U.S. exports to the world).", "text", 12),
        Column("Diversion flags", "diversion_flags", "Linked HS6 codes on the Common High Priority List or the Part 746 HS lists (Russia/Belarus): a decontrol would not lift those controls.", "text", 28),
        Column("China relief rank", "china_relief_rank", "Rank on the China licence relief sheet (empty when not eligible).", "rank", 8),
    ]  # fmt: skip


RELIEF_COLUMNS: list[Column] = [
    Column("Relief rank", "china_relief_rank", "Rank by the China relief score (1 = largest relief at least security cost).", "rank", 7),
    Column("ECCN", "eccn", "Export Control Classification Number; links to its text on the eCFR.", "link", 9),
    Column("Heading", "heading", "Heading of the ECCN.", "text", 40),
    Column("Reasons for control", "reasons_text", "Reason-for-control codes of the entry.", "text", 12),
    Column("Route", "route", "How each control could be lifted (U.S. rule, regime proposal, programme).", "text", 30),
    Column("China effect", "china_effect", "What removing the entry would change for China.", "text", 42),
    Column("Relief score", "china_relief_score", "Documented score: weights [china_relief] in config/weights.toml (availability inside China, outside the regime, 1 - security, commercial stake).", "score", 9),
    Column("Available inside China", "available_inside_china", "Availability inside China in [0, 1].", "score", 9),
    Column("China evidence strength", "china_evidence_strength", "Strength of the evidence behind it (link confidence x specificity, HS4 vs HS6, age; supply-side evidence).", "score", 9),
    Column("China share of world exports", "china_share", "Weighted by link confidence x specificity.", "pct", 9),
    Column("China rank", "china_rank_of", "China's rank among exporters of the heaviest link.", "text", 18),
    Column("China trend", "china_trend", "Change of China's share over the years available.", "text", 18),
    Column("Chinese producers", "chinese_producers", "Chinese producers named in supply-side evidence.", "text", 22),
    Column("Outside regime and China", "outside_china_regime_share", "Share of non-U.S. exports from countries outside the entry's regime(s), China excluded.", "pct", 9),
    Column("Security score", "security_score", "Security relevance from scoring.", "score", 9),
    Column("Tier", "tier", "Tier from scoring.", "text", 11),
    Column("Decontrol rank", "rank", "Rank on the Candidates sheet.", "rank", 8),
    Column("China's imports (USD)", "china_imports_usd", f"China's imports of the linked HS lines, latest year. {_STAKE_CAVEAT}", "usd", 14),
    Column("U.S. share of China's imports", "us_share_china_imports", "U.S. share of China's imports (bilateral data only).", "pct", 9),
    Column("U.S. share of world exports", "us_share_world", "U.S. share of world exports of the linked lines.", "pct", 9),
    Column("U.S. exports (USD)", "us_exports_usd", f"U.S. exports of the linked lines (to every importer). {_STAKE_CAVEAT}", "usd", 14),
    Column("Top suppliers to China", "top_suppliers_to_china", "Largest suppliers of China's imports of the linked lines.", "text", 26),
    Column("Stake basis", "stake_basis", "bilateral, or world exports only (fallback).", "text", 12),
    Column("Stake year", "stake_year", "Year of the bilateral/U.S. data.", "int", 7),
    Column("Diversion flags", "diversion_flags", "Linked HS6 codes on the Common High Priority List or Part 746 lists.", "text", 28),
    Column("MEU paragraphs", "meu_paragraphs", "Paragraphs on 744 Supp. 2 (military end-use/user rule).", "text", 16),
    Column("Evidence behind", "china_basis", "HS code, granularity, year, source and weight of the heaviest links.", "text", 40),
]  # fmt: skip


def relief_frame(cands: pd.DataFrame) -> pd.DataFrame:
    """The eligible entries, by relief rank."""
    if "china_relief_eligible" not in cands.columns:
        return cands.iloc[0:0]
    df = cands[cands["china_relief_eligible"].fillna(False).astype(bool)].copy()
    return df.sort_values("china_relief_rank", kind="stable").reset_index(drop=True)


def write_china_relief(
    wb: Workbook, cands: pd.DataFrame, links: dict[str, str], score_fmt: str, dic: object
) -> WriteOnlyWorksheet:
    """Write the "China licence relief" sheet (a note row when nothing is eligible)."""
    from cclreview.report.sheets import write_simple

    df = relief_frame(cands)
    if "china_relief_eligible" not in cands.columns:
        note = "(scores.parquet has no China columns: re-run `cclreview score`)"
    else:
        note = (
            "(no entry needs a licence for China today, is available inside China and outside the regime, "
            "and is not guardrailed; see china_relief_why_not in scores.parquet)"
        )
    return write_simple(wb, SHEET, RELIEF_COLUMNS, df, dic, links=links, score_fmt=score_fmt, note=note)  # type: ignore[arg-type]
