"""Per-product foreign-availability indicators from exporter-level trade totals.

:func:`compute_availability` turns ``exports.parquet`` (one row per year x exporter x
HS code x source, exports to the world) into ``availability_hs.parquet``: one row per
``hs_code, hs_level, year``, its indicators taken from ONE source (never a sum across
sources).

Formulas (per product and year, within the chosen source; ``v_i`` = exports of
exporter ``i`` in USD, ``W`` = world exports, ``US`` = exports of the USA):

* ``world_exports_usd`` ``W`` = sum of ``v_i`` over all exporters; for truncated
  tables the published world total (the ``WLD``/``world_total`` row), which includes
  the exporters listed without a value.
* ``us_exports_usd`` = ``v_USA`` (0 when the USA is absent; in a truncated table a
  U.S. exporter ranked below the top N counts as 0, so non-U.S. totals are upper bounds).
* ``non_us_exports_usd`` ``NU = W - US``; ``non_us_share = NU / W``.
* ``n_non_us_suppliers`` = number of non-U.S. exporters with ``v_i >= T`` where
  ``T = max(min_share * NU, min_value_usd)`` (defaults 1 % and USD 1 million): a
  supplier must be both a meaningful share of non-U.S. supply and a meaningful value.
* ``hhi_non_us`` = sum over non-U.S. exporters of ``(v_i / NU)^2`` (0-1 scale; 1 = a
  single supplier; multiply by 10,000 for the antitrust scale).
* ``china_exports_usd`` = ``v_CHN``; ``china_share = v_CHN / W`` (share of world
  exports: availability inside China).
* ``share_outside_regime`` = sum of ``v_i`` of non-U.S. exporters that are not
  Wassenaar participants / ``NU``; ``share_outside_a1`` the same for EAR Country Group
  A:1; ``share_outside_mtcr``, ``share_outside_nsg``, ``share_outside_ag`` for the other
  regimes (membership from ``cclreview/reference/regimes.csv`` and
  ``country_groups.csv``), so scoring can pick the regime relevant to an ECCN.
* ``top_suppliers`` = the five largest non-U.S. exporters with their share of ``W``,
  ``"CHN 41%; DEU 12%; ..."``; ``top_suppliers_list`` their ISO3 codes.
* ``unit_value_ratio`` = median over non-U.S. exporters with ``qty > 0`` of
  ``v_i / qty_i``, divided by the U.S. ``v / qty``; empty when the U.S. or every other
  exporter lacks quantities. A crude comparable-quality proxy (> 1: foreign goods
  dearer per tonne).
* ``entrepot_share`` = exports of HKG, SGP, NLD, BEL, ARE / ``W`` (re-exporters,
  flagged rather than discounted).
* ``n_exporters`` = exporters with a value or a rank (truncated tables: the larger of
  that and the published exporter count).
* ``years_covered`` = number of years the chosen source has for this code;
  ``non_us_share_trend`` = least-squares slope of ``non_us_share`` per year over those
  years (empty with one year).

Truncated (top-N) tables give values for the top N exporters only; the ``m`` others
have a rank, and each of them exported at most ``vN`` (the smallest listed value) and
together ``R = W - sum(listed)``. What stays valid: ``W``, the listed values and shares,
``n_exporters``. Bounds (``is_bounded = True``):

* ``n_non_us_suppliers_lo = k + max(0, ceil((R' - m' T) / (vN - T)))`` when
  ``vN > T`` (else ``k``), ``_hi = k + min(m', floor(R' / T))`` when ``vN >= T`` (else
  ``k``); ``k`` listed non-U.S. suppliers above ``T``, ``m'`` unlisted non-U.S.
  exporters, ``R'`` their total (``R`` minus at most ``vN`` if the USA is unlisted).
* ``hhi_non_us_lo`` spreads ``R'`` evenly over the ``m'`` exporters
  (``+ R'^2 / m'``); ``hhi_non_us_hi`` piles it up in blocks of ``vN``
  (``+ q vN^2 + r^2``); both divided by ``NU^2`` with the listed part.
* Point values are the cautious ends: ``n_non_us_suppliers = _lo``,
  ``hhi_non_us = _hi`` (fewest suppliers, most concentration).
* China: exact if listed; if ranked below the top N, ``china_share`` is empty and
  ``china_share_lo = 0``, ``china_share_hi = min(vN, R) / W``.
* Shares outside regimes count listed exporters only (lower bounds).
For untruncated rows every ``_lo``/``_hi`` equals the point value.

Source precedence (:data:`DEFAULT_PRECEDENCE`, configurable): BACI HS6 > Comtrade HS6 >
full HS4 table (``otstats``) > truncated HS4 (``oec_baci_top40``); a source matches by
prefix of its ``source`` label, unknown sources come last. When one source arrives in
several files (the same BACI flows as Parquet and CSV, told apart by
``source_file``), each file is a candidate and one is chosen (the one with more
exporters, then by name): files are never added up. A source file that covers fewer
than ``min_source_exporters`` (default 20) distinct exporters in a year over all its
products is a partial extract (``partial_source``; e.g. a two-exporter BACI sample): it
ranks after every complete source and :func:`indicators_for_links` ignores it, since
"two exporters" there says nothing about world supply. ``source_exporters`` records
the count. Rows that repeat an exporter within one source label and file (two files
with the same label and no ``source_file``) are reduced to one (the largest), with a
warning. Overlapping candidates whose world, U.S. or China totals differ by more than
``tolerance`` (default 5 %) go to ``source_conflicts.csv``.

Coverage warning: ``missing_major_exporters`` lists exporters that another source
shows among the top 5 for the same product (headings compared in HS2022 through the
concordance) but that have no row in the chosen source's data for this product and year
(e.g. Taiwan, absent from the 2017 Open Trade Statistics table, present in OEC 2023).
Absent there does not mean no supply. Partial sources do not define "major".

HS6 codes are converted to one revision (HS2022 by default) with
:mod:`cclreview.trade.hsrev` before anything is computed; HS4 headings keep their
revision (``hs_version``) and are matched to HS2022 codes by
:func:`indicators_for_links`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cclreview.errors import InputError, SourceMissingError
from cclreview.io import write_csv, write_parquet
from cclreview.trade import hsrev

log = logging.getLogger(__name__)

USA, CHN, WORLD = "USA", "CHN", "WLD"
ENTREPOTS: tuple[str, ...] = ("HKG", "SGP", "NLD", "BEL", "ARE")
DEFAULT_PRECEDENCE: tuple[str, ...] = ("baci", "comtrade", "otstats", "oec_baci_top40")
MIN_SHARE = 0.01
MIN_VALUE_USD = 1e6
#: A source (file) with fewer distinct exporters in a year, over all its products, is a
#: partial extract (e.g. a two-exporter sample): it is demoted and not used for links.
MIN_SOURCE_EXPORTERS = 20
CONFLICT_TOLERANCE = 0.05
TOP_K = 5
#: Regime columns: output column suffix -> (kind, name) in the reference tables.
REGIME_COLUMNS: dict[str, tuple[str, str]] = {
    "regime": ("regime", "Wassenaar"),
    "a1": ("group", "A:1"),
    "mtcr": ("regime", "MTCR"),
    "nsg": ("regime", "NSG"),
    "ag": ("regime", "Australia Group"),
}
REQUIRED = ("year", "exporter_iso3", "hs6", "hs_version", "value_usd", "source")
KEY = ["hs_level", "hs_code", "year"]

OUTPUT_COLUMNS = [
    "hs_code",
    "hs_level",
    "hs6",
    "hs4",
    "hs_version",
    "hs_version_source",
    "year",
    "source",
    "source_file",
    "world_exports_usd",
    "us_exports_usd",
    "non_us_exports_usd",
    "non_us_share",
    "n_non_us_suppliers",
    "n_non_us_suppliers_lo",
    "n_non_us_suppliers_hi",
    "hhi_non_us",
    "hhi_non_us_lo",
    "hhi_non_us_hi",
    "is_bounded",
    "china_exports_usd",
    "china_share",
    "china_share_lo",
    "china_share_hi",
    "share_outside_regime",
    "share_outside_a1",
    "share_outside_mtcr",
    "share_outside_nsg",
    "share_outside_ag",
    "top_suppliers",
    "top_suppliers_list",
    "unit_value_ratio",
    "entrepot_share",
    "years_covered",
    "non_us_share_trend",
    "missing_major_exporters",
    "n_exporters",
    "n_sources_available",
    "source_exporters",
    "partial_source",
]
CONFLICT_COLUMNS = [
    "hs_code",
    "hs_level",
    "year",
    "metric",
    "chosen_source",
    "chosen_value",
    "other_source",
    "other_value",
    "rel_diff",
]


@dataclass
class AvailabilityResult:
    """Output of :func:`compute_availability`."""

    availability: pd.DataFrame
    conflicts: pd.DataFrame
    unconverted: pd.DataFrame = field(default_factory=pd.DataFrame)
    counts: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers
def _membership() -> dict[str, frozenset[str]]:
    """ISO3 sets per regime column; empty sets (with a warning) if tables are absent."""
    from cclreview.trade import groups

    out: dict[str, frozenset[str]] = {}
    for col, (kind, name) in REGIME_COLUMNS.items():
        try:
            out[col] = groups.members(kind, name)
        except Exception as exc:
            log.warning("membership of %s unavailable (%s); share_outside_%s left empty", name, exc, col)
            out[col] = frozenset()
    return out


def source_rank(source: pd.Series, precedence: Sequence[str]) -> pd.Series:
    """Rank of each source label in ``precedence`` (prefix match), unknown last."""
    rank = pd.Series(len(precedence), index=source.index, dtype="int64")
    for i, prefix in reversed(list(enumerate(precedence))):
        rank[source.astype(str).str.startswith(prefix)] = i
    return rank


def _as_category(series: pd.Series, fill: str = "", func: Callable[[str], str] | None = None) -> pd.Series:
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


def _prepare(
    exports: pd.DataFrame, target: str, concordance: hsrev.Concordance | None
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
    df["hs6"] = _as_category(df["hs6"])
    if "hs_level" not in df.columns:
        df["hs_level"] = df["hs6"].cat.rename_categories(lambda c: len(c)).astype("int64")
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
        df[col] = _as_category(df[col])
    df["hs_version"] = _as_category(df["hs_version"], func=hsrev.normalise_revision)
    df["hs_version_source"] = df["hs_version"]
    # The source unit "label|file", from the distinct pairs only.
    pair = df.groupby(["source", "source_file"], sort=False, observed=True).ngroup().to_numpy()
    first = pd.Series(np.arange(len(df))).groupby(pair).first().to_numpy()
    names = (df["source"].iloc[first].astype(str) + "|" + df["source_file"].iloc[first].astype(str)).tolist()
    df["unit"] = _as_category(pd.Series(np.asarray(names, dtype=object)[pair], index=df.index))
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
                conv, rep = concordance.convert(chunk, str(rev), target, "hs6", ("value_usd", "qty"))
                conv = conv.drop(columns="hs6_from")
                conv["hs_version"] = target
                parts.append(conv)
                log.info("HS conversion %s -> %s: %s", rev, target, rep.as_dict())
                if not rep.unconverted.empty:
                    reports.append(rep.unconverted)
            df = pd.concat([p.astype({"hs6": str, "hs_version": str}) for p in parts], ignore_index=True)
            unconverted = pd.concat(reports, ignore_index=True) if reports else pd.DataFrame()
    df = df.rename(columns={"hs6": "hs_code"})
    for col in ("unit", "hs_code", "exporter_iso3", "value_kind", "hs_version", "hs_version_source"):
        if not isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = _as_category(df[col])
    return df, unconverted


def _per_unit(
    df: pd.DataFrame, min_share: float, min_value: float, members: dict[str, frozenset[str]]
) -> pd.DataFrame:
    """Indicators for every (unit, hs_level, hs_code, year) group.

    Works on integer keys (group id, exporter category code): at full BACI scale
    (millions of exporter rows) string keys would dominate the run time.
    """
    full_keys = ["unit", *KEY]
    gid = df.groupby(full_keys, sort=False, observed=True).ngroup().to_numpy()
    first = pd.Series(np.arange(len(df))).groupby(gid).first()
    lookup = df.iloc[first.to_numpy()][full_keys].reset_index(drop=True)
    n_groups = len(lookup)
    cats = df["exporter_iso3"].cat.categories
    n_cat = len(cats)
    ecode = df["exporter_iso3"].cat.codes.to_numpy().astype("int64")
    kcode = df["value_kind"].cat.codes.to_numpy()
    kcats = [str(c) for c in df["value_kind"].cat.categories]

    def is_kind(name: str) -> np.ndarray:
        return kcode == kcats.index(name) if name in kcats else np.zeros(len(kcode), bool)

    is_world = (cats == WORLD)[ecode] if n_cat else np.zeros(len(df), bool)
    value = df["value_usd"].to_numpy(float)
    qty = df["qty"].to_numpy(float)

    def per_group(keys: np.ndarray, vals: np.ndarray, how: str = "sum", fill: float = 0.0) -> np.ndarray:
        out = pd.Series(vals).groupby(keys).agg(how)
        return out.reindex(np.arange(n_groups)).fillna(fill).to_numpy(float)

    # Exporter-level rows: one per exporter (sum repeats, e.g. codes merged by a revision).
    sel = is_kind("value") & ~is_world
    vkey = gid[sel] * n_cat + ecode[sel]
    vq = pd.DataFrame({"k": vkey, "v": value[sel], "q": qty[sel]}).groupby("k", sort=True)
    val = pd.DataFrame({"v": vq["v"].sum(), "q": vq["q"].sum(min_count=1)}).reset_index()
    val["gid"], val["e"] = val["k"] // n_cat, val["k"] % n_cat
    vg, ve, vv = val["gid"].to_numpy(), val["e"].to_numpy(), val["v"].to_numpy(float)
    code_of = {iso: i for i, iso in enumerate(cats)}
    us_code, cn_code = code_of.get(USA, -1), code_of.get(CHN, -1)
    is_us, is_cn = ve == us_code, ve == cn_code

    tsel = is_kind("rank_only") & ~is_world
    tail = pd.DataFrame({"gid": gid[tsel], "e": ecode[tsel]}).drop_duplicates()
    wsel = is_kind("world_total")
    n_pub_raw = np.full(len(df), np.nan)
    if wsel.any():
        n_pub_raw[wsel] = pd.to_numeric(
            pd.Series(df["n_exporters"].to_numpy()[wsel]), errors="coerce"
        ).to_numpy(float)

    g = pd.DataFrame(index=np.arange(n_groups))
    g["sum_listed"] = per_group(vg, vv)
    W_pub = per_group(gid[wsel], value[wsel], "max", np.nan) if wsel.any() else np.full(n_groups, np.nan)
    n_pub = per_group(gid[wsel], n_pub_raw[wsel], "max", 0.0) if wsel.any() else np.zeros(n_groups)
    g["W"] = np.where(np.isnan(W_pub), g["sum_listed"], W_pub)
    g["US"] = per_group(vg[is_us], vv[is_us])
    cn_listed = per_group(vg[is_cn], np.ones(is_cn.sum()), "sum")
    g["CN"] = np.where(cn_listed > 0, per_group(vg[is_cn], vv[is_cn]), np.nan)
    g["NU"] = g["W"] - g["US"]
    g["T"] = np.maximum(min_share * g["NU"], min_value)

    nu = ~is_us
    ng, ne, nv = vg[nu], ve[nu], vv[nu]
    T_row = g["T"].to_numpy()[ng]
    g["k_above"] = per_group(ng, (nv >= T_row).astype(float))
    g["sumsq"] = per_group(ng, nv**2)
    NU = g["NU"].to_numpy()
    for col, iso in members.items():
        member = np.asarray(cats.isin(list(iso)))[ne] if iso else np.ones(len(ne), bool)
        s = per_group(ng[~member], nv[~member])
        g[f"share_outside_{col}"] = np.where((NU > 0) & bool(iso), s / np.where(NU > 0, NU, 1), np.nan)
    ent = np.asarray(cats.isin(ENTREPOTS))[ve]
    Wv = g["W"].to_numpy()
    g["entrepot_share"] = np.where(Wv > 0, per_group(vg[ent], vv[ent]) / np.where(Wv > 0, Wv, 1), np.nan)

    # Top suppliers (non-U.S.), shares of world exports.
    order = np.lexsort((-nv, ng))
    tg, te, tv = ng[order], ne[order], nv[order]
    pos = pd.Series(tg).groupby(tg).cumcount().to_numpy()
    keep = pos < TOP_K
    tg, te, tv = tg[keep], te[keep], tv[keep]
    iso_top = np.asarray(cats)[te].astype(str)
    pct = np.round(100 * tv / Wv[tg])
    labels = pd.Series(iso_top) + " " + pd.Series(pct).map(lambda x: "n/a" if np.isnan(x) else f"{x:.0f}%")
    # tg is sorted: split at group boundaries instead of a slow Python-level groupby.
    cuts = np.flatnonzero(np.diff(tg)) + 1
    heads = tg[np.r_[0, cuts]] if len(tg) else tg
    label_parts = np.split(labels.to_numpy(dtype=object), cuts) if len(tg) else []
    iso_parts = np.split(iso_top, cuts) if len(tg) else []
    g["top_suppliers"] = pd.Series(["; ".join(x) for x in label_parts], index=heads, dtype=object).reindex(
        g.index
    )
    g["top_suppliers_list"] = pd.Series([list(x) for x in iso_parts], index=heads, dtype=object).reindex(
        g.index
    )

    # Unit values: median non-U.S. v/q over U.S. v/q.
    vqq = val["q"].to_numpy(float)
    ok = (vqq > 0) & (vv > 0)
    uv = np.where(ok, vv / np.where(ok, vqq, 1), np.nan)
    us_uv = per_group(vg[ok & is_us], uv[ok & is_us], "first", np.nan)
    nonus_uv = per_group(vg[ok & ~is_us], uv[ok & ~is_us], "median", np.nan)
    g["unit_value_ratio"] = nonus_uv / us_uv

    # Exporter counts and the truncated tail.
    tgid, tcode = tail["gid"].to_numpy(), tail["e"].to_numpy()
    g["n_listed"] = per_group(vg, np.ones(len(vg))).astype("int64")
    g["m_tail"] = per_group(tgid, np.ones(len(tgid))).astype("int64")
    g["us_tail"] = per_group(tgid[tcode == us_code], np.ones(int((tcode == us_code).sum()))) > 0
    g["cn_tail"] = per_group(tgid[tcode == cn_code], np.ones(int((tcode == cn_code).sum()))) > 0
    g["n_exporters"] = np.maximum(g["n_listed"] + g["m_tail"], n_pub).astype("int64")
    g["vN"] = per_group(vg, vv, "min", np.nan)
    return _bounds(pd.concat([lookup, g], axis=1))


def _bounds(g: pd.DataFrame) -> pd.DataFrame:
    """Point values and lower/upper bounds (see the module docstring)."""
    W, NU, T = g["W"].to_numpy(float), g["NU"].to_numpy(float), g["T"].to_numpy(float)
    vN = g["vN"].fillna(0.0).to_numpy(float)
    R = np.clip(W - g["sum_listed"].to_numpy(float), 0, None)
    m = g["m_tail"].to_numpy(float) - g["us_tail"].to_numpy(float)
    us_cut = np.where(g["us_tail"].to_numpy(bool), np.minimum(vN, R), 0.0)
    R_lo, R_hi = np.clip(R - us_cut, 0, None), R
    bounded = g["m_tail"].to_numpy() > 0
    k = g["k_above"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo_tail = np.where((vN > T) & (R_lo > m * T), np.ceil((R_lo - m * T) / (vN - T)), 0.0)
        hi_tail = np.where(vN >= T, np.minimum(m, np.floor(R_hi / T)), 0.0)
        even = np.where(m > 0, R_lo**2 / np.where(m > 0, m, 1), 0.0)
        q = np.where(vN > 0, np.minimum(m, np.floor(R_hi / np.where(vN > 0, vN, 1))), 0.0)
        r = np.where(q < m, np.minimum(R_hi - q * vN, vN), 0.0)
        piled = q * vN**2 + r**2
        sumsq = g["sumsq"].to_numpy(float)
        nu2 = np.where(NU > 0, NU**2, np.nan)
        hhi_lo = (sumsq + np.where(bounded, even, 0.0)) / nu2
        hhi_hi = (sumsq + np.where(bounded, piled, 0.0)) / nu2
    lo_tail = np.clip(lo_tail, 0, np.maximum(m, 0))
    hi_tail = np.clip(hi_tail, 0, np.maximum(m, 0))
    g["n_non_us_suppliers_lo"] = (k + np.where(bounded, lo_tail, 0)).astype("int64")
    g["n_non_us_suppliers_hi"] = (k + np.where(bounded, hi_tail, 0)).astype("int64")
    g["n_non_us_suppliers"] = g["n_non_us_suppliers_lo"]
    g["hhi_non_us_lo"], g["hhi_non_us_hi"] = hhi_lo, hhi_hi
    g["hhi_non_us"] = g["hhi_non_us_hi"]
    g["is_bounded"] = bounded
    cn = g["CN"].to_numpy(float)
    cn_tail = g["cn_tail"].to_numpy(bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        cshare = np.where(W > 0, np.nan_to_num(cn) / W, np.nan)
        g["china_exports_usd"] = np.where(cn_tail, np.nan, np.nan_to_num(cn))
        g["china_share"] = np.where(cn_tail, np.nan, cshare)
        g["china_share_lo"] = np.where(cn_tail, 0.0, cshare)
        g["china_share_hi"] = np.where(cn_tail, np.minimum(vN, R) / W, cshare)
        g["non_us_share"] = np.where(W > 0, NU / W, np.nan)
    g["world_exports_usd"], g["us_exports_usd"], g["non_us_exports_usd"] = W, g["US"], NU
    return g


def _trend(chosen: pd.DataFrame) -> pd.DataFrame:
    """years_covered and the least-squares slope of non_us_share per year."""
    key = ["unit", "hs_level", "hs_code"]
    d = chosen[[*key, "year", "non_us_share"]].dropna(subset=["non_us_share"])
    x, y = d["year"].astype(float), d["non_us_share"].astype(float)
    agg = (
        d.assign(x=x, y=y, xx=x * x, xy=x * y)
        .groupby(key)
        .agg(n=("x", "size"), sx=("x", "sum"), sy=("y", "sum"), sxx=("xx", "sum"), sxy=("xy", "sum"))
    )
    den = agg["n"] * agg["sxx"] - agg["sx"] ** 2
    agg["non_us_share_trend"] = ((agg["n"] * agg["sxy"] - agg["sx"] * agg["sy"]) / den).where(
        (agg["n"] > 1) & (den > 0)
    )
    years = chosen.groupby(key)["year"].nunique().rename("years_covered")
    return agg[["non_us_share_trend"]].join(years, how="outer").reset_index()


def _conflicts(cands: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Overlapping candidates whose totals differ by more than ``tolerance``."""
    chosen = cands[cands["chosen"]].set_index(KEY)
    others = cands[~cands["chosen"]]
    rows = []
    for metric, col in (
        ("world_exports_usd", "W"),
        ("us_exports_usd", "US"),
        ("china_exports_usd", "china_exports_usd"),
    ):
        o = others[[*KEY, "unit", col]].join(chosen[["unit", col]].add_suffix("_c"), on=KEY)
        a, b = o[f"{col}_c"].astype(float), o[col].astype(float)
        denom = np.maximum(a.abs(), b.abs())
        rel = ((a - b).abs() / denom).where(denom > 0, 0.0)
        hit = o[rel > tolerance]
        rows.append(
            pd.DataFrame(
                {
                    "hs_code": hit["hs_code"],
                    "hs_level": hit["hs_level"],
                    "year": hit["year"],
                    "metric": metric,
                    "chosen_source": hit["unit_c"],
                    "chosen_value": a[hit.index],
                    "other_source": hit["unit"],
                    "other_value": b[hit.index],
                    "rel_diff": rel[hit.index],
                }
            )
        )
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=CONFLICT_COLUMNS)
    for col in ("chosen_source", "other_source"):
        out[col] = out[col].astype(str).map(_unit_label)
    return out[CONFLICT_COLUMNS].sort_values(["hs_level", "hs_code", "year", "metric"]).reset_index(drop=True)


