"""CLI command of the availability stage: ``cclreview availability``."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from cclreview.cli import options
from cclreview.config import project_paths

log = logging.getLogger(__name__)


@click.command("availability")
@options.file("--exports", "exports.parquet from ingest-trade (default: data/processed/exports.parquet).")
@options.file(
    "--evidence", "evidence.parquet (optional): adds n_evidence_rows, evidence_countries to HS6 rows."
)
@options.file("--concordance", "UN HS concordance CSV (default: data/raw/hs/hs_concordances_comtrade.csv).")
@options.out_dir()
@options.weights("Weights TOML whose [suppliers] floors apply [default: config/weights.toml].")
@options.value(
    "--min-share", float, "Supplier floor: share of non-U.S. exports [default: weights suppliers.min_share]."
)
@options.value(
    "--min-value-usd", float, "Supplier floor: exports in USD [default: weights suppliers.min_value_usd]."
)
@options.setting(
    "--precedence",
    "baci,comtrade,otstats,oec_baci_top40",
    "Source label prefixes, best first (one source per product and year).",
)
@options.setting(
    "--tolerance", 0.05, "Relative difference between overlapping sources reported in source_conflicts.csv."
)
@options.setting(
    "--min-source-exporters",
    20,
    "A source file with fewer exporters in a year is a partial extract (demoted, not used for links).",
)
def availability_cmd(
    exports: Path | None,
    evidence: Path | None,
    concordance: Path | None,
    out_dir: Path | None,
    weights_path: Path | None,
    min_share: float | None,
    min_value_usd: float | None,
    precedence: str,
    tolerance: float,
    min_source_exporters: int,
) -> None:
    """Compute per-product availability indicators (availability_hs.parquet).

    One row per HS code, level and year, from one source chosen by precedence;
    overlapping sources that disagree go to source_conflicts.csv.

    \b
    Example:
      cclreview availability --exports data/processed/exports.parquet \\
          --out data/processed --min-share 0.02 --min-value-usd 5e6
    """
    from cclreview.indicators import run_availability
    from cclreview.score.weights import load_weights

    paths = project_paths()
    # One owner for the supplier floors: weights.toml [suppliers], for trade and supply side.
    floors = load_weights(weights_path or paths.weights).suppliers
    min_share = floors.min_share if min_share is None else min_share
    min_value_usd = floors.min_value_usd if min_value_usd is None else min_value_usd
    out_dir = out_dir or paths.processed
    order = tuple(p.strip() for p in precedence.split(",") if p.strip())
    res = run_availability(
        exports or paths.processed / "exports.parquet",
        out_dir,
        concordance,
        evidence,
        min_share=min_share,
        min_value_usd=min_value_usd,
        min_quantity_tonnes=floors.min_quantity_tonnes,
        precedence=order,
        tolerance=tolerance,
        min_source_exporters=min_source_exporters,
    )
    click.echo(
        f"availability: {res['rows']} rows ({res['bounded_rows']} bounded, "
        f"{res['rows_missing_major_exporters']} with missing major exporters), "
        f"{res['conflicts']} source conflicts -> {out_dir}"
    )


commands: list[click.Command] = [availability_cmd]
