"""Pandera schemas of ``ccl_entries`` and ``ccl_paragraphs``, validated lazily.

:func:`validate_ccl` checks both tables and raises one
:class:`cclreview.errors.ValidationError` that lists every failure at once.
"""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from cclreview.ccl.reasons import REASON_CODES
from cclreview.errors import ValidationError

_CHART_RE = re.compile(rf"^({'|'.join(REASON_CODES)})[1-3]$")
_MAX_LISTED = 25  # failures spelled out in the message; the rest are counted


def _is_str_list(values: pd.Series, pattern: re.Pattern[str] | None = None) -> pd.Series:
    """Element-wise: the cell is a list of str (each matching ``pattern``, if given)."""

    def ok(cell: object) -> bool:
        if not isinstance(cell, list | tuple) and not hasattr(cell, "tolist"):
            return False
        items = list(cell.tolist() if hasattr(cell, "tolist") else cell)
        return all(isinstance(x, str) and (pattern is None or pattern.match(x)) for x in items)

    return values.map(ok)


def _reasons_known(values: pd.Series) -> pd.Series:
    codes = set(REASON_CODES)
    return values.map(lambda cell: all(c in codes for c in list(cell)))


def _rows_shape(values: pd.Series) -> pd.Series:
    keys = {"control", "applies_to", "chart_or_requirement"}

    def ok(cell: object) -> bool:
        return all(isinstance(r, dict) and set(r) == keys for r in list(cell))  # type: ignore[arg-type]

    return values.map(ok)


_str = pa.Column(str, nullable=True)
_bool = pa.Column(bool)

ENTRIES_SCHEMA = pa.DataFrameSchema(
    {
        "eccn": pa.Column(str, pa.Check.str_matches(r"^[0-9][A-E][0-9]{3}$"), unique=True),
        "category": pa.Column(int, pa.Check.in_range(0, 9)),
        "category_title": pa.Column(str, pa.Check.str_length(min_value=1)),
        "product_group": pa.Column(str, pa.Check.isin(list("ABCDE"))),
        "group_title": pa.Column(str, pa.Check.str_length(min_value=1)),
        "series": pa.Column(str, pa.Check.str_matches(r"^[0-9]xx$")),
        "heading": pa.Column(str, pa.Check.str_length(min_value=1)),
        "reasons": pa.Column(
            object,
            [
                pa.Check(_is_str_list, element_wise=False, error="reasons must be a list of str"),
                pa.Check(_reasons_known, element_wise=False, error="unknown reason code"),
            ],
        ),
        "chart_columns": pa.Column(
            object,
            pa.Check(
                lambda s: _is_str_list(s, _CHART_RE),
                element_wise=False,
                error="chart_columns must be codes like NS1, AT1",
            ),
        ),
        "control_rows": pa.Column(
            object, pa.Check(_rows_shape, element_wise=False, error="control_rows must be dicts")
        ),
        "lvs": _str,
        "gbs": _str,
        "sta": _str,
        "related_controls": _str,
        "related_definitions": _str,
        "items_text": _str,
        "notes_text": _str,
        "subject_to_itar": _bool,
        "reserved": _bool,
        "is_600_series": _bool,
        "is_515": _bool,
        "no_reasons": _bool,
        "source_file": pa.Column(str),
        "source_sha256": pa.Column(str, pa.Check.str_matches(r"^[0-9a-f]{64}$")),
        "ecfr_date": pa.Column(str, pa.Check.str_matches(r"^\d{4}-\d{2}-\d{2}$"), nullable=True),
    },
    checks=[
        pa.Check(
            lambda df: df["category"] == df["eccn"].str[0].astype(int),
            error="category must equal the first digit of the ECCN",
        ),
        pa.Check(
            lambda df: df["product_group"] == df["eccn"].str[1],
            error="product_group must equal the letter of the ECCN",
        ),
        pa.Check(
            lambda df: df["no_reasons"] == (df["reasons"].map(len) == 0),
            error="no_reasons must be True exactly when reasons is empty",
        ),
    ],
    strict=False,  # extra columns are allowed (contract: add, never rename)
    name="ccl_entries",
)

