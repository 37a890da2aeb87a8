"""CEPII BACI readers on DuckDB: yearly CSV (plain or gzip), release zip, the mirror's extracts.

BACI yearly files are ``t,i,j,k,v,q``: year, exporter and importer (BACI numeric codes,
mostly UN M49 with quirks: 490 Taiwan, 842 USA, 251 France, 699 India, 757 Switzerland,
579 Norway), HS6 product (leading zero dropped), value in thousand USD, quantity in
tonnes (quoted, space padded, ``NA`` when unknown). A full year is ~10 million rows.

One DuckDB query reads a file (explicit column types, the detected delimiter) and groups
it once by ``year x exporter x product x jj``, where ``jj`` is the importer for the rows
the bilateral outputs need (a focus importer, or the U.S. as exporter) and empty for the
rest; so exports to the world, ``flows_focus`` and ``us_exports`` come from one pass,
and the grouped table is a little larger than a plain ``GROUP BY t, i, k``. Memory is
bounded by DuckDB's ``memory_limit`` (see :mod:`cclreview.trade.duck`).

Rejected rows (``rejected_rows.csv`` with their line): cells DuckDB cannot parse (a
non-numeric value, missing or extra columns: its reject table), and rows whose value is
empty, negative, infinite, NaN or above :data:`~cclreview.trade.tidy.MAX_VALUE_USD`,
whose quantity is not a number, negative or above :data:`~cclreview.trade.tidy.MAX_QTY_T`,
or whose codes are out of range. The query only counts the latter (they form their own
group); when there are any, a second, plain-Python pass over the file finds their lines.

Exact duplicate rows (BACI has one row per ``t, i, j, k``) are dropped and counted: the
query counts distinct rows per group (a hash of each row); when a duplicate shows, the
file is grouped again over its distinct rows.

A release zip is read member by member through a named pipe fed by a thread (no member
is unpacked to disk); a truncated or corrupt member stops the run naming the member.
Exporter and importer codes are decoded once per code through
:class:`~cclreview.trade.countries.CountryResolver`, with the release's own
``country_codes_*.csv`` as a fallback.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import logging
import math
import os
import re
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, cast

import duckdb
import numpy as np
import pandas as pd

from cclreview.errors import InputError
from cclreview.trade.duck import connect, sql_list, sql_str
from cclreview.trade.parts import PartSink
from cclreview.trade.registry import Reader, detect_delimiter, register, sniff_layout
from cclreview.trade.tidy import (
    MAX_QTY_T,
    MAX_VALUE_USD,
    REJECT_COLUMNS,
    UNMATCHED_COLUMNS,
    ReadContext,
    ReadResult,
    clean_long,
    display_name,
    empty_bilateral,
    empty_exports,
    empty_rejected,
    empty_unmatched,
    finalize_bilateral,
    finalize_exports,
    hs_in_force,
    hs_version_from_name,
    require_columns,
    year_from_name,
)

log = logging.getLogger(__name__)

READER_VERSION = "2"
BACI_COLUMNS = ["t", "i", "j", "k", "v", "q"]
_TYPES = {"t": "INTEGER", "i": "INTEGER", "j": "INTEGER", "k": "INTEGER", "v": "DOUBLE", "q": "VARCHAR"}
_ZIP_YEAR = re.compile(r"BACI_HS(\d{2})_Y(\d{4})_V(\d+)\.csv$", re.IGNORECASE)
_RELEASE = re.compile(r"V(\d{6})", re.IGNORECASE)
#: BACI values are thousand USD: the per-row bound in those units.
_MAX_V = MAX_VALUE_USD / 1000.0


def _release(name: str) -> str:
    m = _RELEASE.search(name)
    return f"baci:V{m.group(1)}" if m else "baci"


# -- what DuckDB reads ---------------------------------------------------------------------
class _Pipe:
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
def _readable(
    src: Path | Callable[[], IO[bytes]], temp_dir: Path | None
) -> Iterator[tuple[str, _Pipe | None]]:
    """A path DuckDB can read: the file itself, or a pipe fed from a stream factory."""
    if isinstance(src, Path):
        yield str(src), None
        return
    pipe = _Pipe(src, temp_dir)
    try:
        yield str(pipe.path), pipe
    finally:
        pipe.close()


#: How BACI writes an unknown quantity: ``NA`` right-aligned in the 13-character field.
_PADDED_NA = " " * 11 + "NA"


def _read_csv_sql(path: str, delim: str, compression: str, rejects: bool) -> str:
    """The ``read_csv`` call: the fast, strict one or the one that keeps rejects.

    The fast reader parses ``q`` as a number itself (BACI pads it with spaces, which the
    parser accepts) with ``""``, ``NA`` and BACI's padded ``NA`` as nulls; any cell it
    cannot parse stops it. Collecting rejects costs time on every row, so only a file
    that fails the fast reader is read again with ``q`` as text and the reject table on.
    """
    types = {**_TYPES, "q": "VARCHAR" if rejects else "DOUBLE"}
    columns = "{" + ", ".join(f"{sql_str(c)}: {sql_str(t)}" for c, t in types.items()) + "}"
    if rejects:
        tail = "nullstr = '', store_rejects = true, rejects_table = 'rej_errors', rejects_scan = 'rej_scans'"
    else:
        tail = f"nullstr = ['', 'NA', {sql_str(_PADDED_NA)}]"
    return (
        f"read_csv({sql_str(path)}, header = true, delim = {sql_str(delim)}, quote = '\"', "
        f"escape = '\"', auto_detect = false, columns = {columns}, "
        f"compression = {sql_str(compression)}, {tail})"
    )


def _valid_sql(q_is_text: bool) -> str:
    """The row is valid (see the module doc); ``qd`` is the quantity as a number."""
    if q_is_text:
        # TRY_CAST gave NULL: fine for "" and "NA" (padded or not), not for other text.
        q_ok = f"(qd >= 0 AND qd <= {MAX_QTY_T!r}) OR q IS NULL OR (qd IS NULL AND trim(q) IN ('', 'NA'))"
    else:
        q_ok = f"qd IS NULL OR (qd >= 0 AND qd <= {MAX_QTY_T!r})"
    # NaN compares greater than every number in DuckDB, so the upper bounds refuse it too.
    return (
        f"coalesce(v >= 0 AND v <= {_MAX_V!r} AND t IS NOT NULL "
        "AND i BETWEEN 0 AND 999 AND j BETWEEN 0 AND 999 AND k BETWEEN 0 AND 999999 "
        f"AND ({q_ok}), false)"
    )


def _group_sql(
    source: str,
    focus_codes: list[int],
    us_codes: list[int],
    years: frozenset[int] | None,
    distinct: bool,
    count_distinct: bool,
    q_is_text: bool,
) -> str:
    """The one-pass query: sums by year x exporter x product x jj (see the module doc).

    ``jj`` is -1 for invalid rows, -2 for rows outside the year filter, the importer
    code for rows the bilateral outputs need, NULL otherwise.
    """
    year_case = f"WHEN t NOT IN {sql_list(sorted(years))} THEN -2 " if years is not None else ""
    rows = f"(SELECT DISTINCT * FROM {source})" if distinct else source
    nd = ", count(DISTINCT hash(j, v, q)) AS nd" if count_distinct else ""
    jcol = ", j, q" if count_distinct else ""
    # q stays in the projection as text: DuckDB would otherwise push the TRY_CAST into
    # the CSV reader as a strict cast.
    qd = "TRY_CAST(q AS DOUBLE)" if q_is_text else "q"
    return (
        "CREATE OR REPLACE TEMP TABLE agg AS "
        f"WITH r AS (SELECT t, i, j, k, v, q, {qd} AS qd FROM {rows}), "
        f"s AS (SELECT t, i, k, v, qd{jcol}, CASE WHEN NOT {_valid_sql(q_is_text)} THEN -1 {year_case}"
        f"WHEN j IN {sql_list(focus_codes)} OR i IN {sql_list(us_codes)} THEN j END AS jj FROM r) "
        f"SELECT t, i, k, jj, sum(v) AS v, sum(qd) AS q, count(qd) AS qn, count(*) AS n{nd} "
        "FROM s GROUP BY t, i, k, jj"
    )


# -- country codes -------------------------------------------------------------------------
def _code_table(ctx: ReadContext, dictionary: dict[int, tuple[str, str]] | None) -> pd.DataFrame:
    """Every BACI code 0-999 -> ISO3 (None when not a country) and its match status."""
    rows = []
    for code in range(1000):
        hit = ctx.resolver.match(code)
        if hit.iso3 is None and hit.status == "unmatched" and dictionary and code in dictionary:
            d_iso, d_name = dictionary[code]
            hit = ctx.resolver.match(d_iso) if d_iso else hit
            if hit.iso3 is None and hit.status == "unmatched":
                hit = ctx.resolver.match(d_name)
        rows.append((code, hit.iso3, hit.status))
    return pd.DataFrame(rows, columns=["code", "iso3", "status"]).astype({"code": "int32", "iso3": "string"})


# -- reading one CSV -----------------------------------------------------------------------
def read_baci_source(
    src: Path | Callable[[], IO[bytes]],
    *,
    file: str,
    ctx: ReadContext,
    hs_version: str | None,
    source: str,
    delim: str = ",",
    dictionary: dict[int, tuple[str, str]] | None = None,
) -> ReadResult:
    """Read one BACI yearly CSV with DuckDB into exports and bilateral rows.

    Parameters
    ----------
    src
        The file (plain or ``.gz``), or a factory returning a fresh binary stream of it
        (a zip member; called again for the rare second passes).
    file
        Name for reports.
    ctx
        Run settings (resolver, years, focus importers, duplicate check, temp folder).
    hs_version
        HS revision of the file, or None to assume the revision in force each year.
    source
        ``source`` column value (``"baci:V202601"``).
    delim
        Field delimiter (detected from the header).
    dictionary
        BACI ``country_code -> (iso3, name)`` from a release, for codes the project
        table does not know.
    """
    codes = _code_table(ctx, dictionary)
    focus_codes = codes.loc[codes["iso3"].isin(list(ctx.focus)).fillna(False), "code"].tolist()
    us_codes = codes.loc[(codes["iso3"] == "USA").fillna(False), "code"].tolist()
    compression = "gzip" if isinstance(src, Path) and src.name.lower().endswith(".gz") else "none"
    notes: list[str] = []
    # One connection per run (or per zip) when the caller gives one: a new database per
    # file would grow the process by a buffer pool each time.
    own = ctx.duck is None
    con = connect(ctx.temp_dir) if own else ctx.duck
    try:
        rej, n_dup = _aggregate(con, src, file, ctx, delim, compression, focus_codes, us_codes)
        if n_dup:
            notes.append(f"{n_dup} exact duplicate rows dropped")
        n_bad, rows_read = con.execute(
            "SELECT coalesce(sum(n) FILTER (WHERE jj = -1), 0), coalesce(sum(n), 0) FROM agg"
        ).fetchall()[0]
        rows_read = int(rows_read) + int(rej["line"].nunique() if len(rej) else 0) + n_dup
        if n_bad:
            rej = pd.concat([rej, _locate_invalid(src, file, delim, int(n_bad))], ignore_index=True)
        con.register("codes", codes)
        version_sql = sql_str(hs_version) if hs_version else _IN_FORCE_SQL
        exports_select = _exports_sql(version_sql, source)
        con.execute(_bilateral_sql(version_sql, source, ctx.focus))
        unmatched = pd.concat(
            [
                _unmatched(con.execute(_UM_EXPORTERS).df(), file, ctx, dictionary, "exporter"),
                _unmatched(con.execute(_UM_IMPORTERS).df(), file, ctx, dictionary, "importer"),
            ],
            ignore_index=True,
        )
        if not hs_version:
            notes.append("HS revision not stated; assumed the revision in force each year")
        rej = rej.sort_values("line", kind="stable").reset_index(drop=True) if len(rej) else empty_rejected()
        result = ReadResult(
            empty_exports(),  # replaced below (or left empty when the parts are written)
            rej[REJECT_COLUMNS],
            unmatched[UNMATCHED_COLUMNS] if len(unmatched) else empty_unmatched(),
            rows_read,
            duplicates_dropped=n_dup,
            notes=notes,
        )
        if ctx.sink is not None:
            # Straight from DuckDB to the Parquet parts: no pandas round trip of the big tables.
            _write_parts(con, exports_select, ctx.sink, ctx.focus)
        else:
            result.exports = finalize_exports(con.execute(f"{exports_select} ORDER BY 1, 2, 3").df())
            bilateral = con.execute("SELECT * FROM out_bilateral ORDER BY 1, 2, 3, 4").df()
            result.bilateral = finalize_bilateral(bilateral) if len(bilateral) else empty_bilateral()
    finally:
        if own:
            con.close()
        else:
            _drop_work_tables(con)
    return result


_WORK_TABLES = ("agg", "out_exports", "out_bilateral", "rej_errors", "rej_scans")


def _drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Free a shared connection of one file's tables (and release their memory)."""
    for table in _WORK_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    with suppress(duckdb.Error):
        con.unregister("codes")


