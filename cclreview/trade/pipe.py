"""A named pipe fed from a stream by a thread, so DuckDB reads a zip member in place.

DuckDB reads files by path; a member of a release zip is a stream. A FIFO fed by a
thread gives DuckDB a path without unpacking the member to disk.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


class Pipe:
    """A named pipe fed from a binary stream by a thread, so DuckDB reads a zip member
    (or any stream) without it being unpacked to disk. ``error`` holds what the feeder
    raised (a truncated member: ``EOFError``, ``zlib.error``, ``BadZipFile``)."""

    def __init__(self, open_stream: Callable[[], IO[bytes]], temp_dir: Path | None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cclreview_pipe_", dir=temp_dir))
        self.path = self.dir / "member.csv"
        os.mkfifo(self.path)
        self.error: BaseException | None = None
        self._open = open_stream
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        try:
            with self.path.open("wb") as out, self._open() as src:
                shutil.copyfileobj(src, out, 1 << 20)
        except BrokenPipeError:  # the reader stopped early (an error of its own)
            pass
        except Exception as exc:
            self.error = exc

    def close(self) -> None:
        """Unblock and join the feeder (draining what the reader left), remove the pipe."""
        if self._thread.is_alive():
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                while self._thread.is_alive():
                    try:
                        if not os.read(fd, 1 << 20):
                            self._thread.join(0.01)
                    except BlockingIOError:
                        self._thread.join(0.01)
            finally:
                os.close(fd)
        self._thread.join()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def readable(src: Path | Callable[[], IO[bytes]], temp_dir: Path | None) -> Iterator[tuple[str, Pipe | None]]:
    """A path DuckDB can read: the file itself, or a pipe fed from a stream factory."""
    if isinstance(src, Path):
        yield str(src), None
        return
    pipe = Pipe(src, temp_dir)
    try:
        yield str(pipe.path), pipe
    finally:
        pipe.close()
