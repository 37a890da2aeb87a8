"""CLI commands of the ccl stage: ``cclreview ingest-ccl``."""

from __future__ import annotations

from pathlib import Path

import click

from cclreview.cli import options
from cclreview.config import project_paths


@click.command("ingest-ccl")
@click.argument("xml", required=False, type=click.Path(dir_okay=False, path_type=Path))
@options.out_dir()
def ingest_ccl(xml: Path | None, out_dir: Path | None) -> None:
    """Parse the CCL (eCFR XML of 15 CFR 774 Supp. 1) into validated tables.

    Writes ccl_entries.parquet (one row per ECCN: heading, reasons for control,
    Country Chart columns, license exceptions, flags) and ccl_paragraphs.parquet
    (one row per item paragraph, e.g. 2B001.a.1). XML defaults to the newest
    *.xml in data/raw/ccl/ (see `cclreview fetch ccl`).

    \b
    Example:
      cclreview ingest-ccl
      cclreview ingest-ccl data/raw/ccl/ccl_supp1_ecfr_2026-06.xml --out /tmp/ccl
    """
    # Imported here so `cclreview --help` stays fast.
    from cclreview.ccl import default_ccl_xml
    from cclreview.ccl import ingest_ccl as run

    paths = project_paths()
    source = xml if xml is not None else default_ccl_xml(paths.raw_ccl)
    counts = run(source, out_dir if out_dir is not None else paths.processed)
    click.echo(
        f"{counts['eccns']} ECCNs, {counts['paragraphs']} paragraphs, "
        f"{counts['no_reasons']} without reasons -> {Path(counts['entries_path']).parent}"
    )


commands: list[click.Command] = [ingest_ccl]
