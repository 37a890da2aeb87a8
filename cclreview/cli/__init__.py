"""The command-line interface: a thin click layer over the library.

This package is the only place that imports click. Each stage has its own module
(``cclreview/cli/<stage>.py``) exposing ``commands``, a list of click commands that are
added to the :data:`cli` group here. Library errors (:class:`CCLReviewError`) become
one line ``Error: ...`` on stderr and exit code 1; usage errors exit 2 (click's rule).
An ``OSError`` that escapes a command (full disk, read-only folder, permission denied)
is reported the same way, naming the file and the fix. Messages are cut to one line of
at most :data:`MAX_ERROR_CHARS` characters. The single-stage commands write all their
outputs as one unit (:func:`cclreview.io.stage_outputs`).
"""

from __future__ import annotations

import functools
import importlib
import logging
import signal
import sys
from typing import Any

import click

from cclreview import __version__, progress
from cclreview.errors import CCLReviewError
from cclreview.io import os_error_message, stage_outputs

#: Longest error line printed (longer messages are cut in the middle).
MAX_ERROR_CHARS = 600

#: Commands whose outputs are written as one unit (renamed together at the end).
STAGE_COMMANDS = frozenset(
    {
        "ingest-ccl",
        "ingest-trade",
        "ingest-evidence",
        "availability",
        "link",
        "controls",
        "score",
        "sensitivity",
    }
)

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
        if cmd is not None and name in STAGE_COMMANDS:
            _as_one_unit(cmd)
        return cmd

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except CCLReviewError as exc:
            click.echo(f"Error: {one_line(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:
            click.echo(f"Error: {one_line(os_error_message(exc, action='access'))}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Error: interrupted; outputs already written are complete, rerun to finish", err=True)
            ctx.exit(130)


def _as_one_unit(cmd: click.Command) -> None:
    """Make ``cmd`` write its outputs as one unit (also when `cclreview run` invokes it)."""
    callback = cmd.callback
    if callback is None or getattr(callback, "_one_unit", False):
        return

    @functools.wraps(callback)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with stage_outputs():
            return callback(*args, **kwargs)

    wrapped._one_unit = True  # type: ignore[attr-defined]
    cmd.callback = wrapped


def one_line(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``message`` on one line (control characters as spaces), cut to ``limit`` characters."""
    text = "".join(" " if (ord(c) < 32 or ord(c) == 127) else c for c in message)
    text = " ".join(text.split())
    if len(text) > limit:
        half = (limit - 5) // 2
        text = f"{text[:half]} ... {text[-half:]}"
    return text


def _raise_interrupt(signum: int, frame: object) -> None:
    """SIGTERM/SIGHUP end the run like Ctrl-C: temp files are removed, outputs stay whole."""
    raise KeyboardInterrupt


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
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)
    cli(prog_name="cclreview")
