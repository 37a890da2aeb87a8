"""The workbook on disk: fingerprints (was it saved meanwhile?), dated backups, write checks."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from cclreview.errors import OutputError
from cclreview.io import sha256_file

#: Default number of dated backups of the replaced workbook kept in ``reports/history/``.
HISTORY_KEEP = 10


@dataclass(frozen=True)
class Fingerprint:
    """What identifies the content of the workbook on disk."""

    mtime_ns: int
    size: int
    sha256: str


def fingerprint(path: Path) -> Fingerprint | None:
    """The fingerprint of ``path`` (None when it does not exist)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return Fingerprint(st.st_mtime_ns, st.st_size, sha256_file(path))


def changed_since(path: Path, before: Fingerprint | None) -> bool:
    """True when ``path`` no longer holds what ``before`` recorded (a save meanwhile)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return before is not None
    if before is None:
        return True
    if (st.st_mtime_ns, st.st_size) == (before.mtime_ns, before.size):
        return False
    return sha256_file(path) != before.sha256  # touched but same bytes: unchanged


def backup_workbook(out: Path, keep: int, now: dt.datetime | None = None) -> Path | None:
    """Keep a dated copy of ``out`` in ``out.parent/history/``; prune to the last ``keep``.

    The copy is a hard link when possible (instant; the replaced inode lives on as the
    backup). An identical newest backup is not duplicated. ``keep`` 0 disables backups.

    Returns
    -------
    Path or None
        The backup written (or the identical one already there); None when disabled or
        ``out`` does not exist.
    """
    if keep <= 0 or not out.is_file():
        return None
    hist = out.parent / "history"
    hist.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(
        rf"^{re.escape(out.stem)}\.\d{{4}}-\d\d-\d\dT\d{{6}}Z(-\d+)?{re.escape(out.suffix)}$"
    )
    existing = sorted(p for p in hist.iterdir() if pattern.match(p.name))
    if (
        existing
        and existing[-1].stat().st_size == out.stat().st_size
        and sha256_file(existing[-1]) == sha256_file(out)
    ):
        return existing[-1]
    now = now or dt.datetime.now(tz=dt.UTC)
    stamp = now.strftime("%Y-%m-%dT%H%M%SZ")
    dest = hist / f"{out.stem}.{stamp}{out.suffix}"
    n = 0
    while dest.exists():
        n += 1
        dest = hist / f"{out.stem}.{stamp}-{n}{out.suffix}"
    try:
        os.link(out, dest)
    except OSError:
        shutil.copy2(out, dest)
    existing = sorted(p for p in hist.iterdir() if pattern.match(p.name))
    for old in existing[: max(0, len(existing) - keep)]:
        old.unlink()
    return dest


def check_target_writable(out: Path) -> None:
    """Refuse a target that is open in a spreadsheet program or read-only.

    Raises
    ------
    OutputError
        A lock file of a spreadsheet program is beside ``out``, or ``out`` or its folder
        is read-only.
    """
    for lock in (out.parent / f".~lock.{out.name}#", out.parent / f"~${out.name}"):
        if lock.exists():
            raise OutputError(
                f"cannot write {out}: it is open in a spreadsheet program (lock file {lock.name}); "
                "close it and run again, or choose another --out"
            )
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputError(
            f"cannot write {out}: the file is read-only; make it writable or choose another --out"
        )
    if out.parent.exists() and not os.access(out.parent, os.W_OK):
        raise OutputError(
            f"cannot write {out}: folder {out.parent} is not writable; choose another --out or fix its permissions"
        )
