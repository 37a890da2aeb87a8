"""Paths and defaults, in one place.

Every path the tool uses by default is derived from :func:`project_paths`, which
resolves the project root from ``CCLREVIEW_HOME`` (if set) or the current directory.
Commands accept explicit paths that override these defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Environment variable naming a local directory laid out like the source mirror
#: (``ccl/``, ``hs/``, ``trade/``, ``countries/``, ``evidence/``, ``concordance/``).
MIRROR_ENV = "CCLREVIEW_MIRROR"
HOME_ENV = "CCLREVIEW_HOME"

#: The package's own reviewable reference tables (countries, groups, curated links).
REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


@dataclass(frozen=True)
class ProjectPaths:
    """Default locations of inputs, stage outputs, reports and config."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def manifest(self) -> Path:
        return self.raw / "MANIFEST.json"

    @property
    def weights(self) -> Path:
        return self.config / "weights.toml"

    @property
    def sources(self) -> Path:
        return self.config / "sources.toml"

    @property
    def report(self) -> Path:
        return self.reports / "decontrol_candidates.xlsx"

    # Raw sub-folders, one per source kind.
    @property
    def raw_ccl(self) -> Path:
        return self.raw / "ccl"

    @property
    def raw_hs(self) -> Path:
        return self.raw / "hs"

    @property
    def raw_trade(self) -> Path:
        return self.raw / "trade"

    @property
    def raw_evidence(self) -> Path:
        return self.raw / "evidence"

    @property
    def raw_concordance(self) -> Path:
        return self.raw / "concordance"


def project_paths(root: str | os.PathLike[str] | None = None) -> ProjectPaths:
    """Return the default paths, rooted at ``root``, ``$CCLREVIEW_HOME`` or the cwd."""
    if root is None:
        root = os.environ.get(HOME_ENV) or Path.cwd()
    return ProjectPaths(Path(root).resolve())


def mirror_dir(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the mirror directory from ``explicit`` or ``$CCLREVIEW_MIRROR``, if any."""
    value = explicit if explicit is not None else os.environ.get(MIRROR_ENV)
    if not value:
        return None
    return Path(value).expanduser().resolve()
