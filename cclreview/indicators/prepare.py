"""Preparing ``exports.parquet`` for the kernels: validation, categoricals, HS revisions.

HS6 codes are converted to the target revision (trade weights where they cover the path,
else the UN concordance); HS4 headings by :func:`~cclreview.indicators.headings.convert_headings`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

from cclreview.errors import InputError
from cclreview.indicators.headings import convert_headings
from cclreview.indicators.schema import REQUIRED
from cclreview.trade import hsrev

log = logging.getLogger(__name__)


def as_category(series: pd.Series, fill: str = "", func: Callable[[str], str] | None = None) -> pd.Series:
    """A categorical of stripped strings (NA -> ``fill``), built from the distinct values only.

    ``func``, if given, maps each distinct label (labels it maps together are merged).
    """
    cat = series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("category")
    labels = [fill if pd.isna(c) else str(c).strip() for c in cat.cat.categories] + [fill]
    if func is not None:
        labels = [func(x) for x in labels[:-1]] + [fill]
    codes = cat.cat.codes.to_numpy()  # -1 (NA) picks the appended fill label
    uniq, inverse = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
    new = pd.Categorical.from_codes(inverse[codes], categories=uniq)
    return pd.Series(new, index=series.index)


def prepare_exports(
    exports: pd.DataFrame,
    target: str,
    concordance: hsrev.Concordance | None,
    trade_weights: hsrev.TradeWeights | None = None,
    hs4_min_main_share: float = 0.8,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate, add defaults, convert HS6 codes to ``target``.

    String columns become categoricals (built from their distinct values): at full BACI
    scale, string work on millions of rows would dominate the run time.
    """
    missing = [c for c in REQUIRED if c not in exports.columns]
    if missing:
        raise InputError(
            f"exports table lacks columns {missing}; found {list(exports.columns)}; "
            f"expected at least {list(REQUIRED)} (run `cclreview ingest-trade` first)"
        )
    used = [*REQUIRED, "hs_level", "qty", "value_kind", "rank", "n_exporters", "source_file"]
    df = exports[[c for c in used if c in exports.columns]].copy()  # only what is used: memory
    df["hs6"] = as_category(df["hs6"])
    if "hs_level" not in df.columns:
        # Per category, then mapped: renaming categories to lengths would collide.
        lengths = np.array([len(str(c)) for c in df["hs6"].cat.categories], dtype="int64")
        df["hs_level"] = lengths[df["hs6"].cat.codes.to_numpy()]
    df["hs_level"] = df["hs_level"].astype("int64")
    for col, default in (("qty", np.nan), ("value_kind", "value"), ("rank", pd.NA), ("n_exporters", pd.NA)):
        if col not in df.columns:
            df[col] = default
    if "source_file" not in df.columns:
        df["source_file"] = ""
    df["value_usd"] = pd.to_numeric(df["value_usd"], errors="coerce")
    df["qty"] = pd.to_numeric(df["qty"], errors="coerce")
    df["year"] = df["year"].astype("int64")
    for col in ("exporter_iso3", "source", "value_kind", "source_file"):
        df[col] = as_category(df[col])
    df["hs_version"] = as_category(df["hs_version"], func=hsrev.normalise_revision)
    df["hs_version_source"] = df["hs_version"]
    # The source unit "label|file", from the distinct pairs only.
    pair = df.groupby(["source", "source_file"], sort=False, observed=True).ngroup().to_numpy()
    first = pd.Series(np.arange(len(df))).groupby(pair).first().to_numpy()
    names = (df["source"].iloc[first].astype(str) + "|" + df["source_file"].iloc[first].astype(str)).tolist()
    df["unit"] = as_category(pd.Series(np.asarray(names, dtype=object)[pair], index=df.index))
    # One row per exporter within a source unit. Repeats mean two files carry the same
    # label (BACI as Parquet and as CSV) without source_file: keep one, never add up.
    dkey = ["unit", "year", "hs_level", "hs6", "exporter_iso3", "value_kind"]
    dup = df.duplicated(dkey, keep=False)
    if dup.any():
        log.warning(
            "%d exporter rows repeat within a source (%s): kept the largest of each, not the sum; "
            "give each input file its own source_file to tell them apart",
            int(dup.sum()),
            ", ".join(sorted(map(str, df.loc[dup, "unit"].unique()))[:3]),
        )
        df = df.sort_values("value_usd", ascending=False, na_position="last").drop_duplicates(dkey)
    unconverted = pd.DataFrame()
    six = (df["hs_level"] == 6).to_numpy() & (df["hs_version"] != target).to_numpy()
    if six.any():
        if concordance is None:
            log.warning(
                "no HS concordance: %d HS6 rows keep their revision (%s) instead of %s",
                int(six.sum()),
                ", ".join(sorted(map(str, df.loc[six, "hs_version"].unique()))),
                target,
            )
        else:
            parts, reports = [df[~six]], []
            for rev, chunk in df[six].groupby("hs_version", observed=True):
                chunk = chunk.assign(hs6=chunk["hs6"].astype(str))
                if trade_weights is not None and trade_weights.has_path(str(rev), target):
                    # Trade-weighted split of each old code over its new codes.
                    conv, unc = trade_weights.convert(chunk, str(rev), target, "hs6", ("value_usd", "qty"))
                    log.info("HS conversion %s -> %s by trade weights: %d rows", rev, target, len(conv))
                    if not unc.empty:
                        reports.append(unc.assign(level=6))
                else:
                    conv, rep = concordance.convert(chunk, str(rev), target, "hs6", ("value_usd", "qty"))
                    log.info("HS conversion %s -> %s: %s", rev, target, rep.as_dict())
                    if not rep.unconverted.empty:
                        reports.append(
                            rep.unconverted.assign(level=6, reason="HS6 code not in the UN concordance step")
                        )
                conv = conv.drop(columns="hs6_from")
                conv["hs_version"] = target
                parts.append(conv)
            df = pd.concat([p.astype({"hs6": str, "hs_version": str}) for p in parts], ignore_index=True)
            unconverted = pd.concat(reports, ignore_index=True) if reports else pd.DataFrame()
    if concordance is not None:
        df, refused = convert_headings(df, target, concordance, hs4_min_main_share, trade_weights)
        if not refused.empty:
            unconverted = pd.concat([unconverted, refused], ignore_index=True)
    df = df.rename(columns={"hs6": "hs_code"})
    for col in ("unit", "hs_code", "exporter_iso3", "value_kind", "hs_version", "hs_version_source"):
        if not isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = as_category(df[col])
    return df, unconverted
