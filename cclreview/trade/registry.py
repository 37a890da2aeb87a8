"""Registry of trade readers: how ``ingest_trade`` picks a reader for each file.

Registering a reader
--------------------
A reader is a :class:`Reader` with a unique ``name``, a ``detect(path, columns) -> bool``
predicate, a ``read(path, ctx) -> ReadResult`` function and a ``version`` string (bump
it whenever the reader's output changes: it is part of the cache key). Register it once
at import time of its module and list the module in :data:`READER_MODULES` (or import
it before calling ``ingest_trade``)::

    from cclreview.trade.registry import Reader, register
    from cclreview.trade.tidy import ReadContext, ReadResult

    def _detect(path: Path, columns: list[str]) -> bool:
        return {"reporter_iso", "product_code", "export_value_usd"} <= set(columns)

    def _read(path: Path, ctx: ReadContext) -> ReadResult:
        ...  # return the tidy exporter-level table (tidy.EXPORT_COLUMNS)

    register(Reader("otstats_hs4", _detect, _read, version="1", priority=50))

``columns`` are the header names of the file (for CSV/CSV.GZ/TSV the first line, quotes
stripped; for Parquet the schema; for XLSX the first row of the first sheet; for a zip
the names of its members). Readers are tried by ascending ``priority`` (lower first:
put specific layouts before generic ones); the first whose ``detect`` returns True reads
the file. The generic reader (priority 1000) only claims a file when the run has a
``--column-map``. ``read`` must raise :class:`cclreview.errors.InputError` for a file it
cannot read, put bad rows in ``ReadResult.rejected`` and unknown countries in
``ReadResult.unmatched``.
"""

from __future__ import annotations

import csv
import gzip
import importlib
import io
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cclreview.errors import InputError
from cclreview.trade.tidy import ReadContext, ReadResult

log = logging.getLogger(__name__)

#: Modules that register readers when imported (the trade stage imports them all).
READER_MODULES = (
    "cclreview.trade.baci",
    "cclreview.trade.baci_extracts",
    "cclreview.trade.comtrade",
    "cclreview.trade.generic",
    "cclreview.trade.hs4",
)

#: File name endings the default input folder scan picks up.
TRADE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt", ".parquet", ".xlsx", ".zip")


@dataclass(frozen=True)
class Reader:
    """One input layout the trade stage understands."""

    name: str
    detect: Callable[[Path, list[str]], bool]
    read: Callable[[Path, ReadContext], ReadResult]
    version: str = "1"
    priority: int = 100
    description: str = ""
    #: True when the reader can return bilateral rows (its cache key then includes the
    #: focus importers; other readers are not re-read when the focus list changes).
    bilateral: bool = False


_READERS: dict[str, Reader] = {}
_loaded = False


def register(reader: Reader) -> Reader:
    """Add (or replace, by name) a reader and return it."""
    _READERS[reader.name] = reader
    return reader


def load_readers() -> list[Reader]:
    """Import every module of :data:`READER_MODULES` once; return readers by priority."""
    global _loaded
    if not _loaded:
        for mod in READER_MODULES:
            try:
                importlib.import_module(mod)
            except ModuleNotFoundError as exc:
                # A reader module that does not exist yet (e.g. still being written) is skipped.
                if exc.name != mod:
                    raise
                log.debug("reader module %s not present", mod)
        _loaded = True
    return sorted(_READERS.values(), key=lambda r: (r.priority, r.name))


def get_reader(name: str) -> Reader:
    """Return a registered reader by name."""
    load_readers()
    try:
        return _READERS[name]
    except KeyError:
        raise InputError(f"unknown trade reader {name!r}; known: {sorted(_READERS)}") from None


def is_trade_file(path: Path) -> bool:
    """True for file names the default folder scan should look at."""
    name = path.name.lower()
    return not name.startswith(".") and name.endswith(TRADE_SUFFIXES)


def sniff_columns(path: Path) -> list[str]:
    """Return the header names of a trade file (see the module docstring)."""
    return sniff_layout(path)[0]


def detect_delimiter(head: str) -> str:
    """The field delimiter of a header line: the most frequent of ``,`` ``;`` tab ``|``."""
    counts = {d: head.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def sniff_layout(path: Path) -> tuple[list[str], str]:
    """Return the header names of a trade file and its delimiter (``","`` for non-text files).

    Raises
    ------
    InputError
        For a missing, empty or unreadable file.
    """
    if not path.is_file():
        raise InputError(f"trade file {path} not found; check the path or run `cclreview fetch`")
    if path.stat().st_size == 0:
        raise InputError(f"trade file {path} is empty (0 bytes); re-download it or remove it from the inputs")
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names), ","
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                return zf.namelist(), ","
        if name.endswith((".xlsx", ".xlsm")):
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True)
            try:
                first = next(wb.worksheets[0].iter_rows(max_row=1, values_only=True), ())
            finally:
                wb.close()
            return [str(c).strip() for c in first if c is not None], ","
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
            head = fh.readline()
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}; is it a complete, uncorrupted file?") from exc
    if not head.strip():
        raise InputError(f"trade file {path} has no header line; it looks empty")
    delim = detect_delimiter(head)
    return [c.strip() for c in next(csv.reader(io.StringIO(head), delimiter=delim))], delim


def detect_reader(path: Path, ctx: ReadContext | None = None) -> Reader:
    """Pick the reader for ``path``.

    Raises
    ------
    InputError
        When no registered reader recognises the file, naming the columns found.
    """
    columns = sniff_columns(path)
    for reader in load_readers():
        if reader.name == "generic" and (ctx is None or not ctx.column_map):
            continue
        if reader.detect(path, columns):
            return reader
    known = ", ".join(f"{r.name}" for r in load_readers())
    raise InputError(
        f"unknown trade file format: {path} (columns {columns[:12]}); known readers: {known}. "
        "For another long table pass --column-map year=...,exporter=...,hs6=...,value_usd=..."
    )
