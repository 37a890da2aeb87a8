"""The hooks the availability and score stages call (one line each).

* :func:`availability_hook` (availability stage): writes ``china_hs.parquet`` (per HS
  code and year: China's imports, the U.S. share of them, U.S. exports) and
  ``diversion_hs.parquet`` (the diversion lists read from ``data/raw``), and adds
  ``china_imports_usd`` and ``china_imports_us_share`` to ``availability_hs``.
* :func:`score_hook` (score stage): adds the per-ECCN China columns, ``china_effect``
  and the relief ranking to ``scores.parquet``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from cclreview import contracts
from cclreview.china.eccn import ECCN_COLUMNS, ChinaTables, aggregate_china, link_rows_for
from cclreview.china.effect import effects_for, not_fa_labels
from cclreview.china.indicators import attach_to_availability, china_hs_table, read_bilateral
from cclreview.china.lists import DIVERSION_COLUMNS, diversion_table
from cclreview.china.relief import RELIEF_COLUMNS, relief_table
from cclreview.config import project_paths
from cclreview.score.weights import Weights

log = logging.getLogger(__name__)

#: Every column the China lens adds to ``scores.parquet``.
SCORE_COLUMNS = (
    *ECCN_COLUMNS,
    "china_effect",
    "china_licence_not_fa",
    "inside_china_filter",
    *RELIEF_COLUMNS,
)


def availability_hook(
    availability: pd.DataFrame,
    exports: pd.DataFrame,
    exports_dir: str | Path,
    out_dir: str | Path,
    raw_dir: str | Path | None = None,
) -> tuple[pd.DataFrame, list[Path]]:
    """Write the China HS tables; return ``availability`` with the China columns.

    ``exports_dir`` is where ``flows_focus.parquet`` / ``us_exports.parquet`` are
    looked for (beside ``exports.parquet``); ``raw_dir`` holds the diversion lists.
    """
    flows, us = read_bilateral(exports_dir)
    china_hs = china_hs_table(flows, us, exports)
    raw = Path(raw_dir) if raw_dir is not None else project_paths().raw
    div, missing = diversion_table(raw)
    div.attrs = {}
    written = [contracts.write("china_hs", china_hs, out_dir), contracts.write("diversion_hs", div, out_dir)]
    n_bil = int((china_hs["stake_basis"] == "bilateral").sum())
    log.info(
        "china_hs: %d rows (%d bilateral, %d U.S. world exports only); diversion lists: %d codes%s",
        len(china_hs), n_bil, len(china_hs) - n_bil, div["hs6"].nunique(),
        f" (missing: {', '.join(missing)})" if missing else "",
    )  # fmt: skip
    return attach_to_availability(availability, china_hs), written


def china_columns(
    scores: pd.DataFrame,
    links: pd.DataFrame,
    availability: pd.DataFrame,
    weights: Weights,
    tables: ChinaTables | None = None,
) -> pd.DataFrame:
    """``scores`` with the China columns (:data:`SCORE_COLUMNS`) added or replaced."""
    tables = tables or ChinaTables()
    eccns = scores["eccn"].astype(str).tolist()
    regimes = {
        str(e): [str(x) for x in (r if r is not None and not isinstance(r, float) else [])]
        for e, r in zip(scores["eccn"], scores.get("regimes", pd.Series([None] * len(scores))), strict=True)
    }
    rows = link_rows_for(links, availability)
    agg = aggregate_china(eccns, rows, availability, weights, tables, regimes)
    out = scores.drop(columns=[c for c in SCORE_COLUMNS if c in scores.columns])
    out = out.join(agg, on="eccn")
    out["china_effect"] = effects_for(out, tables.controls)
    out["china_licence_not_fa"] = not_fa_labels(out["eccn"], tables.controls)
    inside = out["available_inside_china"]
    out["inside_china_filter"] = [
        "no data" if v != v else ("yes" if v >= weights.china_relief.min_inside_china else "no")
        for v in inside
    ]
    rel = relief_table(out, weights.china_relief)
    return pd.concat([out, rel], axis=1)


def score_hook(scores: pd.DataFrame, processed: str | os.PathLike[str], weights: Weights) -> pd.DataFrame:
    """Add the China columns to ``scores`` from the processed tables in ``processed``.

    Reads ``eccn_hs_links``, ``availability_hs`` (required: scoring already read them),
    and, when present, ``exports``, ``china_hs``, ``evidence``, ``diversion_hs`` and
    the decision model's ``eccn_controls``; each is validated against its contract.
    """

    def optional(name: str) -> pd.DataFrame | None:
        return contracts.read(name, processed, required=False)

    links, availability = optional("eccn_hs_links"), optional("availability_hs")
    if links is None or availability is None:
        log.warning("China lens skipped: eccn_hs_links/availability_hs not in %s", processed)
        return scores
    tables = ChinaTables(
        exports=optional("exports"),
        china_hs=optional("china_hs"),
        evidence=optional("evidence"),
        diversion=optional("diversion_hs"),
        controls=optional("eccn_controls"),
    )
    if tables.china_hs is None:
        log.warning(
            "china_hs.parquet not in %s: re-run `cclreview availability` for the commercial stake", processed
        )
    if tables.diversion is not None:
        tables.diversion = tables.diversion[list(DIVERSION_COLUMNS)]
    return china_columns(scores, links, availability, weights, tables)
