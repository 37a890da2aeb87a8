"""Validation of the two CCL tables against their contracts (:mod:`cclreview.contracts`).

:func:`validate_ccl` checks both tables, and that every paragraph belongs to an entry,
and raises one :class:`cclreview.errors.ValidationError` that lists every failure.
"""

from __future__ import annotations

import pandas as pd

from cclreview.contracts import failure_message, failures
from cclreview.errors import ValidationError


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
        A summary line, then one row per failure (table, column, check, row, ECCN, value).
    """
    found = [failures("ccl_entries", entries), failures("ccl_paragraphs", paragraphs)]
    orphans = sorted(set(paragraphs["eccn"]) - set(entries["eccn"]))
    if orphans:
        found.append(
            pd.DataFrame(
                {
                    "table": "ccl_paragraphs",
                    "column": "eccn",
                    "check": "has paragraphs but no entry",
                    "eccn": orphans,
                }
            )
        )
    table = pd.concat([t for t in found if len(t)], ignore_index=True) if any(len(t) for t in found) else None
    if table is not None:
        where = f" parsed from {source}" if source else ""
        cols = ["table", "column", "check", "row", "eccn", "value"]
        raise ValidationError(
            failure_message(
                f"CCL tables{where} failed validation ({len(table)} problem(s)); "
                "check the XML or report a parser bug",
                table.reindex(columns=cols),
            )
        )
