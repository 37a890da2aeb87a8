"""Load a text trade table (CSV, CSV.GZ, TSV, XLSX, Parquet) into DuckDB, every cell as text.

The Comtrade and generic readers validate each cell themselves (see
:mod:`cclreview.trade.longtable`), with the reasons of ``rejected_rows.csv``, so the
table is loaded with every column ``VARCHAR``: DuckDB's ``read_csv`` with the header's
names given explicitly (no type sniffing), the detected delimiter, ``"`` quotes, a UTF-8
BOM and CRLF line ends accepted, blank lines skipped and short rows padded with nulls.
The rows land in a temporary table whose ``rowid`` is the row's position in the file;
:func:`csv_lines` turns positions into line numbers for the rows a reader rejects.

Also here: the SQL text helpers shared by those readers (:func:`strip_sql`,
:func:`number_sql`, :func:`ident`), which reproduce what pandas did before (Python's
``str.strip`` and ``pandas.to_numeric``), so the rows rejected stay the same.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from cclreview.errors import InputError
from cclreview.trade.duck import connect, sql_str
from cclreview.trade.registry import sniff_layout
from cclreview.trade.tidy import ReadContext

log = logging.getLogger(__name__)

#: The table every load writes (one file at a time on a connection).
RAW_TABLE = "lt_raw"

#: Every character Python's ``str.strip()`` removes: the readers used to strip cells
#: with it, and DuckDB's ``trim`` only removes spaces unless told which characters.
#: (Spelled out: computing it at import costs a tenth of a second; a test checks it.)
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def strip_sql(expr: str) -> str:
    """SQL of ``expr`` without leading and trailing whitespace (as ``str.strip``)."""
    ws = sql_str(WHITESPACE)
    # trim() with a set of characters is slow; most cells have nothing to trim.
    return (
        f"CASE WHEN contains({ws}, left({expr}, 1)) OR contains({ws}, right({expr}, 1)) "
        f"THEN trim({expr}, {ws}) ELSE {expr} END"
    )


def number_sql(expr: str) -> str:
    """SQL of ``expr`` (text) as a DOUBLE, NULL when it is not a number.

    DuckDB's cast accepts what ``pandas.to_numeric`` accepts (signs, decimals,
    exponents, ``inf``/``nan`` words, surrounding whitespace) except three forms it
    refuses here: digit separators (``1_000``), doubled signs (``+-5``) and an
    ``inf`` word with whitespace around it, which pandas does not read as numbers.
    """
    # The regular expressions run only on the few cells with a sign or an "i".
    return (
        f"CASE WHEN contains({expr}, '_') THEN NULL "
        f"WHEN (contains({expr}, '+') OR contains({expr}, '-')) AND regexp_matches({expr}, '[+-]\\s*[+-]') "
        "THEN NULL "
        f"WHEN (contains({expr}, 'i') OR contains({expr}, 'I')) AND regexp_matches({expr}, '^\\s|\\s$') "
        f"THEN NULL ELSE TRY_CAST({expr} AS DOUBLE) END"
    )


@dataclass
class Loaded:
    """A file loaded into :data:`RAW_TABLE`.

    Attributes
    ----------
    columns
        Column names, in file order.
    rows
        Number of data rows.
    first_line
        Line (or row) number of the first data row when rows and lines match one to
        one (XLSX: 2, Parquet: 1); 0 for CSV, whose lines :func:`csv_lines` counts.
    path, delim
        The file and its delimiter (CSV only).
    """

    columns: list[str]
    rows: int
    first_line: int
    path: Path
    delim: str = ","

    def lines(self, positions: Iterable[int]) -> list[int]:
        """Line numbers of rows at ``positions`` (0-based ``rowid``)."""
        pos = [int(p) for p in positions]
        if self.first_line:
            return [p + self.first_line for p in pos]
        found = csv_lines(self.path, self.delim, pos)
        return [found.get(p, p + 2) for p in pos]


def _names(columns: list[str]) -> list[str]:
    """Header names made unique and non-empty the way pandas does (``a``, ``a.1``)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(columns):
        base = name if name else f"Unnamed: {i}"
        new = base
        while new in seen:
            seen[base] += 1
            new = f"{base}.{seen[base]}"
        seen.setdefault(new, 0)
        out.append(new)
    return out


def _read_csv_sql(path: Path, columns: list[str], delim: str, parallel: bool) -> str:
    spec = "{" + ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in columns) + "}"
    compression = "gzip" if path.name.lower().endswith(".gz") else "none"
    return (
        f"read_csv({sql_str(str(path))}, header = true, auto_detect = false, columns = {spec}, "
        f"delim = {sql_str(delim)}, quote = '\"', escape = '\"', null_padding = true, "
        f"compression = {sql_str(compression)}{'' if parallel else ', parallel = false'})"
    )


