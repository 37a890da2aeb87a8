"""CLI command of the availability stage: ``cclreview availability``."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from cclreview.cli import options
from cclreview.config import project_paths

log = logging.getLogger(__name__)


@click.command("availability")
@click.option(
    "--exports",
    "exports_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="exports.parquet from ingest-trade (default: data/processed/exports.parquet).",
)
@click.option(
    "--evidence",
    "evidence_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="evidence.parquet (optional): adds n_evidence_rows, evidence_countries to HS6 rows.",
)
@click.option(
    "--concordance",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="UN HS concordance CSV (default: data/raw/hs/hs_concordances_comtrade.csv).",
)
@options.out_dir()
@click.option(
    "--weights",
    "weights_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Weights TOML whose [suppliers] floors apply [default: config/weights.toml].",
)
@click.option(
    "--min-share",
    type=float,
    default=None,
    help="Supplier floor: share of non-U.S. exports [default: weights suppliers.min_share].",
)
@click.option(
    "--min-value-usd",
    type=float,
    default=None,
    help="Supplier floor: exports in USD [default: weights suppliers.min_value_usd].",
)
@click.option(
    "--precedence",
    default="baci,comtrade,otstats,oec_baci_top40",
    show_default=True,
    help="Source label prefixes, best first (one source per product and year).",
)
@click.option(
    "--tolerance",
    type=float,
    default=0.05,
    show_default=True,
    help="Relative difference between overlapping sources reported in source_conflicts.csv.",
)
@click.option(
    "--min-source-exporters",
    type=int,
    default=20,
    show_default=True,
    help="A source file with fewer exporters in a year is a partial extract (demoted, not used for links).",
)
def availability_cmd(
    exports_path: Path | None,
    evidence_path: Path | None,
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
    exports_path = exports_path or paths.processed / "exports.parquet"
    order = tuple(p.strip() for p in precedence.split(",") if p.strip())
    res = run_availability(
        exports_path,
        out_dir,
        concordance,
        evidence_path,
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
