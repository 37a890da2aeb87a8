"""``cclreview run`` (the whole chain in one process) and ``cclreview summary``."""

from __future__ import annotations

import click

from cclreview.config import project_paths
from cclreview.pipeline import summary_lines


@click.command("summary")
@click.option("--processed", type=click.Path(file_okay=False), default=None, help="Processed folder.")
@click.option("--report", type=click.Path(dir_okay=False), default=None, help="The workbook path to show.")
def summary(processed: str | None, report: str | None) -> None:
    """Print the workbook path and a five-line summary of the last build.

    \b
    Example:
      cclreview summary
    """
    paths = project_paths()
    for line in summary_lines(processed or paths.processed, report or paths.report):
        click.echo(line)


commands: list[click.Command] = [summary]
