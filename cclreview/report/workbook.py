"""Build the review workbook: read inputs, carry reviewer work over, write atomically."""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook

from cclreview.errors import CCLReviewError, InputError, OutputError
from cclreview.io import atomic_path
from cclreview.progress import progress
from cclreview.report import frames, sheets
from cclreview.report.carryover import PreviousWorkbook, read_previous
from cclreview.report.china_sheet import write_china_relief
from cclreview.report.ecfr import ecfr_url
from cclreview.report.inputs import ReportInputs, load_inputs

log = logging.getLogger(__name__)

#: Environment variable with a Unix time that fixes the run date (reproducible builds).
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


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


def _check_target_writable(out: Path) -> None:
    """Refuse a target that is open in a spreadsheet program or read-only."""
    for lock in (out.parent / f".~lock.{out.name}#", out.parent / f"~${out.name}"):
        if lock.exists():
            raise OutputError(
                f"cannot write {out}: it is open in a spreadsheet program (lock file {lock.name}); "
                "close it and run again, or choose another --out"
            )
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputError(
            f"cannot write {out}: the file is read-only; make it writable or choose another --out"
        )
    if out.parent.exists() and not os.access(out.parent, os.W_OK):
        raise OutputError(
            f"cannot write {out}: folder {out.parent} is not writable; choose another --out or fix its permissions"
        )


def _trade_vintages(inputs: ReportInputs) -> list[str]:
    lines = []
    for f in sorted((inputs.manifest or {}).get("files", []), key=lambda f: str(f.get("path", ""))):
        if f.get("kind") in ("trade", "baci", "comtrade", "evidence") or str(f.get("path", "")).startswith(
            ("trade/", "evidence/")
        ):
            lines.append(f"{f.get('path')}: {f.get('vintage') or 'vintage not recorded'}")
    av = inputs.availability
    if av is not None and {"source", "year"} <= set(av.columns) and len(av):
        used = av.groupby("source")["year"].agg(["min", "max", "count"]).sort_index()
        for src, r in used.iterrows():
            years = f"{int(r['min'])}" if r["min"] == r["max"] else f"{int(r['min'])}-{int(r['max'])}"
            lines.append(f"used by availability: {src}, {years} ({int(r['count'])} code-years)")
    return lines


def _ccl_edition(inputs: ReportInputs) -> str:
    if "ecfr_date" in inputs.entries.columns:
        dates = sorted({str(d) for d in inputs.entries["ecfr_date"].dropna()})
        if dates:
            return ", ".join(dates)
    for f in (inputs.manifest or {}).get("files", []):
        if f.get("kind") == "ccl" and f.get("vintage"):
            return f"{f['vintage']} (vintage of {f.get('path')} in the manifest)"
    return "not recorded (ccl_entries.parquet has no ecfr_date, the manifest no ccl vintage)"


def _weights_line(inputs: ReportInputs) -> tuple[str, str]:
    """(Summary line, Method note) about the weights file and its match with scores."""
    if inputs.weights is None or inputs.weights_path is None or inputs.weights_sha256 is None:
        return (
            "weights file not found",
            "Weights file not found: the values used by scoring cannot be shown.",
        )
    used = None
    if "weights_sha256" in inputs.scores.columns:
        shas = sorted({str(s) for s in inputs.scores["weights_sha256"].dropna()})
        used = shas[0] if len(shas) == 1 else None
    match = ""
    if used is not None:
        match = (
            " (the same file scoring used)"
            if used == inputs.weights_sha256
            else " -- WARNING: scores.parquet was computed with other weights (sha256 "
            f"{used[:12]}); re-run `cclreview score`"
        )
    line = f"{inputs.weights_path.name}, sha256 {inputs.weights_sha256[:12]}{match}"
    note = f"From {inputs.weights_path} (validated by the score stage){match}."
    return line, note


def _link_sources(inputs: ReportInputs) -> pd.DataFrame | None:
    if inputs.links is None:
        return None
    df = inputs.links.copy()
    if "confidence" not in df.columns:
        df["confidence"] = float("nan")
    df["source"] = df["source"].fillna("(none)").astype(str)
    out = df.groupby("source", sort=True).agg(
        links=("eccn", "size"), eccns=("eccn", "nunique"), mean_confidence=("confidence", "mean")
    )
    return out.reset_index()