def _unit_label(unit: str) -> str:
    """``"baci:V1|a.parquet"`` -> ``"baci:V1 (a.parquet)"``; ``"comtrade|"`` -> ``"comtrade"``."""
    source, _, file = unit.partition("|")
    return f"{source} ({file})" if file else source


def _compare_key(df: pd.DataFrame, concordance: hsrev.Concordance | None, target: str) -> pd.Series:
    """A product key comparable across sources: HS4 headings mapped to ``target``."""
    key = df["hs_level"].astype(str) + ":" + df["hs_code"].astype(str)
    if concordance is None:
        return key
    four = df["hs_level"] == 4
    out = key.copy()
    for rev in df.loc[four, "hs_version"].unique():
        sel = four & (df["hs_version"] == rev)
        try:
            hm = concordance.heading_map(rev, target)
        except InputError:
            continue
        main = hm[hm["is_main"]].set_index("hs4_from")["hs4_to"]
        mapped = df.loc[sel, "hs_code"].map(main).fillna(df.loc[sel, "hs_code"])
        out[sel] = "4:" + mapped
    return out


def _missing_major(
    df: pd.DataFrame,
    chosen: pd.DataFrame,
    concordance: hsrev.Concordance | None,
    target: str,
    partial_units: frozenset[str] = frozenset(),
) -> pd.Series:
    """Per chosen row, top-5 exporters of other sources absent from this source's data."""
    empty = pd.Series([[] for _ in range(len(chosen))], index=chosen.index, dtype=object)
    pkeys = ["unit", "hs_level", "hs_code", "hs_version"]
    # Work on the few (source, product) combinations first: only products that more
    # than one source covers can miss anything.
    combos = df[pkeys].drop_duplicates().astype({"unit": str, "hs_code": str, "hs_version": str})
    combos["ckey"] = _compare_key(combos, concordance, target)
    n_units = combos.groupby("ckey")["unit"].transform("nunique")
    combos = combos[n_units > 1]
    if combos.empty:
        return empty
    sub = df[df["hs_code"].isin(set(combos["hs_code"])) & (df["exporter_iso3"] != WORLD)]
    rows = sub[[*pkeys, "year", "exporter_iso3", "value_usd", "rank"]].astype(
        {"unit": str, "hs_code": str, "hs_version": str, "exporter_iso3": str}
    )
    rows = rows.merge(combos, on=pkeys, how="inner")
    # Top 5 per (unit, ckey, year): by rank where given, else by value.
    order = pd.to_numeric(rows["rank"], errors="coerce")
    vrank = rows.groupby(["unit", "ckey", "year"])["value_usd"].rank(ascending=False, method="first")
    rows["r"] = order.where(order.notna(), vrank)
    top = rows[rows["r"] <= TOP_K][["unit", "ckey", "exporter_iso3"]].drop_duplicates()
    top = top[~top["unit"].isin(partial_units)]  # a sample's "top 5" is not "major"
    ch = chosen[[*pkeys, "year"]].astype({"unit": str, "hs_code": str, "hs_version": str})
    ch["row"] = np.arange(len(chosen))
    ch = ch.merge(combos, on=pkeys, how="inner")
    # Top-5 exporters of the other units for the same product ...
    cand = ch[["row", "unit", "year", "ckey"]].merge(top.rename(columns={"unit": "other"}), on="ckey")
    cand = cand[cand["other"] != cand["unit"]]
    # ... that have no row at all in this unit for this product and year.
    have = rows[["unit", "ckey", "year", "exporter_iso3"]].drop_duplicates().assign(present=True)
    cand = cand.merge(have, on=["unit", "ckey", "year", "exporter_iso3"], how="left")
    miss = cand[cand["present"].isna()].drop_duplicates(["row", "exporter_iso3"])
    lists = miss.sort_values("exporter_iso3").groupby("row")["exporter_iso3"].agg(list)
    return pd.Series([lists.get(i, []) for i in range(len(chosen))], index=chosen.index, dtype=object)


