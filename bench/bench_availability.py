"""Benchmark: availability indicators at full BACI scale (exporter x HS6 totals).

Usage: .venv/bin/python bench/bench_availability.py [--exporters 220] [--codes 5400] [--years 3]

Generates (seeded, in memory, never written to the project) an ``exports`` table shaped
like one BACI release aggregated to exporter x HS6 x year (~1.2 million rows per year:
220 exporters x 5,400 HS6 codes, heavy-tailed lognormal values, quantities) plus a
truncated top-40 HS4 table of 300 headings, then times :func:`compute_availability`
(precedence, bounds, trends, coverage warnings) without an HS concordance. Prints wall
time, rows/s and peak RSS of this process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cclreview.indicators import compute_availability

ISO3 = [
    "USA", "CHN", "DEU", "JPN", "KOR", "TWN", "NLD", "FRA", "ITA", "GBR", "CHE", "SGP", "HKG", "BEL", "ARE",
    "MYS", "VNM", "THA", "IND", "MEX", "CAN", "ESP", "SWE", "AUT", "CZE", "POL", "ISR", "IRL", "DNK", "FIN",
]  # fmt: skip


def _exporters(n: int) -> list[str]:
    # Real codes first (so regime and entrepot lookups get hits), then invented ones.
    extra = [f"X{i:02d}" for i in range(n - len(ISO3))]
    return (ISO3 + extra)[:n]


def make_exports(n_exp: int, n_codes: int, years: int, seed: int = 7) -> pd.DataFrame:
    """A seeded exporter x HS6 x year table plus a truncated HS4 table."""
    rng = np.random.default_rng(seed)
    exps = np.array(_exporters(n_exp))
    codes = np.array([f"{c:06d}" for c in rng.choice(np.arange(10100, 970000), n_codes, replace=False)])
    parts = []
    for y in range(2022, 2022 + years):
        e = np.repeat(exps, n_codes)
        c = np.tile(codes, n_exp)
        v = rng.lognormal(12, 2.5, e.size)
        keep = rng.random(e.size) < 0.9  # not every exporter ships every code
        parts.append(
            pd.DataFrame(
                {
                    "year": y,
                    "exporter_iso3": e[keep],
                    "hs6": c[keep],
                    "hs_level": 6,
                    "hs_version": "HS2022",
                    "value_usd": v[keep],
                    "qty": v[keep] / rng.lognormal(8, 1, keep.sum()),
                    "source": "baci:VBENCH",
                    "value_kind": "value",
                }
            )
        )
    heads = np.unique([c[:4] for c in codes])[:300]
    rows = []
    for h in heads:
        order = rng.permutation(exps)
        vals = np.sort(rng.lognormal(18, 2, len(order)))[::-1]
        for r, (iso, val) in enumerate(zip(order, vals, strict=True), start=1):
            top = r <= 40
            rows.append(
                (2023, iso, h, float(f"{val:.4g}") if top else np.nan, "value" if top else "rank_only", r)
            )
        rows.append((2023, "WLD", h, float(vals.sum()), "world_total", None))
    hs4 = pd.DataFrame(rows, columns=["year", "exporter_iso3", "hs6", "value_usd", "value_kind", "rank"])
    hs4["hs_level"], hs4["hs_version"], hs4["source"], hs4["qty"] = 4, "HS1992", "oec_baci_top40", np.nan
    return pd.concat([*parts, hs4], ignore_index=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exporters", type=int, default=220)
    ap.add_argument("--codes", type=int, default=5400)
    ap.add_argument("--years", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    ex = make_exports(args.exporters, args.codes, args.years)
    gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = compute_availability(ex)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"input rows: {len(ex):,} (generated in {gen:.1f} s)")
    print(f"availability rows: {len(res.availability):,}, bounded: {res.counts['bounded_rows']}")
    print(f"compute_availability: {wall:.1f} s, {len(ex) / wall:,.0f} rows/s, peak RSS {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