PARAGRAPHS_SCHEMA = pa.DataFrameSchema(
    {
        "eccn": pa.Column(str, pa.Check.str_matches(r"^[0-9][A-E][0-9]{3}$")),
        "paragraph_id": pa.Column(
            str, pa.Check.str_matches(r"^[0-9][A-E][0-9]{3}(\.[a-z0-9]+)+$"), unique=True
        ),
        "parent_id": pa.Column(str, pa.Check.str_matches(r"^[0-9][A-E][0-9]{3}(\.[a-z0-9]+)*$")),
        "depth": pa.Column(int, pa.Check.ge(1)),
        "label": pa.Column(str, pa.Check.str_matches(r"^[a-z0-9]+$")),
        "text": pa.Column(str),
    },
    checks=[
        pa.Check(
            lambda df: pd.Series(
                [p.startswith(f"{e}.") for p, e in zip(df["paragraph_id"], df["eccn"], strict=True)],
                index=df.index,
            ),
            error="paragraph_id must start with its ECCN",
        ),
        pa.Check(
            lambda df: df["paragraph_id"] == df["parent_id"] + "." + df["label"],
            error="paragraph_id must be parent_id + '.' + label",
        ),
        pa.Check(
            lambda df: df["depth"] == df["paragraph_id"].str.count(r"\.").astype(int),
            error="depth must equal the number of segments after the ECCN",
        ),
    ],
    strict=False,
    name="ccl_paragraphs",
)


def _describe(exc: SchemaErrors, table: str, df: pd.DataFrame) -> list[str]:
    """Turn pandera's failure cases into readable one-line items (one per row and check)."""
    out: list[str] = []
    seen: set[tuple[str, str, object]] = set()
    for row in exc.failure_cases.itertuples(index=False):
        index = getattr(row, "index", None)
        has_index = index is not None and not pd.isna(index)
        table_level = getattr(row, "schema_context", "") == "DataFrameSchema"
        column = "(table)" if table_level or not row.column else str(row.column)
        key = (column, str(row.check), index if has_index else row.failure_case)
        if key in seen:  # a table-level check reports each column of a failing row
            continue
        seen.add(key)
        where = ""
        if has_index:
            where = f" row {int(index)}"
            if "eccn" in df.columns and int(index) in df.index:
                where += f" ({df.at[int(index), 'eccn']})"
        if table_level:
            out.append(f"{table}{where}: {row.check}")
        else:
            out.append(f"{table}.{column}{where}: {row.check} failed for {row.failure_case!r}")
    return out


def validate_ccl(entries: pd.DataFrame, paragraphs: pd.DataFrame, source: str = "") -> None:
    """Validate both CCL tables; raise one error listing every failure.

    Parameters
    ----------
    entries, paragraphs
        The tables returned by :func:`cclreview.ccl.parse_ccl`.
    source
        Name of the XML they came from, for the message.

    Raises
    ------
    ValidationError
        With every failure ("ccl_entries.eccn row 3: str_matches(...) failed for '2X001'").
    """
    problems: list[str] = []
    for schema, df in ((ENTRIES_SCHEMA, entries), (PARAGRAPHS_SCHEMA, paragraphs)):
        try:
            schema.validate(df, lazy=True)
        except SchemaErrors as exc:
            problems.extend(_describe(exc, schema.name or "table", df))
    orphans = sorted(set(paragraphs["eccn"]) - set(entries["eccn"]))
    problems.extend(f"ccl_paragraphs.eccn: {e} has paragraphs but no entry" for e in orphans)
    if problems:
        shown = "; ".join(problems[:_MAX_LISTED])
        more = f"; ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        where = f" parsed from {source}" if source else ""
        raise ValidationError(
            f"CCL tables{where} failed validation ({len(problems)} problem(s)): {shown}{more}; "
            "check the XML or report a parser bug"
        )
