"""Page sections drawn from trade data: top suppliers, shares by year, U.S. focus exports.

Each function reads the lookups of :mod:`cclreview.dossier.indexes` and
:mod:`cclreview.dossier.data` for one ECCN and returns the plain dict or list the
template formats (``None`` when there is nothing to show).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from cclreview.dossier import svg
from cclreview.dossier.data import DossierInputs, is_missing
from cclreview.dossier.indexes import FOCUS_IMPORTERS

#: Non-U.S. supplier bars shown at most (China and the U.S. are added when not among them).
MAX_BARS = 10


def fmt_usd(value: Any) -> str:
    """``$1.2B``-style amount; ``n/a`` when missing."""
    if is_missing(value):
        return "n/a"
    v = float(value)
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"${v / div:.1f}{unit}"
    return f"${v:,.0f}"


def supplier_section(
    link_ind: list[dict[str, Any]],
    exports: dict[tuple[str, int, int, str], dict[str, float | None]],
    avail: dict[tuple[str, int], list[dict[str, Any]]],
    inputs: DossierInputs,
    regimes: list[str],
) -> dict[str, Any] | None:
    """Top non-U.S. suppliers, the U.S. and China, summed over the links of one table.

    ``link_ind`` holds the indicator rows of one ECCN's links (see
    :func:`~cclreview.dossier.indexes.link_indicators`).
    """
    inds = [r for r in link_ind if not is_missing(r.get("hs_code"))]
    if not inds:
        return None
    groups: dict[tuple[int, int, str], dict[str, float]] = {}
    for r in inds:
        if is_missing(r.get("_year")) or is_missing(r.get("_source")):
            continue
        key = (int(r["hs_level"]), int(r["_year"]), str(r["_source"]))
        g = groups.setdefault(key, {})
        g[str(r["hs_code"])] = float(r.get("world_exports_usd") or 0.0)
    if not groups:
        return None
    # The table (level, year, source) that covers the most world trade of the links.
    (level, year, source), codes = max(groups.items(), key=lambda kv: (sum(kv[1].values()), kv[0][1]))
    totals: dict[str, float] = defaultdict(float)
    rank_only: set[str] = set()
    for code in sorted(codes):
        for iso, v in exports.get((code, level, year, source), {}).items():
            if v is None:
                rank_only.add(iso)
            else:
                totals[iso] += v
    world = sum(codes.values()) or sum(totals.values())
    basis = "exports.parquet"
    if not totals:
        # No exporter rows: fall back to the shares in the availability rows.
        basis = "availability top_suppliers (shares only)"
        for code in sorted(codes):
            for r in avail.get((code, level), []):
                if r.get("year") == year and r.get("source") == source:
                    for item in str(r.get("top_suppliers") or "").split(";"):
                        m = re.match(r"^\s*([A-Z]{3})\s+([0-9.]+)\s*%", item)
                        if m:
                            totals[m.group(1)] += float(m.group(2)) / 100.0 * codes[code]
    if not totals:
        return None
    members: set[str] = set()
    for reg in regimes:
        members |= set(inputs.regime_members.get(reg, ()))
    ranked = sorted(((v, iso) for iso, v in totals.items() if iso != "USA"), key=lambda t: (-t[0], t[1]))
    chosen = [iso for _, iso in ranked[:MAX_BARS]]
    for extra in ("CHN", "USA"):
        if extra in totals and extra not in chosen:
            chosen.append(extra)
    bars = []
    for iso in chosen:
        v = totals[iso]
        bars.append(
            {
                "iso": iso,
                "name": inputs.country_names.get(iso, iso),
                "value": v,
                "share": v / world if world else None,
                "kind": "us" if iso == "USA" else ("china" if iso == "CHN" else "other"),
                "member": iso in members,
            }
        )
    return {
        "bars": bars,
        "svg": svg.bar_chart(bars),
        "year": year,
        "source": source,
        "level": f"HS{level}",
        "codes": sorted(codes),
        "world": fmt_usd(world),
        "basis": basis,
        "n_rank_only": len(rank_only - set(totals)),
        "regimes": regimes,
        "n_non_us": sum(1 for iso in totals if iso != "USA"),
    }


def years_section(
    links: list[dict[str, Any]], avail: dict[tuple[str, int], list[dict[str, Any]]]
) -> dict[str, Any] | None:
    """China's share and the U.S. share of world exports per year and source (``links``: one ECCN's)."""
    codes6 = {str(r["hs6"]) for r in links if not is_missing(r.get("hs6"))}
    if not codes6:
        return None
    keys = [(c, 6) for c in sorted(codes6)] + [(c, 4) for c in sorted({c[:4] for c in codes6})]
    sums: dict[tuple[str, int], dict[str, float]] = {}
    seen: set[tuple[str, int, int, str]] = set()
    for key in keys:
        for r in avail.get(key, []):
            ident = (key[0], key[1], int(r["year"]), str(r.get("source")))
            if ident in seen:
                continue
            seen.add(ident)
            acc = sums.setdefault((str(r.get("source")), int(r["year"])), defaultdict(float))
            acc["world"] += float(r.get("world_exports_usd") or 0.0)
            acc["us"] += float(r.get("us_exports_usd") or 0.0)
            acc["china"] += float(r.get("china_exports_usd") or 0.0)
            acc["n_codes"] += 1
    rows = []
    for (source, year), acc in sorted(sums.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if acc["world"] <= 0:
            continue
        rows.append(
            {
                "year": year,
                "source": source,
                "world": fmt_usd(acc["world"]),
                "us_usd": fmt_usd(acc["us"]),
                "china_share": acc["china"] / acc["world"],
                "us_share": acc["us"] / acc["world"],
                "n_codes": int(acc["n_codes"]),
            }
        )
    if not rows:
        return None
    # One year is a table row, not a chart.
    multi = len({r["year"] for r in rows}) > 1
    return {"rows": rows, "svg": svg.year_chart(rows) if multi else ""}


def focus_section(
    links: list[dict[str, Any]], us_focus: dict[str, dict[tuple[int, str], float]] | None
) -> list[dict[str, Any]] | None:
    """U.S. exports of the linked HS6 codes to China and the other focus destinations."""
    if us_focus is None:
        return None
    codes = {str(r["hs6"]) for r in links if not is_missing(r.get("hs6"))}
    acc: dict[tuple[int, str], float] = defaultdict(float)
    for c in codes:
        for k, v in us_focus.get(c, {}).items():
            acc[k] += v
    years = sorted({y for y, _ in acc})
    return [
        {
            "year": y,
            **{imp: fmt_usd(acc.get((y, imp))) if (y, imp) in acc else "–" for imp in FOCUS_IMPORTERS},
        }
        for y in years
    ]
