"""CLI command of the report stage: ``cclreview report``."""

from __future__ import annotations

from pathlib import Path

import click

from cclreview.cli import options
from cclreview.config import project_paths


@click.command("report")
@options.processed()
@options.weights("Weights file used by scoring, shown on the Method sheet [default: config/weights.toml].")
@options.file(
    "--manifest", "Download manifest, shown on the Sources sheet [default: data/raw/MANIFEST.json]."
)
@options.file(
    "--previous",
    "Previous workbook: carry reviewer decisions/notes over and list changes "
    "[default: the existing --out workbook, if any].",
    exists=True,
)
@options.flag("--fresh", "Without --previous, do not carry annotations over from an existing --out workbook.")
@options.value(
    "--run-date",
    str,
    "Run date printed in the workbook [default: $SOURCE_DATE_EPOCH, else today UTC].",
    metavar="YYYY-MM-DD",
)
@options.setting(
    "--max-suppliers",
    10,
    "Non-U.S. suppliers listed per ECCN and HS code on the Evidence sheet.",
    type=click.IntRange(1, 500),
)
@options.setting(
    "--max-links",
    5,
    "Best HS links per ECCN shown on the Evidence sheet (0 = all).",
    type=click.IntRange(0, 1000),
)
@options.out_file("Workbook to write [default: reports/decontrol_candidates.xlsx].")
@options.setting(
    "--keep-history",
    10,
    "Dated backups of the replaced workbook kept in reports/history/ (0 = none) [env CCLREVIEW_KEEP_HISTORY].",
    type=click.IntRange(0, 10_000),
    envvar="CCLREVIEW_KEEP_HISTORY",
)
@options.flag("--summary", "Then print the five-line build summary (as `cclreview summary`).")
def report(
    processed: Path | None,
    weights_path: Path | None,
    manifest: Path | None,
    previous: Path | None,
    fresh: bool,
    run_date: str | None,
    max_suppliers: int,
    max_links: int,
    out: Path | None,
    keep_history: int,
    summary: bool,
) -> None:
    """Write the ranked review workbook (Excel) from the scored tables.

    Sheets: Summary, Candidates (all ECCNs, ranked, with reviewer columns), Evidence,
    Unlinked, Guardrails, Sensitivity/Scenarios (when present), Changes, Method,
    Sources, Data dictionary. Reviewer decisions and notes of the previous workbook
    are carried over to the same ECCN; notes for removed ECCNs are kept on Changes.
    The replaced workbook is kept in reports/history/; a reviewer's save during the
    build is merged (rebuild) or the run stops keeping both files.

    \b
    Example:
      cclreview report
      cclreview report --previous old/decontrol_candidates.xlsx \\
          --out reports/decontrol_candidates.xlsx
    """
    from cclreview.report import build_report

    paths = project_paths()
    result = build_report(
        processed or paths.processed,
        out or paths.report,
        weights=weights_path or paths.weights,
        manifest=manifest or paths.manifest,
        previous=previous,
        carry_from_existing=not fresh,
        run_date=run_date,
        max_suppliers=max_suppliers,
        max_links=max_links,
        keep_history=keep_history,
    )
    click.echo(
        f"wrote {result.path}: {result.n_eccns} ECCNs, {result.n_evidence_rows} evidence rows, "
        f"{len(result.sheets)} sheets"
        + (
            f"; {result.n_annotations_carried} annotations carried over from {result.previous}, "
            f"{result.n_annotations_orphaned} kept for removed ECCNs"
            if result.previous
            else ""
        )
    )
    if summary:
        from cclreview.pipeline import summary_lines

        for line in summary_lines(processed or paths.processed, result.path):
            click.echo(line)


commands: list[click.Command] = [report]
