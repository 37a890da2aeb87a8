"""CLI command of the dossier stage: ``cclreview dossier``."""

from __future__ import annotations

from pathlib import Path

import click

from cclreview.cli import options
from cclreview.config import project_paths


@click.command("dossier")
@options.processed("Folder with the stage outputs [default: data/processed].")
@options.file(
    "--workbook",
    "Review workbook whose reviewer decisions and notes are shown "
    "[default: reports/decontrol_candidates.xlsx, if it exists].",
)
@options.file(
    "--hs",
    "HS nomenclature CSV for link descriptions [default: data/raw/hs/harmonized_system_HS2022.csv].",
    dest="hs_file",
)
@options.flag("--no-overview", "Skip the overview chart of the index (matplotlib).")
@options.folder("--out", "Site folder to write [default: reports/dossier].")
def dossier(
    processed: Path | None, workbook: Path | None, hs_file: Path | None, no_overview: bool, out: Path | None
) -> None:
    """Write the evidence dossier: index.html and one HTML page per ECCN.

    Static pages, no server: open reports/dossier/index.html in a browser. The
    folder is replaced as a whole (written aside, then swapped in).

    \b
    Example:
      cclreview dossier
      cclreview dossier --workbook reviewed.xlsx --out /tmp/dossier
    """
    from cclreview.dossier import build_dossier

    paths = project_paths()
    hs_default = paths.raw_hs / "harmonized_system_HS2022.csv"
    result = build_dossier(
        processed or paths.processed,
        out or paths.reports / "dossier",
        workbook=workbook or paths.report,
        hs_file=hs_file or (hs_default if hs_default.is_file() else None),
        overview=not no_overview,
    )
    click.echo(
        f"wrote {result.out_dir}: {result.n_pages} ECCN pages and index.html in {result.seconds:.1f} s; "
        + (
            f"{result.n_annotations} reviewer annotations from {result.workbook}"
            if result.workbook
            else "no review workbook found (reviewer sections say so)"
        )
    )


commands: list[click.Command] = [dossier]
