"""Recipe for a CEPII BACI release zip: from the mirror, else from CEPII."""

from __future__ import annotations

import os

from cclreview.config import ProjectPaths
from cclreview.errors import FetchError, SourceMissingError
from cclreview.fetch import http, store
from cclreview.fetch.store import FetchResult

BACI_DEFAULT = "https://www.cepii.fr/DATA_DOWNLOAD/baci/data"
BACI_LICENCE = "CEPII BACI terms (cite Gaulier & Zignago 2010)"


def baci_base() -> str:
    """CEPII BACI download base URL (``CCLREVIEW_BACI_URL`` overrides it)."""
    return os.environ.get("CCLREVIEW_BACI_URL", BACI_DEFAULT)


def _baci_fields(release: str, hs: str) -> dict[str, str]:
    return {"kind": "trade", "vintage": release, "licence": BACI_LICENCE, "note": f"BACI {hs} {release}"}


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
    pin: str = "",
    force: bool = False,
) -> FetchResult:
    """Get the BACI release zip into ``data/raw/trade/`` (mirror first, else CEPII).

    With ``required=False`` a missing release is reported as ``skipped`` rather than
    raised (``fetch all`` then falls back to the other trade files).
    """
    name = f"BACI_{hs}_{release}.zip"
    target = paths.raw_trade / name
    how_to = f"download {baci_url(release, hs, base_url)} to {target} or put it in the mirror's trade/ folder"
    m = store.mirror_root(mirror)
    if m is not None:
        src = next((p for p in (m / "trade" / name, m / "baci" / name, m / name) if p.exists()), None)
        if src is None:
            if required:
                raise SourceMissingError(f"{name} is not in mirror {m}; {how_to}")
            return FetchResult("baci", None, "skipped", f"{name} not in mirror {m}")
        action, detail = store.from_mirror(paths, src, target, pin, force, "baci")
        if action != "copied":
            return FetchResult("baci", target, action, detail)
        store.manifest_entry(
            paths, target, url=f"mirror:{src.relative_to(m).as_posix()}", **_baci_fields(release, hs)
        )
        return FetchResult("baci", target, "copied", src.name)
    if target.exists() and not target.with_name(name + ".part").exists() and not force:
        store.record_if_new(paths, target, **_baci_fields(release, hs))
        action, detail = store.check_kept(paths, target, pin, "baci")
        return FetchResult("baci", target, action, detail)
    url = baci_url(release, hs, base_url)
    try:
        http.download(url, target, desc=name, expected_sha256=pin or None)
    except FetchError as exc:
        if required:
            raise SourceMissingError(f"{exc}; {how_to}") from exc
        return FetchResult("baci", None, "skipped", str(exc))
    store.manifest_entry(paths, target, url=url, **_baci_fields(release, hs))
    return FetchResult("baci", target, "downloaded", url)
