"""The availability stage on files: ``exports.parquet`` in, ``availability_hs.parquet`` out."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from cclreview.errors import InputError, SourceMissingError
from cclreview.indicators.compute import compute_availability
from cclreview.io import write_csv, write_parquet
from cclreview.trade import hsrev

log = logging.getLogger(__name__)


def _read_parquet(path: Path, stage: str) -> pd.DataFrame:
    if not path.is_file():
        raise SourceMissingError(f"{path} not found; run `cclreview {stage}` first or pass its path")
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        raise InputError(
            f"{path} is not a readable Parquet file ({exc}); re-run `cclreview {stage}`"
        ) from exc


def attach_evidence(availability: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """Add supply-side evidence counts to HS6 rows.

    ``n_evidence_rows`` = rows of ``evidence.parquet`` naming the HS6 code;
    ``evidence_countries`` = their distinct producer countries (ISO3, sorted). Trade
    indicators are not changed: the evidence is shown beside them and scoring weighs it
    on its own.
    """
    out = availability.copy()
    ev = evidence[evidence["hs6"].notna()] if "hs6" in evidence.columns else evidence.iloc[0:0]
    n = ev.groupby("hs6").size()
    has_country = ev[ev["country_iso3"].notna()] if "country_iso3" in ev.columns else ev.iloc[0:0]
    countries = (
        {k: sorted(set(v)) for k, v in has_country.groupby("hs6")["country_iso3"]} if len(has_country) else {}
    )
    six = out["hs_level"] == 6
    out["n_evidence_rows"] = out["hs_code"].map(n).where(six).fillna(0).astype("int64")
    out["evidence_countries"] = [
        list(countries.get(code, [])) if is6 else [] for code, is6 in zip(out["hs_code"], six, strict=True)
    ]
    return out


def run_availability(
    exports_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    concordance_path: str | os.PathLike[str] | None = None,
    evidence_path: str | os.PathLike[str] | None = None,
    **kwargs: object,
) -> dict[str, object]:
    """Read ``exports.parquet``, write ``availability_hs.parquet`` and ``source_conflicts.csv``.

    Also writes ``unconverted_hs_codes.csv`` when HS codes could not be converted.
    A missing concordance file is logged and HS6 codes keep their revision. With
    ``evidence_path`` (``evidence.parquet``) HS6 rows get evidence counts
    (:func:`attach_evidence`). ``kwargs`` go to :func:`compute_availability`.

    Returns
    -------
    dict
        Counts and the paths written.
    """
    exports = _read_parquet(Path(exports_path), "ingest-trade")
    evidence = _read_parquet(Path(evidence_path), "ingest-evidence") if evidence_path is not None else None
    try:
        conc = hsrev.load_concordance(concordance_path)
    except SourceMissingError as exc:
        log.warning("%s", exc)
        conc = None
    folder = Path(concordance_path).parent if concordance_path is not None else None
    weights = hsrev.load_trade_weights(folder)
    res = compute_availability(exports, concordance=conc, trade_weights=weights, **kwargs)  # type: ignore[arg-type]
    if evidence is not None:
        res.availability = attach_evidence(res.availability, evidence)
    out_dir = Path(out_dir)
    from cclreview.china.stage import availability_hook  # China lens: china_hs, diversion_hs

    res.availability, written = availability_hook(
        res.availability, exports, Path(exports_path).parent, out_dir
    )
    written.append(write_parquet(res.availability, out_dir / "availability_hs.parquet"))
    written.append(write_csv(res.conflicts, out_dir / "source_conflicts.csv"))
    if not res.unconverted.empty:
        written.append(write_csv(res.unconverted, out_dir / "unconverted_hs_codes.csv"))
    return {**res.counts, "written": [str(p) for p in written]}