# ------------------------------------------------------------------------------ API
def compute_availability(
    exports: pd.DataFrame,
    *,
    min_share: float = MIN_SHARE,
    min_value_usd: float = MIN_VALUE_USD,
    precedence: Sequence[str] = DEFAULT_PRECEDENCE,
    tolerance: float = CONFLICT_TOLERANCE,
    min_source_exporters: int = MIN_SOURCE_EXPORTERS,
    target_revision: str = hsrev.DEFAULT_TARGET,
    concordance: hsrev.Concordance | None = None,
) -> AvailabilityResult:
    """Compute ``availability_hs`` from an ``exports`` table (formulas: module docstring).

    Parameters
    ----------
    exports
        The tidy exporter-level table of ``ingest-trade`` (docs/CONTRACTS.md).
    min_share, min_value_usd
        Floors a non-U.S. exporter must reach to count as a supplier.
    precedence
        Source label prefixes, best first.
    tolerance
        Relative difference above which overlapping sources are reported.
    min_source_exporters
        A source file with fewer distinct exporters in a year is ``partial_source``:
        chosen only when nothing else covers the product and year, never used by
        :func:`indicators_for_links`.
    target_revision
        HS revision HS6 codes are converted to.
    concordance
        HS concordance; without it HS6 codes keep their revision (logged).

    Returns
    -------
    AvailabilityResult
        ``availability`` (columns :data:`OUTPUT_COLUMNS`), ``conflicts``
        (:data:`CONFLICT_COLUMNS`), ``unconverted`` HS codes, ``counts``.
    """
    if not 0 <= min_share < 1:
        raise InputError(f"min_share {min_share} must be in [0, 1), e.g. 0.01 for 1 %")
    if min_value_usd < 0:
        raise InputError(f"min_value_usd {min_value_usd} must be >= 0")
    target = hsrev.normalise_revision(target_revision)
    if exports.empty:
        raise InputError(
            "the exports table is empty; run `cclreview ingest-trade` with some trade files first"
        )
    df, unconverted = _prepare(exports, target, concordance)
    cands = _per_unit(df, min_share, min_value_usd, _membership())
    # Back to plain strings: the candidate table is small and is what users see.
    cands = cands.astype({"unit": str, "hs_code": str})
    src = cands["unit"].str.split("|", n=1)
    cands["source"], cands["source_file"] = src.str[0], src.str[1]
    cands["prec"] = source_rank(cands["source"], precedence)
    # Exporters a source file covers in a year, over all its products.
    real = df[df["exporter_iso3"] != WORLD]
    cover = (
        real.groupby(["unit", "year"], observed=True)["exporter_iso3"].nunique().rename("source_exporters")
    )
    cover = cover.reset_index().astype({"unit": str})
    cands = cands.merge(cover, on=["unit", "year"], how="left")
    cands["source_exporters"] = cands["source_exporters"].fillna(0).astype("int64")
    cands["partial_source"] = cands["source_exporters"] < min_source_exporters
    cands = cands.sort_values(
        [*KEY, "partial_source", "prec", "n_exporters", "source_file"],
        ascending=[True, True, True, True, True, False, True],
    )
    cands["n_sources_available"] = cands.groupby(KEY)["unit"].transform("nunique")
    cands["chosen"] = ~cands.duplicated(KEY)
    conflicts = _conflicts(cands, tolerance)
    chosen = cands[cands["chosen"]].copy()
    chosen = chosen.merge(_trend(chosen), on=["unit", "hs_level", "hs_code"], how="left")
    hv = df.drop_duplicates(["unit", *KEY])[["unit", *KEY, "hs_version", "hs_version_source"]]
    hv = hv.astype({"unit": str, "hs_code": str, "hs_version": str, "hs_version_source": str})
    chosen = chosen.merge(hv, on=["unit", *KEY], how="left")
    partial_units = frozenset(cover.loc[cover["source_exporters"] < min_source_exporters, "unit"])
    chosen["missing_major_exporters"] = _missing_major(df, chosen, concordance, target, partial_units)
    chosen["hs6"] = chosen["hs_code"].where(chosen["hs_level"] == 6)
    chosen["hs4"] = chosen["hs_code"].str[:4]
    chosen["top_suppliers"] = chosen["top_suppliers"].fillna("")
    chosen["top_suppliers_list"] = chosen["top_suppliers_list"].map(
        lambda x: list(x) if isinstance(x, list) else []
    )
    out = chosen[OUTPUT_COLUMNS].sort_values(KEY).reset_index(drop=True)
    out["years_covered"] = out["years_covered"].astype("Int64")
    out["n_exporters"] = out["n_exporters"].astype("int64")
    counts = {
        "rows": len(out),
        "candidates": len(cands),
        "conflicts": len(conflicts),
        "bounded_rows": int(out["is_bounded"].sum()),
        "rows_missing_major_exporters": int(out["missing_major_exporters"].map(len).gt(0).sum()),
        "unconverted_codes": len(unconverted),
        "partial_source_rows": int(out["partial_source"].sum()),
    }
    log.info("availability: %s", counts)
    return AvailabilityResult(out, conflicts, unconverted, counts)


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
    res = compute_availability(exports, concordance=conc, **kwargs)  # type: ignore[arg-type]
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


