"""Checking tables against their contracts, and reading and writing them through it.

Tables are validated lazily: every failure is collected and the
:class:`~cclreview.errors.ValidationError` holds a one-line summary followed by a table
of the failures (:func:`failure_table`, :func:`failure_message`). :func:`write` and
:func:`read` validate on the way out and in; :func:`validate_file` checks a Parquet file
a stage streamed to disk, batch by batch; :func:`empty` builds a table with no rows and
the contract's dtypes. The contracts themselves are in :mod:`cclreview.contracts.models`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from pandera.errors import SchemaErrors

from cclreview.contracts.models import FILES, MODELS, PRODUCER
from cclreview.errors import InputError, OutputError, ValidationError

_MAX_ROWS = 25  # failures shown in the table; the rest are counted


def failure_table(exc: SchemaErrors, df: pd.DataFrame, key: str = "eccn") -> pd.DataFrame:
    """One row per distinct failure: column, check, row, key (e.g. the ECCN) and value."""
    fc = exc.failure_cases.copy()
    table_level = fc["schema_context"].astype(str).eq("DataFrameSchema")
    missing = fc["check"].astype(str).eq("column_in_dataframe")
    fc.loc[missing, "column"] = fc.loc[missing, "failure_case"]
    fc.loc[missing, "check"] = "required column is missing"
    table_level &= ~missing
    index = pd.to_numeric(fc["index"], errors="coerce")
    out = pd.DataFrame(
        {
            "column": fc["column"].where(~table_level & fc["column"].notna(), "(table)").astype(str),
            "check": fc["check"].astype(str),
            "row": index.astype("Int64"),
            "value": fc["failure_case"].map(repr).where(~(table_level | missing), ""),
        }
    )
    # A wrong dtype is one problem of the column (its value checks cannot run): one line.
    wrong_type = out["check"].str.startswith("dtype(")
    if wrong_type.any():
        bad_columns = set(out.loc[wrong_type, "column"])
        out.loc[wrong_type, "row"] = pd.NA
        out.loc[wrong_type, "value"] = [
            f"found {df[c].dtype}" if c in df.columns else "" for c in out.loc[wrong_type, "column"]
        ]
        out = out[wrong_type | ~out["column"].isin(bad_columns)]
        out = out[~(wrong_type & out.duplicated(["column", "check"]))]
    if key in df.columns:
        keys = df[key].astype(str).to_dict()  # pandera reports index labels
        out[key] = [keys.get(int(i), "") if pd.notna(i) else "" for i in out["row"]]
    # A table-level check reports each column of a failing row: keep one line per row.
    return out.drop_duplicates(subset=[c for c in out.columns if c != "value"] if table_level.any() else None)


def failures(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Every failure of ``df`` against the contract of table ``name`` (empty when it passes).

    Columns: ``table, column, check, row, value`` and ``eccn`` when the table has one.
    """
    try:
        MODELS[name].validate(df, lazy=True)
    except SchemaErrors as exc:
        return failure_table(exc, df).assign(table=name)
    return pd.DataFrame(columns=["table", "column", "check", "row", "value"])


def failure_message(summary: str, table: pd.DataFrame) -> str:
    """``summary`` (one line) followed by the failure ``table`` (first rows, then a count)."""
    shown = table.head(_MAX_ROWS).astype(object).fillna("").to_string(index=False)
    more = f"\n... and {len(table) - _MAX_ROWS} more" if len(table) > _MAX_ROWS else ""
    return f"{summary}\n{shown}{more}"