def _aggregate(
    con: duckdb.DuckDBPyConnection,
    src: Path | Callable[[], IO[bytes]],
    file: str,
    ctx: ReadContext,
    delim: str,
    compression: str,
    focus_codes: list[int],
    us_codes: list[int],
) -> tuple[pd.DataFrame, int]:
    """Run the grouping query into the ``agg`` table; return parse rejects and duplicates.

    Duplicates, by ``ctx.duplicates``: ``"full"`` counts distinct rows in every group
    (a hash per row); ``"sample"`` looks only at the groups that keep the importer
    (flows to the focus importers and U.S. exports), where two rows in one group share
    the whole key ``t, i, j, k`` (free: the grouping is done anyway); ``"off"`` sums
    whatever is there. When either check finds duplicates, the file is grouped again
    over its distinct rows and the exact duplicates dropped are counted.
    """

    def run(distinct: bool, rejects: bool) -> pd.DataFrame:
        for table in ("rej_errors", "rej_scans"):  # the reader refuses to reuse them
            con.execute(f"DROP TABLE IF EXISTS {table}")
        with _readable(src, ctx.temp_dir) as (path, pipe):
            sql = _group_sql(
                _read_csv_sql(path, delim, compression, rejects),
                focus_codes,
                us_codes,
                ctx.years,
                distinct=distinct,
                count_distinct=ctx.duplicates == "full" and not distinct,
                q_is_text=rejects,
            )
            try:
                con.execute(sql)
            except duckdb.Error as exc:
                if pipe is not None and pipe.error is not None:
                    raise _damaged(file, pipe.error) from exc
                if not rejects:
                    return run(distinct, rejects=True)  # a bad cell: read again, keeping rejects
                first = str(exc).strip().splitlines()[0][:200]
                raise InputError(
                    f"{file}: cannot be read as a BACI CSV ({first}); expected a header "
                    f"{','.join(BACI_COLUMNS)} and numbers in every row"
                ) from exc
        if pipe is not None and pipe.error is not None:
            raise _damaged(file, pipe.error)
        return _parse_rejects(con, file) if rejects else empty_rejected()

    rej = run(distinct=False, rejects=False)
    rejects = len(rej) > 0
    if ctx.duplicates == "off":
        return rej, 0
    if ctx.duplicates == "full":
        (suspect,) = con.execute("SELECT coalesce(sum(n - nd), 0) FROM agg").fetchall()[0]
    else:
        (suspect,) = con.execute("SELECT count(*) FROM agg WHERE jj >= 0 AND n > 1").fetchall()[0]
    if not suspect:
        return rej, 0
    # Rare: group again over the distinct rows, and count exactly what was dropped.
    (before,) = con.execute("SELECT sum(n) FROM agg").fetchall()[0]
    rej = run(distinct=True, rejects=rejects)
    (after,) = con.execute("SELECT sum(n) FROM agg").fetchall()[0]
    n = int(before) - int(after)
    if n:
        log.warning("%s: %d exact duplicate rows dropped", file, n)
    return rej, n


