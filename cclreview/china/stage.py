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

from cclreview.china.eccn import ECCN_COLUMNS, aggregate_china, link_rows_for
from cclreview.china.effect import effects_for, not_fa_labels
from cclreview.china.indicators import attach_to_availability, china_hs_table, read_bilateral
from cclreview.china.lists import DIVERSION_COLUMNS, diversion_table
from cclreview.china.relief import RELIEF_COLUMNS, relief_table
from cclreview.config import project_paths
from cclreview.errors import InputError
from cclreview.io import write_parquet
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
    out_dir = Path(out_dir)
    written = [write_parquet(china_hs, out_dir / "china_hs.parquet")]
    div.attrs = {}
    written.append(write_parquet(div, out_dir / "diversion_hs.parquet"))
    n_bil = int((china_hs["stake_basis"] == "bilateral").sum())
    log.info(
        "china_hs: %d rows (%d bilateral, %d U.S. world exports only); diversion lists: %d codes%s",
        len(china_hs), n_bil, len(china_hs) - n_bil, div["hs6"].nunique(),
        f" (missing: {', '.join(missing)})" if missing else "",
    )  # fmt: skip
    return attach_to_availability(availability, china_hs), written


def _read_optional(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot read Parquet ({exc}); re-run the stage that writes it") from exc


def china_columns(
    scores: pd.DataFrame,
    links: pd.DataFrame,
    availability: pd.DataFrame,
    weights: Weights,
    exports: pd.DataFrame | None = None,
    china_hs: pd.DataFrame | None = None,
    evidence: pd.DataFrame | None = None,
    diversion: pd.DataFrame | None = None,
    controls: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``scores`` with the China columns (:data:`SCORE_COLUMNS`) added or replaced."""
    eccns = scores["eccn"].astype(str).tolist()
    regimes = {
        str(e): [str(x) for x in (r if r is not None and not isinstance(r, float) else [])]
        for e, r in zip(scores["eccn"], scores.get("regimes", pd.Series([None] * len(scores))), strict=True)
    }
    rows = link_rows_for(links, availability)
    agg = aggregate_china(eccns, rows, availability, weights, exports, china_hs, evidence, diversion, regimes)
    out = scores.drop(columns=[c for c in SCORE_COLUMNS if c in scores.columns])
    out = out.join(agg, on="eccn")
    out["china_effect"] = effects_for(out, controls)
    out["china_licence_not_fa"] = not_fa_labels(out["eccn"], controls)
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
    the decision model's ``eccn_controls``.
    """
    processed = Path(processed)
    tables = {
        name: _read_optional(processed / f"{name}.parquet")
        for name in ("eccn_hs_links", "availability_hs", "exports", "china_hs", "evidence", "diversion_hs",
                     "eccn_controls")
    }  # fmt: skip
    if tables["eccn_hs_links"] is None or tables["availability_hs"] is None:
        log.warning("China lens skipped: eccn_hs_links/availability_hs not in %s", processed)
        return scores
    if tables["china_hs"] is None:
        log.warning(
            "china_hs.parquet not in %s: re-run `cclreview availability` for the commercial stake", processed
        )
    div = tables["diversion_hs"]
    if div is not None:
        div = div[list(DIVERSION_COLUMNS)]
    return china_columns(
        scores,
        tables["eccn_hs_links"],
        tables["availability_hs"],
        weights,
        tables["exports"],
        tables["china_hs"],
        tables["evidence"],
        div,
        tables["eccn_controls"],
    )
