"""Data preparation for the sheets: joins and sorts, no decisions.

Every function returns a DataFrame in its final, deterministic row order (explicit
sort keys with a stable sort, ECCN as the last tie-breaker). Nothing here changes a
score, a rank or a tier: those come from ``scores.parquet`` as scoring wrote them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd

from cclreview.ccl.elements import CATEGORY_TITLES
from cclreview.report.carryover import PreviousWorkbook
from cclreview.report.inputs import ReportInputs

log = logging.getLogger(__name__)


_SHARE_ITEM = re.compile(r"^\s*([A-Z]{3})\s+([0-9.]+)\s*%\s*$")


def _join_list(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, list | tuple | np.ndarray):
        items = [str(v) for v in value if v is not None and str(v) != ""]
        return ", ".join(items) if items else None
    text = str(value).strip()
    return text or None


def category_label(category: Any, title: Any = None, eccn: str = "") -> str:
    """Return ``"3 Electronics"`` from a category number and optional title."""
    try:
        number = int(category)
    except (TypeError, ValueError):
        number = int(eccn[0]) if eccn[:1].isdigit() else -1
    if number < 0:
        return ""
    name = str(title).strip() if isinstance(title, str) and title.strip() else CATEGORY_TITLES.get(number, "")
    return f"{number} {name}".strip()


def _flags(row: pd.Series) -> str | None:
    """Compose the data-quality flags that scoring recorded for an ECCN."""
    parts = []
    gran = row.get("granularity")
    if isinstance(gran, str) and gran == "HS4":
        parts.append("HS4 heading only (no HS6 data)")
    bounded = row.get("is_bounded")
    if isinstance(bounded, bool | np.bool_) and bool(bounded):
        parts.append("supplier counts are bounds (rank-only data)")
    missing = _join_list(row.get("missing_major_exporters"))
    if missing:
        parts.append(f"missing major exporters: {missing}")
    return "; ".join(parts) or None


def candidates_frame(inputs: ReportInputs, annotations: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return one row per ECCN, ranked, with everything the Candidates sheet shows.

    Parameters
    ----------
    inputs
        The loaded inputs.
    annotations
        ``eccn, decision, notes`` carried over from a previous workbook.
    """
    scores = inputs.scores.copy()
    scores["eccn"] = scores["eccn"].astype(str)
    entry_cols = [
        c
        for c in ("eccn", "heading", "category", "category_title", "reasons", "chart_columns", "reserved")
        if c in inputs.entries.columns
    ]
    entries = inputs.entries[entry_cols].drop_duplicates("eccn").copy()
    entries["eccn"] = entries["eccn"].astype(str)
    extra = sorted(set(entries["eccn"]) - set(scores["eccn"]))
    if extra:
        log.warning("%d ECCNs of ccl_entries have no score; listed unranked: %s", len(extra), extra[:10])
        scores = pd.concat([scores, pd.DataFrame({"eccn": extra, "tier": "not scored"})], ignore_index=True)
    df = scores.merge(entries, on="eccn", how="left", suffixes=("", "_entry"))
    if "heading_entry" in df.columns:
        df["heading"] = df["heading"].fillna(df["heading_entry"])
    df["category_label"] = [
        category_label(c, t, e)
        for c, t, e in zip(
            df["category"] if "category" in df.columns else [None] * len(df),
            df["category_title"] if "category_title" in df.columns else [None] * len(df),
            df["eccn"],
            strict=True,
        )
    ]
    df["reasons_text"] = [_join_list(v) for v in df["reasons"]] if "reasons" in df.columns else None
    df["flags"] = [_flags(r) for _, r in df.iterrows()]
    if inputs.sensitivity is not None and len(inputs.sensitivity):
        sens = inputs.sensitivity.copy()
        sens["eccn"] = sens["eccn"].astype(str)
        keep = [c for c in ("eccn", "median_rank", "rank_p05", "rank_p95", "p_top25") if c in sens.columns]
        df = df.merge(sens[keep].drop_duplicates("eccn"), on="eccn", how="left")
        if {"rank_p05", "rank_p95"} <= set(df.columns):
            df["rank_interval"] = [
                f"{round(lo)}-{round(hi)}" if pd.notna(lo) and pd.notna(hi) else None
                for lo, hi in zip(df["rank_p05"], df["rank_p95"], strict=True)
            ]
    # Relative link to the dossier page (reports/dossier/ beside the workbook); file names
    # follow cclreview.dossier.context.page_name.
    df["dossier"] = ["dossier/" + re.sub(r"[^A-Za-z0-9._-]", "_", str(e)) + ".html" for e in df["eccn"]]
    df["reviewer_decision"] = None
    df["reviewer_notes"] = None
    if annotations is not None and len(annotations):
        ann = annotations.set_index("eccn")
        df["reviewer_decision"] = df["eccn"].map(ann["decision"]).replace("", None)
        df["reviewer_notes"] = df["eccn"].map(ann["notes"]).replace("", None)
    df["_rank"] = pd.to_numeric(df["rank"], errors="coerce")
    df = df.sort_values(["_rank", "eccn"], na_position="last", kind="stable").drop(columns="_rank")
    return df.reset_index(drop=True)


