"""Controls of each ECCN as rows, with destinations, legal basis, regime and route.

``cclreview controls`` reads ``ccl_entries.parquet`` and, from ``data/raw/ear/``, the
Country Chart (15 CFR 738 Supp. 1), Supp. No. 2 to Part 744 and Supps. No. 6/7 to Part
774, and writes ``eccn_controls.parquet`` (one row per ECCN x reason x column) and
``eccn_lists.parquet`` (one row per listed MEU/SL/VSL item, at paragraph level).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from cclreview import contracts
from cclreview.controls.build import (
    CONTROL_COLUMNS,
    KIND_FA,
    KIND_NOT_FA,
    build_controls,
    load_reason_rules,
    summarise,
)
from cclreview.controls.chart import CountryChart, load_country_chart
from cclreview.controls.lists import LIST_COLUMNS, load_meu, load_sensitive_lists
from cclreview.errors import InputError, SourceMissingError

log = logging.getLogger(__name__)

__all__ = [
    "CONTROL_COLUMNS",
    "KIND_FA",
    "KIND_NOT_FA",
    "LIST_COLUMNS",
    "CountryChart",
    "build_controls",
    "ear_files",
    "load_country_chart",
    "load_meu",
    "load_reason_rules",
    "load_sensitive_lists",
    "run_controls",
    "summarise",
]

#: File patterns under ``data/raw/ear/`` (the newest dated file of each is read).
EAR_PATTERNS = {
    "chart": "country_chart_*.json",
    "chart_xml": "ecfr_part738_*.xml",
    "meu": "meu_supp2_part744_items_*.csv",
    "sl_vsl": "wassenaar_sl_vsl_part774_supp6_supp7_*.csv",
}
_WHAT = {
    "chart": "the Country Chart (15 CFR 738 Supp. 1)",
    "meu": "Supp. No. 2 to Part 744 (military end-use list)",
    "sl_vsl": "Supps. No. 6/7 to Part 774 (Wassenaar Sensitive/Very Sensitive Lists)",
}


def ear_files(raw_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """The newest file of each EAR list in ``raw_dir/ear``.

    Raises
    ------
    SourceMissingError
        Naming the missing file pattern and the command that fetches it.
    """
    ear = Path(raw_dir) / "ear"
    out: dict[str, Path] = {}
    for key, pattern in EAR_PATTERNS.items():
        if key == "chart_xml":
            continue
        found = sorted(ear.glob(pattern))
        if not found and key == "chart":
            # The eCFR XML of Part 738 (`cclreview fetch ear`) when no JSON parse is given.
            found = sorted(ear.glob(EAR_PATTERNS["chart_xml"]))
        if not found:
            raise SourceMissingError(
                f"{ear / pattern}: {_WHAT[key]} not found; run `cclreview fetch all` (with CCLREVIEW_MIRROR "
                "set to the data mirror) or put the file there"
            )
        out[key] = found[-1]
    return out


def load_lists(files: dict[str, Path]) -> pd.DataFrame:
    """MEU, SL and VSL items in one table (:data:`LIST_COLUMNS`)."""
    return pd.concat([load_meu(files["meu"]), load_sensitive_lists(files["sl_vsl"])], ignore_index=True)


def run_controls(
    processed: str | os.PathLike[str],
    raw_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
) -> tuple[pd.DataFrame, Path]:
    """Build and write ``eccn_controls.parquet`` and ``eccn_lists.parquet``.

    Returns
    -------
    (controls, path)
        The controls table and the path written. Both files are written atomically,
        and only after every input has been read and checked.
    """
    processed = Path(processed)
    out = Path(out_dir) if out_dir is not None else processed
    entries_path = processed / "ccl_entries.parquet"
    if not entries_path.is_file():
        raise SourceMissingError(f"{entries_path} not found; run `cclreview ingest-ccl` first")
    try:
        entries = pd.read_parquet(entries_path)
    except Exception as exc:
        raise InputError(
            f"{entries_path}: cannot read Parquet ({exc}); re-run `cclreview ingest-ccl`"
        ) from exc
    files = ear_files(raw_dir)
    chart = load_country_chart(files["chart"])
    lists = load_lists(files)
    controls = build_controls(entries, chart)
    # Both tables are checked against their contract before anything is written.
    contracts.validate("eccn_lists", lists, out / contracts.ECCN_LISTS, writing=True)
    contracts.validate("eccn_controls", controls, out / contracts.ECCN_CONTROLS, writing=True)
    lists_path = contracts.write("eccn_lists", lists, out)
    path = contracts.write("eccn_controls", controls, out)
    log.info(
        "wrote %s (%d controls of %d ECCNs) and %s",
        path,
        len(controls),
        controls["eccn"].nunique(),
        lists_path,
    )
    return controls, path
