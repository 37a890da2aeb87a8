"""CEPII BACI readers on DuckDB: yearly CSV (plain or gzip), release zip, the mirror's extracts.

BACI yearly files are ``t,i,j,k,v,q``: year, exporter and importer (BACI numeric codes,
mostly UN M49 with quirks: 490 Taiwan, 842 USA, 251 France, 699 India, 757 Switzerland,
579 Norway), HS6 product (leading zero dropped), value in thousand USD, quantity in
tonnes (quoted, space padded, ``NA`` when unknown). A full year is ~10 million rows.

One DuckDB query reads a file and groups it once by ``year x exporter x product x jj``,
where ``jj`` is the importer for the rows the bilateral outputs need (a focus importer,
or the U.S. as exporter) and empty for the rest; so exports to the world, ``flows_focus``
and ``us_exports`` come from one pass, and the grouped table is a little larger than a
plain ``GROUP BY t, i, k``. The first read is strict and fast: explicit column types,
``q`` parsed as a number by the CSV reader (``""``, ``NA`` and BACI's padded ``NA`` are
nulls). A file with a cell it cannot parse is read again with ``q`` as text and DuckDB's
reject table on. Memory is bounded by DuckDB's ``memory_limit``
(see :mod:`cclreview.trade.duck`).

Rejected rows (``rejected_rows.csv`` with their line): cells DuckDB cannot parse (a
non-numeric value, missing or extra columns: its reject table), and rows whose value is
empty, negative, infinite, NaN or above :data:`~cclreview.trade.tidy.MAX_VALUE_USD`,
whose quantity is not a number, negative or above :data:`~cclreview.trade.tidy.MAX_QTY_T`,
or whose codes are out of range. The query only counts the latter (they form their own
group); when there are any, a second, plain-Python pass over the file finds their lines.

Exact duplicate rows (BACI has one row per ``t, i, j, k``) are dropped and counted. By
default (``duplicates="sample"``) the check is free: the groups that keep the importer
(focus importers, U.S. exports) hold one row per ``t, i, j, k``, so two rows in one of
them are a duplicated key; a repeated block or file shows there. ``"full"`` counts
distinct rows in every group (a hash per row). When either finds one, the file is
grouped again over its distinct rows.

The tables go from the grouped table to the file's Parquet parts through a
:class:`~cclreview.trade.parts.PartSink`, without passing through pandas.

A release zip is read member by member, each unpacked to a temporary file that is
removed once read (never the whole archive: DuckDB reads a file with both cores, a pipe
with one); a truncated or corrupt member stops the run naming the member.
The SQL is in :mod:`cclreview.trade.baci_sql`, the reject handling in
:mod:`cclreview.trade.baci_rejects` and the
readers of the mirror's small extracts in :mod:`cclreview.trade.baci_extracts`.
Exporter and importer codes are decoded once per code through
:class:`~cclreview.trade.countries.CountryResolver`, with the release's own
``country_codes_*.csv`` as a fallback.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pandas as pd

from cclreview.errors import InputError, OutputError
from cclreview.trade.baci_rejects import damaged, locate_invalid, parse_rejects
from cclreview.trade.baci_sql import (
    BACI_COLUMNS,
    HS6_TABLE,
    IN_FORCE_SQL,
    ISO3_TABLE,
    PRODUCTS_SQL,
    UM_EXPORTERS,
    UM_IMPORTERS,
    bilateral_sql,
    exports_sql,
    group_sql,
    lookup_tables_sql,
    read_csv_sql,
)
from cclreview.trade.duck import MEMORY_ENV, memory_limit, sql_list, sql_str
from cclreview.trade.duckload import reader_connection
from cclreview.trade.parts import PartSink
from cclreview.trade.registry import Reader, detect_delimiter, register, sniff_layout
from cclreview.trade.tidy import (
    REJECT_COLUMNS,
    UNMATCHED_COLUMNS,
    ReadContext,
    ReadResult,
    display_name,
    empty_bilateral,
    empty_exports,
    empty_rejected,
    empty_unmatched,
    finalize_bilateral,
    finalize_exports,
    hs_version_from_name,
    require_columns,
    unmatched_rows,
)

log = logging.getLogger(__name__)

READER_VERSION = "2"
_ZIP_YEAR = re.compile(r"BACI_HS(\d{2})_Y(\d{4})_V(\d+)\.csv$", re.IGNORECASE)
_RELEASE = re.compile(r"V(\d{6})", re.IGNORECASE)


def release_label(name: str) -> str:
    """``baci:V202601`` from a file name with the release, else ``baci``."""
    m = _RELEASE.search(name)
    return f"baci:V{m.group(1)}" if m else "baci"


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
    src: Path,
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
    with reader_connection(ctx) as (con, use_sink):
        try:
            rej, n_dup = _aggregate(con, src, file, ctx, delim, compression, focus_codes, us_codes)
            if n_dup:
                notes.append(f"{n_dup} exact duplicate rows dropped")
            n_bad, rows_read = con.execute(
                "SELECT coalesce(sum(n) FILTER (WHERE jj = -1), 0), coalesce(sum(n), 0) FROM agg"
            ).fetchall()[0]
            rows_read = int(rows_read) + int(rej["line"].nunique() if len(rej) else 0) + n_dup
            if n_bad:
                rej = pd.concat([rej, locate_invalid(src, file, delim, int(n_bad))], ignore_index=True)
            con.register("codes", codes)
            products = [int(r[0]) for r in con.execute(PRODUCTS_SQL).fetchall()]
            for statement in lookup_tables_sql(sorted(codes["iso3"].dropna().unique()), products):
                con.execute(statement)
            version_sql = sql_str(hs_version) if hs_version else IN_FORCE_SQL
            exports_select = exports_sql(version_sql, source)
            bilateral_select = bilateral_sql(version_sql, source, ctx.focus)
            unmatched = pd.concat(
                [
                    _unmatched(con.execute(UM_EXPORTERS).df(), file, ctx, dictionary, "exporter"),
                    _unmatched(con.execute(UM_IMPORTERS).df(), file, ctx, dictionary, "importer"),
                ],
                ignore_index=True,
            )
            if not hs_version:
                notes.append("HS revision not stated; assumed the revision in force each year")
            rej = (
                rej.sort_values("line", kind="stable").reset_index(drop=True)
                if len(rej)
                else empty_rejected()
            )
            result = ReadResult(
                empty_exports(),  # replaced below (or left empty when the parts are written)
                rej[REJECT_COLUMNS],
                unmatched[UNMATCHED_COLUMNS] if len(unmatched) else empty_unmatched(),
                rows_read,
                duplicates_dropped=n_dup,
                notes=notes,
            )
            if use_sink:
                # Straight from DuckDB to the Parquet parts: no pandas round trip of the big tables.
                _write_parts(con, exports_select, bilateral_select, ctx.sink, ctx.focus)
                result.bilateral = empty_bilateral()  # partner detail, in the parts
            else:
                result.exports = finalize_exports(con.execute(f"{exports_select} ORDER BY 1, 2, 3").df())
                bilateral = con.execute(f"{bilateral_select} ORDER BY 1, 2, 3, 4").df()
                result.bilateral = finalize_bilateral(bilateral) if len(bilateral) else empty_bilateral()
        finally:
            _drop_work_tables(con)  # the connection may be the run's
    return result


_WORK_TABLES = ("agg", "rej_errors", "rej_scans", ISO3_TABLE, HS6_TABLE)


def _drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Free a shared connection of one file's tables (and release their memory)."""
    for table in _WORK_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    with suppress(duckdb.Error):
        con.unregister("codes")


