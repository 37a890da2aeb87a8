"""``cclreview fetch ...``: get sources from the official URLs or a local mirror."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cclreview.cli import options
from cclreview.config import project_paths

if TYPE_CHECKING:
    from cclreview.fetch import FetchResult

_mirror_option = options.mirror(
    "Copy from this local directory instead of downloading [env CCLREVIEW_MIRROR]."
)


_force_option = options.flag(
    "--force",
    "Replace files in data/raw that differ from the mirror or the pinned sha256 "
    "(by default they are kept and reported as 'differs').",
)


def _echo(results: list[FetchResult]) -> None:
    for r in results:
        where = r.path.as_posix() if r.path else "-"
        click.echo(
            f"{r.action:<10} {r.name:<28} {where}"
            + (f"  ({r.detail})" if r.action in ("skipped", "differs") else "")
        )


@click.group("fetch")
def fetch() -> None:
    """Get source files into data/raw/ and record them in data/raw/MANIFEST.json.

    \b
    Examples:
      cclreview fetch all                         # everything in config/sources.toml
      cclreview fetch ccl --date 2026-06-24       # one eCFR edition of the CCL
      cclreview fetch baci --release V202601 --hs HS22
      CCLREVIEW_MIRROR=../shared/data cclreview fetch all
    """


@fetch.command("ccl")
@options.ecfr_date()
@_mirror_option
@_force_option
def fetch_ccl_cmd(date: str | None, mirror: str | None, force: bool) -> None:
    """Download 15 CFR 774 (the CCL) from the eCFR versioner API.

    \b
    Example:
      cclreview fetch ccl --date 2026-06-24
    """
    from cclreview.fetch import fetch_ccl

    _echo([fetch_ccl(project_paths(), date=date, mirror=mirror, force=force)])


@fetch.command("ear")
@options.ecfr_date()
def fetch_ear_cmd(date: str | None) -> None:
    """Download 15 CFR Parts 738 (Country Chart) and 744 (MEU list) from the eCFR versioner API.

    The XML goes to data/raw/ear/ecfr_part<N>_<date>.xml; `cclreview controls` reads the
    Country Chart from it when no chart JSON is there.

    \b
    Example:
      cclreview fetch ear --date 2026-07-23
    """
    from cclreview.fetch import fetch_ear

    _echo(fetch_ear(project_paths(), date=date))


@fetch.command("baci")
@options.setting("--release", "V202601", "BACI release, e.g. V202601.")
@options.setting("--hs", "HS22", "HS revision of the release, e.g. HS22.")
@_mirror_option
@_force_option
def fetch_baci_cmd(release: str, hs: str, mirror: str | None, force: bool) -> None:
    """Download a CEPII BACI release zip (resumable, sha256 in the manifest).

    \b
    Example:
      cclreview fetch baci --release V202601 --hs HS22
    """
    from cclreview.fetch import fetch_baci

    _echo([fetch_baci(project_paths(), release=release, hs=hs, mirror=mirror, force=force)])


@fetch.command("all")
@options.file("--sources", "Sources file (default config/sources.toml).", dest="sources_file", path_type=str)
@_mirror_option
@_force_option
def fetch_all_cmd(sources_file: str | None, mirror: str | None, force: bool) -> None:
    """Get every source listed in config/sources.toml (CCL, HS, trade, evidence).

    \b
    Example:
      CCLREVIEW_MIRROR=../shared/data cclreview fetch all
    """
    from cclreview.fetch import fetch_all
    from cclreview.sources import load_sources

    paths = project_paths()
    _echo(fetch_all(paths, load_sources(sources_file or paths.sources), mirror=mirror, force=force))


commands: list[click.Command] = [fetch]
