"""Small inline SVG charts built as text (no plotting library per page).

Measured on the 2-core development machine (busy, CPU time): matplotlib drew a
12-bar chart to SVG in about 130 ms even with one figure reused, so the ~1,300 charts
of a full build would take minutes; these bar and dot charts are a few rectangles and
lines written directly, about 0.08 ms each, the same output everywhere, no fonts
embedded (the page's own sans-serif is used), every text escaped. matplotlib draws only
the one overview chart of the index page.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

COLOURS = {"us": "#1f4e99", "china": "#c0392b", "other": "#8fa3bf"}
FONT = "font-family:inherit;font-size:11px"


def _t(text: Any) -> str:
    return escape(str(text), quote=True)


def bar_chart(bars: list[dict[str, Any]], width: int = 520) -> str:
    """Horizontal bars of world-export shares (or values when shares are unknown).

    Parameters
    ----------
    bars
        Dicts with ``iso``, ``name``, ``value``, ``share`` (0-1 or None), ``kind``
        (``us``/``china``/``other``) and ``member`` (in the entry's regime).
    """
    if not bars:
        return ""
    row, top, label_w, value_w = 20, 6, 158, 52
    plot_w = width - label_w - value_w
    height = top + row * len(bars) + 22
    use_share = all(b.get("share") is not None for b in bars)
    vmax = max((b["share"] if use_share else b["value"]) or 0.0 for b in bars) or 1.0
    parts = [
        f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="Top suppliers by share of world exports" style="{FONT};font-size:12px">'
    ]
    for i, b in enumerate(bars):
        y = top + i * row
        v = (b["share"] if use_share else b["value"]) or 0.0
        w = max(1.0, plot_w * v / vmax)
        name = b["name"] if len(b["name"]) <= 15 else b["name"][:14] + "…"
        label = f"{b['iso']} {name}"
        weight = ' font-weight="bold"' if b["kind"] != "other" else ""
        text = f"{v * 100:.1f}%" if use_share else f"{v:,.0f}"
        parts.append(
            f"<g><title>{_t(b['name'])}: {_t(text)}{' (regime member)' if b['member'] else ''}</title>"
            f'<text x="{label_w - 16}" y="{y + 13}" text-anchor="end"{weight}>{_t(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{COLOURS[b["kind"]]}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{_t(text)}</text>'
        )
        if b["member"]:
            parts.append(
                f'<path d="M{label_w - 10} {y + 5}l4 4.5l-4 4.5l-4 -4.5z" fill="#333"/>'  # diamond marker
            )
        parts.append("</g>")
    y = top + row * len(bars) + 14
    parts.append(
        f'<g><rect x="0" y="{y - 8}" width="10" height="9" fill="{COLOURS["other"]}"/>'
        f'<text x="14" y="{y}">non-U.S.</text>'
        f'<rect x="80" y="{y - 8}" width="10" height="9" fill="{COLOURS["china"]}"/><text x="94" y="{y}">China</text>'
        f'<rect x="150" y="{y - 8}" width="10" height="9" fill="{COLOURS["us"]}"/><text x="164" y="{y}">U.S.</text>'
        f'<path d="M230 {y - 8}l4 4.5l-4 4.5l-4 -4.5z" fill="#333"/>'
        f'<text x="238" y="{y}">regime member</text></g>'
    )
    parts.append("</svg>")
    return "".join(parts)


def year_chart(rows: list[dict[str, Any]], width: int = 640, height: int = 190) -> str:
    """China's and the U.S. share of world exports by year, one line per source.

    Points of different sources are not joined: a change of table is not a trend.
    """
    if not rows:
        return ""
    left, right, top, bottom = 44, 16, 10, 40
    years = sorted({r["year"] for r in rows})
    y0, y1 = years[0] - 1, years[-1] + 1
    top_value = max(max(r["china_share"], r["us_share"]) for r in rows)
    # A round tick step giving at most five intervals, then the axis top on a tick.
    step = next((s for s in (0.01, 0.02, 0.05, 0.1, 0.2) if top_value <= 5 * s), 0.25)
    n_ticks = max(1, math.ceil(top_value / step - 1e-9))
    vmax = step * n_ticks
    pw, ph = width - left - right, height - top - bottom

    def x(year: float) -> float:
        return left + pw * (year - y0) / (y1 - y0)

    def y(v: float) -> float:
        return top + ph * (1 - v / vmax)

    parts = [
        f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="China and U.S. share of world exports by year" style="{FONT}">'
    ]
    for k in range(n_ticks + 1):
        v = step * k
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v * 100:.0f}%</text>'
        )
    for yr in years:
        parts.append(f'<text x="{x(yr):.1f}" y="{top + ph + 14}" text-anchor="middle">{yr}</text>')
    for key, colour, label in (
        ("china_share", COLOURS["china"], "China"),
        ("us_share", COLOURS["us"], "U.S."),
    ):
        by_source: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_source.setdefault(r["source"], []).append(r)
        for source, pts in sorted(by_source.items()):
            pts = sorted(pts, key=lambda r: r["year"])
            if len(pts) > 1:
                d = " ".join(
                    f"{'M' if i == 0 else 'L'}{x(p['year']):.1f} {y(p[key]):.1f}" for i, p in enumerate(pts)
                )
                parts.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
            for p in pts:
                parts.append(
                    f'<circle cx="{x(p["year"]):.1f}" cy="{y(p[key]):.1f}" r="3.5" fill="{colour}">'
                    f"<title>{_t(label)} {p['year']} ({_t(source)}): {p[key] * 100:.1f}%</title></circle>"
                )
    ly = height - 8
    parts.append(
        f'<circle cx="{left + 5}" cy="{ly - 4}" r="4" fill="{COLOURS["china"]}"/>'
        f'<text x="{left + 13}" y="{ly}">China share of world exports</text>'
        f'<circle cx="{left + 215}" cy="{ly - 4}" r="4" fill="{COLOURS["us"]}"/>'
        f'<text x="{left + 223}" y="{ly}">U.S. share of world exports (lines join years of one source)</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def histogram(values: list[float | None], n_bins: int = 40) -> tuple[float, float, list[int]]:
    """(low, high, counts) of ``values`` in ``n_bins`` equal bins (computed once per build)."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return 0.0, 1.0, []
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    counts = [0] * n_bins
    for v in vals:
        counts[min(n_bins - 1, int((v - lo) / span * n_bins))] += 1
    return lo, hi, counts


def position_strip(value: float | None, hist: tuple[float, float, list[int]], width: int = 300) -> str:
    """Where the entry's decontrol score sits among all ECCNs: a histogram and a marker."""
    lo, hi, counts = hist
    if value is None or not counts:
        return ""
    height, base = 46, 30
    span = (hi - lo) or 1.0
    bw = (width - 12) / len(counts)
    cmax = max(counts) or 1
    # Square-root heights: the many near-zero scores would flatten everything else.
    bars = "".join(
        f'<rect x="{6 + i * bw:.1f}" y="{base - 26 * (c / cmax) ** 0.5:.1f}" width="{bw - 1:.1f}" '
        f'height="{26 * (c / cmax) ** 0.5:.1f}" fill="#c9d3e0"/>'
        for i, c in enumerate(counts)
        if c
    )
    xv = 6 + (width - 12) * (value - lo) / span
    return (
        f'<svg class="strip" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="Decontrol score among all ECCNs" style="{FONT}">{bars}'
        f'<line x1="{xv:.1f}" x2="{xv:.1f}" y1="0" y2="{base + 2}" stroke="#c0392b" stroke-width="2.5"/>'
        f'<text x="6" y="{height - 3}">{lo:.2f}</text>'
        f'<text x="{width / 2:.0f}" y="{height - 3}" text-anchor="middle">decontrol score, all ECCNs</text>'
        f'<text x="{width - 6}" y="{height - 3}" text-anchor="end">{hi:.2f}</text></svg>'
    )
