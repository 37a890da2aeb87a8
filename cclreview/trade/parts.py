"""A trade file's big tables as Parquet parts in the cache, and their assembly into the outputs.

Each input file gets a cache folder (see :mod:`cclreview.trade.ingest`) holding three
parts already in the output format (contract columns and dtypes, ``source_file``, and
the pandas metadata that makes pandas read the dtypes back):

- ``exports-000.parquet``: exports to the world;
- ``focus-000.parquet``: flows to the focus importers;
- ``us-000.parquet``: U.S. exports to every importer.

A :class:`PartSink` gathers one input file's rows (a release zip's members in member
order, on disk rather than in memory) and writes each part once, sorted by its key. When
a run has one input file, the outputs are plain copies of its parts (no second pass over
the rows); with several, :func:`assembler` stacks them in file order.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cclreview.trade.duck import sql_str
from cclreview.trade.tidy import (
    BILATERAL_COLUMNS,
    EXPORT_COLUMNS,
    empty_bilateral,
    empty_exports,
    finalize_bilateral,
    finalize_exports,
)

#: The parts of a cache entry, by kind.
KINDS = ("exports", "focus", "us")


def part_files(folder: Path, kind: str) -> list[Path]:
    """The ``kind`` parts of a cache folder, in order."""
    return sorted(folder.glob(f"{kind}-*.parquet"))


def _schema_of(df: pd.DataFrame) -> pa.Schema:
    for col in df.columns:
        if df[col].dtype == object:  # an all-null extra column: keep it as text
            df[col] = df[col].astype("string")
    return pa.Schema.from_pandas(df, preserve_index=False)


def exports_schema(extra: Iterable[pd.DataFrame] = ()) -> pa.Schema:
    """The ``exports.parquet`` schema with pandas metadata (``Int64`` rank, ``string``
    codes): contract columns, ``source_file``, then the extra columns of ``extra``
    frames (e.g. ``hs4`` of the heading tables) in order of appearance."""
    base = empty_exports().assign(source_file=pd.Series(dtype="string"))
    frames = [base, *(e.drop(columns="source_file", errors="ignore").iloc[:0] for e in extra)]
    df = finalize_exports(pd.concat(frames, ignore_index=True))
    first = [*EXPORT_COLUMNS, "source_file"]
    return _schema_of(df[[*first, *(c for c in df.columns if c not in first)]])


def bilateral_schema() -> pa.Schema:
    """The ``flows_focus.parquet`` / ``us_exports.parquet`` schema with pandas metadata."""
    return _schema_of(empty_bilateral())


_SINK_IDS = itertools.count()


class PartSink:
    """Writes one input file's parts (see the module doc).

    Two ways in: DuckDB queries (the BACI and Comtrade readers), gathered in tables of a
    database file attached to the run's connection (``gathered.duckdb`` in ``folder``,
    deleted when the sink closes: pages spill to disk, so memory does not grow with the
    number of years) and written by one ``COPY`` per part when the sink closes (text
    columns as ENUMs, which Parquet stores as dictionaries, so the write and the key sort
    cost little); or pandas frames (the other readers), written batch by batch.

    Parameters
    ----------
    folder
        The file's cache folder (created).
    source_file
        The input file's name, the ``source_file`` of every row.
    """

    def __init__(self, folder: Path, source_file: str) -> None:
        self.folder = folder
        self.source_file = source_file
        self.rows = dict.fromkeys(KINDS, 0)
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._tables: dict[str, str] = {}
        self._con: duckdb.DuckDBPyConnection | None = None
        self._id = next(_SINK_IDS)
        self._db = f"sink{self._id}"
        self._db_path = folder / "gathered.duckdb"
        folder.mkdir(parents=True, exist_ok=True)

    def _writer(self, kind: str, schema: pa.Schema) -> pq.ParquetWriter:
        if kind not in self._writers:
            self._writers[kind] = pq.ParquetWriter(self.folder / f"{kind}-000.parquet", schema)
        return self._writers[kind]

    def append_query(self, kind: str, con: duckdb.DuckDBPyConnection, select: str) -> None:
        """Gather the rows of a DuckDB query (the output columns in order, without
        ``source_file``) for the ``kind`` part."""
        if kind in self._writers:
            raise ValueError(f"part {kind!r} of {self.source_file} is already written from frames")
        if self._con is not None and con is not self._con:
            raise ValueError("a sink gathers rows of one DuckDB connection")
        if self._con is None:
            # The gathered rows live in a database file beside the parts, not in memory:
            # DuckDB evicts its pages under its memory limit, so a release of thirty
            # years needs no more memory than one.
            con.execute(f"ATTACH {sql_str(str(self._db_path))} AS {self._db}")
            self._con = con
        table = self._tables.get(kind)
        if table is None:
            table = self._tables[kind] = f"{self._db}.{kind}"
            con.execute(f"CREATE TABLE {table} AS {select}")
        else:
            con.execute(f"INSERT INTO {table} {select}")

    def write_frames(
        self, exports: pd.DataFrame, bilateral: pd.DataFrame | None, focus: tuple[str, ...]
    ) -> None:
        """Append a reader's frames (exports; bilateral rows split into focus and U.S.)."""
        if self._tables:
            raise ValueError(f"the parts of {self.source_file} are already gathered from DuckDB")
        ex = finalize_exports(exports.drop(columns="source_file", errors="ignore"))
        ex = ex.assign(source_file=pd.Series(self.source_file, index=ex.index, dtype="string"))
        schema = exports_schema([ex])
        first = [*EXPORT_COLUMNS, "source_file"]
        ex = ex[[*first, *(c for c in ex.columns if c not in first)]]
        self._writer("exports", schema).write_table(
            pa.Table.from_pandas(ex, schema=schema, preserve_index=False)
        )
        self.rows["exports"] += len(ex)
        if bilateral is None:
            return
        b = finalize_bilateral(bilateral.assign(source_file=self.source_file))
        for kind, rows in (
            ("focus", b[b["importer_iso3"].isin(list(focus))]),
            ("us", b[b["exporter_iso3"] == "USA"]),
        ):
            rows = rows.sort_values(BILATERAL_COLUMNS[:4], kind="stable")
            table = pa.Table.from_pandas(rows, schema=bilateral_schema(), preserve_index=False)
            self._writer(kind, bilateral_schema()).write_table(table)
            self.rows[kind] += len(rows)

    def _copy(self, kind: str, table: str, con: duckdb.DuckDBPyConnection) -> int:
        """``COPY`` a gathered table to its part, sorted by its key, in the output schema."""
        schema = exports_schema() if kind == "exports" else bilateral_schema()
        key = ["year", "exporter_iso3", "hs6"] if kind == "exports" else BILATERAL_COLUMNS[:4]
        types: list[str] = []
        cols = []
        try:
            (n_rows,) = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0]
            for field in schema:
                name = field.name
                if name == "source_file":
                    cols.append(
                        f"{sql_str(self.source_file)}::ENUM({sql_str(self.source_file)}) AS source_file"
                    )
                elif pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
                    # An ENUM sorts and writes as small integers (Parquet: a dictionary).
                    enum = f"sink{self._id}_{kind}_{name}"
                    if n_rows:
                        con.execute(
                            f"CREATE TYPE {enum} AS ENUM "
                            f"(SELECT DISTINCT {name} FROM {table} WHERE {name} IS NOT NULL ORDER BY 1)"
                        )
                        types.append(enum)
                        cols.append(f"{name}::{enum} AS {name}")
                    else:
                        cols.append(f"{name}::VARCHAR AS {name}")
                else:
                    cols.append(f"CAST({name} AS {_DUCK_TYPES[field.type]}) AS {name}")
            pandas_meta = (schema.metadata or {}).get(b"pandas", b"{}").decode()
            target = self.folder / f"{kind}-000.parquet"
            (n_rows,) = con.execute(
                f"COPY (SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(key)}) "
                f"TO {sql_str(str(target))} (FORMAT parquet, KV_METADATA {{pandas: {sql_str(pandas_meta)}}})"
            ).fetchall()[0]
        finally:
            con.execute(f"DROP TABLE IF EXISTS {table}")
            for enum in types:
                con.execute(f"DROP TYPE IF EXISTS {enum}")
        return int(n_rows)

    def close(self) -> dict[str, int]:
        """Write the parts (every kind exists afterwards, empty when it had no rows)."""
        if self._con is not None:
            for kind, table in self._tables.items():
                self.rows[kind] = self._copy(kind, table, self._con)
            self._tables.clear()
            self._detach()
        for kind in KINDS:
            if kind not in self._writers and not (self.folder / f"{kind}-000.parquet").exists():
                schema = exports_schema() if kind == "exports" else bilateral_schema()
                self._writer(kind, schema)
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        return dict(self.rows)

    def abort(self) -> None:
        """Drop what was gathered and close the writers (the caller removes the folder)."""
        for writer in self._writers.values():
            with suppress(OSError, pa.ArrowException):
                writer.close()
        self._writers.clear()
        if self._con is not None:
            for table in self._tables.values():
                with suppress(duckdb.Error):
                    self._con.execute(f"DROP TABLE IF EXISTS {table}")
            with suppress(duckdb.Error, OSError):
                self._detach()
        self._tables.clear()

    def _detach(self) -> None:
        """Detach and delete the database file of the gathered rows (tables dropped first)."""
        assert self._con is not None
        self._con.execute(f"DETACH {self._db}")
        self._con = None
        for path in self.folder.glob(f"{self._db_path.name}*"):  # the file and its WAL
            path.unlink(missing_ok=True)


