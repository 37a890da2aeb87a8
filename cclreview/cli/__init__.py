"""The command-line interface: a thin click layer over the library.

This package is the only place that imports click. Each stage has its own module
(``cclreview/cli/<stage>.py``) exposing ``commands``, a list of click commands that are
added to the :data:`cli` group here. Library errors (:class:`CCLReviewError`) become
one line ``Error: ...`` on stderr and exit code 1; usage errors exit 2 (click's rule).
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from cclreview import __version__, progress
from cclreview.errors import CCLReviewError

# Command name -> the module of ``cclreview/cli`` that defines it. Modules are imported
# only when one of their commands is run, so `cclreview summary` does not pay for
# scikit-learn and friends (start-up matters: make runs one process per stage).
COMMAND_MODULES: dict[str, str] = {
    "fetch": "fetch",
    "ingest-ccl": "ccl",
    "controls": "controls",
    "ingest-trade": "trade",
    "ingest-evidence": "evidence",
    "availability": "availability",
    "link": "link",
    "eval-links": "link",
    "score": "score",
    "weights": "score",
    "sensitivity": "score",
    "compare-weights": "score",
    "report": "report",
    "dossier": "dossier",
    "run": "run",
    "summary": "run",
}


class _Group(click.Group):
    """Lazily loads stage commands; turns library errors into one line and exit code 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        cmd = super().get_command(ctx, name)
        if cmd is None and name in COMMAND_MODULES:
            module = importlib.import_module(f"cclreview.cli.{COMMAND_MODULES[name]}")
            for command in module.commands:
                if command.name not in self.commands:
                    self.add_command(command)
            cmd = super().get_command(ctx, name)
        return cmd

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except CCLReviewError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:  # pragma: no cover - interactive only
            click.echo("Error: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cclreview")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no progress bars.")
def cli(verbose: int, quiet: bool) -> None:
    """Review the Commerce Control List for decontrol candidates.

    \b
    Typical use (or simply `make reports`):
      cclreview fetch all
      cclreview run
    """
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True
    )
    progress.enable(not quiet)


def main() -> None:
    """Entry point of the ``cclreview`` console script."""
    cli(prog_name="cclreview")
