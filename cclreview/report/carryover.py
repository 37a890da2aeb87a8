"""Reviewer carry-over: read a previous workbook's ranks and annotations.

Reviewers type decisions and notes into the Candidates sheet. A rebuild must never
lose them: they are carried to the same ECCN in the new workbook, and an annotation
whose ECCN is gone is listed on the Changes sheet (and read back from there on the next
rebuild, so it survives any number of rebuilds, and returns if the ECCN comes back).
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import load_workbook

from cclreview.errors import InputError

log = logging.getLogger(__name__)

CANDIDATES_SHEET = "Candidates"
CHANGES_SHEET = "Changes"
DECISION_HEADER = "Reviewer decision"
NOTES_HEADER = "Reviewer notes"
#: Change label of a kept annotation for an ECCN that is no longer in the list.
ORPHAN_LABEL = "removed ECCN (annotation kept)"
#: Headers of the Changes sheet that hold a previous annotation.
PREV_DECISION_HEADER = "Previous reviewer decision"
PREV_NOTES_HEADER = "Previous reviewer notes"


@dataclass
class PreviousWorkbook:
    """What a previous workbook holds that the new one needs.

    Attributes
    ----------
    path
        The workbook read.
    ranks
        ``eccn, rank, tier, heading`` of its Candidates sheet.
    annotations
        ``eccn, decision, notes, origin`` ("Candidates" or "Changes"), one row per
        ECCN that has a non-empty decision or note.
    """

    path: Path
    ranks: pd.DataFrame
    annotations: pd.DataFrame


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _note(value: Any) -> str:
    """A reviewer's text as typed (leading/trailing spaces and line breaks kept); "" if blank."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return text if text.strip() else ""


def _eccn(value: Any) -> str:
    """The ECCN of a cell, its five-character core upper-cased ("3a090" -> "3A090").

    Reviewers may retype an ECCN in lower case; the note must stay with it. Suffixes
    such as ``.c`` keep their case.
    """
    text = _text(value)
    return text[:5].upper() + text[5:]


def _sheet_rows(ws: Any) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    index = {_text(h): i for i, h in enumerate(header) if _text(h)}
    return index, [r for r in rows if any(v is not None and _text(v) for v in r)]


def _get(row: tuple[Any, ...], index: dict[str, int], name: str) -> Any:
    i = index.get(name)
    return row[i] if i is not None and i < len(row) else None


def read_previous(path: str | Path) -> PreviousWorkbook:
    """Read ranks, tiers and reviewer annotations from a previous workbook.

    Parameters
    ----------
    path
        A workbook written by ``cclreview report`` (possibly edited by reviewers).

    Raises
    ------
    InputError
        The file is missing, not an xlsx workbook, or has no Candidates sheet with
        ECCN / Reviewer decision / Reviewer notes columns.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"previous workbook {path} not found; check --previous")
    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, SyntaxError) as exc:
        raise InputError(
            f"previous workbook {path} cannot be read as .xlsx ({exc}); "
            "pass a workbook written by `cclreview report`"
        ) from exc
    try:
        rank_rows, notes_rows = _read_rows(wb, path)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(
            f"previous workbook {path} cannot be read: its sheet data is malformed "
            f"({type(exc).__name__}: {str(exc)[:120]}); open and re-save it in a spreadsheet program, "
            "or pass another --previous (reports/history/ keeps earlier copies)"
        ) from exc
    finally:
        wb.close()
    ranks = pd.DataFrame(rank_rows, columns=["eccn", "rank", "tier", "heading"])
    ranks = ranks.drop_duplicates("eccn", keep="first").reset_index(drop=True)
    annotations = merge_annotations(pd.DataFrame(notes_rows, columns=["eccn", "decision", "notes", "origin"]))
    log.info("previous workbook %s: %d ECCNs, %d annotations", path, len(ranks), len(annotations))
    return PreviousWorkbook(path=path, ranks=ranks, annotations=annotations)


def _read_rows(wb: Any, path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rank rows and annotation rows of the Candidates (and Changes) sheets."""
    if CANDIDATES_SHEET not in wb.sheetnames:
        raise InputError(
            f"previous workbook {path} has no '{CANDIDATES_SHEET}' sheet (sheets: "
            f"{', '.join(wb.sheetnames)}); pass a workbook written by `cclreview report`"
        )
    index, rows = _sheet_rows(wb[CANDIDATES_SHEET])
    need = ["ECCN", DECISION_HEADER, NOTES_HEADER]
    missing = [h for h in need if h not in index]
    if missing:
        raise InputError(
            f"previous workbook {path}, sheet '{CANDIDATES_SHEET}', row 1 lacks header(s) "
            f"{', '.join(missing)}; restore the header row (reviewers may add columns, not rename them)"
        )
    rank_rows = []
    notes_rows = []
    for row in rows:
        eccn = _eccn(_get(row, index, "ECCN"))
        if not eccn:
            continue
        rank = _get(row, index, "Rank")
        rank_rows.append(
            {
                "eccn": eccn,
                "rank": rank if isinstance(rank, int | float) else None,
                "tier": _text(_get(row, index, "Tier")),
                "heading": _text(_get(row, index, "Heading")),
            }
        )
        decision = _text(_get(row, index, DECISION_HEADER))
        notes = _note(_get(row, index, NOTES_HEADER))
        if decision or notes:
            notes_rows.append(
                {"eccn": eccn, "decision": decision, "notes": notes, "origin": CANDIDATES_SHEET}
            )
    if CHANGES_SHEET in wb.sheetnames:
        # Annotations kept for removed ECCNs in an earlier rebuild must survive this one.
        c_index, c_rows = _sheet_rows(wb[CHANGES_SHEET])
        for row in c_rows:
            if _text(_get(row, c_index, "Change")) != ORPHAN_LABEL:
                continue
            eccn = _eccn(_get(row, c_index, "ECCN"))
            decision = _text(_get(row, c_index, PREV_DECISION_HEADER))
            notes = _note(_get(row, c_index, PREV_NOTES_HEADER))
            if eccn and (decision or notes):
                notes_rows.append(
                    {"eccn": eccn, "decision": decision, "notes": notes, "origin": CHANGES_SHEET}
                )
    return rank_rows, notes_rows


def _join_unique(values: list[str]) -> str:
    seen: list[str] = []
    for v in values:
        if v and v not in seen:
            seen.append(v)
    return " | ".join(seen)


def merge_annotations(annotations: pd.DataFrame) -> pd.DataFrame:
    """Collapse several annotations of one ECCN into one row, losing no text.

    The Candidates annotation comes first; differing decisions or notes from other
    rows are appended with `` | `` rather than dropped.
    """
    if annotations.empty:
        return annotations.reset_index(drop=True)
    order = {CANDIDATES_SHEET: 0, CHANGES_SHEET: 1}
    df = annotations.assign(_o=annotations["origin"].map(order).fillna(2))
    df = df.sort_values(["eccn", "_o"], kind="stable")
    merged = (
        df.groupby("eccn", sort=True)
        .agg(
            decision=("decision", lambda s: _join_unique(list(s))),
            notes=("notes", lambda s: _join_unique(list(s))),
            origin=("origin", "first"),
        )
        .reset_index()
    )
    return merged
