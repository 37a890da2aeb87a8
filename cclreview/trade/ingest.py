"""The trade stage: read every trade file, write ``exports.parquet`` and the reports.

``ingest_trade(paths, out_dir)`` picks a reader per file (:mod:`cclreview.trade.registry`),
stacks their exporter-level tables and writes, atomically:

- ``exports.parquet``: the contract table (docs/CONTRACTS.md), one row per
  ``year x exporter x product x source x file``, plus ``source_file`` (the input file's
  name); sources and files are kept side by side, never summed (precedence between
  them is the availability stage's job);
- ``rejected_rows.csv``: ``file, line, reason, raw`` of every rejected row;
- ``unmatched_countries.csv``: ``value, source_file, rows, value_usd, status,
  candidates, role`` for exporter (or, in U.S. exports, importer) names/codes that are
  not countries or not known;
- ``flows_focus.parquet``: :data:`~cclreview.trade.tidy.BILATERAL_COLUMNS`, every
  exporter's flows to the focus importers (``[trade] focus_importers`` in
  ``config/sources.toml``: CHN, HKG, MAC, RUS, BLR by default);
- ``us_exports.parquet``: the same columns, U.S. exports to every importer;
- ``bilateral_coverage.csv``: per input file, whether it has partner detail and how many
  bilateral rows it gave (HS4, top-N tables and Comtrade files with World partner rows
  only give none, and say so), and what became of its rows (read, rejected, exact
  duplicates dropped, Comtrade breakdowns set aside, country values not matched): the
  workbook's Sources sheet lists it.

All outputs are written to temporary names first and renamed together, ``exports.parquet``
(the make target) last: a failed or killed run leaves the previous set in place.

Cache: each file's result is stored under ``out_dir/.cache/`` keyed on the file's sha256,
the reader's name and version and the options that change the result (years, column
map, HS revision, duplicate check, and the focus importers for readers with partner
detail only: a new focus list re-reads the BACI, Comtrade and generic files, not the HS4
tables), so re-running on unchanged sources only hashes them and reads the small cached
tables.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from cclreview.errors import InputError, OutputError, TooManyRejectedError
from cclreview.progress import progress
from cclreview.trade.cache import (
    CACHE_DIR,
    UNSTORED,
    HashMemo,
    cache_key,
    forget_outputs,
    load_cached,
    outputs_unchanged,
    read_into_cache,
    record_outputs,
    run_key,
)
from cclreview.trade.countries import CountryResolver
from cclreview.trade.duck import connect, sql_list
from cclreview.trade.parts import assembler, part_files
from cclreview.trade.registry import Reader, detect_reader, is_trade_file, load_readers
from cclreview.trade.tidy import (
    DEFAULT_FOCUS,
    DUPLICATE_CHECKS,
    REJECT_COLUMNS,
    UNMATCHED_COLUMNS,
    DuplicateCheck,
    ReadContext,
    ReadResult,
)

log = logging.getLogger(__name__)

EXPORTS_FILE = "exports.parquet"
REJECTED_FILE = "rejected_rows.csv"
UNMATCHED_FILE = "unmatched_countries.csv"
FOCUS_FILE = "flows_focus.parquet"
US_FILE = "us_exports.parquet"
COVERAGE_FILE = "bilateral_coverage.csv"
COVERAGE_COLUMNS = [
    "source_file",
    "source",
    "reader",
    "bilateral",
    "focus_rows",
    "us_rows",
    "note",
    "rows_read",
    "rows_rejected",
    "duplicates_dropped",
    "breakdowns_set_aside",
    "unmatched_values",
]
#: DuckDB spills here (under the output folder, so under data/processed by default).
TEMP_DIR = "duckdb_tmp"
#: Default largest share of a file's rows that may be rejected before the run fails.
MAX_REJECTED = 0.05


def find_trade_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Every trade file (by suffix) under ``folder``, sorted; hidden files skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            f"trade folder {folder} does not exist; run `cclreview fetch baci` or pass trade files as arguments"
        )
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and is_trade_file(p) and ".cache" not in p.parts
    )
    if not files:
        raise InputError(f"no trade files (*.csv, *.csv.gz, *.parquet, *.xlsx, *.zip) in {folder}")
    return files


class _LazyResolver:
    """Builds the country resolver on first use: a fully cached run never needs it."""

    def __init__(self) -> None:
        self._real: CountryResolver | None = None

    def __getattr__(self, name: str) -> object:
        if self._real is None:
            self._real = CountryResolver()
        return getattr(self._real, name)


def read_trade_file(path: str | os.PathLike[str], ctx: ReadContext, reader: str | None = None) -> ReadResult:
    """Read one file with the detected (or named) reader, without cache or outputs."""
    from cclreview.trade.registry import get_reader

    path = Path(path)
    chosen = get_reader(reader) if reader else detect_reader(path, ctx)
    return chosen.read(path, ctx)


def ingest_trade(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    years: Iterable[int] | None = None,
    max_rejected: float = MAX_REJECTED,
    column_map: dict[str, str] | None = None,
    hs_version: str | None = None,
    use_cache: bool = True,
    rehash: bool = False,
    resolver: CountryResolver | None = None,
    focus: Iterable[str] | None = None,
    duplicates: DuplicateCheck = "sample",
) -> dict:
    """Read trade files and write the trade stage's outputs into ``out_dir``.

    Parameters
    ----------
    paths
        Trade files (BACI csv/zip/extracts, Comtrade, or any long table with
        ``column_map``).
    out_dir
        Output folder (``exports.parquet``, ``flows_focus.parquet``,
        ``us_exports.parquet``, ``rejected_rows.csv``, ``unmatched_countries.csv``,
        ``bilateral_coverage.csv``, ``.cache/``).
    years
        Keep only these years.
    max_rejected
        Largest share (0-1) of a file's rows that may be rejected; above it the run
        fails with :class:`TooManyRejectedError` (after writing ``rejected_rows.csv``).
    column_map
        Column map for the generic reader (see :func:`cclreview.trade.generic.parse_column_map`).
    hs_version
        Force the HS revision of every file (default: from the file or its name).
    use_cache
        Reuse per-file results of an unchanged file (same sha256, reader and options)
        and store new ones. False reads every file and stores nothing (the files are
        not hashed).
    rehash
        Recompute every sha256 even when a file's size and modification time (ns) are
        those recorded with its last hash.
    resolver
        Country resolver (default: the shipped table).
    focus
        ISO3 importers for ``flows_focus.parquet`` (default CHN, HKG, MAC, RUS, BLR;
        the CLI reads ``[trade] focus_importers`` of ``config/sources.toml``).
    duplicates
        Exact duplicate rows are dropped and counted: ``"sample"`` (default) checks every
        row of the Comtrade and generic tables and, in BACI files, the rows kept per
        importer (focus importers, U.S. exports), which catches a repeated block or
        file at no cost; ``"full"`` checks every BACI row too (about 1.7x the time);
        ``"off"`` sums the rows as they come (a Comtrade file still gives one total per
        reporter, partner, product and year).

    Returns
    -------
    dict
        Counts: ``files``, ``rows_read``, ``rows_rejected``, ``duplicates_dropped``
        (and ``duplicates_by_file``), ``breakdowns_set_aside`` (Comtrade rows that are
        breakdowns of a total in another row; and ``breakdowns_by_file``),
        ``unmatched_values``, ``unmatched_value_usd``, ``export_rows``, ``focus_rows``, ``us_rows``, ``cached``, ``seconds`` and
        ``outputs`` (paths).
    """
    start = time.perf_counter()
    files = [Path(p) for p in paths]
    if not files:
        raise InputError("no trade files given; pass files or put them in data/raw/trade/")
    if not 0 <= max_rejected <= 1:
        raise InputError(f"--max-rejected must be between 0 and 1, got {max_rejected}")
    if hs_version is not None and not re.fullmatch(r"HS(1992|1996|2002|2007|2012|2017|2022)", hs_version):
        raise InputError(f"unknown HS revision {hs_version!r}; use e.g. HS2022, HS2017, HS2007 or HS1992")
    focus_t = tuple(sorted({f.strip().upper() for f in (focus if focus is not None else DEFAULT_FOCUS)}))
    bad_focus = [f for f in focus_t if not re.fullmatch(r"[A-Z]{3}", f)]
    if bad_focus:
        raise InputError(f"focus importers {bad_focus} are not ISO3 codes; use e.g. CHN,HKG,RUS")
    if duplicates not in DUPLICATE_CHECKS:
        raise InputError(f"unknown duplicate check {duplicates!r}; use one of {', '.join(DUPLICATE_CHECKS)}")
    out_dir = Path(out_dir)
    ctx = ReadContext(
        resolver=resolver or _LazyResolver(),  # type: ignore[arg-type]
        years=frozenset(int(y) for y in years) if years else None,
        column_map=column_map,
        hs_version=hs_version,
        focus=focus_t,
        duplicates=duplicates,
        temp_dir=out_dir / CACHE_DIR / TEMP_DIR,
    )
    # Arrow's default pool (jemalloc/mimalloc) keeps freed pages: with the system
    # allocator the memory of checking one part is returned before the next.
    pool = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        return _run(files, out_dir, ctx, focus_t, max_rejected, use_cache, rehash, start)
    finally:
        pa.set_memory_pool(pool)
        if ctx.duck is not None:
            ctx.duck.close()


def _run(
    paths: list[Path],
    out_dir: Path,
    ctx: ReadContext,
    focus_t: tuple[str, ...],
    max_rejected: float,
    use_cache: bool,
    rehash: bool,
    start: float,
) -> dict:
    """The body of :func:`ingest_trade` (which owns the shared DuckDB connection)."""
    load_readers()
    hashes = HashMemo(out_dir / CACHE_DIR / "hashes.json", trust_stat=use_cache and not rehash)
    if use_cache:
        # The keys decide whether anything must be read: hash first.
        planned = []
        for path in paths:
            reader = detect_reader(path, ctx)
            planned.append((path, reader, cache_key(hashes.sha256(path), path, reader, ctx)))
        hashes.save()
        key_of_run = run_key(planned, max_rejected, focus_t)
        previous = outputs_unchanged(out_dir, key_of_run)
        if previous is not None:
            # Same inputs, same options, outputs untouched since: nothing to redo.
            previous.update(cached=len(planned), seconds=round(time.perf_counter() - start, 3))
            log.info("trade inputs unchanged: outputs in %s are up to date", out_dir)
            return previous
    else:
        # Nothing is looked up or stored (so nothing is hashed): the entries of this run
        # are temporary and removed once the outputs are written.
        planned = [(path, detect_reader(path, ctx), "") for path in paths]
        forget_outputs(out_dir)
    # One DuckDB database for the whole run (readers, then the assembly of the outputs).
    ctx.duck = connect(ctx.temp_dir)
    try:
        return _read_and_write(planned, paths, out_dir, ctx, focus_t, max_rejected, use_cache, hashes, start)
    finally:
        # This run's temporary entries only (``planned`` holds their names once read).
        for _, _, key in planned:
            if key.startswith(UNSTORED):
                shutil.rmtree(out_dir / CACHE_DIR / key, ignore_errors=True)


def _read_and_write(
    planned: list[tuple[Path, Reader, str]],
    paths: list[Path],
    out_dir: Path,
    ctx: ReadContext,
    focus_t: tuple[str, ...],
    max_rejected: float,
    use_cache: bool,
    hashes: HashMemo,
    start: float,
) -> dict:
    """Read every file (or take its cache entry), then write the outputs."""
    results: list[ReadResult] = []
    coverage: list[dict] = []
    cached = 0
    too_many: list[str] = []
    for n, (path, reader, key) in enumerate(progress(list(planned), desc="trade files", unit="file")):
        res = load_cached(out_dir / CACHE_DIR / key) if use_cache else None
        if res is None:
            log.info("reading %s with %s", path, reader.name)
            key, res = read_into_cache(path, reader, key, ctx, out_dir, focus_t)
            planned[n] = (path, reader, key)
        else:
            cached += 1
            log.info("%s unchanged: using cached result", path.name)
        n_rej = len(res.rejected)
        if n_rej:
            log.warning("%s: %d of %d rows rejected (see %s)", path.name, n_rej, res.rows_read, REJECTED_FILE)
        if res.duplicates_dropped:
            log.warning("%s: %d exact duplicate rows dropped", path.name, res.duplicates_dropped)
        if res.breakdowns_set_aside:
            log.warning(
                "%s: %d Comtrade breakdown rows set aside (the total of each key kept)",
                path.name,
                res.breakdowns_set_aside,
            )
        if len(res.unmatched):
            log.warning(
                "%s: %d country value(s) not matched to a country (see %s)",
                path.name,
                len(res.unmatched),
                UNMATCHED_FILE,
            )
        for note in res.notes:
            log.info("%s: %s", path.name, note)
        coverage.append(_coverage_row(path, reader, res, out_dir / CACHE_DIR / key, ctx.duck))
        if res.rows_read and n_rej / res.rows_read > max_rejected:
            too_many.append(f"{path.name}: {n_rej} of {res.rows_read} rows ({n_rej / res.rows_read:.1%})")
        results.append(res)

    rejected = pd.concat([r.rejected for r in results], ignore_index=True).reindex(columns=REJECT_COLUMNS)
    unmatched = pd.concat([r.unmatched for r in results], ignore_index=True).reindex(
        columns=UNMATCHED_COLUMNS
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    if too_many:
        # The reports explain the failure; the previous data outputs stay as they were.
        _write_all(out_dir, {REJECTED_FILE: rejected, UNMATCHED_FILE: unmatched})
        raise TooManyRejectedError(
            "too many rejected rows (limit "
            f"{max_rejected:.1%} per file): {'; '.join(too_many)}; see {out_dir / REJECTED_FILE} "
            "for line numbers and reasons, fix the file or raise --max-rejected"
        )
    # Which file each row came from: the same flows can arrive twice (BACI as Parquet
    # and as CSV) under one source label; availability picks one file, never sums.
    folders = [out_dir / CACHE_DIR / key for _, _, key in planned]
    _write_all(
        out_dir,
        {
            REJECTED_FILE: rejected,
            UNMATCHED_FILE: unmatched,
            COVERAGE_FILE: pd.DataFrame(coverage, columns=COVERAGE_COLUMNS),
            FOCUS_FILE: assembler(folders, "focus", ctx.duck),
            US_FILE: assembler(folders, "us", ctx.duck),
            EXPORTS_FILE: assembler(folders, "exports", ctx.duck),  # last: make's target
        },
    )
    summary = {
        "files": len(paths),
        "cached": cached,
        "rows_read": int(sum(r.rows_read for r in results)),
        "rows_rejected": len(rejected),
        "duplicates_dropped": int(sum(r.duplicates_dropped for r in results)),
        "duplicates_by_file": {
            p.name: int(r.duplicates_dropped) for (p, _, _), r in zip(planned, results, strict=True)
        },
        "breakdowns_set_aside": int(sum(r.breakdowns_set_aside for r in results)),
        "breakdowns_by_file": {
            p.name: int(r.breakdowns_set_aside)
            for (p, _, _), r in zip(planned, results, strict=True)
            if r.breakdowns_set_aside
        },
        "unmatched_values": len(unmatched),
        "unmatched_value_usd": float(pd.to_numeric(unmatched["value_usd"], errors="coerce").sum()),
        "export_rows": sum(r.written["exports"] for r in results if r.written),
        "focus_rows": sum(r.written["focus"] for r in results if r.written),
        "us_rows": sum(r.written["us"] for r in results if r.written),
        "focus_importers": list(focus_t),
        "seconds": round(time.perf_counter() - start, 3),
        "outputs": {
            "exports": str(out_dir / EXPORTS_FILE),
            "flows_focus": str(out_dir / FOCUS_FILE),
            "us_exports": str(out_dir / US_FILE),
            "rejected": str(out_dir / REJECTED_FILE),
            "unmatched": str(out_dir / UNMATCHED_FILE),
            "coverage": str(out_dir / COVERAGE_FILE),
        },
    }
    if use_cache:
        hashes.save()
        record_outputs(out_dir, run_key(planned, max_rejected, focus_t), summary)
    log.debug("trade ingest: %s", summary)
    return summary


def _coverage_row(
    path: Path, reader: Reader, res: ReadResult, folder: Path, con: duckdb.DuckDBPyConnection
) -> dict:
    """One row of ``bilateral_coverage.csv``: does this file carry partner detail, and
    what became of its rows?"""
    row = {
        "source_file": path.name,
        "source": "; ".join(_part_sources(folder, con)),
        "reader": reader.name,
        "rows_read": int(res.rows_read),
        "rows_rejected": len(res.rejected),
        "duplicates_dropped": int(res.duplicates_dropped),
        "breakdowns_set_aside": int(res.breakdowns_set_aside),
        "unmatched_values": len(res.unmatched),
    }
    if res.bilateral is None:
        note = res.bilateral_note or (
            f"no partner detail ({reader.description or reader.name}): exports to the world only, "
            "no rows in flows_focus or us_exports"
        )
        return {**row, "bilateral": False, "focus_rows": 0, "us_rows": 0, "note": note}
    written = res.written or {}
    return {
        **row,
        "bilateral": True,
        "focus_rows": int(written.get("focus", 0)),
        "us_rows": int(written.get("us", 0)),
        "note": res.bilateral_note or "partner detail kept for the focus importers and U.S. exports",
    }


def _write_all(out_dir: Path, tables: dict[str, pd.DataFrame | Callable[[Path], None]]) -> None:
    """Write every table to a temporary file, then rename them in order (the last is the
    make target): a failure while writing leaves all previous outputs untouched."""
    tmp_dir = Path(tempfile.mkdtemp(prefix=".trade_out.", dir=out_dir))
    try:
        staged = []
        for name, df in tables.items():
            tmp = tmp_dir / name
            try:
                if callable(df):
                    df(tmp)
                elif name.endswith(".parquet"):
                    df.to_parquet(tmp, index=False)
                else:
                    df.to_csv(tmp, index=False)
            except OSError as exc:
                raise OutputError(
                    f"cannot write {out_dir / name}: {exc.strerror or exc}; free space or choose another --out"
                ) from exc
            staged.append((tmp, out_dir / name))
        umask = os.umask(0)
        os.umask(umask)
        for tmp, target in staged:
            tmp.chmod(0o666 & ~umask)
            try:
                tmp.replace(target)
            except OSError as exc:
                raise OutputError(
                    f"cannot replace {target}: {exc.strerror or exc}; close it or fix permissions"
                ) from exc
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _part_sources(folder: Path, con: duckdb.DuckDBPyConnection) -> list[str]:
    """The distinct ``source`` labels of a cache entry's export parts."""
    files = part_files(folder, "exports")
    if not files:
        return []
    try:
        rows = con.execute(
            f"SELECT DISTINCT source FROM read_parquet({sql_list([str(f) for f in files])}, union_by_name = true) "
            "WHERE source IS NOT NULL ORDER BY 1"
        ).fetchall()
    except duckdb.Error:
        return []
    return [str(r[0]) for r in rows]