def _damaged(file: str, error: BaseException) -> InputError:
    return InputError(
        f"{file}: the archive member is truncated or corrupt ({type(error).__name__}: "
        f"{str(error)[:120]}); re-download the BACI release"
    )


_REJECT_REASON = {
    "CAST": "non-numeric {col}",
    "MISSING COLUMNS": "missing columns",
    "TOO MANY COLUMNS": "too many columns",
    "UNQUOTED VALUE": "badly quoted value",
    "LINE SIZE OVER MAXIMUM": "line too long",
    "INVALID UNICODE": "invalid UTF-8",
}


def _parse_rejects(con: duckdb.DuckDBPyConnection, file: str) -> pd.DataFrame:
    """DuckDB's reject table -> rejected rows (one per line: its first error)."""
    df = con.execute(
        "SELECT line, column_name, error_type::VARCHAR AS error_type, csv_line, error_message "
        "FROM rej_errors ORDER BY line, column_idx"
    ).df()
    if df.empty:
        return empty_rejected()
    df = df.drop_duplicates("line", keep="first")
    col = df["column_name"].fillna("").astype(str)
    raw = df["csv_line"].fillna("").astype(str).str.strip()
    reason = [
        _REJECT_REASON.get(t, t.lower()).format(col={"v": "value", "q": "quantity"}.get(c, f"code {c}"))
        for t, c in zip(df["error_type"], col, strict=True)
    ]
    value = [_cell(r, c) if t == "CAST" else "" for r, c, t in zip(raw, col, df["error_type"], strict=True)]
    return pd.DataFrame(
        {
            "file": file,
            "line": df["line"].astype("int64").to_numpy(),
            "column": col.to_numpy(),
            "value": value,
            "reason": reason,
            "raw": raw.str.slice(0, 200).to_numpy(),
        }
    )


