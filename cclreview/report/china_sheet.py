"""The "China licence relief" sheet (its columns and the China columns of the Candidates
sheet are the ``china_relief`` and ``china_candidates`` tables of ``columns.csv``).

The report formats what scoring decided (:mod:`cclreview.china`): the eligibility, the
relief score and rank, ``china_effect`` and the evidence behind them are all columns
of ``scores.parquet``.
"""

from __future__ import annotations

import pandas as pd
from xlsxwriter import Workbook

from cclreview.report.tables import Dictionary, columns, write_simple
from cclreview.report.xlsx import Formats, Sheet

SHEET = "China licence relief"


def relief_frame(cands: pd.DataFrame) -> pd.DataFrame:
    """The eligible entries, by relief rank."""
    if "china_relief_eligible" not in cands.columns:
        return cands.iloc[0:0]
    df = cands[cands["china_relief_eligible"].fillna(False).astype(bool)].copy()
    return df.sort_values("china_relief_rank", kind="stable").reset_index(drop=True)


def write_china_relief(
    wb: Workbook,
    formats: Formats,
    cands: pd.DataFrame,
    links: dict[str, str],
    score_fmt: str,
    dic: Dictionary,
) -> Sheet:
    """Write the "China licence relief" sheet (a note row when nothing is eligible)."""
    df = relief_frame(cands)
    if "china_relief_eligible" not in cands.columns:
        note = "(scores.parquet has no China columns: re-run `cclreview score`)"
    else:
        note = (
            "(no entry needs a licence for China today, is available inside China and outside the regime, "
            "and is not guardrailed; see china_relief_why_not in scores.parquet)"
        )
    return write_simple(
        wb, formats, SHEET, columns("china_relief"), df, dic, links=links, score_fmt=score_fmt, note=note
    )
