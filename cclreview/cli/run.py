"""``cclreview run`` (the whole chain in one process) and ``cclreview summary``."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import click

from cclreview.config import project_paths

log = logging.getLogger(__name__)

# Parameter names the stage commands use for the same idea (they differ by stage).
_OUT_DIR = {"out_dir", "out"}
_PROCESSED = {"processed", "processed_dir"}
_WEIGHTS = {"weights_path", "weights"}
# Inputs a stage reads from the processed folder, by parameter name.
_INPUTS = {
    "exports_path": "exports.parquet",
    "evidence_path": "evidence.parquet",
    "entries": "ccl_entries.parquet",
    "paragraphs": "ccl_paragraphs.parquet",
}


def _stage_kwargs(
    cmd: click.Command, processed: Path, weights: Path | None, report: Path | None, previous: Path | None
) -> dict[str, Any]:
    names = {p.name for p in cmd.params if p.name}
    kwargs: dict[str, Any] = {}
    for name in names:
        if name in _OUT_DIR:
            kwargs[name] = report if cmd.name == "report" else processed
        elif name in _PROCESSED:
            kwargs[name] = processed
        elif name in _WEIGHTS and weights is not None:
            kwargs[name] = weights
        elif name == "previous" and previous is not None:
            kwargs[name] = previous
        elif name in _INPUTS and (processed / _INPUTS[name]).exists():
            kwargs[name] = processed / _INPUTS[name]
    return kwargs


@click.command("run")
@click.option(
    "--mirror",
    type=click.Path(file_okay=False),
    envvar="CCLREVIEW_MIRROR",
    help="Copy sources from this local directory [env CCLREVIEW_MIRROR].",
)
@click.option("--skip-fetch", is_flag=True, help="Use data/raw as it is; do not fetch.")
@click.option(
    "--processed",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for stage outputs (default data/processed).",
)
@click.option(
    "--weights",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Weights file (default config/weights.toml).",
)
@click.option(
    "--previous",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A reviewed workbook whose decisions and notes are carried over.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Workbook path (default reports/decontrol_candidates.xlsx).",
)
@click.option(
    "--draws",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Weight draws of the sensitivity analysis.",
)
@click.pass_context
def run(
    ctx: click.Context,
    mirror: str | None,
    skip_fetch: bool,
    processed: Path | None,
    weights: Path | None,
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
    from cclreview.contracts import STAGE_ORDER
    from cclreview.pipeline import summary_lines

    paths = project_paths()
    processed = processed or paths.processed
    report = out or paths.report
    root = ctx.find_root().command
    assert isinstance(root, click.Group)
    steps: list[tuple[str, dict[str, Any]]] = []
    if not skip_fetch:
        fetch_group = root.get_command(ctx, "fetch")
        assert isinstance(fetch_group, click.Group)
        steps.append(("fetch all", {"mirror": mirror}))
    steps += [
        (name, {"draws": draws} if name == "sensitivity" else {}) for name in (s.command for s in STAGE_ORDER)
    ]
    steps.append(("report", {}))
    for name, extra in steps:
        if name == "fetch all":
            cmd = root.get_command(ctx, "fetch").get_command(ctx, "all")  # type: ignore[union-attr]
        else:
            cmd = root.get_command(ctx, name)
        if cmd is None:  # pragma: no cover - a stage module failed to register
            raise click.ClickException(f"stage command {name!r} is not available")
        kwargs = {**_stage_kwargs(cmd, processed, weights, report, previous), **extra}
        start = time.perf_counter()
        click.echo(f"== {name}", err=True)
        ctx.invoke(cmd, **kwargs)
        log.info("%s took %.1f s", name, time.perf_counter() - start)
    for line in summary_lines(processed, report):
        click.echo(line)


@click.command("summary")
@click.option("--processed", type=click.Path(file_okay=False), default=None, help="Processed folder.")
@click.option("--report", type=click.Path(dir_okay=False), default=None, help="The workbook path to show.")
def summary(processed: str | None, report: str | None) -> None:
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