def _sources_frame(inputs: ReportInputs) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for f in sorted((inputs.manifest or {}).get("files", []), key=lambda f: str(f.get("path", ""))):
        rows.append({k: f.get(k) for k in ("kind", "path", "url", "vintage", "retrieved", "bytes", "sha256", "note")}
                    | {"licence": f.get("licence") or f.get("license")})  # fmt: skip
    for p in inputs.files:
        rows.append({"kind": "processed", "path": f"processed/{p.name}", "bytes": p.bytes, "rows": p.rows,
                     "sha256": p.sha256})  # fmt: skip
    if inputs.weights_path is not None:
        rows.append({"kind": "config", "path": inputs.weights_path.name, "bytes": inputs.weights_path.stat().st_size,
                     "sha256": inputs.weights_sha256})  # fmt: skip
    return pd.DataFrame(rows)


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
) -> ReportResult:
    """Write the review workbook.

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

    Returns
    -------
    ReportResult

    Raises
    ------
    InputError
        Missing/invalid processed tables or an unreadable previous workbook.
    OutputError
        The target is open, read-only or in a read-only folder.
    """
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise OutputError(f"--out {out} must end in .xlsx")
    date = resolve_run_date(run_date)
    _check_target_writable(out)
    prev: PreviousWorkbook | None = None
    if previous is not None:
        prev = read_previous(Path(previous))
    elif carry_from_existing and out.exists():
        try:
            prev = read_previous(out)
        except CCLReviewError as exc:
            raise InputError(
                f"{out} exists but its reviewer annotations cannot be read ({exc}); "
                "move it away, or pass --fresh to overwrite it"
            ) from exc
        log.info("carrying reviewer work over from the existing %s", out)

    inputs = load_inputs(
        Path(processed),
        Path(weights) if weights is not None else None,
        Path(manifest) if manifest is not None else None,
    )
    annotations = prev.annotations if prev is not None else None
    cands = frames.candidates_frame(inputs, annotations)
    headings = dict(zip(cands["eccn"], cands["heading"], strict=True))
    links = {e: ecfr_url(e, h if isinstance(h, str) else None) for e, h in headings.items()}
    score_fmt = frames.score_format(cands["decontrol_score"])
    has_sens = inputs.sensitivity is not None and len(inputs.sensitivity) > 0
    evidence = frames.evidence_frame(inputs, max_suppliers=max_suppliers, max_links=max_links)
    changes = frames.changes_frame(cands, prev)
    n_carried = int((cands["reviewer_decision"].notna() | cands["reviewer_notes"].notna()).sum())
    n_orphaned = int((changes["change"] == "removed ECCN (annotation kept)").sum())
    weights_line, weights_note = _weights_line(inputs)
    carry_line = None
    if prev is not None:
        carry_line = (
            f"{n_carried} reviewer annotations carried over from {prev.path.name}; "
            f"{n_orphaned} kept on the Changes sheet for ECCNs no longer listed"
        )
    facts = sheets.SummaryFacts(
        run_date=date.isoformat(),
        ccl_edition=_ccl_edition(inputs),
        n_eccns=len(cands),
        trade_vintages=_trade_vintages(inputs),
        weights_line=weights_line,
        carry_line=carry_line,
    )

    wb = Workbook(write_only=True)
    # Fixed document dates: the same inputs give the same workbook properties.
    stamp = dt.datetime.combine(date, dt.time())
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "cclreview"
    wb.properties.title = "CCL decontrol review"
    dic = sheets.Dictionary()
    summary_ws = wb.create_sheet("Summary")
    steps = [
        "Candidates", "China licence relief", "Evidence", "Unlinked", "Guardrails", "Sensitivity", "Scenarios", "Changes",
        "Method", "Sources", "Data dictionary",
    ]  # fmt: skip
    try:
        _write_sheets(wb, steps, inputs, cands, links, score_fmt, has_sens, evidence, changes, prev, facts,
                      weights_note, summary_ws, dic, (max_suppliers, max_links))  # fmt: skip
        names = list(wb.sheetnames)
        with atomic_path(out) as tmp:
            wb.save(tmp)
    except BaseException:
        _discard(wb)
        raise
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


