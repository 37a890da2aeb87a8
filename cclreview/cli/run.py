"""``cclreview run`` (the whole chain in one process) and ``cclreview summary``."""

from __future__ import annotations

from pathlib import Path

import click

from cclreview.cli import options
from cclreview.config import project_paths


@click.command("run")
@options.mirror()
@options.flag("--skip-fetch", "Use data/raw as it is; do not fetch.")
@options.processed("Folder for stage outputs [default: data/processed].")
@options.weights()
@options.file("--previous", "A reviewed workbook whose decisions and notes are carried over.")
@options.out_file("Workbook path [default: reports/decontrol_candidates.xlsx].")
@options.setting("--draws", 1000, "Weight draws of the sensitivity analysis.", type=click.IntRange(min=1))
def run(
    mirror: str | None,
    skip_fetch: bool,
    processed: Path | None,
    weights_path: Path | None,
    previous: Path | None,
    out: Path | None,
    draws: int,
) -> None:
    """Run the whole chain in one process: fetch, ingest, link, score, report.

    The same steps as `make reports`, for users without make (every stage runs).

    \b
    Examples:
      cclreview run
      CCLREVIEW_MIRROR=../shared/data cclreview run --out /tmp/review.xlsx
    """
    from cclreview.pipeline import run_pipeline, summary_lines

    paths = project_paths()
    if not skip_fetch:
        from cclreview.fetch import fetch_all
        from cclreview.sources import load_sources

        click.echo("== fetch all", err=True)
        fetch_all(paths, load_sources(paths.sources), mirror=mirror)
    run_pipeline(
        paths,
        processed=processed,
        weights=weights_path,
        report=out,
        previous=previous,
        draws=draws,
        on_stage=lambda name: click.echo(f"== {name}", err=True),
    )
    for line in summary_lines(processed or paths.processed, out or paths.report):
        click.echo(line)


@click.command("summary")
@options.processed()
@options.file("--report", "The workbook path to show [default: reports/decontrol_candidates.xlsx].")
def summary(processed: Path | None, report: Path | None) -> None:
    """Print the workbook path and a five-line summary of the last build.

    \b
    Example:
      cclreview summary
    """
    from cclreview.pipeline import summary_lines

    paths = project_paths()
    for line in summary_lines(processed or paths.processed, report or paths.report):
        click.echo(line)


commands: list[click.Command] = [run, summary]
