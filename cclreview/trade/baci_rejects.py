"""Rejected BACI rows: DuckDB's reject table, and the lines of rows the query found invalid."""

from __future__ import annotations

import csv
import gzip
import io
import logging
import math
from pathlib import Path

import duckdb
import pandas as pd

from cclreview.errors import InputError
from cclreview.trade.baci_sql import BACI_COLUMNS, MAX_V
from cclreview.trade.tidy import MAX_QTY_T, MAX_VALUE_USD, REJECT_COLUMNS, empty_rejected

log = logging.getLogger(__name__)


def damaged(file: str, error: BaseException) -> InputError:
    return InputError(
        f"{file}: the archive member is truncated or corrupt ({type(error).__name__}: "
        f"{str(error)[:120]}); re-download the BACI release"
    )


_REJECT_REASON = {
    "CAST": "non-numeric {col}",
    "MISSING COLUMNS": "missing columns",
    "TOO MANY COLUMNS": "too many columns",
    "UNQUOTED VALUE": "badly quoted value",
    "LINE SIZE OVER MAXIMUM": "line too long",
    "INVALID UNICODE": "invalid UTF-8",
}


def parse_rejects(con: duckdb.DuckDBPyConnection, file: str) -> pd.DataFrame:
    """DuckDB's reject table -> rejected rows (one per line: its first error)."""
    df = con.execute(
        "SELECT line, column_name, error_type::VARCHAR AS error_type, csv_line, error_message "
        "FROM rej_errors ORDER BY line, column_idx"
    ).df()
    if df.empty:
        return empty_rejected()
    df = df.drop_duplicates("line", keep="first")
    col = df["column_name"].fillna("").astype(str)
    raw = df["csv_line"].fillna("").astype(str).str.strip()
    reason = [
        _REJECT_REASON.get(t, t.lower()).format(col={"v": "value", "q": "quantity"}.get(c, f"code {c}"))
        for t, c in zip(df["error_type"], col, strict=True)
    ]
    value = [_cell(r, c) if t == "CAST" else "" for r, c, t in zip(raw, col, df["error_type"], strict=True)]
    return pd.DataFrame(
        {
            "file": file,
            "line": df["line"].astype("int64").to_numpy(),
            "column": col.to_numpy(),
            "value": value,
            "reason": reason,
            "raw": raw.str.slice(0, 200).to_numpy(),
        }
    )


def _cell(raw: str, column: str) -> str:
    try:
        cells = next(csv.reader([raw]))
        return cells[BACI_COLUMNS.index(column)][:80]
    except (StopIteration, ValueError, IndexError, csv.Error):
        return ""


def _row_problem(cells: list[str]) -> tuple[str, str] | None:
    """Why a parsed row is invalid, as (column, reason); None when it is valid or when
    DuckDB's reader rejects it itself (those are in its reject table)."""
    try:
        t, i, j, k = (int(c.strip()) for c in cells[:4])
        v = float(cells[4]) if cells[4].strip() else None
    except ValueError:
        return None
    q_text = cells[5].strip()
    if v is None:
        return "v", "empty value"
    if math.isinf(v):
        return "v", "infinite value"
    if math.isnan(v):
        return "v", "non-numeric value"
    if v < 0:
        return "v", "negative value"
    if v > MAX_V:
        return "v", f"value above {MAX_VALUE_USD:.0e} USD (absurd)"
    if not (0 <= i <= 999 and 0 <= j <= 999 and 0 <= k <= 999_999):
        return "i" if not 0 <= i <= 999 else (
            "j" if not 0 <= j <= 999 else "k"
        ), "country or product code out of range"
    if q_text not in ("", "NA"):
        try:
            q = float(q_text)
        except ValueError:
            return "q", "non-numeric quantity"
        if math.isnan(q) or math.isinf(q):
            return "q", "non-numeric quantity"
        if q < 0:
            return "q", "negative quantity"
        if q > MAX_QTY_T:
            return "q", f"quantity above {MAX_QTY_T:.0e} t (absurd)"
    del t
    return None


def locate_invalid(path: Path, file: str, delim: str, expected: int) -> pd.DataFrame:
    """The lines of the rows the query counted as invalid (plain Python; rare)."""
    rows = []
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text, delimiter=delim)
        next(reader, None)
        for cells in reader:
            if len(cells) != len(BACI_COLUMNS):
                continue
            problem = _row_problem(cells)
            if problem:
                col, reason = problem
                raw = delim.join(cells)
                rows.append(
                    (
                        file,
                        reader.line_num,
                        col,
                        cells[BACI_COLUMNS.index(col)].strip()[:80],
                        reason,
                        raw[:200],
                    )
                )
    if len(rows) != expected:
        log.warning("%s: %d invalid rows counted, %d located", file, expected, len(rows))
    return pd.DataFrame(rows, columns=REJECT_COLUMNS)
