"""Progress bars that the CLI can switch on; silent by default in the library.

The library never prints: it wraps long loops in :func:`progress`, which returns a
tqdm bar on stderr only when the CLI has enabled progress (and stderr is a terminal
or ``CCLREVIEW_PROGRESS=1``), else the plain iterable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_enabled = False


def enable(on: bool = True) -> None:
    """Switch progress bars on or off (called by the CLI from ``-q``/``-v``)."""
    global _enabled
    _enabled = on


def is_enabled() -> bool:
    """Return True when bars should be drawn."""
    if not _enabled:
        return False
    return sys.stderr.isatty() or os.environ.get("CCLREVIEW_PROGRESS") == "1"


def progress(iterable: Iterable[T], **kwargs: Any) -> Iterator[T] | Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar when enabled; ``kwargs`` go to tqdm."""
    if not is_enabled():
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, file=sys.stderr, **kwargs)


def bar(**kwargs: Any) -> Any:
    """Return a manual tqdm bar (``update(n)``/``close()``), disabled when off."""
    from tqdm import tqdm

    return tqdm(file=sys.stderr, disable=not is_enabled(), **kwargs)
