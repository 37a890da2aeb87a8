"""Load everything the report formats: processed tables, manifest and weights.

The report decides nothing: it reads what the earlier stages wrote (contracts in
``docs/CONTRACTS.md``). ``scores.parquet`` and ``ccl_entries.parquet`` are required;
every other table is optional and its sheet says so when it is absent.
"""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cclreview.errors import ConfigError, InputError
from cclreview.io import sha256_file

log = logging.getLogger(__name__)

#: Columns the report cannot work without, per required table.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "scores.parquet": ("eccn", "rank", "tier", "decontrol_score", "availability_score", "security_score"),
    "ccl_entries.parquet": ("eccn", "heading"),
}

#: Processed files the report reads, in the order the Sources sheet lists them.
PROCESSED_FILES: tuple[str, ...] = (
    "ccl_entries.parquet",
    "eccn_hs_links.parquet",
    "unlinked_eccns.csv",
    "exports.parquet",
    "evidence.parquet",
    "availability_hs.parquet",
    "scores.parquet",
    "eccn_hs_indicators.parquet",
    "sensitivity.parquet",
    "scenarios.parquet",
    "weights_comparison.csv",
)


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
    scenarios: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    manifest: dict[str, Any] | None = None
    manifest_path: Path | None = None
    weights: dict[str, Any] | None = None
    weights_path: Path | None = None
    weights_sha256: str | None = None
    weights_validated: bool = False
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


def load_weights_flat(path: Path) -> tuple[dict[str, Any], bool]:
    """Return every weights key (dotted) and value, and whether it was validated.

    Uses the scoring stage's validated model (``cclreview.score.weights.load_weights``)
    when it is installed, so the Method sheet shows the effective values including
    defaults; falls back to reading the TOML as written.
    """
    if not path.is_file():
        raise ConfigError(f"weights file {path} not found: pass --weights FILE or create config/weights.toml")
    try:
        from cclreview.score.weights import load_weights  # type: ignore[import-not-found]
    except ImportError:
        load_weights = None
    if load_weights is not None:
        model = load_weights(path)
        return flatten(model.model_dump(mode="json")), True
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"weights file {path} is not valid TOML: {exc}; fix the file") from exc
    return flatten(raw), False


def _read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    try:
        if path.name == "weights_comparison.csv":  # numbers stay numbers, codes stay text
            return pd.read_csv(path, dtype={"eccn": str})
        if path.suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        return pd.read_parquet(path, columns=columns)
    except Exception as exc:  # noqa: BLE001 - any reader failure is an input problem
        raise InputError(f"cannot read {path}: {exc}; rebuild it with the stage that writes it") from exc


def _check_columns(df: pd.DataFrame, name: str, path: Path) -> None:
    missing = [c for c in REQUIRED_COLUMNS.get(name, ()) if c not in df.columns]
    if missing:
        raise InputError(
            f"{path} lacks column(s) {', '.join(missing)} required by the report "
            "(see docs/CONTRACTS.md); rebuild it with the current version of its stage"
        )


def _load_manifest(path: Path) -> dict[str, Any]:
    try:
        from cclreview.manifest import load_manifest  # type: ignore[import-not-found]
    except ImportError:
        load_manifest = None
    if load_manifest is not None:
        loaded = load_manifest(path)
        if isinstance(loaded, dict):
            return loaded
        if hasattr(loaded, "model_dump"):
            return loaded.model_dump(mode="json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read manifest {path}: {exc}; re-run `cclreview fetch`") from exc


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
    for name, stage in (("scores.parquet", "score"), ("ccl_entries.parquet", "ingest-ccl")):
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
        _check_columns(df, name, path)
        tables[name] = df
        files.append(ProcessedFile(name, path, len(df), path.stat().st_size, sha256_file(path)))

    inputs = ReportInputs(
        processed_dir=processed_dir,
        entries=tables["ccl_entries.parquet"],
        scores=tables["scores.parquet"],
        links=tables.get("eccn_hs_links.parquet"),
        unlinked=tables.get("unlinked_eccns.csv"),
        availability=tables.get("availability_hs.parquet"),
        exports=tables.get("exports.parquet"),
        evidence=tables.get("evidence.parquet"),
        sensitivity=tables.get("sensitivity.parquet"),
        indicators=tables.get("eccn_hs_indicators.parquet"),
        scenarios=tables.get("scenarios.parquet"),
        comparison=tables.get("weights_comparison.csv"),
        files=files,
    )
    if manifest_path is not None and Path(manifest_path).is_file():
        inputs.manifest = _load_manifest(Path(manifest_path))
        inputs.manifest_path = Path(manifest_path)
    elif manifest_path is not None:
        log.warning("manifest %s not found; the Sources sheet lists processed files only", manifest_path)
    if weights_path is not None and Path(weights_path).is_file():
        inputs.weights, inputs.weights_validated = load_weights_flat(Path(weights_path))
        inputs.weights_path = Path(weights_path)
        inputs.weights_sha256 = sha256_file(weights_path)
    elif weights_path is not None:
        log.warning("weights file %s not found; the Method sheet says so", weights_path)
    return inputs