def _cell(raw: str, column: str) -> str:
    try:
        cells = next(csv.reader([raw]))
        return cells[BACI_COLUMNS.index(column)][:80]
    except (StopIteration, ValueError, IndexError, csv.Error):
        return ""


def _row_problem(cells: list[str]) -> tuple[str, str] | None:
    """Why a parsed row is invalid, as (column, reason); None when it is valid or when
    DuckDB's reader rejects it itself (those are in its reject table)."""
    try:
        t, i, j, k = (int(c.strip()) for c in cells[:4])
        v = float(cells[4]) if cells[4].strip() else None
    except ValueError:
        return None
    q_text = cells[5].strip()
    if v is None:
        return "v", "empty value"
    if math.isinf(v):
        return "v", "infinite value"
    if math.isnan(v):
        return "v", "non-numeric value"
    if v < 0:
        return "v", "negative value"
    if v > _MAX_V:
        return "v", f"value above {MAX_VALUE_USD:.0e} USD (absurd)"
    if not (0 <= i <= 999 and 0 <= j <= 999 and 0 <= k <= 999_999):
        return "i" if not 0 <= i <= 999 else (
            "j" if not 0 <= j <= 999 else "k"
        ), "country or product code out of range"
    if q_text not in ("", "NA"):
        try:
            q = float(q_text)
        except ValueError:
            return "q", "non-numeric quantity"
        if math.isnan(q) or math.isinf(q):
            return "q", "non-numeric quantity"
        if q < 0:
            return "q", "negative quantity"
        if q > MAX_QTY_T:
            return "q", f"quantity above {MAX_QTY_T:.0e} t (absurd)"
    del t
    return None