@contextmanager
def _ordered(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Keep the file's row order while loading (``rowid`` is then the row's position)."""
    (before,) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0]
    con.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if before else 'false'}")


def _count(con: duckdb.DuckDBPyConnection) -> int:
    (n,) = con.execute(f"SELECT count(*) FROM {RAW_TABLE}").fetchall()[0]
    return int(n)


def load_csv(con: duckdb.DuckDBPyConnection, path: Path, what: str, delim: str | None = None) -> Loaded:
    """Load a CSV (plain or ``.gz``) into :data:`RAW_TABLE`, every column as text.

    Parameters
    ----------
    con
        The connection.
    path
        The file.
    what
        What the file should be, for the error message (``"a Comtrade CSV export"``).
    delim
        Field delimiter; default: detected from the header line.

    Raises
    ------
    InputError
        One line naming the file, when DuckDB cannot parse it (a row with too many
        fields, a badly quoted value, invalid UTF-8).
    """
    header, sniffed = sniff_layout(path)
    delim = delim or sniffed
    columns = _names(header)
    for parallel in (True, False):
        try:
            with _ordered(con):
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {RAW_TABLE} AS "
                    f"SELECT * FROM {_read_csv_sql(path, columns, delim, parallel)}"
                )
            break
        except duckdb.Error as exc:
            # Short rows are padded with nulls, as pandas did; the parallel reader cannot
            # do that in a file with quoted line breaks: such a file is read again serially.
            if parallel and "parallel=false" in str(exc):
                continue
            raise InputError(f"cannot parse {path} as CSV ({_csv_error(exc)}); is it {what}?") from exc
    return Loaded(columns, _count(con), 0, path, delim)


def load_frame(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, path: Path, first_line: int) -> Loaded:
    """Load a pandas frame (an XLSX sheet read as text) into :data:`RAW_TABLE`."""
    df = df.set_axis(_names([str(c) for c in df.columns]), axis=1)
    view = "lt_frame"
    con.register(view, df)
    try:
        cols = ", ".join(f"CAST({ident(c)} AS VARCHAR) AS {ident(c)}" for c in df.columns)
        with _ordered(con):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {RAW_TABLE} AS SELECT {cols} FROM {view}")
    finally:
        con.unregister(view)
    return Loaded(list(df.columns), _count(con), first_line, path)


def load_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> Loaded:
    """Load a Parquet file into :data:`RAW_TABLE`, every column cast to text."""
    source = f"read_parquet({sql_str(str(path))})"
    try:
        names = [d[0] for d in con.execute(f"SELECT * FROM {source} LIMIT 0").description]
        cols = ", ".join(f"CAST({ident(c)} AS VARCHAR) AS {ident(c)}" for c in names)
        with _ordered(con):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {RAW_TABLE} AS SELECT {cols} FROM {source}")
    except duckdb.Error as exc:
        raise InputError(f"cannot read {path} as Parquet ({_csv_error(exc)}); is it complete?") from exc
    return Loaded(names, _count(con), 1, path)


def drop_raw(con: duckdb.DuckDBPyConnection) -> None:
    """Drop :data:`RAW_TABLE` (frees the file's rows on a shared connection)."""
    con.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")


def _csv_error(exc: BaseException) -> str:
    """DuckDB's error in one line: ``line 3: Expected Number of Columns: 5 Found: 6``."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    m = re.search(r"CSV Error on Line: (\d+)", lines[0])
    if m is None:
        return lines[0][:240]
    reason = next(
        (ln for ln in lines[1:] if not ln.startswith(("Original Line", "Possible", "*"))), "unreadable row"
    )
    return f"line {m.group(1)}: {reason}"[:240]


def csv_lines(path: Path, delim: str, positions: Iterable[int]) -> dict[int, int]:
    """Line numbers in the file of the data rows at ``positions`` (0-based).

    Counted like DuckDB reads the file: blank lines skipped, a quoted field may span
    lines (the row's line is the one it starts on). One plain-Python pass, stopped at
    the last wanted row; used only for the few rows a reader rejects.
    """
    wanted = set(positions)
    found: dict[int, int] = {}
    if not wanted:
        return found
    last = max(wanted)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text, delimiter=delim)
        start, index = 1, -2  # the header is row -1
        for record in reader:
            first, start = start, reader.line_num + 1
            if not record:
                continue
            index += 1
            if index in wanted:
                found[index] = first
            if index >= last:
                break
    if len(found) != len(wanted):
        log.warning("%s: %d of %d rejected rows located by line", path, len(found), len(wanted))
    return found


@contextmanager
def reader_connection(ctx: ReadContext) -> Iterator[tuple[duckdb.DuckDBPyConnection, bool]]:
    """The run's DuckDB connection (or a new one) and whether to write to ``ctx.sink``
    (the sink writes each query's rows at once, on any connection)."""
    if ctx.duck is not None:
        yield ctx.duck, ctx.sink is not None
        return
    con = connect(ctx.temp_dir)
    try:
        yield con, ctx.sink is not None
    finally:
        con.close()