def _aggregate(
    con: duckdb.DuckDBPyConnection,
    src: Path,
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
        sql = group_sql(
            read_csv_sql(str(src), delim, compression, rejects),
            focus_codes,
            us_codes,
            ctx.years,
            distinct=distinct,
            count_distinct=ctx.duplicates == "full" and not distinct,
            q_is_text=rejects,
        )
        try:
            con.execute(sql)
        except duckdb.OutOfMemoryException as exc:
            raise OutputError(
                f"{file}: DuckDB ran out of its memory limit ({memory_limit(con)}) while grouping it; "
                f"raise it with {MEMORY_ENV}=1GB (for example) and run again"
            ) from exc
        except duckdb.Error as exc:
            if not rejects:
                return run(distinct, rejects=True)  # a bad cell: read again, keeping rejects
            first = str(exc).strip().splitlines()[0][:200]
            raise InputError(
                f"{file}: cannot be read as a BACI CSV ({first}); expected a header "
                f"{','.join(BACI_COLUMNS)} and numbers in every row"
            ) from exc
        return parse_rejects(con, file) if rejects else empty_rejected()

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


def _write_parts(
    con: duckdb.DuckDBPyConnection,
    exports_select: str,
    bilateral: str,
    sink: PartSink,
    focus: tuple[str, ...],
) -> None:
    """Write this file's (or zip member's) exports, focus flows and U.S. exports as parts."""
    sink.append_query("exports", con, exports_select)
    rows = f"SELECT * FROM ({bilateral}) WHERE"
    sink.append_query("focus", con, f"{rows} importer_iso3::VARCHAR IN {sql_list(list(focus))}")
    sink.append_query("us", con, f"{rows} exporter_iso3::VARCHAR = 'USA'")


def _unmatched(
    um: pd.DataFrame, file: str, ctx: ReadContext, dictionary: dict[int, tuple[str, str]] | None, role: str
) -> pd.DataFrame:
    out = unmatched_rows(um.assign(value=um["code"].astype(int).astype(str)), ctx.resolver, file, role)
    if dictionary and len(out):
        # The release's own dictionary names a code better than a fuzzy guess.
        out["candidates"] = [
            dictionary.get(int(v), ("", ""))[1] or c
            for v, c in zip(out["value"], out["candidates"], strict=True)
        ]
    return out


# -- yearly CSV ---------------------------------------------------------------------------
def _detect_csv(path: Path, columns: list[str]) -> bool:
    return [c.lower() for c in columns[:6]] == BACI_COLUMNS or {"t", "i", "k", "v"} <= set(columns)


def read_baci_csv(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a BACI yearly CSV (``t,i,j,k,v,q``) from disk (``.gz`` allowed)."""
    columns, delim = sniff_layout(path)
    require_columns(columns, BACI_COLUMNS, path, "BACI yearly CSV (t,i,j,k,v,q)")
    version = ctx.hs_version or hs_version_from_name(path.name)
    return read_baci_source(
        path,
        file=display_name(path),
        ctx=ctx,
        hs_version=version,
        source=release_label(path.name),
        delim=delim,
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
        raise damaged(where, exc) from exc
    delim = detect_delimiter(head)
    cols = [c.strip() for c in next(csv.reader([head.strip()], delimiter=delim), [])]
    require_columns(cols, BACI_COLUMNS, where, "BACI yearly CSV (t,i,j,k,v,q)")
    return delim


@contextmanager
def _unpacked(zf: zipfile.ZipFile, member: str, where: str, temp_dir: Path | None) -> Iterator[Path]:
    """One member unpacked to a temporary file (removed afterwards).

    One member at a time, never the whole archive: DuckDB reads a file on disk with
    both cores, where it reads a pipe with one, so unpacking first (about 1.5 s for a
    400 MB year) and reading in parallel is faster than streaming.
    """
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="baci_member_", suffix=".csv", dir=temp_dir)
    target = Path(name)
    try:
        try:
            with zf.open(member) as src, os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 22)
        except (zipfile.BadZipFile, EOFError, zlib.error, ValueError) as exc:
            raise damaged(where, exc) from exc
        except OSError as exc:
            raise OutputError(
                f"cannot unpack {where} to {target.parent}: {exc.strerror or exc}; free space there"
            ) from exc
        yield target
    finally:
        target.unlink(missing_ok=True)


def read_baci_zip(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a BACI release zip member by member (one member on disk at a time).

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
        with reader_connection(ctx) as (con, use_sink):
            # Every member on one connection; the sink only with the run's connection.
            ctx = dataclasses.replace(ctx, duck=con, sink=ctx.sink if use_sink else None)
            for member, mt in sorted(members):
                year = int(mt.group(2))
                if ctx.years is not None and year not in ctx.years:
                    continue
                where = f"{display_name(path)}:{member}"
                delim = _member_layout(zf, member, where)
                version = ctx.hs_version or hs_version_from_name(f"HS{mt.group(1)}")
                start = time.perf_counter()
                with _unpacked(zf, member, where, ctx.temp_dir) as member_csv:
                    result = read_baci_source(
                        member_csv,
                        file=where,
                        ctx=ctx,
                        hs_version=version,
                        source=f"baci:V{mt.group(3)}",
                        delim=delim,
                        dictionary=dictionary,
                    )
                results.append(result)
                log.info("%s: %d rows in %.1fs", where, result.rows_read, time.perf_counter() - start)
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
    else:
        merged.bilateral = empty_bilateral()  # partner detail, in the parts
    return merged


register(Reader("baci_zip", _detect_zip, read_baci_zip, READER_VERSION, 10, "CEPII BACI release zip", True))
register(
    Reader(
        "baci_csv", _detect_csv, read_baci_csv, READER_VERSION, 20, "CEPII BACI yearly CSV t,i,j,k,v,q", True
    )
)