def _locate_invalid(
    src: Path | Callable[[], IO[bytes]], file: str, delim: str, expected: int
) -> pd.DataFrame:
    """The lines of the rows the query counted as invalid (plain Python; rare)."""
    rows = []
    if isinstance(src, Path):
        path = src

        def opener() -> IO[bytes]:
            # A factory, like the zip members': the caller opens it in a with-block.
            return cast(
                IO[bytes], gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")
            )

    else:
        opener = src  # type: ignore[assignment]
    with opener() as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text, delimiter=delim)
        next(reader, None)
        for cells in reader:
            if len(cells) != len(BACI_COLUMNS):
                continue
            problem = _row_problem(cells)
            if problem:
                col, reason = problem
                raw = delim.join(cells)
                rows.append(
                    (
                        file,
                        reader.line_num,
                        col,
                        cells[BACI_COLUMNS.index(col)].strip()[:80],
                        reason,
                        raw[:200],
                    )
                )
    if len(rows) != expected:
        log.warning("%s: %d invalid rows counted, %d located", file, expected, len(rows))
    return pd.DataFrame(rows, columns=REJECT_COLUMNS)


# -- from the grouped table to the outputs -------------------------------------------------
_HS6 = "lpad(k::VARCHAR, 6, '0')"
_QTY = "CASE WHEN sum(qn) > 0 THEN sum(q) END"
_IN_FORCE_SQL = (
    "CASE WHEN t >= 2022 THEN 'HS2022' WHEN t >= 2017 THEN 'HS2017' WHEN t >= 2012 THEN 'HS2012' "
    "WHEN t >= 2007 THEN 'HS2007' WHEN t >= 2002 THEN 'HS2002' WHEN t >= 1996 THEN 'HS1996' ELSE 'HS1992' END"
)


