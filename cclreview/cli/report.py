"""CLI command of the report stage: ``cclreview report``."""

from __future__ import annotations

from pathlib import Path

import click

from cclreview.cli import options
from cclreview.config import project_paths


@click.command("report")
@options.processed()
@options.weights("Weights file used by scoring, shown on the Method sheet [default: config/weights.toml].")
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Download manifest, shown on the Sources sheet [default: data/raw/MANIFEST.json].",
)
@click.option(
    "--previous",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Previous workbook: carry reviewer decisions/notes over and list changes "
    "[default: the existing --out workbook, if any].",
)
@click.option(
    "--fresh",
    is_flag=True,
    help="Without --previous, do not carry annotations over from an existing --out workbook.",
)
@click.option(
    "--run-date",
    default=None,
    metavar="YYYY-MM-DD",
    help="Run date printed in the workbook [default: $SOURCE_DATE_EPOCH, else today UTC].",
)
@click.option(
    "--max-suppliers",
    type=click.IntRange(1, 500),
    default=10,
    show_default=True,
    help="Non-U.S. suppliers listed per ECCN and HS code on the Evidence sheet.",
)
@click.option(
    "--max-links",
    type=click.IntRange(0, 1000),
    default=5,
    show_default=True,
    help="Best HS links per ECCN shown on the Evidence sheet (0 = all).",
)
@options.out_file("Workbook to write [default: reports/decontrol_candidates.xlsx].")
@click.option(
    "--summary", is_flag=True, help="Then print the five-line build summary (as `cclreview summary`)."
)
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
    summary: bool,
) -> None:
    """Write the ranked review workbook (Excel) from the scored tables.

    Sheets: Summary, Candidates (all ECCNs, ranked, with reviewer columns), Evidence,
    Unlinked, Guardrails, Sensitivity/Scenarios (when present), Changes, Method,
    Sources, Data dictionary. Reviewer decisions and notes of the previous workbook
    are carried over to the same ECCN; notes for removed ECCNs are kept on Changes.

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
