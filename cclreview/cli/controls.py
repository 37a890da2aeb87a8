"""CLI command of the controls stage: ``cclreview controls``."""

from __future__ import annotations

from pathlib import Path

import click

from cclreview.cli import options
from cclreview.config import project_paths


@click.command("controls")
@options.processed("Folder holding ccl_entries.parquet [default: data/processed].")
@options.out_dir("Output folder [default: the processed folder].")
def controls(processed: Path | None, out_dir: Path | None) -> None:
    """Write every control of every ECCN as a row, with destinations and route.

    Reads ccl_entries.parquet and, from data/raw/ear/, the Country Chart (15 CFR 738
    Supp. 1), Supp. No. 2 to Part 744 and Supps. No. 6/7 to Part 774; writes
    eccn_controls.parquet (ECCN x reason x column: destinations, legal basis, regime,
    kind, route) and eccn_lists.parquet (MEU/SL/VSL items at paragraph level).

    \b
    Example:
      cclreview controls
    """
    from cclreview.controls import run_controls

    paths = project_paths()
    proc = processed if processed is not None else paths.processed
    df, path = run_controls(proc, paths.raw, out_dir)
    n_fa = int((df["kind"] == "foreign-availability case").sum())
    click.echo(
        f"{len(df)} controls of {df['eccn'].nunique()} ECCNs ({n_fa} foreign-availability cases) -> {path}"
    )


commands: list[click.Command] = [controls]
