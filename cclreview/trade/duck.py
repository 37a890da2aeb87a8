"""The DuckDB connection every trade reader uses: bounded memory, spill to a temp folder.

A larger input spills to ``temp_dir`` (under ``data/processed/.cache/`` by default)
instead of growing the process: ``memory_limit`` caps DuckDB's own buffers. Both can be
set with ``CCLREVIEW_DUCKDB_MEMORY`` (e.g. ``"1GB"``) and ``CCLREVIEW_DUCKDB_THREADS``.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

#: DuckDB's buffer limit; aggregation state beyond it spills to the temp folder.
DEFAULT_MEMORY_LIMIT = "200MB"
MEMORY_ENV = "CCLREVIEW_DUCKDB_MEMORY"
THREADS_ENV = "CCLREVIEW_DUCKDB_THREADS"


def connect(temp_dir: str | os.PathLike[str] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the project's limits.

    Parameters
    ----------
    temp_dir
        Folder for spilled data (created when needed). ``None`` keeps DuckDB's default.
    """
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_LIMIT)}'")
    threads = os.environ.get(THREADS_ENV)
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if temp_dir is not None:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{_quote(str(temp_dir))}'")
    # Row order is restored by ORDER BY where it matters; not keeping it saves memory.
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    return con


def _quote(text: str) -> str:
    return text.replace("'", "''")


def sql_str(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + _quote(text) + "'"


def sql_list(values: list[int] | list[str]) -> str:
    """``(1, 2)`` / ``('a', 'b')`` for an ``IN`` clause; ``(NULL)`` (matches nothing) when empty."""
    if not values:
        return "(NULL)"
    return "(" + ", ".join(sql_str(v) if isinstance(v, str) else str(int(v)) for v in values) + ")"


def sql_enum(values: list[str]) -> str:
    """The ENUM type of ``values`` (``VARCHAR`` when there are none). An ENUM groups, sorts
    and writes as small integers (Parquet: a dictionary) and sorts by the position of its
    value, so give the values in text order."""
    return "ENUM(" + ", ".join(sql_str(v) for v in values) + ")" if values else "VARCHAR"


def memory_limit(con: duckdb.DuckDBPyConnection) -> str:
    """The connection's ``memory_limit`` as DuckDB shows it (e.g. ``"152.5 MiB"``)."""
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    return str(row[0]) if row else "?"