def _exports_sql(version_sql: str, source: str) -> str:
    """The query of exports to the world by exporter ISO3 (codes of one country summed:
    58 and 56 -> BEL), in the contract's columns (unsorted: the part is sorted as written)."""
    return (
        f"SELECT t::BIGINT AS year, c.iso3 AS exporter_iso3, {_HS6} AS hs6, 6::BIGINT AS hs_level, "
        f"{version_sql} AS hs_version, sum(v) * 1000.0 AS value_usd, {_QTY} AS qty, "
        f"{sql_str(source)} AS source, 'value' AS value_kind, NULL::BIGINT AS rank "
        "FROM agg JOIN codes c ON agg.i = c.code "
        "WHERE coalesce(jj, 0) >= 0 AND c.iso3 IS NOT NULL GROUP BY t, c.iso3, k"
    )


def _bilateral_sql(version_sql: str, source: str, focus: tuple[str, ...]) -> str:
    """Flows to focus importers and U.S. exports to every importer."""
    return (
        "CREATE OR REPLACE TEMP TABLE out_bilateral AS "
        f"SELECT t::BIGINT AS year, ce.iso3 AS exporter_iso3, ci.iso3 AS importer_iso3, {_HS6} AS hs6, "
        f"{version_sql} AS hs_version, sum(v) * 1000.0 AS value_usd, {_QTY} AS qty, "
        f"{sql_str(source)} AS source FROM agg "
        "JOIN codes ce ON agg.i = ce.code JOIN codes ci ON agg.jj = ci.code "
        "WHERE jj >= 0 AND ce.iso3 IS NOT NULL AND ci.iso3 IS NOT NULL "
        f"AND (ci.iso3 IN {sql_list(list(focus))} OR ce.iso3 = 'USA') GROUP BY t, ce.iso3, ci.iso3, k"
    )


_UM_EXPORTERS = (
    "SELECT i AS code, sum(n)::BIGINT AS rows, sum(v) * 1000.0 AS value_usd FROM agg "
    "LEFT JOIN codes c ON agg.i = c.code WHERE coalesce(jj, 0) >= 0 AND c.iso3 IS NULL GROUP BY i ORDER BY i"
)
# U.S. exports to a code that is not a country (an aggregate, an unknown code).
_UM_IMPORTERS = (
    "SELECT jj AS code, sum(n)::BIGINT AS rows, sum(v) * 1000.0 AS value_usd FROM agg "
    "JOIN codes ce ON agg.i = ce.code LEFT JOIN codes ci ON agg.jj = ci.code "
    "WHERE jj >= 0 AND ce.iso3 = 'USA' AND ci.iso3 IS NULL GROUP BY jj ORDER BY jj"
)


def _write_parts(
    con: duckdb.DuckDBPyConnection, exports_select: str, sink: PartSink, focus: tuple[str, ...]
) -> None:
    """Gather this file's (or zip member's) exports, focus flows and U.S. exports in the sink."""
    sink.append_query("exports", con, exports_select)
    bilateral = "SELECT * FROM out_bilateral"
    sink.append_query("focus", con, f"{bilateral} WHERE importer_iso3 IN {sql_list(list(focus))}")
    sink.append_query("us", con, f"{bilateral} WHERE exporter_iso3 = 'USA'")


