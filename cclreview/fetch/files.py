"""Recipes for the files listed in ``config/sources.toml``, and for every source at once.

:func:`fetch_file` gets one listed file (kept if present, else copied from the
mirror, else downloaded); :func:`fetch_all` gets the CCL, every listed file and the BACI
release when it is enabled, and fails when no trade data results.
"""

from __future__ import annotations

import os
from pathlib import Path

from cclreview.config import MIRROR_ENV, ProjectPaths
from cclreview.errors import FetchError, SourceMissingError
from cclreview.fetch import http, store
from cclreview.fetch.baci import baci_url, fetch_baci
from cclreview.fetch.ecfr import CCL_LICENCE, date_in_name, fetch_ccl
from cclreview.fetch.store import FetchResult
from cclreview.sources import FileSource, SourcesConfig


def fetch_file(
    paths: ProjectPaths, spec: FileSource, mirror: str | os.PathLike[str] | None = None, force: bool = False
) -> FetchResult:
    """Get one listed file: keep it if present, else copy from the mirror, else download.

    A file in data/raw that differs from the mirror's copy (edited by hand, or the
    mirror changed) is kept and reported (action ``differs``) unless ``force``; a
    pinned ``sha256`` is checked on mirror copies and downloads.
    """
    target = paths.raw / spec.target
    fields = {"kind": spec.kind, "vintage": spec.vintage, "licence": spec.licence, "note": spec.origin}
    where = f"put {Path(spec.mirror).name} at {target}" + (
        f" (official source: {spec.url})" if spec.url else ""
    )
    m = store.mirror_root(mirror)
    if m is not None:
        src = m / spec.mirror
        if src.exists():
            action, detail = store.from_mirror(
                paths, src, target, spec.sha256, force, f"source '{spec.name}'"
            )
            if action != "copied":
                return FetchResult(spec.name, target, action, detail)
            store.manifest_entry(
                paths,
                target,
                url=spec.url or f"mirror:{spec.mirror}",
                source=f"mirror:{spec.mirror}",
                **fields,
            )
            return FetchResult(spec.name, target, "copied", str(src))
    if target.exists() and not (force and m is None and spec.url):
        store.record_if_new(paths, target, **fields)
        action, detail = store.check_kept(paths, target, spec.sha256, f"source '{spec.name}'")
        return FetchResult(spec.name, target, action, detail)
    if m is None and spec.url:
        try:
            http.download(spec.url, target, desc=spec.name, expected_sha256=spec.sha256 or None)
        except FetchError as exc:
            if spec.required:
                raise SourceMissingError(f"source '{spec.name}': {exc}; {where}") from exc
            return FetchResult(spec.name, None, "skipped", str(exc))
        store.manifest_entry(paths, target, url=spec.url, **fields)
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
    force: bool = False,
) -> list[FetchResult]:
    """Fetch the CCL, the BACI release (when enabled) and every listed file.

    The CCL is kept as it is when a ``data/raw/ccl/*.xml`` is already there and recorded
    in the manifest (run ``cclreview fetch ccl`` to take a new edition).
    """
    results: list[FetchResult] = []
    existing = sorted(paths.raw_ccl.glob("*.xml"))
    if existing and store.mirror_root(mirror) is None:
        target = existing[-1]
        store.record_if_new(
            paths,
            target,
            kind="ccl",
            vintage=date_in_name(target.name) or "unknown",
            licence=CCL_LICENCE,
            note="placed by the user",
        )
        results.append(
            FetchResult("ccl", target, *store.check_kept(paths, target, sources.ccl.sha256, "ccl"))
        )
    else:
        date = None if sources.ccl.date == "latest" else sources.ccl.date
        results.append(fetch_ccl(paths, date=date, mirror=mirror, pin=sources.ccl.sha256, force=force))
    for spec in sources.files:
        results.append(fetch_file(paths, spec, mirror, force=force))
    if sources.baci.enabled:
        results.append(
            fetch_baci(paths, sources.baci.release, sources.baci.hs, mirror, required=False,
                       pin=sources.baci.sha256, force=force)
        )  # fmt: skip
    trade = [r for r in results if r.path is not None and "trade" in r.path.parts]
    if not trade:
        raise SourceMissingError(
            f"no trade data: put {sources.baci.zip_name} (from {baci_url(sources.baci.release, sources.baci.hs)}) "
            f"or other trade files in {paths.raw_trade}, or set {MIRROR_ENV}"
        )
    return results
