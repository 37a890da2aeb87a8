"""A trade file's big tables as Parquet parts in the cache, and their assembly into the outputs.

Each input file gets a cache folder (see :mod:`cclreview.trade.ingest`) holding three
parts already in the output format (contract columns and dtypes, ``source_file``, and
the pandas metadata that makes pandas read the dtypes back):

- ``exports-NNN.parquet``: exports to the world;
- ``focus-NNN.parquet``: flows to the focus importers;
- ``us-NNN.parquet``: U.S. exports to every importer.

A :class:`PartSink` writes one input file's parts, each sorted by its key: one per kind,
or one per zip member and kind (``exports-000.parquet``, ``exports-001.parquet``, ...,
in member order). When a run has one part of a kind, the output is a plain copy of it
(no second pass over the rows); with several, :func:`assembler` stacks them in order.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cclreview.errors import OutputError, ValidationError
from cclreview.trade.duck import sql_enum, sql_str
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
    extra = list(extra)
    return _exports_schema(extra) if extra else _base_exports_schema()


@functools.cache
def _base_exports_schema() -> pa.Schema:
    return _exports_schema([])


def _exports_schema(extra: list[pd.DataFrame]) -> pa.Schema:
    base = empty_exports().assign(source_file=pd.Series(dtype="string"))
    frames = [base, *(e.drop(columns="source_file", errors="ignore").iloc[:0] for e in extra)]
    df = finalize_exports(pd.concat(frames, ignore_index=True))
    first = [*EXPORT_COLUMNS, "source_file"]
    return _schema_of(df[[*first, *(c for c in df.columns if c not in first)]])


@functools.cache
def bilateral_schema() -> pa.Schema:
    """The ``flows_focus.parquet`` / ``us_exports.parquet`` schema with pandas metadata."""
    return _schema_of(empty_bilateral())


class PartSink:
    """Writes one input file's parts (see the module doc).

    Two ways in: DuckDB queries (the BACI and Comtrade readers), each written at once by
    one sorted ``COPY`` to its own part (a release zip gives one part per member and
    kind, so memory does not grow with the number of years); or pandas frames (the
    other readers), written batch by batch to one part per kind.

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
        self._copied = dict.fromkeys(KINDS, 0)
        folder.mkdir(parents=True, exist_ok=True)

    def _writer(self, kind: str, schema: pa.Schema) -> pq.ParquetWriter:
        if kind not in self._writers:
            self._writers[kind] = pq.ParquetWriter(self.folder / f"{kind}-000.parquet", schema)
        return self._writers[kind]

    def append_query(self, kind: str, con: duckdb.DuckDBPyConnection, select: str) -> None:
        """Write the rows of a DuckDB query (the output columns in order, without
        ``source_file``) as the next ``kind`` part, sorted by the part's key.

        Text columns the query gives as ENUMs stay ENUMs (they sort as small integers
        and Parquet stores them as dictionaries: the BACI reader's columns); other
        columns are cast to the output types.
        """
        if kind in self._writers:
            raise ValueError(f"part {kind!r} of {self.source_file} is already written from frames")
        schema = exports_schema() if kind == "exports" else bilateral_schema()
        key = ["year", "exporter_iso3", "hs6"] if kind == "exports" else BILATERAL_COLUMNS[:4]
        have = {d[0]: str(d[1]) for d in con.execute(f"SELECT * FROM ({select}) LIMIT 0").description}
        cols = []
        for field in schema:
            name = field.name
            if name == "source_file":
                label = sql_str(self.source_file)
                cols.append(f"{label}::{sql_enum([self.source_file])} AS source_file")
            elif pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
                text = have.get(name, "VARCHAR").startswith("ENUM")
                cols.append(f'"{name}"' if text else f'CAST("{name}" AS VARCHAR) AS "{name}"')
            else:
                cols.append(f'CAST("{name}" AS {_DUCK_TYPES[field.type]}) AS "{name}"')
        target = self.folder / f"{kind}-{self._copied[kind]:03d}.parquet"
        n_rows = _copy(
            con, f"SELECT {', '.join(cols)} FROM ({select}) ORDER BY {', '.join(key)}", target, schema
        )
        self._copied[kind] += 1
        self.rows[kind] += n_rows

    def write_frames(
        self, exports: pd.DataFrame, bilateral: pd.DataFrame | None, focus: tuple[str, ...]
    ) -> None:
        """Append a reader's frames (exports; bilateral rows split into focus and U.S.)."""
        if any(self._copied.values()):
            raise ValueError(f"the parts of {self.source_file} are already written from DuckDB")
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

    def close(self) -> dict[str, int]:
        """Close the parts (every kind exists afterwards, empty when it had no rows)."""
        for kind in KINDS:
            if kind not in self._writers and not part_files(self.folder, kind):
                schema = exports_schema() if kind == "exports" else bilateral_schema()
                self._writer(kind, schema)
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        return dict(self.rows)

    def abort(self) -> None:
        """Close the writers (the caller removes the folder)."""
        for writer in self._writers.values():
            with suppress(OSError, pa.ArrowException):
                writer.close()
        self._writers.clear()