def _unmatched(
    um: pd.DataFrame, file: str, ctx: ReadContext, dictionary: dict[int, tuple[str, str]] | None, role: str
) -> pd.DataFrame:
    if um.empty:
        return empty_unmatched()
    return pd.DataFrame(
        {
            "value": um["code"].astype(int).astype(str),
            "source_file": file,
            "rows": um["rows"].astype("int64"),
            "value_usd": um["value_usd"].astype(float),
            "status": [ctx.resolver.match(int(c)).status for c in um["code"]],
            "candidates": [
                (dictionary or {}).get(int(c), ("", ""))[1] or ctx.resolver.candidates(int(c))
                for c in um["code"]
            ],
            "role": role,
        }
    )


# -- yearly CSV ---------------------------------------------------------------------------
def _detect_csv(path: Path, columns: list[str]) -> bool:
    return [c.lower() for c in columns[:6]] == BACI_COLUMNS or {"t", "i", "k", "v"} <= set(columns)


def read_baci_csv(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a BACI yearly CSV (``t,i,j,k,v,q``) from disk (``.gz`` allowed)."""
    columns, delim = sniff_layout(path)
    require_columns(columns, BACI_COLUMNS, path, "BACI yearly CSV (t,i,j,k,v,q)")
    version = ctx.hs_version or hs_version_from_name(path.name)
    return read_baci_source(
        path, file=display_name(path), ctx=ctx, hs_version=version, source=_release(path.name), delim=delim
    )


# -- release zip --------------------------------------------------------------------------
def _detect_zip(path: Path, columns: list[str]) -> bool:
    return path.name.lower().endswith(".zip") and any(_ZIP_YEAR.search(n) for n in columns)


def _zip_dictionary(zf: zipfile.ZipFile) -> dict[int, tuple[str, str]]:
    names = [n for n in zf.namelist() if re.search(r"country_codes.*\.csv$", n, re.IGNORECASE)]
    if not names:
        return {}
    with zf.open(names[0]) as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False, encoding="latin-1")
    require_columns(list(df.columns), ["country_code", "country_iso3"], names[0], "BACI country dictionary")
    name_col = "country_name" if "country_name" in df.columns else "country_iso3"
    return {
        int(r.country_code): (r.country_iso3, getattr(r, name_col))
        for r in df.itertuples()
        if r.country_code.isdigit()
    }


def _member_layout(zf: zipfile.ZipFile, member: str, where: str) -> str:
    """Check a member's header; return its delimiter."""
    try:
        with zf.open(member) as fh:
            head = fh.readline(1 << 16).decode("utf-8-sig", errors="replace")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise _damaged(where, exc) from exc
    delim = detect_delimiter(head)
    cols = [c.strip() for c in next(csv.reader([head.strip()], delimiter=delim), [])]
    require_columns(cols, BACI_COLUMNS, where, "BACI yearly CSV (t,i,j,k,v,q)")
    return delim


def _member_opener(zf: zipfile.ZipFile, member: str) -> Callable[[], IO[bytes]]:
    def opener() -> IO[bytes]:
        return zf.open(member)

    return opener


def read_baci_zip(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a BACI release zip member by member (nothing unpacked to disk).

    Only members for ``ctx.years`` are read when a year filter is set.
    """
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{path} is not a valid zip ({exc}); re-download the BACI release") from exc
    with zf:
        members = [(m, mt) for m in zf.namelist() if (mt := _ZIP_YEAR.search(m))]
        if not members:
            raise InputError(f"{path}: no BACI_HSxx_Yyyyy_Vxxxxxx.csv member; is this a BACI release zip?")
        dictionary = _zip_dictionary(zf)
        results = []
        own = ctx.duck is None
        if own:
            ctx = dataclasses.replace(ctx, duck=connect(ctx.temp_dir))
        for member, mt in sorted(members):
            year = int(mt.group(2))
            if ctx.years is not None and year not in ctx.years:
                continue
            where = f"{display_name(path)}:{member}"
            delim = _member_layout(zf, member, where)
            version = ctx.hs_version or hs_version_from_name(f"HS{mt.group(1)}")
            start = time.perf_counter()
            results.append(
                read_baci_source(
                    _member_opener(zf, member),
                    file=where,
                    ctx=ctx,
                    hs_version=version,
                    source=f"baci:V{mt.group(3)}",
                    delim=delim,
                    dictionary=dictionary,
                )
            )
            log.info("%s: %d rows in %.1fs", where, results[-1].rows_read, time.perf_counter() - start)
        if own:
            ctx.duck.close()
    if not results:
        found = sorted(int(mt.group(2)) for _, mt in members)
        raise InputError(f"{path}: no member for years {sorted(ctx.years or [])}; the zip has years {found}")
    merged = ReadResult(
        empty_exports(),
        pd.concat([r.rejected for r in results], ignore_index=True),
        pd.concat([r.unmatched for r in results], ignore_index=True),
        sum(r.rows_read for r in results),
        duplicates_dropped=sum(r.duplicates_dropped for r in results),
        notes=[n for r in results for n in r.notes],
    )
    if ctx.sink is None:
        merged.exports = finalize_exports(pd.concat([r.exports for r in results], ignore_index=True))
        merged.bilateral = finalize_bilateral(pd.concat([r.bilateral for r in results], ignore_index=True))
    return merged


# -- the mirror's BACI extracts ----------------------------------------------------------
_EXTRACT_PARQUET = ["year", "exporter", "hs6", "value_kusd"]


def _detect_extract_parquet(path: Path, columns: list[str]) -> bool:
    return {"exporter", "hs6", "value_kusd"} <= set(columns)


def read_baci_extract_parquet(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a BACI bilateral extract in Parquet (``year, exporter, importer, hs6,
    value_kusd, qty_t``, ISO3 exporters, thousand USD, tonnes)."""
    df = pd.read_parquet(path)
    require_columns(list(df.columns), _EXTRACT_PARQUET, path, "BACI extract (parquet)")
    long = pd.DataFrame(
        {
            "line": np.arange(1, len(df) + 1),  # row number (Parquet has no lines)
            "year": df["year"],
            "exporter": df["exporter"],
            "hs6": df["hs6"],
            "value": df["value_kusd"],
            "qty": df["qty_t"] if "qty_t" in df.columns else np.nan,
        }
    )
    if "importer" in df.columns:
        long["importer"] = df["importer"]
    version = ctx.hs_version or hs_version_from_name(path.name) or "HS2017"
    return clean_long(
        long,
        file=display_name(path),
        ctx=ctx,
        source=_release(path.name),
        hs_version=version,
        value_scale=1000.0,
    )


def _detect_extract_usd(path: Path, columns: list[str]) -> bool:
    return [c.lower() for c in columns] == ["i", "j", "cmd", "value"]


def read_baci_extract_usd(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a BACI extract ``i,j,cmd,value`` (ISO3 codes, value in USD, year in the name)."""
    _, delim = sniff_layout(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, sep=delim, encoding="utf-8-sig")
    require_columns(list(df.columns), ["i", "j", "cmd", "value"], path, "BACI extract (i,j,cmd,value)")
    year = year_from_name(path.name)
    if year is None:
        raise InputError(
            f"{path}: an i,j,cmd,value file has no year column and its name has no single year; "
            "rename it with the year (e.g. ..._2024_usd.csv)"
        )
    long = pd.DataFrame(
        {
            "line": np.arange(2, len(df) + 2),
            "year": year,
            "exporter": df["i"],
            "importer": df["j"],
            "hs6": df["cmd"],
            "value": df["value"],
        }
    )
    version = ctx.hs_version or hs_version_from_name(path.name) or hs_in_force(year)
    return clean_long(long, file=display_name(path), ctx=ctx, source=_release(path.name), hs_version=version)


register(Reader("baci_zip", _detect_zip, read_baci_zip, READER_VERSION, 10, "CEPII BACI release zip", True))
register(
    Reader(
        "baci_csv", _detect_csv, read_baci_csv, READER_VERSION, 20, "CEPII BACI yearly CSV t,i,j,k,v,q", True
    )
)
register(
    Reader(
        "baci_extract_parquet",
        _detect_extract_parquet,
        read_baci_extract_parquet,
        READER_VERSION,
        30,
        "BACI bilateral extract (parquet, ISO3, thousand USD)",
        True,
    )
)
register(
    Reader(
        "baci_extract_usd",
        _detect_extract_usd,
        read_baci_extract_usd,
        READER_VERSION,
        30,
        "BACI extract i,j,cmd,value (ISO3, USD)",
        True,
    )
)
