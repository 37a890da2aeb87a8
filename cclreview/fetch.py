"""Getting the sources the way a user would: official downloads or a local mirror.

Every file lands in ``data/raw/`` through a temp file and a rename, and is recorded in
``data/raw/MANIFEST.json`` (URL or mirror path, retrieval time, vintage, bytes, sha256,
licence). Downloads show a progress bar, resume an interrupted ``.part`` file with an
HTTP Range request, and verify a checksum when one is known. With a mirror
(``CCLREVIEW_MIRROR`` or ``--mirror``) nothing is downloaded: files come from the mirror,
and a required file missing from it is an error that says where to put it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cclreview import progress
from cclreview.config import MIRROR_ENV, ProjectPaths
from cclreview.errors import FetchError, SourceMissingError
from cclreview.io import atomic_path, sha256_file
from cclreview.manifest import entry_for, record
from cclreview.sources import FileSource, SourcesConfig

log = logging.getLogger(__name__)

ECFR_DEFAULT = "https://www.ecfr.gov"
BACI_DEFAULT = "https://www.cepii.fr/DATA_DOWNLOAD/baci/data"
TIMEOUT_S = 30
CHUNK = 1 << 16
USER_AGENT = "cclreview (+https://www.ecfr.gov API client for export-control review)"


@dataclass(frozen=True)
class FetchResult:
    """What happened to one source: ``downloaded``, ``copied``, ``kept`` or ``skipped``."""

    name: str
    path: Path | None
    action: str
    detail: str = ""


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def ecfr_base() -> str:
    """eCFR API base URL (``CCLREVIEW_ECFR_URL`` overrides it, e.g. for a test server)."""
    return os.environ.get("CCLREVIEW_ECFR_URL", ECFR_DEFAULT)


def baci_base() -> str:
    """CEPII BACI download base URL (``CCLREVIEW_BACI_URL`` overrides it)."""
    return os.environ.get("CCLREVIEW_BACI_URL", BACI_DEFAULT)


def _open(url: str, headers: dict[str, str] | None = None, timeout: float = TIMEOUT_S) -> Any:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    return urllib.request.urlopen(req, timeout=timeout)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"no connection: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def download(
    url: str,
    target: str | os.PathLike[str],
    *,
    expected_sha256: str | None = None,
    timeout: float = TIMEOUT_S,
    desc: str | None = None,
) -> Path:
    """Download ``url`` to ``target`` with resume, progress bar and atomic rename.

    An interrupted download leaves ``<target>.part``; the next call asks the server for
    the remaining bytes (HTTP Range) and appends them. The file appears at ``target``
    only when complete (and, when ``expected_sha256`` is given, verified).

    Raises
    ------
    FetchError
        On a network or HTTP error, or a checksum mismatch (the partial file is removed).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        resp = _open(url, headers, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the .part file is already complete
            resp = None
        else:
            raise FetchError(f"cannot download {url}: {_reason(exc)}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"cannot download {url}: {_reason(exc)}") from exc
    if resp is not None:
        with resp:
            status = getattr(resp, "status", 200)
            if have and status != 206:  # server ignored Range: start over
                have = 0
            length = resp.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else None
            bar = progress.bar(total=total, initial=have, unit="B", unit_scale=True, desc=desc or target.name)
            try:
                with part.open("ab" if have else "wb") as fh:
                    while True:
                        try:
                            block = resp.read(CHUNK)
                        except (OSError, urllib.error.URLError) as exc:
                            raise FetchError(
                                f"download of {url} interrupted ({_reason(exc)}); run the same command again to resume"
                            ) from exc
                        if not block:
                            break
                        fh.write(block)
                        bar.update(len(block))
            finally:
                bar.close()
            if total is not None and part.stat().st_size < total:
                raise FetchError(
                    f"download of {url} ended early ({part.stat().st_size} of {total} bytes); "
                    "run the same command again to resume"
                )
    if expected_sha256:
        got = sha256_file(part)
        if got != expected_sha256:
            part.unlink()
            raise FetchError(f"checksum mismatch for {url}: expected sha256 {expected_sha256}, got {got}")
    part.replace(target)
    return target


def copy_file(src: Path, target: Path) -> Path:
    """Copy ``src`` to ``target`` atomically (temp file beside the target, then rename)."""
    with atomic_path(target) as tmp:
        shutil.copyfile(src, tmp)
    return target


CCL_LICENCE = "U.S. Government work, public domain"
BACI_LICENCE = "CEPII BACI terms (cite Gaulier & Zignago 2010)"


def _baci_fields(release: str, hs: str) -> dict[str, str]:
    return {"kind": "trade", "vintage": release, "licence": BACI_LICENCE, "note": f"BACI {hs} {release}"}


def _record_if_new(paths: ProjectPaths, path: Path, **fields: Any) -> None:
    """Record a file the user placed in data/raw by hand (url "local") unless already recorded."""
    if not entry_for(paths.manifest, path.relative_to(paths.raw).as_posix()):
        _manifest_entry(paths, path, url="local", **fields)


def _manifest_entry(paths: ProjectPaths, path: Path, **fields: Any) -> dict[str, Any]:
    rel = path.relative_to(paths.raw).as_posix()
    entry = {
        "path": rel,
        "retrieved": _now(),
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }
    entry.update(fields)
    record(paths.manifest, entry)
    return entry


def _unchanged(paths: ProjectPaths, target: Path, src: Path | None = None) -> bool:
    """True when ``target`` is recorded in the manifest with its current sha256 (and equals ``src``)."""
    if not target.exists():
        return False
    entry = entry_for(paths.manifest, target.relative_to(paths.raw).as_posix())
    if not entry or entry.get("bytes") != target.stat().st_size:
        return False
    if src is not None and src.stat().st_size != target.stat().st_size:
        return False
    return entry.get("sha256") == sha256_file(target) and (src is None or sha256_file(src) == entry["sha256"])


def _mirror(mirror: str | os.PathLike[str] | None) -> Path | None:
    from cclreview.config import mirror_dir

    m = mirror_dir(mirror)
    if m is not None and not m.is_dir():
        raise SourceMissingError(f"mirror directory {m} does not exist; fix {MIRROR_ENV} or --mirror")
    return m


# --- the CCL ------------------------------------------------------------------------


def latest_ecfr_date(base_url: str | None = None, title: int = 15) -> str:
    """Return Title ``title``'s latest issue date from the eCFR titles endpoint."""
    url = f"{base_url or ecfr_base()}/api/versioner/v1/titles.json"
    try:
        with _open(url) as resp:
            data = json.load(resp)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FetchError(f"cannot ask {url} for the latest eCFR date: {_reason(exc)}") from exc
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
) -> FetchResult:
    """Get the eCFR XML of 15 CFR 774 into ``data/raw/ccl/``.

    With a mirror, the newest ``ccl/*.xml`` there is copied (or the one whose name holds
    ``date``). Otherwise the eCFR versioner API is asked for ``date`` (default: the
    latest issue date of Title 15).
    """
    dest_dir = paths.raw_ccl
    how_to = (
        f"put the eCFR XML of 15 CFR 774 Supp. 1 at {dest_dir}/ccl_supp1_ecfr_<YYYY-MM-DD>.xml "
        f"or set {MIRROR_ENV} to a folder holding ccl/ccl_supp1_ecfr_*.xml"
    )
    m = _mirror(mirror)
    if m is not None:
        candidates = sorted((m / "ccl").glob("*.xml"))
        if date and date != "latest":
            candidates = [c for c in candidates if date in c.name or date[:7] in c.name]
        if not candidates:
            raise SourceMissingError(f"no CCL XML in mirror {m / 'ccl'}; {how_to}")
        src = candidates[-1]
        target = dest_dir / src.name
        if _unchanged(paths, target, src):
            return FetchResult("ccl", target, "kept", "already in data/raw with the same sha256")
        copy_file(src, target)
        vintage = _date_in_name(src.name) or "unknown"
        _manifest_entry(
            paths,
            target,
            kind="ccl",
            url=f"mirror:{src}",
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
        download(url, target, desc=f"CCL {date}")
    except FetchError as exc:
        raise SourceMissingError(f"{exc}; {how_to}") from exc
    _manifest_entry(
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
            download(url, target, desc=f"15 CFR {part} {date}")
            _manifest_entry(
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


def _date_in_name(name: str) -> str | None:
    found = re.search(r"(\d{4}-\d{2}(?:-\d{2})?)", name)
    return found.group(1) if found else None


# --- BACI ---------------------------------------------------------------------------


def baci_url(release: str, hs: str, base_url: str | None = None) -> str:
    """URL of a CEPII BACI release zip, e.g. ``BACI_HS22_V202601.zip``."""
    return f"{base_url or baci_base()}/BACI_{hs}_{release}.zip"


def fetch_baci(
    paths: ProjectPaths,
    release: str = "V202601",
    hs: str = "HS22",
    mirror: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    required: bool = True,
) -> FetchResult:
    """Get the BACI release zip into ``data/raw/trade/`` (mirror first, else CEPII).

    With ``required=False`` a missing release is reported as ``skipped`` rather than
    raised (``fetch all`` then falls back to the other trade files).
    """
    name = f"BACI_{hs}_{release}.zip"
    target = paths.raw_trade / name
    how_to = f"download {baci_url(release, hs, base_url)} to {target} or put it in the mirror's trade/ folder"
    m = _mirror(mirror)
    if m is not None:
        src = next((p for p in (m / "trade" / name, m / "baci" / name, m / name) if p.exists()), None)
        if src is None:
            if required:
                raise SourceMissingError(f"{name} is not in mirror {m}; {how_to}")
            return FetchResult("baci", None, "skipped", f"{name} not in mirror {m}")
        if _unchanged(paths, target, src):
            return FetchResult("baci", target, "kept", "already in data/raw with the same sha256")
        copy_file(src, target)
        _manifest_entry(paths, target, url=f"mirror:{src}", **_baci_fields(release, hs))
        return FetchResult("baci", target, "copied", str(src))
    if target.exists() and not target.with_name(name + ".part").exists():
        _record_if_new(paths, target, **_baci_fields(release, hs))
        return FetchResult("baci", target, "kept", "already in data/raw")
    url = baci_url(release, hs, base_url)
    try:
        download(url, target, desc=name)
    except FetchError as exc:
        if required:
            raise SourceMissingError(f"{exc}; {how_to}") from exc
        return FetchResult("baci", None, "skipped", str(exc))
    _manifest_entry(paths, target, url=url, **_baci_fields(release, hs))
    return FetchResult("baci", target, "downloaded", url)


# --- listed files -------------------------------------------------------------------


def fetch_file(
    paths: ProjectPaths, spec: FileSource, mirror: str | os.PathLike[str] | None = None
) -> FetchResult:
    """Get one listed file: keep it if present, else copy from the mirror, else download."""
    target = paths.raw / spec.target
    fields = {"kind": spec.kind, "vintage": spec.vintage, "licence": spec.licence, "note": spec.origin}
    where = f"put {Path(spec.mirror).name} at {target}" + (
        f" (official source: {spec.url})" if spec.url else ""
    )
    m = _mirror(mirror)
    if m is not None:
        src = m / spec.mirror
        if src.exists():
            if _unchanged(paths, target, src):
                return FetchResult(spec.name, target, "kept", "same sha256")
            copy_file(src, target)
            _manifest_entry(
                paths, target, url=spec.url or f"mirror:{spec.mirror}", source=f"mirror:{src}", **fields
            )
            return FetchResult(spec.name, target, "copied", str(src))
    if target.exists():
        _record_if_new(paths, target, **fields)
        return FetchResult(spec.name, target, "kept", "already in data/raw")
    if m is None and spec.url:
        try:
            download(spec.url, target, desc=spec.name)
        except FetchError as exc:
            if spec.required:
                raise SourceMissingError(f"source '{spec.name}': {exc}; {where}") from exc
            return FetchResult(spec.name, None, "skipped", str(exc))
        _manifest_entry(paths, target, url=spec.url, **fields)
        return FetchResult(spec.name, target, "downloaded", spec.url)
    if spec.required:
        origin = f"mirror {m}" if m is not None else "no download URL and no mirror"
        raise SourceMissingError(f"source '{spec.name}' is missing ({origin}); {where} or set {MIRROR_ENV}")
    return FetchResult(
        spec.name, None, "skipped", "not in the mirror" if m is not None else "no URL; optional"
    )


def fetch_all(
    paths: ProjectPaths,
    sources: SourcesConfig,
    mirror: str | os.PathLike[str] | None = None,
) -> list[FetchResult]:
    """Fetch the CCL, the BACI release (when enabled) and every listed file.

    The CCL is kept as it is when a ``data/raw/ccl/*.xml`` is already there and recorded
    in the manifest (run ``cclreview fetch ccl`` to take a new edition).
    """
    results: list[FetchResult] = []
    existing = sorted(paths.raw_ccl.glob("*.xml"))
    if existing and _mirror(mirror) is None:
        target = existing[-1]
        _record_if_new(
            paths,
            target,
            kind="ccl",
            vintage=_date_in_name(target.name) or "unknown",
            licence=CCL_LICENCE,
            note="placed by the user",
        )
        results.append(FetchResult("ccl", target, "kept", "already in data/raw"))
    else:
        date = None if sources.ccl.date == "latest" else sources.ccl.date
        results.append(fetch_ccl(paths, date=date, mirror=mirror))
    for spec in sources.files:
        results.append(fetch_file(paths, spec, mirror))
    if sources.baci.enabled:
        results.append(fetch_baci(paths, sources.baci.release, sources.baci.hs, mirror, required=False))
    trade = [r for r in results if r.path is not None and "trade" in r.path.parts]
    if not trade:
        raise SourceMissingError(
            f"no trade data: put {sources.baci.zip_name} (from {baci_url(sources.baci.release, sources.baci.hs)}) "
            f"or other trade files in {paths.raw_trade}, or set {MIRROR_ENV}"
        )
    return results