def _discard(wb: Workbook) -> None:
    """Close the streams and temp files of a write-only workbook that failed."""
    for ws in wb.worksheets:
        for attr in ("_rows", "_writer"):
            obj = getattr(ws, attr, None)
            try:
                if attr == "_rows" and obj is not None:
                    obj.close()
                elif obj is not None:
                    obj.xf.close()
                    obj.cleanup()
            except Exception:
                log.debug("cleanup of sheet %s failed", ws.title, exc_info=True)


def _write_sheets(
    wb: Workbook,
    steps: list[str],
    inputs: ReportInputs,
    cands: pd.DataFrame,
    links: dict[str, str],
    score_fmt: str,
    has_sens: bool,
    evidence: pd.DataFrame,
    changes: pd.DataFrame,
    prev: PreviousWorkbook | None,
    facts: sheets.SummaryFacts,
    weights_note: str,
    summary_ws: Any,
    dic: sheets.Dictionary,
    limits: tuple[int, int],
) -> None:
    """Write every sheet in order (the Summary last, it charts the Candidates)."""
    cand_ws = None
    for step in progress(steps, desc="report sheets", unit="sheet"):
        if step == "Candidates":
            cand_ws = sheets.write_candidates(wb, cands, links, score_fmt, has_sens, dic)
        elif step == "Evidence":
            note = None
            if inputs.links is None and inputs.evidence is None:
                note = f"(eccn_hs_links.parquet and evidence.parquet not found in {inputs.processed_dir})"
            sheets.write_evidence(wb, evidence, links, dic, note)
        elif step == "Unlinked":
            sheets.write_simple(
                wb, "Unlinked", sheets.UNLINKED_COLUMNS, frames.unlinked_frame(inputs, cands), dic, links=links,
                note=f"(unlinked_eccns.csv not found in {inputs.processed_dir})" if inputs.unlinked is None
                else "(every ECCN has at least one HS link)",
            )  # fmt: skip
        elif step == "China licence relief":
            write_china_relief(wb, cands, links, score_fmt, dic)
        elif step == "Guardrails":
            sheets.write_simple(
                wb, "Guardrails", sheets.GUARDRAIL_COLUMNS, frames.guardrails_frame(cands), dic, links=links,
                score_fmt=score_fmt, note="(no entry is retained by a guardrail)",
            )  # fmt: skip
        elif step == "Sensitivity" and has_sens:
            sheets.write_simple(
                wb, "Sensitivity", sheets.SENSITIVITY_COLUMNS, frames.sensitivity_frame(inputs, cands), dic,
                links=links,
            )  # fmt: skip
        elif step == "Scenarios" and inputs.comparison is not None:
            table = inputs.comparison
            cols = sheets.generic_columns(table, "weights_comparison.csv (cclreview compare-weights)")
            sheets.write_simple(wb, "Scenarios", cols, table.reset_index(drop=True), dic)
        elif step == "Changes":
            note = None if prev is not None else (
                "(no previous workbook: run with --previous OLD.xlsx, or rebuild over an existing workbook, "
                "to list changes and carry reviewer notes over)"
            )  # fmt: skip
            sheets.write_simple(wb, "Changes", sheets.CHANGES_COLUMNS, changes, dic, note=note,
                                freeze="C2")  # fmt: skip
        elif step == "Method":
            text = [
                *list(sheets.METHOD_TEXT),
                (
                    "Evidence sheet limits",
                    f"Shows the best {limits[1] or 'all'} HS links of each ECCN (by link rank, then confidence) "
                    f"and the {limits[0]} largest non-U.S. suppliers of each; every link is in "
                    "eccn_hs_links.parquet and the Method table below counts them all.",
                ),
            ]
            sheets.write_method(wb, inputs.weights, weights_note, _link_sources(inputs), text, dic)
        elif step == "Sources":
            sheets.write_simple(wb, "Sources", sheets.SOURCES_COLUMNS, _sources_frame(inputs), dic)
        elif step == "Data dictionary":
            # The Summary's tables are described too; register them before the dictionary.
            sheets.write_summary(
                summary_ws, facts, cands, links, score_fmt, cand_ws, sheets.candidates_columns(has_sens), dic
            )
            sheets.write_dictionary(wb, dic)
