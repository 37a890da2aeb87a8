"""Indicator kernels: one row per (source unit, HS level, HS code, year).

Vectorised on integer keys (group id, exporter category code): at full BACI scale
(millions of exporter rows) string keys would dominate the run time. Formulas: the
docstring of :mod:`cclreview.indicators`.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from cclreview.indicators.bounds import add_bounds
from cclreview.indicators.schema import CHN, ENTREPOTS, KEY, REGIME_COLUMNS, TOP_K, USA, WORLD

log = logging.getLogger(__name__)


def membership() -> dict[str, frozenset[str]]:
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


def per_unit(
    df: pd.DataFrame,
    min_share: float,
    min_value: float,
    members: dict[str, frozenset[str]],
    min_qty: float = 0.0,
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
        per: np.ndarray = out.reindex(np.arange(n_groups)).fillna(fill).to_numpy(float)
        return per

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

    # Unit values: non-U.S. sum(v)/sum(q) over U.S. v/q, over exporters reporting both;
    # either side below min_qty tonnes gives no ratio (a few tonnes cannot make one).
    vqq = val["q"].to_numpy(float)
    ok = (vqq > 0) & (vv > 0)
    us_v = per_group(vg[ok & is_us], vv[ok & is_us])
    us_q = per_group(vg[ok & is_us], vqq[ok & is_us])
    nu_v = per_group(vg[ok & ~is_us], vv[ok & ~is_us])
    nu_q = per_group(vg[ok & ~is_us], vqq[ok & ~is_us])
    enough = (us_q >= max(min_qty, 1e-12)) & (nu_q >= max(min_qty, 1e-12))
    with np.errstate(divide="ignore", invalid="ignore"):
        g["unit_value_ratio"] = np.where(enough, (nu_v / nu_q) / (us_v / us_q), np.nan)
    g["unit_value_qty_tonnes"] = np.where(enough, np.minimum(us_q, nu_q), np.nan)

    # Exporter counts and the truncated tail.
    tgid, tcode = tail["gid"].to_numpy(), tail["e"].to_numpy()
    g["n_listed"] = per_group(vg, np.ones(len(vg))).astype("int64")
    g["m_tail"] = per_group(tgid, np.ones(len(tgid))).astype("int64")
    g["us_tail"] = per_group(tgid[tcode == us_code], np.ones(int((tcode == us_code).sum()))) > 0
    g["cn_tail"] = per_group(tgid[tcode == cn_code], np.ones(int((tcode == cn_code).sum()))) > 0
    g["n_exporters"] = np.maximum(g["n_listed"] + g["m_tail"], n_pub).astype("int64")
    g["vN"] = per_group(vg, vv, "min", np.nan)
    return add_bounds(pd.concat([lookup, g], axis=1))
