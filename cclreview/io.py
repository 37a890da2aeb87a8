"""Atomic output helpers: every output is written to a temp file, then renamed.

A failure part-way leaves the previous output untouched and no half-written file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from cclreview.errors import OutputError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    Parameters
    ----------
    target
        Final path of the output.
    suffix
        Suffix of the temp file (defaults to the target's, so writers that infer the
        format from the extension keep working).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.tmp.",
            suffix=suffix if suffix is not None else target.suffix,
            dir=target.parent,
        )
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        raise OutputError(
            f"cannot write {target}: folder {target.parent} is not writable; "
            "choose another --out or fix its permissions"
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600 files; outputs get the usual permissions (0666 less umask).
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o666 & ~umask)
    try:
        yield tmp
        try:
            tmp.replace(target)
        except PermissionError as exc:
            raise OutputError(
                f"cannot replace {target}: it is open in another program or read-only; close it and run again"
            ) from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def write_parquet(df: pd.DataFrame, target: str | os.PathLike[str]) -> Path:
    """Write ``df`` to Parquet atomically and return the target path."""
    with atomic_path(target) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(target)


def write_csv(df: pd.DataFrame, target: str | os.PathLike[str]) -> Path:
    """Write ``df`` to CSV (UTF-8, no index) atomically and return the target path."""
    with atomic_path(target) as tmp:
        df.to_csv(tmp, index=False)
    return Path(target)


def write_text(text: str, target: str | os.PathLike[str]) -> Path:
    """Write ``text`` (UTF-8) atomically and return the target path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
