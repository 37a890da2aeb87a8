"""Downloading one file over HTTP: resume, checksum, progress bar, atomic rename.

:func:`download` writes ``<target>.part`` (and what it needs to resume, in
``<target>.part.json``), resumes it with an HTTP Range request when the server's file
has not changed, verifies a pinned sha256, and renames the file into place only when it
is complete. The per-source recipes (:mod:`cclreview.fetch.ecfr`,
:mod:`cclreview.fetch.baci`, :mod:`cclreview.fetch.files`) call it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from cclreview import progress
from cclreview.errors import FetchError
from cclreview.io import sha256_file

log = logging.getLogger(__name__)

TIMEOUT_S = 30
CHUNK = 1 << 16
USER_AGENT = "cclreview (+https://www.ecfr.gov API client for export-control review)"


def _open(url: str, headers: dict[str, str] | None = None, timeout: float = TIMEOUT_S) -> Any:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    return urllib.request.urlopen(req, timeout=timeout)


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"no connection: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """``bytes START-END/TOTAL`` -> (start, end, total or None); None when malformed."""
    m = re.fullmatch(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", value or "")
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), None if m.group(3) == "*" else int(m.group(3))


def _discard_part(part: Path, meta_path: Path) -> None:
    part.unlink(missing_ok=True)
    meta_path.unlink(missing_ok=True)


def download(
    url: str,
    target: str | os.PathLike[str],
    *,
    expected_sha256: str | None = None,
    timeout: float = TIMEOUT_S,
    desc: str | None = None,
) -> Path:
    """Download ``url`` to ``target`` with resume, progress bar and atomic rename.

    An interrupted download leaves ``<target>.part`` and ``<target>.part.json`` (URL,
    ETag, Last-Modified, total size). The next call resumes only when all of these
    still hold: same URL, the server answers 206 with a ``Content-Range`` that starts at
    the partial size and has the recorded total, and the same ETag/Last-Modified (sent
    as ``If-Range``). Otherwise (a stale ``.part`` of another version, a changed file, a
    416 for a partial file larger than the server's) it starts over. The file appears at
    ``target`` only when complete and, when ``expected_sha256`` is given, verified.

    Raises
    ------
    FetchError
        On a network or HTTP error, or a checksum mismatch (the partial file is removed).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    meta_path = target.with_name(target.name + ".part.json")
    for attempt in (1, 2):
        have = part.stat().st_size if part.exists() else 0
        meta = _read_meta(meta_path) if have else None
        if have and (meta is None or meta.get("url") != url):
            log.warning("%s: partial file of unknown origin; starting the download over", part)
            _discard_part(part, meta_path)
            have, meta = 0, None
        headers: dict[str, str] = {}
        if have and meta is not None:
            headers["Range"] = f"bytes={have}-"
            validator = meta.get("etag") or meta.get("last_modified")
            if validator:
                headers["If-Range"] = str(validator)
        total: int | None = meta.get("total") if meta else None
        try:
            resp = _open(url, headers, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:
                # Complete only if the server says its file has exactly our size
                # (Content-Range: bytes */SIZE); else it is larger or unknown: start over.
                whole = re.fullmatch(r"\s*bytes\s+\*/(\d+)\s*", exc.headers.get("Content-Range") or "")
                if whole and int(whole.group(1)) == have and total in (None, have):
                    resp = None
                else:
                    log.warning("%s: server refused the resume (HTTP 416); starting over", part)
                    _discard_part(part, meta_path)
                    continue
            else:
                raise FetchError(f"cannot download {url}: {failure_reason(exc)}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise FetchError(f"cannot download {url}: {failure_reason(exc)}") from exc
        if resp is not None:
            with resp:
                status = getattr(resp, "status", 200)
                etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
                length = str(resp.headers.get("Content-Length") or "")
                if have:
                    cr = _content_range(resp.headers.get("Content-Range"))
                    same = (
                        status == 206
                        and cr is not None
                        and cr[0] == have
                        and (total is None or cr[2] is None or cr[2] == total)
                        and (not meta or not meta.get("etag") or meta.get("etag") == etag)
                        and (
                            not meta or not meta.get("last_modified") or meta.get("last_modified") == modified
                        )
                    )
                    if not same:
                        if status == 206:  # a range of another version: ask for the whole file
                            log.warning("%s: the server's file changed; starting over", part)
                            _discard_part(part, meta_path)
                            continue
                        have = 0  # a full 200 answer: take it from the start
                    elif cr is not None and cr[2] is not None:
                        total = cr[2]
                if not have:
                    total = int(length) if length and length.isdigit() else None
                meta_path.write_text(
                    json.dumps({"url": url, "etag": etag, "last_modified": modified, "total": total}),
                    encoding="utf-8",
                )
                bar = progress.bar(
                    total=total, initial=have, unit="B", unit_scale=True, desc=desc or target.name
                )
                try:
                    with part.open("ab" if have else "wb") as fh:
                        while True:
                            try:
                                block = resp.read(CHUNK)
                            except (OSError, urllib.error.URLError) as exc:
                                raise FetchError(
                                    f"download of {url} interrupted ({failure_reason(exc)}); "
                                    "run the same command again to resume"
                                ) from exc
                            if not block:
                                break
                            fh.write(block)
                            bar.update(len(block))
                finally:
                    bar.close()
        size = part.stat().st_size
        if total is not None and size < total:
            raise FetchError(
                f"download of {url} ended early ({size} of {total} bytes); run the same command again to resume"
            )
        if total is not None and size > total:
            log.warning("%s: %d bytes, more than the server's %d; starting over", part, size, total)
            _discard_part(part, meta_path)
            continue
        if expected_sha256:
            got = sha256_file(part)
            if got != expected_sha256:
                _discard_part(part, meta_path)
                if have and attempt == 1:  # the resumed part may be the culprit: once more whole
                    continue
                raise FetchError(
                    f"checksum mismatch for {url}: expected sha256 {expected_sha256} (pinned in "
                    f"config/sources.toml), got {got}; check the source, then update the pin"
                )
        part.replace(target)
        meta_path.unlink(missing_ok=True)
        return target
    raise FetchError(f"cannot download {url}: the partial file could not be resumed nor restarted; run again")
