"""Recipes for the eCFR: the CCL (15 CFR 774) and the other EAR parts (738, 744).

The eCFR versioner API serves one part of Title 15 at one issue date
(:func:`ccl_url`, :func:`ear_url`); without a date, the latest issue date is asked
first (:func:`latest_ecfr_date`). With a mirror, the CCL is copied from its ``ccl/``
folder instead.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error

from cclreview.config import MIRROR_ENV, ProjectPaths
from cclreview.errors import FetchError, SourceMissingError
from cclreview.fetch import http, store
from cclreview.fetch.store import FetchResult

ECFR_DEFAULT = "https://www.ecfr.gov"
CCL_LICENCE = "U.S. Government work, public domain"


def ecfr_base() -> str:
    """eCFR API base URL (``CCLREVIEW_ECFR_URL`` overrides it, e.g. for a test server)."""
    return os.environ.get("CCLREVIEW_ECFR_URL", ECFR_DEFAULT)


def latest_ecfr_date(base_url: str | None = None, title: int = 15) -> str:
    """Return Title ``title``'s latest issue date from the eCFR titles endpoint."""
    url = f"{base_url or ecfr_base()}/api/versioner/v1/titles.json"
    try:
        with http._open(url) as resp:
            data = json.load(resp)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FetchError(f"cannot ask {url} for the latest eCFR date: {http.failure_reason(exc)}") from exc
    for t in data.get("titles", []):
        if int(t.get("number", -1)) == title and t.get("latest_issue_date"):
            return str(t["latest_issue_date"])
    raise FetchError(f"{url}: no latest_issue_date for title {title} in the answer")


def ccl_url(date: str, base_url: str | None = None) -> str:
    """URL of Part 774 (the CCL is its Supplement No. 1) at eCFR issue ``date``."""
    return f"{base_url or ecfr_base()}/api/versioner/v1/full/{date}/title-15.xml?part=774"


def fetch_ccl(
    paths: ProjectPaths,
    date: str | None = None,
    mirror: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    pin: str = "",
    force: bool = False,
) -> FetchResult:
    """Get the eCFR XML of 15 CFR 774 into ``data/raw/ccl/``.

    ``pin`` is the sha256 the file must have (``[ccl] sha256`` of sources.toml); a
    file already in data/raw that differs from the mirror's is replaced only with
    ``force`` (see :func:`~cclreview.fetch.store.from_mirror`).

    With a mirror, the newest ``ccl/*.xml`` there is copied (or the one whose name holds
    ``date``). Otherwise the eCFR versioner API is asked for ``date`` (default: the
    latest issue date of Title 15).
    """
    dest_dir = paths.raw_ccl
    how_to = (
        f"put the eCFR XML of 15 CFR 774 Supp. 1 at {dest_dir}/ccl_supp1_ecfr_<YYYY-MM-DD>.xml "
        f"or set {MIRROR_ENV} to a folder holding ccl/ccl_supp1_ecfr_*.xml"
    )
    m = store.mirror_root(mirror)
    if m is not None:
        candidates = sorted((m / "ccl").glob("*.xml"))
        if date and date != "latest":
            candidates = [c for c in candidates if date in c.name or date[:7] in c.name]
        if not candidates:
            raise SourceMissingError(f"no CCL XML in mirror {m / 'ccl'}; {how_to}")
        src = candidates[-1]
        target = dest_dir / src.name
        action, detail = store.from_mirror(paths, src, target, pin, force, "ccl")
        if action != "copied":
            return FetchResult("ccl", target, action, detail)
        vintage = date_in_name(src.name) or "unknown"
        store.manifest_entry(
            paths,
            target,
            kind="ccl",
            url=f"mirror:ccl/{src.name}",
            vintage=vintage,
            licence=CCL_LICENCE,
            note="eCFR 15 CFR 774 Supp. 1",
        )
        return FetchResult("ccl", target, "copied", str(src))
    try:
        if not date or date == "latest":
            date = latest_ecfr_date(base_url)
        url = ccl_url(date, base_url)
        target = dest_dir / f"ccl_supp1_ecfr_{date}.xml"
        if target.exists() and not force:
            action, detail = store.check_kept(paths, target, pin, "ccl")
            store.record_if_new(
                paths, target, kind="ccl", vintage=date, licence=CCL_LICENCE, note="placed by the user"
            )
            return FetchResult("ccl", target, action, detail)
        http.download(url, target, desc=f"CCL {date}", expected_sha256=pin or None)
    except FetchError as exc:
        raise SourceMissingError(f"{exc}; {how_to}") from exc
    store.manifest_entry(
        paths,
        target,
        kind="ccl",
        url=url,
        vintage=date,
        licence=CCL_LICENCE,
        note="eCFR 15 CFR 774 (Part 774, incl. Supp. 1)",
    )
    return FetchResult("ccl", target, "downloaded", url)


#: EAR parts fetched by ``cclreview fetch ear`` besides the CCL (Part 774): the Country
#: Chart is Supp. No. 1 to Part 738, the military end-use list Supp. No. 2 to Part 744.
EAR_PARTS: tuple[int, ...] = (738, 744)


def ear_url(part: int, date: str, base_url: str | None = None) -> str:
    """URL of one part of 15 CFR at eCFR issue ``date`` (the same API as the CCL)."""
    return f"{base_url or ecfr_base()}/api/versioner/v1/full/{date}/title-15.xml?part={part}"


def fetch_ear(
    paths: ProjectPaths,
    date: str | None = None,
    parts: tuple[int, ...] = EAR_PARTS,
    base_url: str | None = None,
) -> list[FetchResult]:
    """Download the eCFR XML of Parts 738 and 744 into ``data/raw/ear/``.

    ``ecfr_part738_<date>.xml`` holds the Country Chart; ``cclreview controls`` reads it
    when no chart JSON is present. Each file is written atomically (temp file, rename).

    Raises
    ------
    SourceMissingError
        When the eCFR cannot be reached, naming the URL and where to put the file instead.
    """
    dest = paths.raw / "ear"
    results: list[FetchResult] = []
    try:
        if not date or date == "latest":
            date = latest_ecfr_date(base_url)
        for part in parts:
            url = ear_url(part, date, base_url)
            target = dest / f"ecfr_part{part}_{date}.xml"
            http.download(url, target, desc=f"15 CFR {part} {date}")
            store.manifest_entry(
                paths,
                target,
                kind="ear",
                url=url,
                vintage=date,
                licence=CCL_LICENCE,
                note=f"eCFR 15 CFR Part {part}",
            )
            results.append(FetchResult(f"ear_part{part}", target, "downloaded", url))
    except FetchError as exc:
        raise SourceMissingError(
            f"{exc}; put the eCFR XML of 15 CFR Parts {', '.join(map(str, parts))} in {dest} "
            f"(ecfr_part<N>_<YYYY-MM-DD>.xml) or set {MIRROR_ENV} to the data mirror"
        ) from exc
    return results


def date_in_name(name: str) -> str | None:
    found = re.search(r"(\d{4}-\d{2}(?:-\d{2})?)", name)
    return found.group(1) if found else None
