"""Curated ECCN -> HS6 links: the shipped table plus analysts' own files, which override it.

File shape (CSV, UTF-8): ``eccn`` (``2B001`` or a paragraph such as ``2B001.a``), ``hs6``,
``confidence`` (``high``/``medium``/``low``; an analyst may write ``none`` to withdraw a
shipped pair), ``rationale`` (one line), ``added`` (date), and ``specificity_class``
(``dedicated``/``shared``/``residual``/``heading``, see :mod:`cclreview.link.specificity`;
every shipped row has one, checked by the tests; a blank, e.g. in an analyst file, is
derived from the HS text).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from cclreview.config import REFERENCE_DIR
from cclreview.errors import InputError, ValidationError
from cclreview.link.hs import HS_VERSION
from cclreview.link.sources import LABEL_CONFIDENCE, split_eccn
from cclreview.link.specificity import specificity_classes

log = logging.getLogger(__name__)

CURATED_FILE = REFERENCE_DIR / "eccn_hs_curated.csv"
CURATED_COLUMNS = ["eccn", "hs6", "confidence", "rationale", "added", "specificity_class"]
_LABELS = set(LABEL_CONFIDENCE) | {"none"}


def read_curated_file(path: str | os.PathLike[str], source: str = "curated") -> pd.DataFrame:
    """Read and validate one curated-shape CSV.

    Parameters
    ----------
    path
        The CSV.
    source
        ``"curated"`` for the shipped table, ``"curated:analyst"`` for analyst files.

    Returns
    -------
    pandas.DataFrame
        ``eccn`` (5-char base), ``paragraph`` ("" or e.g. ``2B001.a``), ``hs6``,
        ``label``, ``confidence`` (0-1), ``rationale``, ``added``, ``source``, ``origin``
        (``file:line``). Every problem is listed in one :class:`ValidationError`.
    """
    path = Path(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.strip().lower() for c in df.columns]
    missing = set(CURATED_COLUMNS[:4]) - set(df.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {sorted(missing)}; expected {','.join(CURATED_COLUMNS)}")
    for col in ("added", "specificity_class"):
        if col not in df.columns:
            df[col] = ""
    classes = specificity_classes()
    problems: list[str] = []
    rows = []
    for i, r in enumerate(df.itertuples(index=False), start=2):
        parts = split_eccn(r.eccn)
        hs6 = r.hs6.strip().replace(".", "")
        label = r.confidence.strip().lower()
        if parts is None:
            problems.append(f"line {i}: eccn {r.eccn!r} is not an ECCN like 2B001 or 2B001.a")
            continue
        if len(hs6) == 5 and hs6.isdigit():
            hs6 = "0" + hs6  # spreadsheets drop the leading zero of chapters 01-09
        if not (len(hs6) == 6 and hs6.isdigit()):
            problems.append(f"line {i}: hs6 {r.hs6!r} is not a 6-digit HS code")
            continue
        if label not in _LABELS:
            problems.append(f"line {i}: confidence {r.confidence!r} must be high, medium, low or none")
            continue
        spec = r.specificity_class.strip().lower()
        if spec and spec not in classes:
            problems.append(
                f"line {i}: specificity_class {r.specificity_class!r} must be one of {', '.join(classes)}"
            )
            continue
        rows.append(
            {
                "eccn": parts[0],
                "paragraph": parts[1],
                "hs6": hs6,
                "label": label,
                "confidence": LABEL_CONFIDENCE.get(label, 0.0),
                "rationale": r.rationale.strip(),
                "added": r.added.strip(),
                "specificity_class": spec,
                "source": source,
                "origin": f"{path.name}:{i}",
            }
        )
    if problems:
        raise ValidationError(
            f"{path}: {len(problems)} invalid row(s), fix them: " + "; ".join(problems[:20])
        )
    out = pd.DataFrame(
        rows,
        columns=[
            *CURATED_COLUMNS[:1],
            "paragraph",
            "hs6",
            "label",
            "confidence",
            "rationale",
            "added",
            "specificity_class",
            "source",
            "origin",
        ],
    )
    dup = out.duplicated(["eccn", "paragraph", "hs6"], keep=False)
    if dup.any():
        first = out[dup].iloc[0]
        raise ValidationError(
            f"{path}: duplicate link {first['paragraph'] or first['eccn']} -> {first['hs6']} "
            f"({first['origin']}); keep one row per eccn/paragraph and hs6"
        )
    return out


def check_hs6(links: pd.DataFrame, hs_codes: Iterable[str], what: str) -> None:
    """Raise :class:`ValidationError` listing links whose ``hs6`` is not in the nomenclature."""
    valid = set(hs_codes)
    bad = links[~links["hs6"].isin(valid)]
    if not bad.empty:
        listed = "; ".join(f"{o}: {h}" for o, h in zip(bad["origin"][:20], bad["hs6"][:20], strict=False))
        if len(bad) > 20:
            listed += f"; ... ({len(bad) - 20} more)"
        raise ValidationError(f"{what}: {len(bad)} hs6 code(s) not in {HS_VERSION}, correct them: {listed}")


def load_curated(
    shipped: str | os.PathLike[str] | None = CURATED_FILE,
    analyst_files: Iterable[str | os.PathLike[str]] = (),
) -> pd.DataFrame:
    """Load the shipped curated table and apply analyst override files.

    An analyst row replaces the shipped row of the same pair (eccn or paragraph, hs6),
    changing its confidence or rationale, or adds a new pair; a row with confidence
    ``none`` withdraws that pair. Later analyst files override earlier ones.

    Returns
    -------
    pandas.DataFrame
        Columns of :func:`read_curated_file`; ``source`` is ``curated`` or ``curated:analyst``.
    """
    frames = []
    if shipped is not None:
        frames.append(read_curated_file(shipped, "curated"))
    out = pd.concat(frames, ignore_index=True) if frames else read_curated_file(CURATED_FILE).iloc[0:0]
    for f in analyst_files:
        extra = read_curated_file(f, "curated:analyst")
        key = ["eccn", "paragraph", "hs6"]
        merged = out.merge(extra[key], on=key, how="left", indicator=True)
        keep = (merged["_merge"] == "left_only").to_numpy()
        out = pd.concat([out[keep], extra], ignore_index=True)
        log.info(
            "analyst file %s: %d row(s), replacing %d earlier row(s)",
            Path(f).name,
            len(extra),
            int((~keep).sum()),
        )
    return out[out["label"] != "none"].reset_index(drop=True)
