"""The link sources table: source name -> default confidence and a note on its noise."""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

from cclreview.config import REFERENCE_DIR
from cclreview.errors import ConfigError

SOURCES_FILE = REFERENCE_DIR / "link_sources.csv"

#: Confidence (0-1) of the curated labels.
LABEL_CONFIDENCE = {"high": 0.9, "medium": 0.7, "low": 0.45}

#: The leading columns of a link row, whatever its source (each adds its own after them).
LINK_ROW_COLUMNS: tuple[str, ...] = ("eccn", "paragraph", "hs6", "source", "confidence", "rationale")

#: Precedence of sources when links disagree: lower wins.
PRECEDENCE = {"curated:analyst": 0, "curated": 1, "imported": 2, "inherited": 3, "suggested": 4}

ECCN_RE = re.compile(r"^[0-9][A-E][0-9]{3}$")
#: An ECCN optionally followed by paragraph labels: "2B001", "2B001.a", "3A001.b.1.a".
ECCN_PARA_RE = re.compile(r"^([0-9][A-E][0-9]{3})((?:\.[a-z0-9]{1,4})*)$")


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    df = pd.read_csv(SOURCES_FILE, dtype=str, keep_default_na=False)
    if not {"source", "confidence", "noise_note"} <= set(df.columns):
        raise ConfigError(f"{SOURCES_FILE}: needs columns source,kind,confidence,noise_note")
    return df


def source_confidence(source: str) -> float:
    """Return the default confidence of ``source`` (``imported:<name>``; unknown names use generic)."""
    df = _table()
    row = df[df["source"] == source]
    if row.empty and source.startswith("imported:"):
        row = df[df["source"] == "imported:generic"]
    if row.empty or not row["confidence"].iloc[0]:
        raise ConfigError(f"{SOURCES_FILE}: no default confidence for source {source!r}; add a row")
    return float(row["confidence"].iloc[0])


def source_is_evidence(source: str) -> bool:
    """Whether links of ``source`` count as evidence as they stand (column ``evidence``).

    ``yes`` for curated rows and trusted imports, ``no`` for suggestions and noisy
    imports (the China catalogue), ``parent`` for inherited links (decided by the link
    they copy: False here). Unknown ``imported:<name>`` sources follow ``imported:generic``.
    """
    df = _table()
    if "evidence" not in df.columns:  # older table: suggestions only are not evidence
        return source_family(source) in {"curated", "curated:analyst", "imported"}
    row = df[df["source"] == source]
    if row.empty and source.startswith("imported:"):
        row = df[df["source"] == "imported:generic"]
    return not row.empty and row["evidence"].iloc[0].strip().lower() == "yes"


def source_family(source: str) -> str:
    """Return the precedence family of a source name (``imported:cn_catalogue`` -> ``imported``)."""
    if source == "curated:analyst":
        return source
    return source.split(":", 1)[0]


def split_eccn(code: str) -> tuple[str, str] | None:
    """Split ``"2B001.a.1"`` into ``("2B001", "2B001.a.1")``; ``"2B001"`` -> ``("2B001", "")``.

    Returns None when ``code`` is not an ECCN (junk such as ``"UF6"`` or ``"1"``).
    """
    code = code.strip().replace(" ", "")
    m = ECCN_PARA_RE.match(code)
    if not m:
        return None
    base = m.group(1)
    return base, (code if m.group(2) else "")
