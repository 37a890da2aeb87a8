"""What lands in ``data/raw/``: mirror copies, files kept, and their manifest records.

A file comes from the mirror only when that would not silently lose or change data
(:func:`from_mirror`); a file already in ``data/raw/`` is kept and checked against its
pinned sha256 (:func:`check_kept`). Every file taken is recorded in
``data/raw/MANIFEST.json`` (:func:`manifest_entry`: URL or mirror path, retrieval time,
vintage, bytes, sha256, licence). :class:`FetchResult` says what happened to a source.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cclreview.config import MIRROR_ENV, ProjectPaths
from cclreview.errors import FetchError, SourceMissingError
from cclreview.io import atomic_path, sha256_file
from cclreview.manifest import entry_for, record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchResult:
    """What happened to one source: ``downloaded``, ``copied``, ``kept`` or ``skipped``."""

    name: str
    path: Path | None
    action: str
    detail: str = ""


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def copy_file(src: Path, target: Path) -> Path:
    """Copy ``src`` to ``target`` atomically (temp file beside the target, then rename)."""
    with atomic_path(target) as tmp:
        shutil.copyfile(src, tmp)
    return target


def record_if_new(paths: ProjectPaths, path: Path, **fields: Any) -> None:
    """Record a file the user placed in data/raw by hand (url "local") unless already recorded."""
    if not entry_for(paths.manifest, path.relative_to(paths.raw).as_posix()):
        manifest_entry(paths, path, url="local", **fields)


def manifest_entry(paths: ProjectPaths, path: Path, **fields: Any) -> dict[str, Any]:
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


def from_mirror(
    paths: ProjectPaths, src: Path, target: Path, pin: str, force: bool, label: str
) -> tuple[str, str]:
    """Copy ``src`` to ``target`` unless that would silently lose or change data.

    Returns ``(action, detail)``: ``copied``; ``kept`` (same bytes); or ``differs`` when
    ``target`` was edited in data/raw, or the mirror's copy changed since it was taken:
    the file in data/raw stays and the detail says why (``--force`` replaces it).
    A pinned sha256 (``pin``) that the mirror file does not match is an error; one
    that it matches lets a changed mirror copy replace the recorded one.

    Raises
    ------
    FetchError
        The mirror file does not match the pinned sha256.
    """
    src_sha = sha256_file(src)
    if pin and src_sha != pin:
        raise FetchError(
            f"{label}: mirror file {src.name} has sha256 {src_sha[:16]}..., not the {pin[:16]}... pinned in "
            "config/sources.toml; the mirror's copy changed: check it, then update the pin"
        )
    if target.exists():
        tgt_sha = sha256_file(target)
        rel = target.relative_to(paths.raw).as_posix()
        entry = entry_for(paths.manifest, rel)
        if tgt_sha == src_sha:
            if not entry or entry.get("sha256") != tgt_sha:
                return "copied", "same bytes, now recorded"  # caller records it
            return "kept", "same sha256"
        if not force:
            if not entry or entry.get("sha256") != tgt_sha:
                return "differs", (
                    f"data/raw/{rel} was edited or placed by hand (sha256 {tgt_sha[:12]}, "
                    f"manifest {str((entry or {}).get('sha256') or 'none')[:12]}); kept, the mirror's copy "
                    f"({src_sha[:12]}) not taken: pass --force to replace it"
                )
            if not pin:
                return "differs", (
                    f"the mirror's {src.name} changed (sha256 {src_sha[:12]}, recorded {tgt_sha[:12]}); "
                    "kept the recorded copy: pass --force to take the new one, or pin its sha256 in config/sources.toml"
                )
        log.warning("%s: replacing data/raw/%s (sha256 %s) by the mirror's copy (%s)", label, rel, tgt_sha[:12],
                    src_sha[:12])  # fmt: skip
    copy_file(src, target)
    return "copied", str(src.name)


def check_kept(paths: ProjectPaths, target: Path, pin: str, label: str) -> tuple[str, str]:
    """A file kept in data/raw: ``kept``, or ``differs`` when it does not match the pin."""
    if pin and sha256_file(target) != pin:
        return "differs", (
            f"data/raw/{target.relative_to(paths.raw).as_posix()} does not match the sha256 pinned in "
            "config/sources.toml; kept: pass --force to fetch it again, or update the pin"
        )
    return "kept", "already in data/raw"


def mirror_root(mirror: str | os.PathLike[str] | None) -> Path | None:
    from cclreview.config import mirror_dir

    m = mirror_dir(mirror)
    if m is not None and not m.is_dir():
        raise SourceMissingError(f"mirror directory {m} does not exist; fix {MIRROR_ENV} or --mirror")
    return m