def validate(
    name: str, df: pd.DataFrame, path: str | os.PathLike[str] | None = None, *, writing: bool = False
) -> pd.DataFrame:
    """Validate ``df`` against the contract of table ``name``; return it unchanged.

    Parameters
    ----------
    name
        A key of :data:`MODELS` (``"scores"``, ``"ccl_entries"``, ...).
    df
        The table.
    path
        File it was read from or is written to, for the message.
    writing
        True when a stage is about to write the table (the fix is then a bug report,
        not a rebuild).

    Raises
    ------
    ValidationError
        One summary line, then a table of every failure (column, check, row, key, value).
    """
    table = failures(name, df)
    if len(table):
        where = f" ({path})" if path is not None else ""
        fix = (
            f"this is a bug in `cclreview {PRODUCER[name]}`; please report it"
            if writing
            else f"rebuild it with `cclreview {PRODUCER[name]}` (see docs/CONTRACTS.md)"
        )
        columns = ", ".join(dict.fromkeys(table["column"]))
        summary = f"{name}{where} failed its contract: {len(table)} problem(s) in {columns}; {fix}"
        raise ValidationError(failure_message(summary, table.drop(columns="table")))
    return df


def empty(name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """An empty table ``name`` whose required columns have the contract's dtypes.

    ``columns`` (optional) gives the full column order; extra columns are ``object``.
    """
    schema = MODELS[name].to_schema()
    dtypes = {
        c: str(spec.dtype) if spec.dtype is not None else "object" for c, spec in schema.columns.items()
    }
    order = columns if columns is not None else list(dtypes)
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "object")) for c in order})


def write(name: str, df: pd.DataFrame, out_dir: str | os.PathLike[str]) -> Path:
    """Validate table ``name`` and write it atomically to ``out_dir/<file name>``."""
    from cclreview.io import write_parquet

    target = Path(out_dir) / FILES[name]
    validate(name, df, target, writing=True)
    return write_parquet(df, target)


def read(name: str, folder: str | os.PathLike[str], *, required: bool = True) -> pd.DataFrame | None:
    """Read table ``name`` from ``folder`` and validate it.

    Returns None when the file is absent and ``required`` is False.

    Raises
    ------
    InputError
        The file is absent (``required``) or unreadable.
    ValidationError
        It breaks its contract.
    """
    path = Path(folder) / FILES[name]
    if not path.is_file():
        if not required:
            return None
        raise InputError(
            f"{path} not found: run `cclreview {PRODUCER[name]}` first, or pass the folder that holds it"
        )
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # any reader failure is an input problem
        raise InputError(f"cannot read {path}: {exc}; rebuild it with `cclreview {PRODUCER[name]}`") from exc
    return validate(name, df, path)


def validate_file(
    name: str,
    path: str | os.PathLike[str],
    target: str | os.PathLike[str] | None = None,
    *,
    batch_rows: int = 50_000,
    rows: bool = True,
) -> None:
    """Validate a Parquet file a stage has just written, before it is renamed into place.

    For stages that write table ``name`` without a frame in memory (streamed to ``path``);
    ``target`` is the final path, named in the message (default ``path``). The file is
    read ``batch_rows`` rows at a time, so memory stays flat whatever its size; checks
    across rows (a unique key) then hold within each batch. ``rows=False`` checks the
    columns and their types only (for a table too big to check row by row on every
    write, whose rows are checked where it is read).

    Raises
    ------
    OutputError
        ``path`` cannot be read back.
    ValidationError
        The table breaks its contract (worded as a bug of the stage).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    where = target if target is not None else path

    def unreadable(exc: Exception) -> OutputError:
        return OutputError(f"cannot read back {path} ({exc}); free space or choose another --out")

    try:
        # No read-ahead: memory stays at one batch, whatever the file's size.
        pf = pq.ParquetFile(path, pre_buffer=False)
        batches = iter(pf.iter_batches(batch_size=batch_rows, use_threads=False))
        first = next(batches, None)
    except (OSError, pa.ArrowException) as exc:  # a file we just wrote and cannot read
        raise unreadable(exc) from exc
    if first is None or not rows:  # the schema alone (columns, dtypes) is checked
        validate(name, pf.schema_arrow.empty_table().to_pandas(), where, writing=True)
        return
    batch = first
    while batch is not None:
        # The file's pandas metadata gives the contract dtypes back (Int64, string).
        df = pa.Table.from_batches([batch]).replace_schema_metadata(pf.schema_arrow.metadata).to_pandas()
        validate(name, df, where, writing=True)
        try:
            batch = next(batches, None)
        except (OSError, pa.ArrowException) as exc:
            raise unreadable(exc) from exc