def _type_class(t: pa.DataType) -> str:
    """What a column holds, as the contracts see it (text of any Arrow layout is text)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "float"
    return str(t)


def check_part(path: Path, kind: str, where: str) -> None:
    """Check a part's columns and types against the output's (its contract's columns in
    order, then ``source_file``; exports may carry extra columns after them).

    Raises
    ------
    ValidationError
        A column is missing, out of order or of another type (a bug of the reader).
    """
    expected = exports_schema() if kind == "exports" else bilateral_schema()
    try:
        found = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise OutputError(f"cannot read back {path} ({exc}); free space or choose another --out") from exc
    got = [(f.name, _type_class(f.type)) for f in found][: len(expected)]
    want = [(f.name, _type_class(f.type)) for f in expected]
    extra_ok = kind == "exports" or len(found) == len(expected)
    if got != want or not extra_ok:
        raise ValidationError(
            f"{where}: the part has columns {[f'{n} {t}' for n, t in ((f.name, _type_class(f.type)) for f in found)]}, "
            f"expected {[f'{n} {t}' for n, t in want]}; this is a bug in `cclreview ingest-trade`; please report it"
        )


def _copy(con: duckdb.DuckDBPyConnection, select: str, target: Path, schema: pa.Schema) -> int:
    """``COPY`` a query to a Parquet file with ``schema``'s pandas metadata (so pandas
    reads the output dtypes back: ``string``, ``Int64``); returns the rows written."""
    pandas_meta = (schema.metadata or {}).get(b"pandas", b"{}").decode()
    (n_rows,) = con.execute(
        f"COPY ({select}) TO {sql_str(str(target))} "
        f"(FORMAT parquet, KV_METADATA {{pandas: {sql_str(pandas_meta)}}})"
    ).fetchall()[0]
    return int(n_rows)


_DUCK_TYPES = {
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.large_string(): "VARCHAR",
    pa.string(): "VARCHAR",
}


def assembler(folders: list[Path], kind: str, con: duckdb.DuckDBPyConnection) -> Callable[[Path], None]:
    """A writer of the ``kind`` output from the parts of ``folders`` (in that order).

    One part: a copy of the file (it is already in the output format). Several: one
    DuckDB ``COPY`` reads them in order (insertion order kept), casting every column to
    the output type (a column a part lacks is null), so memory stays under DuckDB's limit.
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
        parts = f"read_parquet([{', '.join(sql_str(str(f)) for f in files)}], union_by_name = true)"
        have = {d[0] for d in con.execute(f"SELECT * FROM {parts} LIMIT 0").description}
        cols = ", ".join(
            (
                f'CAST("{c.name}" AS {_DUCK_TYPES.get(c.type, "VARCHAR")})'
                if c.name in have
                else f"NULL::{_DUCK_TYPES.get(c.type, 'VARCHAR')}"
            )
            + f' AS "{c.name}"'
            for c in schema
        )
        con.execute("SET preserve_insertion_order = true")
        try:
            _copy(con, f"SELECT {cols} FROM {parts}", target, schema)
        finally:
            con.execute("SET preserve_insertion_order = false")

    return write
