"""Build the review workbook: read inputs, carry reviewer work over, write atomically.

The workbook is written with xlsxwriter (:mod:`cclreview.report.xlsx`) into a temp file
beside the target, which replaces the target only when every sheet is written.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from xlsxwriter import Workbook

from cclreview.errors import CCLReviewError, InputError, OutputError
from cclreview.io import atomic_path
from cclreview.progress import progress
from cclreview.report import frames, provenance, sheets_candidates, sheets_method, tables
from cclreview.report.carryover import PreviousWorkbook, read_previous
from cclreview.report.china_sheet import write_china_relief
from cclreview.report.ecfr import ecfr_url
from cclreview.report.history import (
    HISTORY_KEEP,
    Fingerprint,
    backup_workbook,
    changed_since,
    check_target_writable,
    fingerprint,
)
from cclreview.report.inputs import ReportInputs, load_inputs
from cclreview.report.sheets_summary import SummaryFacts, write_summary
from cclreview.report.xlsx import Formats, Sheet, close_workbook, open_workbook

__all__ = ["HISTORY_KEEP", "ReportResult", "backup_workbook", "build_report", "resolve_run_date"]

log = logging.getLogger(__name__)

#: Environment variable with a Unix time that fixes the run date (reproducible builds).
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"

#: Rebuilds tried when reviewers keep saving the workbook while it is being rebuilt.
MAX_MERGE_ATTEMPTS = 3


class _SavedMeanwhileError(Exception):
    """The workbook on disk changed while the new one was built (internal)."""


@dataclass
class ReportResult:
    """What :func:`build_report` wrote."""

    path: Path
    sheets: list[str]
    n_eccns: int
    n_evidence_rows: int
    n_annotations_carried: int
    n_annotations_orphaned: int
    previous: Path | None


def resolve_run_date(run_date: dt.date | str | None = None) -> dt.date:
    """Return the run date: explicit, else ``$SOURCE_DATE_EPOCH``, else today (UTC).

    Raises
    ------
    InputError
        The date or the epoch cannot be parsed.
    """
    if isinstance(run_date, dt.datetime):
        return run_date.date()
    if isinstance(run_date, dt.date):
        return run_date
    if isinstance(run_date, str) and run_date:
        try:
            return dt.date.fromisoformat(run_date)
        except ValueError as exc:
            raise InputError(f"run date {run_date!r} is not YYYY-MM-DD; fix --run-date") from exc
    epoch = os.environ.get(SOURCE_DATE_EPOCH)
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
        except ValueError as exc:
            raise InputError(f"{SOURCE_DATE_EPOCH}={epoch!r} is not a Unix time; unset or fix it") from exc
    return dt.datetime.now(tz=dt.UTC).date()


def build_report(
    processed: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    weights: str | os.PathLike[str] | None = None,
    manifest: str | os.PathLike[str] | None = None,
    previous: str | os.PathLike[str] | None = None,
    carry_from_existing: bool = True,
    run_date: dt.date | str | None = None,
    max_suppliers: int = 10,
    max_links: int = 5,
    keep_history: int = HISTORY_KEEP,
) -> ReportResult:
    """Write the review workbook.

    The workbook a reviewer works in is never lost: the old one is kept in
    ``history/`` beside ``out`` (the last ``keep_history``), and just before the new
    one replaces it the file on disk is checked again. If a reviewer saved it
    meanwhile, the report is rebuilt from the saved notes (up to
    :data:`MAX_MERGE_ATTEMPTS` times); with ``--previous``/``--fresh``, or when saves
    keep coming, the run stops and keeps both files.

    Parameters
    ----------
    processed
        Folder with the stage outputs (``scores.parquet``, ``ccl_entries.parquet``, ...).
    out
        Workbook to write (``.xlsx``); replaced atomically.
    weights
        Weights TOML used by scoring (Method sheet).
    manifest
        ``data/raw/MANIFEST.json`` (Sources sheet, trade vintages).
    previous
        A previous workbook whose reviewer decisions and notes are carried over and
        against which changes are listed.
    carry_from_existing
        When ``previous`` is None and ``out`` already exists, use it as the previous
        workbook so that a plain rebuild never loses reviewer work.
    run_date
        Date printed as the run date; default ``$SOURCE_DATE_EPOCH`` or today (UTC).
    max_suppliers
        Non-U.S. suppliers listed per ECCN x HS code on the Evidence sheet.
    max_links
        Best HS links per ECCN shown on the Evidence sheet (0 = all).
    keep_history
        Dated backups of the replaced workbook kept in ``history/`` (0 = none).

    Returns
    -------
    ReportResult

    Raises
    ------
    InputError
        Missing/invalid processed tables or an unreadable previous workbook.
    OutputError
        The target is open, read-only or in a read-only folder, or was saved by someone
        else during the build and could not be merged.
    """
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise OutputError(f"--out {out} must end in .xlsx")
    date = resolve_run_date(run_date)
    check_target_writable(out)
    merging = previous is None and carry_from_existing
    for attempt in range(1, MAX_MERGE_ATTEMPTS + 1):
        seen = fingerprint(out)
        prev = _read_prev(out, previous, carry_from_existing)

        def before_replace(tmp: Path, seen: Fingerprint | None = seen, attempt: int = attempt) -> None:
            # Runs with SIGINT/SIGTERM/SIGHUP held, just before the rename.
            if changed_since(out, seen):
                if merging and attempt < MAX_MERGE_ATTEMPTS:
                    raise _SavedMeanwhileError
                side = out.with_name(
                    f"{out.stem}.new-{dt.datetime.now(tz=dt.UTC):%Y-%m-%dT%H%M%SZ}{out.suffix}"
                )
                tmp.replace(side)
                raise OutputError(
                    f"{out} was saved by someone else while the report was built; it is left as it is and "
                    f"the new workbook is {side.name}: "
                    + (
                        "close the workbook and run again"
                        if merging
                        else "merge by hand, or run again without --previous/--fresh to carry the notes over"
                    )
                )
            try:
                backup_workbook(out, keep_history)
            except OSError as exc:  # the new workbook carries every note; the copy is a bonus
                log.warning("no backup of %s kept in history/: %s", out, exc)

        try:
            return _build(
                out, date, prev, processed, weights, manifest, max_suppliers, max_links, before_replace
            )
        except _SavedMeanwhileError:
            log.warning(
                "%s was saved meanwhile: rebuilding to merge the new notes (attempt %d)", out, attempt + 1
            )
    raise AssertionError("unreachable")  # pragma: no cover - the last attempt raises or returns


def _read_prev(
    out: Path, previous: str | os.PathLike[str] | None, carry_from_existing: bool
) -> PreviousWorkbook | None:
    if previous is not None:
        return read_previous(Path(previous))
    if carry_from_existing and out.exists():
        try:
            prev = read_previous(out)
        except CCLReviewError as exc:
            raise InputError(
                f"{out} exists but its reviewer annotations cannot be read ({exc}); "
                "move it away, or pass --fresh to overwrite it"
            ) from exc
        log.info("carrying reviewer work over from the existing %s", out)
        return prev
    return None


def _build(
    out: Path,
    date: dt.date,
    prev: PreviousWorkbook | None,
    processed: str | os.PathLike[str],
    weights: str | os.PathLike[str] | None,
    manifest: str | os.PathLike[str] | None,
    max_suppliers: int,
    max_links: int,
    before_replace: Callable[[Path], None],
) -> ReportResult:
    inputs = load_inputs(
        Path(processed),
        Path(weights) if weights is not None else None,
        Path(manifest) if manifest is not None else None,
    )
    annotations = prev.annotations if prev is not None else None
    cands = frames.candidates_frame(inputs, annotations)
    evidence = frames.evidence_frame(inputs, max_suppliers=max_suppliers, max_links=max_links)
    changes = frames.changes_frame(cands, prev)
    n_carried = int((cands["reviewer_decision"].notna() | cands["reviewer_notes"].notna()).sum())
    n_orphaned = int((changes["change"] == "removed ECCN (annotation kept)").sum())
    content = _Content(
        inputs, cands, evidence, changes, prev, (max_suppliers, max_links), n_carried, n_orphaned, date
    )
    # xlsxwriter's own temp files go to a folder removed whatever happens.
    with (
        tempfile.TemporaryDirectory(prefix="cclreview-xlsx-") as scratch,
        atomic_path(out, before_replace=before_replace) as tmp,
    ):
        wb = open_workbook(tmp, date, Path(scratch))
        names = _write_sheets(wb, content)
        close_workbook(wb)
    log.info("wrote %s (%d ECCNs, %d evidence rows)", out, len(cands), len(evidence))
    return ReportResult(
        path=out,
        sheets=names,
        n_eccns=len(cands),
        n_evidence_rows=len(evidence),
        n_annotations_carried=n_carried,
        n_annotations_orphaned=n_orphaned,
        previous=prev.path if prev is not None else None,
    )


@dataclass
class _Content:
    """What the sheets show, computed before any sheet is written."""

    inputs: ReportInputs
    cands: pd.DataFrame
    evidence: pd.DataFrame
    changes: pd.DataFrame
    prev: PreviousWorkbook | None
    limits: tuple[int, int]  # (max_suppliers, max_links)
    n_carried: int
    n_orphaned: int
    date: dt.date
    #: eCFR link of each ECCN.
    links: dict[str, str] = field(init=False)
    #: Number format of the score columns.
    score_fmt: str = field(init=False)
    #: Whether the Sensitivity sheet (and columns) are written.
    has_sens: bool = field(init=False)

    def __post_init__(self) -> None:
        headings = dict(zip(self.cands["eccn"], self.cands["heading"], strict=True))
        self.links = {e: ecfr_url(e, h if isinstance(h, str) else None) for e, h in headings.items()}
        self.score_fmt = frames.score_format(self.cands["decontrol_score"])
        sens = self.inputs.sensitivity
        self.has_sens = sens is not None and len(sens) > 0

    def missing_note(self, what: str) -> str:
        return f"({what} not found in {provenance.shown_path(self.inputs.processed_dir)})"

    def facts(self) -> SummaryFacts:
        carry_line = None
        if self.prev is not None:
            carry_line = (
                f"{self.n_carried} reviewer annotations carried over from {self.prev.path.name}; "
                f"{self.n_orphaned} kept on the Changes sheet for ECCNs no longer listed"
            )
        return SummaryFacts(
            run_date=self.date.isoformat(),
            ccl_edition=provenance.ccl_edition(self.inputs),
            n_eccns=len(self.cands),
            trade_vintages=provenance.trade_vintages(self.inputs),
            weights_line=provenance.weights_line(self.inputs)[0],
            carry_line=carry_line,
            warnings=provenance.weights_warnings(self.inputs),
        )

    def method_text(self) -> list[tuple[str, str]]:
        max_suppliers, max_links = self.limits
        return [
            *sheets_method.METHOD_TEXT,
            (
                "Evidence sheet limits",
                f"Shows the best {max_links or 'all'} HS links of each ECCN (by link rank, then confidence) "
                f"and the {max_suppliers} largest non-U.S. suppliers of each; every link is in "
                "eccn_hs_links.parquet and the Method table below counts them all.",
            ),
        ]


def _write_sheets(wb: Workbook, c: _Content) -> list[str]:
    """Write every sheet in order (the Summary last, it charts the Candidates); return their names."""
    formats = Formats(wb)
    dic = tables.Dictionary()
    summary = Sheet(wb, formats, "Summary")  # created first so that it opens first
    names = [summary.title]
    inputs, cands, links, score_fmt = c.inputs, c.cands, c.links, c.score_fmt

    def simple(title: str, cols: list[tables.Column], df: pd.DataFrame | None, **kw: Any) -> Sheet:
        return tables.write_simple(wb, formats, title, cols, df, dic, **kw)

    no_previous = (
        "(no previous workbook: run with --previous OLD.xlsx, or rebuild over an existing workbook, "
        "to list changes and carry reviewer notes over)"
    )
    steps: list[tuple[str, Callable[[], Sheet | None]]] = [
        ("Candidates", lambda: sheets_candidates.write_candidates(wb, formats, cands, links, score_fmt, c.has_sens, dic)),
        ("China licence relief", lambda: write_china_relief(wb, formats, cands, links, score_fmt, dic)),
        ("Evidence", lambda: simple(
            "Evidence", tables.columns("evidence"), None, note=c.missing_note("eccn_hs_links.parquet and evidence.parquet"),
        ) if inputs.links is None and inputs.evidence is None else simple(
            "Evidence", tables.columns("evidence"), c.evidence, freeze="B2", pages_wide=2, print_header=True,
        )),
        ("Unlinked", lambda: simple(
            "Unlinked", tables.columns("unlinked"), frames.unlinked_frame(inputs, cands), links=links,
            note=c.missing_note("unlinked_eccns.csv") if inputs.unlinked is None
            else "(every ECCN has at least one HS link)",
        )),
        ("Guardrails", lambda: simple(
            "Guardrails", sheets_candidates.guardrail_columns(), frames.guardrails_frame(cands), links=links,
            score_fmt=score_fmt, note="(no entry is retained by a guardrail)",
        )),
        ("Sensitivity", lambda: simple(
            "Sensitivity", tables.columns("sensitivity"), frames.sensitivity_frame(inputs, cands), links=links,
        ) if c.has_sens else None),
        ("Scenarios", lambda: None if inputs.comparison is None else simple(
            "Scenarios", tables.generic_columns(inputs.comparison, "weights_comparison.csv (cclreview compare-weights)"),
            inputs.comparison.reset_index(drop=True),
        )),
        ("Changes", lambda: simple(
            "Changes", tables.columns("changes"), c.changes, note=None if c.prev is not None else no_previous,
            freeze="C2",
        )),
        ("Method", lambda: sheets_method.write_method(
            wb, formats, inputs.weights, provenance.weights_line(inputs)[1], provenance.link_sources(inputs),
            c.method_text(), dic,
        )),
        ("Sources", lambda: simple("Sources", tables.columns("sources"), provenance.sources_frame(inputs))),
        # The Summary's tables are described too: write it before the dictionary.
        ("Summary", lambda: write_summary(
            wb, summary, c.facts(), cands, links, score_fmt, sheets_candidates.candidates_columns(c.has_sens), dic
        )),
        ("Data dictionary", lambda: _write_dictionary(wb, formats, dic)),
    ]  # fmt: skip
    for name, step in progress(steps, desc="report sheets", unit="sheet"):
        sheet = step()
        if sheet is not None and name != "Summary":
            names.append(sheet.title)
    return names


def _write_dictionary(wb: Workbook, formats: Formats, dic: tables.Dictionary) -> Sheet:
    """Write the Data dictionary from everything the other writers recorded."""
    cols = tables.columns("dictionary")
    dic.add("Data dictionary", cols)
    df = pd.DataFrame(dic.rows, columns=["sheet", "column", "description", "format"])
    return tables.write_simple(wb, formats, "Data dictionary", cols, df, tables.Dictionary())
