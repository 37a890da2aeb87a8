"""Atomic output helpers: every output is written to a temp file, then renamed.

A failure part-way leaves the previous output untouched and no half-written file.

A stage that writes several files writes them as one unit inside
:func:`stage_outputs`: every file goes to a temporary name, and only when the whole
stage has succeeded are they renamed into place, the files ``make`` tracks
(:data:`MAKE_TARGETS`) last. A stage killed at any point therefore leaves either all
old outputs with an old make target (make reruns the stage) or all new ones; never new
tables next to stale ones that make would trust.

Temporary files are named ``.<target>.tmp.<pid>.<random><suffix>``; those left by a
process that no longer runs (``kill -9``, power loss) are removed the next time the
same target is written.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from cclreview.errors import InputError, OutputError

if TYPE_CHECKING:  # the CLI imports this module: no pandas at start-up (`--help` stays fast)
    import pandas as pd

#: Stage outputs that are make targets (see the Makefile): renamed after every other
#: output of their stage, so that make never sees a new target beside stale tables.
MAKE_TARGETS: frozenset[str] = frozenset(
    {
        "ccl_entries.parquet",
        "ccl_paragraphs.parquet",
        "eccn_controls.parquet",
        "exports.parquet",
        "flows_focus.parquet",
        "us_exports.parquet",
        "evidence.parquet",
        "availability_hs.parquet",
        "eccn_hs_links.parquet",
        "scores.parquet",
        "sensitivity.parquet",
        "eccn_hs_indicators.parquet",
        "decontrol_candidates.xlsx",
    }
)

#: Temp files without a live owner older than this are stale (seconds). Files of the
#: old naming scheme (no pid) have no owner to check and are judged by age only.
STALE_AFTER_S = 600.0

#: Signals that must not cut a group of renames in half.
_CRITICAL_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}

# Renames deferred by the innermost open stage_outputs(): (temp, target) in write order.
_pending: list[tuple[Path, Path]] | None = None

_FIXES = {
    errno.ENOSPC: "the disk is full; free some space and run again",
    errno.EDQUOT: "the disk quota is exceeded; free some space and run again",
    errno.EROFS: "the file system is read-only; choose a writable folder (--out) or remount it",
    errno.EACCES: "permission denied; fix the folder's permissions or choose another --out",
    errno.EPERM: "operation not permitted; fix the folder's permissions or choose another --out",
    errno.ENOENT: "a folder on the way does not exist; create it or choose another --out",
    errno.EISDIR: "a folder is in the way; move it or choose another --out",
    errno.EBUSY: "the file is busy (open in another program?); close it and run again",
}


def os_error_message(exc: OSError, path: str | os.PathLike[str] | None = None, action: str = "write") -> str:
    """One line for an OSError: the file, what went wrong and the fix.

    Parameters
    ----------
    exc
        The error raised by the operating system.
    path
        The file the user knows (the target, not a temp name); default ``exc.filename``.
    action
        Verb of the message (``write``, ``read``, ``replace``...).
    """
    name = path if path is not None else (exc.filename or "(unknown file)")
    fix = _FIXES.get(exc.errno or -1)
    reason = exc.strerror or type(exc).__name__
    if fix is None:
        fix = "check the path, the disk and the permissions, then run again"
    return f"cannot {action} {name}: {reason} (errno {exc.errno}); {fix}"


def _is_our_temp(name: str, target: Path) -> bool:
    return name.startswith(f".{target.name}.tmp.")


def clean_stale_temps(target: str | os.PathLike[str], now: float | None = None) -> list[Path]:
    """Remove temp files of ``target`` left by a process that is gone; return them.

    A temp file of a live process (a concurrent run) is left alone.
    """
    target = Path(target)
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    now = time.time() if now is None else now
    for entry in target.parent.iterdir():
        if not _is_our_temp(entry.name, target):
            continue
        rest = entry.name[len(f".{target.name}.tmp.") :]
        pid_text = rest.split(".", 1)[0]
        try:
            age = now - entry.stat().st_mtime
        except OSError:
            continue
        stale = age > STALE_AFTER_S
        if pid_text.isdigit():
            pid = int(pid_text)
            # Our own temps may be pending renames of this very stage.
            stale = pid != os.getpid() and not _pid_alive(pid)
        if stale:
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP until the block ends (renames are not cut in half)."""
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _CRITICAL_SIGNALS)
    except (ValueError, OSError):  # pragma: no cover - not the main thread / platform
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _is_cache(target: Path) -> bool:
    """Files under a hidden folder (``out/.cache/``) are caches a stage may read back at once.

    They are not stage outputs (each is written atomically and validated by its own
    record), so :func:`stage_outputs` renames them immediately.
    """
    return any(part.startswith(".") and part not in (".", "..") for part in target.parent.parts)