_AUTO = "auto"


def indicators_for_links(
    links_df: pd.DataFrame,
    availability_df: pd.DataFrame,
    concordance: hsrev.Concordance | str | None = _AUTO,
    year: int | None = None,
    precedence: Sequence[str] = DEFAULT_PRECEDENCE,
) -> pd.DataFrame:
    """One indicator row per ECCN-HS link: HS6 data if any, else the HS4 heading's.

    For each link (``eccn``, optional ``paragraph``, ``hs6`` in HS2022) the HS6 row of
    ``availability_df`` for that code is used when one exists: latest year (or
    ``year`` if given), then source precedence; ``granularity = "HS6"``. Otherwise the
    link's heading is looked up in each HS4 table: the HS2022 code is mapped to the
    table's revision with :meth:`~cclreview.trade.hsrev.Concordance.hs6_to_heading`
    (``hs4_table``, ``heading_status`` tells whether the heading changed between the
    revisions), the latest year wins, then precedence; ``granularity = "HS4"`` (an
    HS4 heading holds far more than the controlled item: weaker evidence). Rows from
    partial sources (``partial_source``, e.g. a two-exporter sample) are never used.
    Links with neither get ``granularity = None`` and empty indicators.

    Parameters
    ----------
    links_df
        ``eccn``, ``hs6`` and any other link columns (kept as they are).
    availability_df
        ``availability_hs`` as written by :func:`compute_availability`.
    concordance
        HS concordance for heading look-ups; ``"auto"`` loads the project's default
        file if present; ``None`` uses the code's first four digits (status
        ``"unchecked (no concordance)"``).

    Returns
    -------
    pandas.DataFrame
        One row per input link, same order: the link columns, then every
        availability column (names the links already use get the suffix ``_avail``),
        plus ``indicator_source`` and ``indicator_year`` (copies of the availability
        ``source`` and ``year``), ``granularity``, ``hs4_table``, ``heading_status``.
    """
    if "hs6" not in links_df.columns:
        raise InputError(f"links table lacks column hs6; found {list(links_df.columns)}")
    if isinstance(concordance, str):
        try:
            concordance = hsrev.load_concordance()
        except SourceMissingError:
            log.info("no HS concordance at the default path: headings matched on their first 4 digits")
            concordance = None
    links = links_df.copy()
    links["hs6"] = hsrev.pad_code(links["hs6"])
    links["_lid"] = np.arange(len(links))
    av = availability_df.copy()
    if "partial_source" in av.columns:
        av = av[~av["partial_source"].astype(bool)]
    if year is not None:
        av = av[av["year"] == year]
    av["_prec"] = source_rank(av["source"], precedence)
    av = av.sort_values(["year", "_prec"], ascending=[False, True])
    av["indicator_source"], av["indicator_year"] = av["source"], av["year"]
    av_cols = [c for c in av.columns if c not in ("hs6", "_prec")]

    six = av[av["hs_level"] == 6].drop_duplicates("hs_code")
    m6 = links[["_lid", "hs6"]].merge(six, left_on="hs6", right_on="hs_code", how="inner")
    m6["granularity"] = "HS6"
    m6["hs4_table"] = None
    m6["heading_status"] = None

    rest = links[~links["_lid"].isin(m6["_lid"])]
    four = av[av["hs_level"] == 4]
    parts = []
    for rev in four["hs_version"].unique():
        if concordance is not None:
            hmap = concordance.hs6_to_heading(rest["hs6"], rev)
        else:
            hmap = pd.DataFrame({"hs6": rest["hs6"].unique()})
            hmap["hs4_table"] = hmap["hs6"].str[:4]
            hmap["heading_status"] = "unchecked (no concordance)"
        lk = rest[["_lid", "hs6"]].merge(hmap, on="hs6", how="left")
        sub = four[four["hs_version"] == rev]
        parts.append(lk.merge(sub, left_on="hs4_table", right_on="hs_code", how="inner"))
    keep = ["_lid", *av_cols, "granularity", "hs4_table", "heading_status"]
    chosen = [m6[keep]]
    if parts:
        m4 = pd.concat(parts, ignore_index=True)
        m4 = m4.sort_values(["_lid", "year", "_prec"], ascending=[True, False, True]).drop_duplicates("_lid")
        m4["granularity"] = "HS4"
        chosen.append(m4[keep])
    both = (
        pd.concat([c for c in chosen if len(c)], ignore_index=True)
        if any(len(c) for c in chosen)
        else m6[keep]
    )
    out = links.merge(both, on="_lid", how="left", suffixes=("", "_avail"))
    out["granularity"] = out["granularity"].astype(object).where(out["granularity"].notna(), None)
    return out.sort_values("_lid").drop(columns="_lid").reset_index(drop=True)