_DUCK_TYPES = {
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.large_string(): "VARCHAR",
    pa.string(): "VARCHAR",
}


def assembler(folders: list[Path], kind: str, con: duckdb.DuckDBPyConnection) -> Callable[[Path], None]:
    """A writer of the ``kind`` output from the parts of ``folders`` (in that order).

    One part: a copy of the file (it is already in the output format). Several: DuckDB
    reads them part by part, in order, casting every column to the output type, and
    pyarrow writes the batches (no sort and no table of all files in memory).
    """

    def write(target: Path) -> None:
        files = [f for folder in folders for f in part_files(folder, kind)]
        if len(files) == 1:
            shutil.copyfile(files[0], target)
            return
        if kind == "exports":
            schema = exports_schema(pq.read_schema(f).empty_table().to_pandas() for f in files)
        else:
            schema = bilateral_schema()
        con.execute("SET preserve_insertion_order = true")
        writer = pq.ParquetWriter(target, schema)
        try:
            for f in files:
                select = f"SELECT * FROM read_parquet({sql_str(str(f))})"
                have = {d[0] for d in con.execute(f"{select} LIMIT 0").description}
                cols = ", ".join(
                    (
                        f'CAST("{c.name}" AS {_DUCK_TYPES.get(c.type, "VARCHAR")})'
                        if c.name in have
                        else f"NULL::{_DUCK_TYPES.get(c.type, 'VARCHAR')}"
                    )
                    + f' AS "{c.name}"'
                    for c in schema
                )
                for batch in con.sql(f"SELECT {cols} FROM ({select})").to_arrow_reader(1 << 18):
                    writer.write_table(pa.Table.from_batches([batch]).cast(schema))
        finally:
            writer.close()
            con.execute("SET preserve_insertion_order = false")

    return write