def _replace(tmp: Path, target: Path) -> None:
    try:
        tmp.replace(target)
    except PermissionError as exc:
        raise OutputError(
            f"cannot replace {target}: it is open in another program or read-only; close it and run again"
        ) from exc
    except OSError as exc:
        raise OutputError(os_error_message(exc, target, "replace")) from exc


@contextlib.contextmanager
def atomic_path(
    target: str | os.PathLike[str],
    suffix: str | None = None,
    before_replace: Callable[[Path], None] | None = None,
) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    Inside :func:`stage_outputs` the rename waits until the whole stage succeeded.

    Parameters
    ----------
    target
        Final path of the output.
    suffix
        Suffix of the temp file (defaults to the target's, so writers that infer the
        format from the extension keep working).

    Raises
    ------
    OutputError
        The folder is not writable, read-only, or the disk is full (one line naming
        ``target`` and the fix).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(target)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.tmp.{os.getpid()}.",
            suffix=suffix if suffix is not None else target.suffix,
            dir=target.parent,
        )
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise OutputError(
                f"cannot write {target}: folder {target.parent} is not writable "
                f"({exc.strerror or exc.errno}); {_FIXES[exc.errno or errno.EACCES]}"
            ) from exc
        raise OutputError(os_error_message(exc, target)) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600 files; outputs get the usual permissions (0666 less umask).
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o666 & ~umask)
    deferred = False
    try:
        try:
            yield tmp
        except OSError as exc:
            # The writer failed on the temp file: name the output the user asked for.
            if exc.filename is None or str(exc.filename) == str(tmp):
                raise OutputError(os_error_message(exc, target)) from exc
            raise
        if _pending is not None and not _is_cache(target):
            if before_replace is not None:
                before_replace(tmp)
            for i, (old_tmp, old_target) in enumerate(_pending):
                if old_target == target:  # written twice in one stage: keep the last
                    with contextlib.suppress(OSError):
                        old_tmp.unlink()
                    del _pending[i]
                    break
            _pending.append((tmp, target))
            deferred = True
        else:
            with _signals_held():
                if before_replace is not None:
                    before_replace(tmp)
                _replace(tmp, target)
    finally:
        if not deferred and tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def stage_outputs() -> Iterator[None]:
    """Write every output of the enclosed block as one unit.

    Outputs written with :func:`atomic_path` (and the ``write_*`` helpers) inside the
    block stay under temporary names until the block ends without error; then they are
    renamed, the :data:`MAKE_TARGETS` last, with SIGINT/SIGTERM/SIGHUP held (files under a
    hidden folder, i.e. caches such as ``out/.cache/``, are renamed at once). On error
    every temporary file is removed and the previous outputs stay as they were.
    Nested blocks join the outer one.
    """
    global _pending
    if _pending is not None:
        yield
        return
    _pending = []
    try:
        yield
        ordered = [p for p in _pending if p[1].name not in MAKE_TARGETS]
        ordered += [p for p in _pending if p[1].name in MAKE_TARGETS]
        with _signals_held():
            for tmp, target in ordered:
                _replace(tmp, target)
    finally:
        leftovers, _pending = _pending, None
        for tmp, _ in leftovers:
            with contextlib.suppress(OSError):
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


def check_table_file(path: Path, max_bytes: int, what: str, fix: str) -> None:
    """Refuse an input table over ``max_bytes``, or a text one with NUL bytes.

    Parameters
    ----------
    path
        The file.
    max_bytes
        Largest size accepted.
    what
        What the file should be, for the message ("a concordance", "an evidence file").
    fix
        What to do with an oversized file, for the message.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"{path}: {size / 1e6:.0f} MB is larger than the {max_bytes / 1e6:.0f} MB {what} may have; "
            f"is it the right file? {fix}"
        )
    if path.suffix.lower() not in {".xlsx", ".xlsm"}:
        with path.open("rb") as fh:
            if b"\x00" in fh.read(1 << 16):
                raise InputError(f"{path}: holds NUL bytes, so it is not a text table; remove or replace it")
