"""Load everything the report formats: processed tables, manifest and weights.

The report decides nothing: it reads what the earlier stages wrote, each table
validated against its contract (:mod:`cclreview.contracts`). ``scores.parquet`` and
``ccl_entries.parquet`` are required; every other table is optional and its sheet says
so when it is absent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cclreview import contracts as c
from cclreview.errors import ConfigError, InputError
from cclreview.io import sha256_file
from cclreview.manifest import load_manifest
from cclreview.score.weights import load_weights

log = logging.getLogger(__name__)

#: What the trade stage made of each input file (written by ``cclreview ingest-trade``).
TRADE_INPUTS = "bilateral_coverage.csv"

#: Processed files the report reads, in the order the Sources sheet lists them.
PROCESSED_FILES: tuple[str, ...] = (
    c.CCL_ENTRIES,
    c.ECCN_HS_LINKS,
    c.UNLINKED_ECCNS,
    c.EXPORTS,
    TRADE_INPUTS,
    c.EVIDENCE,
    c.AVAILABILITY_HS,
    c.SCORES,
    c.ECCN_HS_INDICATORS,
    c.SENSITIVITY,
    c.WEIGHTS_COMPARISON,
)
#: File name -> contract name, for the files that have a contract.
_CONTRACT_OF = {file: name for name, file in c.FILES.items()}


@dataclass
class ProcessedFile:
    """A processed table the report read (listed on the Sources sheet)."""

    name: str
    path: Path
    rows: int
    bytes: int
    sha256: str


@dataclass
class ReportInputs:
    """All inputs of one report build."""

    processed_dir: Path
    entries: pd.DataFrame
    scores: pd.DataFrame
    links: pd.DataFrame | None = None
    unlinked: pd.DataFrame | None = None
    availability: pd.DataFrame | None = None
    exports: pd.DataFrame | None = None
    evidence: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    indicators: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    trade_inputs: pd.DataFrame | None = None
    manifest: dict[str, Any] | None = None
    manifest_path: Path | None = None
    weights: dict[str, Any] | None = None
    weights_path: Path | None = None
    weights_sha256: str | None = None
    files: list[ProcessedFile] = field(default_factory=list)


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested weights into dotted keys, in file order.

    ``{"a": {"b": 1}}`` gives ``{"a.b": 1}``; a list of tables (``[[guardrails]]``)
    gives ``guardrails[1].pattern``, ... (numbered from 1); a list of scalars stays a
    list (written ``"x; y"``).
    """
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value, start=1):
                out.update(flatten(item, f"{name}[{i}]."))
        else:
            out[name] = value
    return out


def load_weights_flat(path: Path) -> dict[str, Any]:
    """Return every weights key (dotted) and its effective value (defaults filled in).

    Raises
    ------
    ConfigError
        The file is absent or invalid.
    """
    if not path.is_file():
        raise ConfigError(f"weights file {path} not found: pass --weights FILE or create config/weights.toml")
    return flatten(load_weights(path).model_dump(mode="json"))


def _read_table(path: Path) -> pd.DataFrame:
    """Read one processed file; Parquet tables are validated against their contract."""
    try:
        if path.name == c.WEIGHTS_COMPARISON:  # numbers stay numbers, codes stay text
            return pd.read_csv(path, dtype={"eccn": str})
        if path.suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        df = pd.read_parquet(path)
    except Exception as exc:  # any reader failure is an input problem
        raise InputError(f"cannot read {path}: {exc}; rebuild it with the stage that writes it") from exc
    return c.validate(_CONTRACT_OF[path.name], df, path) if path.name in _CONTRACT_OF else df


def load_inputs(
    processed_dir: Path,
    weights_path: Path | None = None,
    manifest_path: Path | None = None,
) -> ReportInputs:
    """Read the processed tables, the manifest and the weights.

    Parameters
    ----------
    processed_dir
        Folder with the stage outputs (``data/processed``).
    weights_path
        The weights TOML used for scoring; None or absent = Method sheet says so.
    manifest_path
        ``data/raw/MANIFEST.json``; None or absent = Sources sheet lists only the
        processed files.

    Raises
    ------
    InputError
        A required table is missing, unreadable or lacks required columns.
    ConfigError
        The weights file is invalid.
    """
    processed_dir = Path(processed_dir)
    # Scores first: it is the table the report formats, and the last stage to run.
    for name, stage in ((c.SCORES, "score"), (c.CCL_ENTRIES, "ingest-ccl")):
        if not (processed_dir / name).is_file():
            raise InputError(
                f"{processed_dir / name} not found: run `cclreview {stage}` first or pass --processed DIR "
                "pointing at the folder with the stage outputs"
            )
    tables: dict[str, pd.DataFrame] = {}
    files: list[ProcessedFile] = []
    for name in PROCESSED_FILES:
        path = processed_dir / name
        if not path.is_file():
            log.info("optional input %s absent; its sheet will say so", path)
            continue
        df = _read_table(path)
        tables[name] = df
        files.append(ProcessedFile(name, path, len(df), path.stat().st_size, sha256_file(path)))

    inputs = ReportInputs(
        processed_dir=processed_dir,
        entries=tables[c.CCL_ENTRIES],
        scores=tables[c.SCORES],
        links=tables.get(c.ECCN_HS_LINKS),
        unlinked=tables.get(c.UNLINKED_ECCNS),
        availability=tables.get(c.AVAILABILITY_HS),
        exports=tables.get(c.EXPORTS),
        evidence=tables.get(c.EVIDENCE),
        sensitivity=tables.get(c.SENSITIVITY),
        indicators=tables.get(c.ECCN_HS_INDICATORS),
        comparison=tables.get(c.WEIGHTS_COMPARISON),
        trade_inputs=tables.get(TRADE_INPUTS),
        files=files,
    )
    if manifest_path is not None and Path(manifest_path).is_file():
        inputs.manifest = load_manifest(Path(manifest_path))
        inputs.manifest_path = Path(manifest_path)
    elif manifest_path is not None:
        log.warning("manifest %s not found; the Sources sheet lists processed files only", manifest_path)
    if weights_path is not None and Path(weights_path).is_file():
        inputs.weights = load_weights_flat(Path(weights_path))
        inputs.weights_path = Path(weights_path)
        inputs.weights_sha256 = sha256_file(weights_path)
    elif weights_path is not None:
        log.warning("weights file %s not found; the Method sheet says so", weights_path)
    return inputs