def score_format(scores: pd.Series) -> str:
    """Number format for scores: three decimals on a 0-1 scale, one on 0-100."""
    values = pd.to_numeric(scores, errors="coerce")
    return "0.0" if values.notna().any() and values.max() > 1.0 + 1e-9 else "0.000"


def _latest_indicator_rows(avail: pd.DataFrame) -> tuple[dict[str, dict], dict[str, dict]]:
    """Latest-year availability row per HS6 code and per HS4 heading."""
    df = avail.copy()
    if "hs_code" not in df.columns:
        df["hs_code"] = df.get("hs6")
    if "hs_level" not in df.columns:
        df["hs_level"] = 6
    df["hs_code"] = df["hs_code"].astype(str)
    df = df.sort_values(["hs_code", "hs_level", "year"], ascending=[True, True, False], kind="stable")
    latest = df.drop_duplicates(["hs_code", "hs_level"], keep="first")
    by6 = {r["hs_code"]: r for r in latest[latest["hs_level"] == 6].to_dict("records")}
    by4 = {r["hs_code"]: r for r in latest[latest["hs_level"] == 4].to_dict("records")}
    return by6, by4


def parse_top_suppliers(text: Any) -> list[tuple[str, float]]:
    """Parse ``"CHN 41%; DEU 12%"`` into ``[("CHN", 0.41), ("DEU", 0.12)]``."""
    if not isinstance(text, str):
        return []
    out = []
    for item in text.split(";"):
        m = _SHARE_ITEM.match(item)
        if m:
            out.append((m.group(1), float(m.group(2)) / 100.0))
    return out


EVIDENCE_COLUMNS = [
    "eccn", "paragraph", "hs_code", "hs_level", "hs_version_source", "link_source", "link_confidence",
    "specificity", "weight_share", "used", "year", "supplier", "supplier_rank", "producer", "value_usd",
    "share", "unit_value_ratio", "comparable_quality", "data_source", "basis", "source_url",
]  # fmt: skip

BASIS_EXPORTS = "exports.parquet: supplier's exports to the world"
BASIS_TOP = "availability top_suppliers: share only"
BASIS_NONE = "no trade data for this HS code"
BASIS_SUPPLY = "evidence.parquet: supply-side market share"


def _used_text(used: Any, why: Any) -> str:
    """``yes`` or ``no: <why>`` for the Evidence sheet."""
    if bool(used) and used == used:
        return "yes"
    return f"no: {why}" if isinstance(why, str) and why else "no"


