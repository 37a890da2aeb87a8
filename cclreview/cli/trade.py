"""CLI commands of the trade stage: ``cclreview ingest-trade``."""

from __future__ import annotations

from pathlib import Path

import click

from cclreview.cli import options
from cclreview.config import project_paths


def _years(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(y) for y in text.replace(" ", "").split(",") if y]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of years, e.g. 2022,2024") from None


@click.command("ingest-trade")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@options.out_dir()
@click.option("--years", default=None, help="Keep only these years, comma separated (e.g. 2022,2024).")
@click.option(
    "--max-rejected",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Fail when a file has a larger share of rejected rows.",
)
@click.option(
    "--column-map",
    default=None,
    help="Columns of a generic long table: year=..,exporter=..,hs6=..,value_usd=..[,importer=..,qty=..].",
)
@click.option("--hs-version", default=None, help="Force the HS revision of every input (e.g. HS2022).")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Re-read every file; neither use nor store cache entries (files are not hashed).",
)
@click.option(
    "--focus",
    default=None,
    help="Importers for flows_focus.parquet, comma separated ISO3 "
    "[default: [trade] focus_importers of config/sources.toml, else CHN,HKG,MAC,RUS,BLR].",
)
@click.option(
    "--duplicates",
    type=click.Choice(["sample", "full", "off"]),
    default="sample",
    show_default=True,
    help="Exact duplicate rows: 'sample' checks every Comtrade/generic row and the BACI rows kept "
    "per importer (catches a repeated block or file at no cost), 'full' every BACI row (about "
    "1.7x the time), 'off' sums rows as they come (a Comtrade file still gives one total per key).",
)
def ingest_trade_cmd(
    paths: tuple[Path, ...],
    out_dir: Path | None,
    years: str | None,
    max_rejected: float,
    column_map: str | None,
    hs_version: str | None,
    no_cache: bool,
    focus: str | None,
    duplicates: str,
) -> None:
    """Read trade data into exporter-level totals (exports.parquet) and bilateral flows.

    PATHS are BACI yearly CSVs or release zips, the BACI extracts, UN Comtrade
    exports (API v2, legacy, trimmed) or any long table with --column-map; folders
    are scanned. Default: every trade file in data/raw/trade. Writes exports.parquet
    (to the world), flows_focus.parquet (to the focus importers), us_exports.parquet
    (U.S. exports to every importer), rejected_rows.csv (file, line, column, value,
    reason), unmatched_countries.csv (names and codes that are not countries, with
    their trade value) and bilateral_coverage.csv (which files have partner detail).
    Unchanged files are read from the cache in OUT/.cache.

    \b
    Example:
      cclreview ingest-trade
      cclreview ingest-trade data/raw/trade/BACI_HS22_V202601.zip --years 2022,2023 --out /tmp/trade
      cclreview ingest-trade mydata.xlsx --column-map year=Year,exporter=Country,hs6=HS,value_usd=USD
    """
    # Imported here so `cclreview --help` stays fast.
    from cclreview.trade.generic import parse_column_map
    from cclreview.trade.ingest import find_trade_files, ingest_trade

    project = project_paths()
    focus_list = [f.strip() for f in focus.split(",") if f.strip()] if focus else None
    if focus_list is None and project.sources.is_file():
        from cclreview.sources import load_sources

        focus_list = load_sources(project.sources).trade.focus_importers
    files: list[Path] = []
    for path in paths or (project.raw_trade,):
        files.extend(find_trade_files(path) if path.is_dir() else [path])
    summary = ingest_trade(
        files,
        out_dir if out_dir is not None else project.processed,
        years=_years(years),
        max_rejected=max_rejected,
        column_map=parse_column_map(column_map),
        hs_version=hs_version,
        use_cache=not no_cache,
        focus=focus_list,
        duplicates=duplicates,  # type: ignore[arg-type]  # click.Choice checked it
    )
    dups = ", ".join(f"{n:,} in {f}" for f, n in summary.get("duplicates_by_file", {}).items() if n)
    parts = summary.get("breakdowns_set_aside", 0)
    click.echo(
        f"{summary['files']} file(s) ({summary['cached']} cached), {summary['rows_read']:,} rows read, "
        f"{summary['rows_rejected']:,} rejected, {summary['duplicates_dropped']:,} duplicates dropped"
        f"{f' ({dups})' if dups else ''}, "
        f"{f'{parts:,} Comtrade breakdown rows set aside (the total of each key kept), ' if parts else ''}"
        f"{summary['unmatched_values']} unmatched country value(s) "
        f"(${summary['unmatched_value_usd']:,.0f}), {summary['export_rows']:,} export rows, "
        f"{summary.get('focus_rows', 0):,} focus and {summary.get('us_rows', 0):,} U.S. bilateral rows "
        f"in {summary['seconds']:.1f}s -> {Path(summary['outputs']['exports']).parent}"
    )


commands: list[click.Command] = [ingest_trade_cmd]
