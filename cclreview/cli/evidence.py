"""CLI command of the evidence stage: ``cclreview ingest-evidence``."""

from __future__ import annotations

from pathlib import Path

import click

from cclreview.cli import options
from cclreview.config import project_paths


@click.command("ingest-evidence")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@options.out_dir()
def ingest_evidence_cmd(paths: tuple[Path, ...], out_dir: Path | None) -> None:
    """Load supply-side evidence (market shares, analyst producer lists).

    PATHS are CSET-layout folders (provision.csv + providers.csv), analyst files
    filled from data/raw/templates/producer_evidence_template.csv (CSV or XLSX), or
    folders holding them. Default: data/raw/evidence. Writes evidence.parquet and
    unmatched_evidence_countries.csv.

    \b
    Example:
      cclreview ingest-evidence data/raw/evidence/cset_eto my_producers.xlsx --out data/processed
    """
    from cclreview.trade.evidence import ingest_evidence

    out_dir = out_dir or project_paths().processed
    res = ingest_evidence(list(paths) or None, out_dir)
    click.echo(f"evidence: {res['rows']} rows -> {out_dir / 'evidence.parquet'}")
    if res["unmatched_countries"]:
        click.echo(
            f"  {res['unmatched_countries']} country names not matched: see unmatched_evidence_countries.csv"
        )


commands: list[click.Command] = [ingest_evidence_cmd]