def evidence_frame(inputs: ReportInputs, max_suppliers: int = 10, max_links: int = 5) -> pd.DataFrame:
    """Return one row per ECCN x HS code x supplier country (see the Method sheet).

    The links and the indicator rows are those scoring used, read from
    ``eccn_hs_indicators.parquet`` (one owner for that decision): each row says
    whether the link counted, its share of the ECCN's weight and the HS code, level,
    revision, year and source of the data behind it. Suppliers are the
    ``max_suppliers`` largest non-U.S. exporters of that code, year and source in
    ``exports.parquet``; without it, the shares in the ``top_suppliers`` text. Only
    the ``max_links`` heaviest links per ECCN are shown (0 = all). Supply-side
    evidence rows are appended.
    """
    frames: list[pd.DataFrame] = []
    ind = inputs.indicators
    if ind is not None and len(ind):
        links = ind.copy()
        links["eccn"] = links["eccn"].astype(str)
        links["_w"] = pd.to_numeric(links["weight"], errors="coerce").fillna(0.0)
        links = links.sort_values(["eccn", "_w", "hs6"], ascending=[True, False, True], kind="stable")
        if max_links > 0:
            links = links[links.groupby("eccn", sort=False).cumcount() < max_links]
        base_rows = []
        for rec in links.to_dict("records"):
            has = isinstance(rec.get("hs_code"), str) and rec["hs_code"] != ""
            base_rows.append(
                {
                    "eccn": rec["eccn"],
                    "paragraph": rec.get("paragraph") or None,
                    "hs_code": rec["hs_code"] if has else rec["hs6"],
                    "hs_level": int(rec["hs_level"]) if has else 6,
                    "hs_version_source": rec.get("hs_version_source") if has else None,
                    "link_source": rec.get("link_source"),
                    "link_confidence": rec.get("confidence"),
                    "specificity": rec.get("specificity"),
                    "weight_share": rec.get("weight_share"),
                    "used": _used_text(rec.get("used"), rec.get("why_not_used")),
                    "link_rank": rec["_w"],
                    "year": int(rec["year"]) if has and rec.get("year") == rec.get("year") else None,
                    "data_source": rec.get("source") if has else None,
                    "_world": rec.get("world_exports_usd") if has else None,
                    "_top": rec.get("top_suppliers") if has else None,
                    "_has": has,
                }
            )
        base = pd.DataFrame(base_rows)
        suppliers = _supplier_rows(inputs.exports, base, max_suppliers, inputs.availability)
        rows = []
        for rec in base.to_dict("records"):
            key = (rec["hs_code"], rec["hs_level"], rec["year"], rec["data_source"])
            sup = suppliers.get(key) if rec["_has"] else None
            if sup:
                for s in sup:
                    rows.append({**rec, **s, "basis": BASIS_EXPORTS})
            elif rec["_has"] and parse_top_suppliers(rec["_top"]):
                for i, (iso, share) in enumerate(parse_top_suppliers(rec["_top"]), start=1):
                    rows.append(
                        {**rec, "supplier": iso, "supplier_rank": i, "share": share, "basis": BASIS_TOP}
                    )
            else:
                rows.append({**rec, "basis": BASIS_NONE})
        frames.append(pd.DataFrame(rows))
    if inputs.evidence is not None and len(inputs.evidence):
        frames.append(_supply_side_rows(inputs))
    if not frames:
        return pd.DataFrame(columns=EVIDENCE_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    for col in EVIDENCE_COLUMNS:
        if col not in df.columns:
            df[col] = None
    basis_order = {BASIS_EXPORTS: 0, BASIS_TOP: 1, BASIS_SUPPLY: 2, BASIS_NONE: 3}
    df["_b"] = df["basis"].map(basis_order)
    df["_lr"] = -pd.to_numeric(df.get("link_rank"), errors="coerce")
    df["_sr"] = pd.to_numeric(df["supplier_rank"], errors="coerce")
    df = df.sort_values(
        ["eccn", "_lr", "hs_code", "_b", "_sr", "supplier"], na_position="last", kind="stable"
    )
    return df[EVIDENCE_COLUMNS].reset_index(drop=True)


def _supplier_rows(
    exports: pd.DataFrame | None,
    base: pd.DataFrame,
    max_suppliers: int,
    availability: pd.DataFrame | None = None,
) -> dict[tuple, list[dict]]:
    """Top non-U.S. suppliers per (hs_code, hs_level, year, source) from exports, from
    one input file each (see :func:`_one_file`)."""
    if exports is None or base.empty or not base["_has"].any():
        return {}
    wanted = base[base["_has"]][["hs_code", "hs_level", "year", "data_source", "_world"]].drop_duplicates(
        ["hs_code", "hs_level", "year", "data_source"]
    )
    ex = exports.copy()
    ex["hs6"] = ex["hs6"].astype(str)
    if "hs_level" not in ex.columns:
        ex["hs_level"] = 6
    ex = ex.merge(
        wanted,
        left_on=["hs6", "hs_level", "year", "source"],
        right_on=["hs_code", "hs_level", "year", "data_source"],
        how="inner",
    )
    if ex.empty:
        return {}
    keys = ["hs_code", "hs_level", "year", "data_source"]
    ex = _one_file(ex, keys, availability)
    if "qty" not in ex.columns:
        ex["qty"] = np.nan
    if "rank" not in ex.columns:
        ex["rank"] = np.nan
    value = pd.to_numeric(ex["value_usd"], errors="coerce")
    qty = pd.to_numeric(ex["qty"], errors="coerce")
    ex["_uv"] = np.where((qty > 0) & value.notna(), value / qty.where(qty > 0), np.nan)
    us = ex[ex["exporter_iso3"] == "USA"].groupby(keys)["_uv"].first().rename("_us_uv")
    ex = ex[ex["exporter_iso3"] != "USA"].merge(us, left_on=keys, right_index=True, how="left")
    ex["value_usd"] = pd.to_numeric(ex["value_usd"], errors="coerce")
    world = pd.to_numeric(ex["_world"], errors="coerce")
    ex["share"] = np.where(world > 0, ex["value_usd"] / world.where(world > 0), np.nan)
    ex["unit_value_ratio"] = np.where(ex["_us_uv"] > 0, ex["_uv"] / ex["_us_uv"], np.nan)
    # Valued rows by value, then rank-only rows by their published rank.
    ex["_v"] = ex["value_usd"].fillna(-1.0)
    ex = ex.sort_values([*keys, "_v", "rank", "exporter_iso3"], ascending=[True] * 4 + [False, True, True])
    ex["supplier_rank"] = ex.groupby(keys, sort=False).cumcount() + 1
    ex = ex[ex["supplier_rank"] <= max_suppliers]
    out: dict[tuple, list[dict]] = {}
    for rec in ex.to_dict("records"):
        key = (rec["hs_code"], int(rec["hs_level"]), int(rec["year"]), rec["data_source"])
        out.setdefault(key, []).append(
            {
                "supplier": rec["exporter_iso3"],
                "supplier_rank": rec["supplier_rank"],
                "value_usd": rec["value_usd"],
                "share": rec["share"],
                "unit_value_ratio": rec["unit_value_ratio"],
            }
        )
    return out


def _one_file(ex: pd.DataFrame, keys: list[str], availability: pd.DataFrame | None) -> pd.DataFrame:
    """The export rows of one input file per code, year and source.

    The same flows can arrive twice under one source label (BACI as Parquet and as CSV);
    listing both would show every supplier twice. The file is the one the availability
    stage chose (``source_file`` of ``availability_hs.parquet``, the owner of that
    choice), else the first by name.
    """
    if "source_file" not in ex.columns:
        return ex
    ex = ex.assign(source_file=ex["source_file"].astype(str))
    cols = ["hs_code", "hs_level", "year", "source", "source_file"]
    if availability is not None and set(cols) <= set(availability.columns):
        chosen = availability[cols].rename(columns={"source": "data_source", "source_file": "_chosen"})
        chosen = chosen.astype({"hs_code": str, "hs_level": "int64", "year": "int64", "_chosen": str})
        ex = ex.astype({"hs_level": "int64", "year": "int64"}).merge(chosen, on=keys, how="left")
    else:
        ex["_chosen"] = ""
    group = [ex[k] for k in keys]
    is_chosen = ex["source_file"] == ex["_chosen"]
    first = ex.groupby(group)["source_file"].transform("min")
    keep = is_chosen.where(is_chosen.groupby(group).transform("any"), ex["source_file"] == first)
    return ex[keep.astype(bool)].drop(columns="_chosen")


def _supply_side_rows(inputs: ReportInputs) -> pd.DataFrame:
    assert inputs.evidence is not None  # callers check
    ev = inputs.evidence.copy()
    if "eccn" not in ev.columns:
        ev["eccn"] = None
    if "hs6" not in ev.columns:
        ev["hs6"] = None
    # Evidence given per HS6 applies to every ECCN linked to that HS6.
    linked = pd.DataFrame(columns=["eccn", "hs6"])
    if inputs.links is not None and len(inputs.links):
        linked = inputs.links[["eccn", "hs6"]].astype(str).drop_duplicates()
    direct = ev[ev["eccn"].notna()]
    via_hs = ev[ev["eccn"].isna() & ev["hs6"].notna()].drop(columns="eccn")
    via_hs = via_hs.assign(hs6=via_hs["hs6"].astype(str)).merge(linked, on="hs6", how="inner")
    ev = pd.concat([direct, via_hs], ignore_index=True)
    out = pd.DataFrame(
        {
            "eccn": ev["eccn"].astype(str),
            "paragraph": None,
            "hs_code": ev["hs6"],
            "hs_level": ev["hs6"].notna().map({True: 6, False: None}),
            "link_source": "supply-side evidence",
            "year": ev.get("year"),
            "supplier": ev.get("country_iso3"),
            "producer": ev.get("producer"),
            "share": ev.get("share"),
            "comparable_quality": ev.get("comparable_quality"),
            "data_source": ev.get("source"),
            "source_url": ev.get("source_url"),
            "basis": BASIS_SUPPLY,
        }
    )
    if "item" in ev.columns:
        out["producer"] = [
            f"{p} ({i})" if isinstance(p, str) and p else (i if isinstance(i, str) else None)
            for p, i in zip(out["producer"], ev["item"], strict=True)
        ]
    out["_s"] = pd.to_numeric(out["share"], errors="coerce").fillna(-1)
    out = out.sort_values(["eccn", "_s", "supplier"], ascending=[True, False, True], na_position="last")
    out["supplier_rank"] = out.groupby("eccn", sort=False).cumcount() + 1
    return out.drop(columns="_s")


_SUGGESTED_CODE = re.compile(r"\b(\d{6})\b")


def _money(v: Any) -> str:
    v = float(v)
    return f"${v / 1e9:.1f}bn" if v >= 1e9 else f"${v / 1e6:.0f}m"


def evidence_preview(suggestions: Any, by6: dict[str, dict], by4: dict[str, dict], n: int = 3) -> str | None:
    """What confirming the first ``n`` suggested codes would bring, from availability_hs.

    ``"848620: HS6 2023 world $12.3bn, non-US 85%, 14 suppliers (CHN 30%; JPN 20%)"``,
    one part per code, the HS4 heading's row when the code has no HS6 data, and
    "no trade data" otherwise. Suggestions are never evidence until confirmed.
    """
    if not isinstance(suggestions, str) or not suggestions.strip():
        return None
    parts = []
    for code in _SUGGESTED_CODE.findall(suggestions)[:n]:
        row, level = by6.get(code), "HS6"
        if row is None:
            row, level = by4.get(code[:4]), f"HS4 {code[:4]}"
        if row is None or pd.isna(row.get("world_exports_usd")):
            parts.append(f"{code}: no trade data")
            continue
        share = row.get("non_us_share")
        text = f"{code}: {level} {int(row['year'])} world {_money(row['world_exports_usd'])}"
        if share is not None and not pd.isna(share):
            text += f", non-US {float(share):.0%}"
        if not pd.isna(row.get("n_non_us_suppliers", np.nan)):
            text += f", {int(row['n_non_us_suppliers'])} suppliers"
        top = parse_top_suppliers(row.get("top_suppliers"))[:2]
        if top:
            text += " (" + "; ".join(f"{c} {v:.0%}" for c, v in top) + ")"
        parts.append(text)
    return " | ".join(parts) or None


def unlinked_frame(inputs: ReportInputs, cands: pd.DataFrame) -> pd.DataFrame | None:
    """ECCNs without confirmed links (from unlinked_eccns.csv) with their category and tier,
    and a preview of the evidence their best suggestions would bring once confirmed."""
    if inputs.unlinked is None:
        return None
    df = inputs.unlinked.copy()
    df["eccn"] = df["eccn"].astype(str)
    if inputs.availability is not None and "suggestions" in df.columns:
        by6, by4 = _latest_indicator_rows(inputs.availability)
        df["evidence_preview"] = [evidence_preview(s, by6, by4) for s in df["suggestions"]]
    else:
        df["evidence_preview"] = None
    info = cands[["eccn", "category_label", "tier", "rank"]]
    if "heading" not in df.columns:
        df = df.merge(cands[["eccn", "heading"]], on="eccn", how="left")
    df = df.merge(info, on="eccn", how="left")
    return df.sort_values(["eccn"], kind="stable").reset_index(drop=True)


def guardrails_frame(cands: pd.DataFrame) -> pd.DataFrame:
    """Entries scoring marked guardrail or gave a guardrail reason, by rank."""
    reason = (
        cands["guardrail_reason"]
        if "guardrail_reason" in cands.columns
        else pd.Series(None, index=cands.index)
    )
    has_reason = reason.fillna("").astype(str).str.strip() != ""
    mask = (cands["tier"] == "guardrail") | has_reason
    return cands[mask].reset_index(drop=True)


def sensitivity_frame(inputs: ReportInputs, cands: pd.DataFrame) -> pd.DataFrame | None:
    """Sensitivity rows joined with heading, tier and rank, by rank then ECCN."""
    if inputs.sensitivity is None:
        return None
    sens = inputs.sensitivity.copy()
    sens["eccn"] = sens["eccn"].astype(str)
    df = sens.merge(cands[["eccn", "heading", "tier", "rank"]], on="eccn", how="left")
    if {"rank_p05", "rank_p95"} <= set(df.columns):
        df["interval_width"] = pd.to_numeric(df["rank_p95"]) - pd.to_numeric(df["rank_p05"])
    for kind in ("links", "data", "weights"):
        if {f"rank_p05_{kind}", f"rank_p95_{kind}"} <= set(df.columns):
            df[f"width_{kind}"] = pd.to_numeric(df[f"rank_p95_{kind}"]) - pd.to_numeric(
                df[f"rank_p05_{kind}"]
            )
    df["_r"] = pd.to_numeric(df["rank"], errors="coerce")
    return (
        df.sort_values(["_r", "eccn"], na_position="last", kind="stable")
        .drop(columns="_r")
        .reset_index(drop=True)
    )


CHANGE_ORDER = ("new ECCN", "removed ECCN (annotation kept)", "removed ECCN", "tier changed", "rank changed")


def changes_frame(cands: pd.DataFrame, previous: PreviousWorkbook | None) -> pd.DataFrame:
    """Rank/tier changes, new and removed ECCNs, and annotations of removed ECCNs.

    Annotations of ECCNs that still exist go to the Candidates sheet; they are also
    shown here beside each change of that ECCN.
    """
    cols = [
        "change", "eccn", "heading", "prev_rank", "new_rank", "rank_change", "prev_tier", "new_tier",
        "prev_decision", "prev_notes", "carried_to",
    ]  # fmt: skip
    if previous is None:
        return pd.DataFrame(columns=cols)
    prev = previous.ranks.set_index("eccn")
    ann = previous.annotations.set_index("eccn") if len(previous.annotations) else None
    new = cands.set_index("eccn")
    rows: list[dict[str, Any]] = []

    def annotation(eccn: str) -> tuple[str | None, str | None]:
        if ann is None or eccn not in ann.index:
            return None, None
        return ann.at[eccn, "decision"] or None, ann.at[eccn, "notes"] or None

    def num(v: Any) -> float | None:
        v = pd.to_numeric(v, errors="coerce")
        return None if pd.isna(v) else float(v)

    for eccn in sorted(set(new.index) - set(prev.index)):
        rows.append({"change": "new ECCN", "eccn": eccn, "heading": new.at[eccn, "heading"],
                     "new_rank": num(new.at[eccn, "rank"]), "new_tier": new.at[eccn, "tier"]})  # fmt: skip
    gone = set(prev.index) - set(new.index)
    orphan_eccns = set(ann.index) - set(new.index) if ann is not None else set()
    for eccn in sorted(gone | orphan_eccns):
        decision, notes = annotation(eccn)
        in_prev = eccn in prev.index
        rows.append(
            {
                "change": "removed ECCN (annotation kept)" if (decision or notes) else "removed ECCN",
                "eccn": eccn,
                "heading": prev.at[eccn, "heading"] if in_prev else None,
                "prev_rank": num(prev.at[eccn, "rank"]) if in_prev else None,
                "prev_tier": prev.at[eccn, "tier"] if in_prev else None,
                "prev_decision": decision,
                "prev_notes": notes,
                "carried_to": "kept on this sheet (ECCN not in the new list)"
                if (decision or notes)
                else None,
            }
        )
    for eccn in sorted(set(new.index) & set(prev.index)):
        decision, notes = annotation(eccn)
        carried = "Candidates" if (decision or notes) else None
        p_rank, n_rank = num(prev.at[eccn, "rank"]), num(new.at[eccn, "rank"])
        p_tier, n_tier = prev.at[eccn, "tier"] or None, new.at[eccn, "tier"]
        base = {"eccn": eccn, "heading": new.at[eccn, "heading"], "prev_rank": p_rank, "new_rank": n_rank,
                "rank_change": (p_rank - n_rank) if p_rank is not None and n_rank is not None else None,
                "prev_tier": p_tier, "new_tier": n_tier, "prev_decision": decision, "prev_notes": notes,
                "carried_to": carried}  # fmt: skip
        if (p_tier or "") != (n_tier or ""):
            rows.append({**base, "change": "tier changed"})
        if p_rank != n_rank:
            rows.append({**base, "change": "rank changed"})
    df = pd.DataFrame(rows, columns=cols)
    df["_c"] = df["change"].map({c: i for i, c in enumerate(CHANGE_ORDER)})
    df["_a"] = -pd.to_numeric(df["rank_change"], errors="coerce").abs()
    df = df.sort_values(["_c", "_a", "eccn"], na_position="last", kind="stable")
    return df.drop(columns=["_c", "_a"]).reset_index(drop=True)
