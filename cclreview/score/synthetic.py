"""Invented processed tables in the contract shapes, for benchmarks and tests.

Nothing here comes from the real data: ECCNs follow the CCL numbering pattern,
reasons are drawn by series, trade figures from seeded random distributions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_COUNTRIES = (
    "CHN",
    "DEU",
    "JPN",
    "KOR",
    "TWN",
    "NLD",
    "FRA",
    "GBR",
    "ITA",
    "CHE",
    "ISR",
    "IND",
    "SGP",
    "MYS",
    "VNM",
    "MEX",
    "CAN",
    "SWE",
    "AUT",
    "BEL",
)
_SERIES_REASONS = {
    "0": (["NS", "AT"], ["NS1", "AT1"]),
    "1": (["MT", "AT"], ["MT1", "AT1"]),
    "2": (["NP", "AT"], ["NP1", "AT1"]),
    "3": (["CB", "AT"], ["CB2", "AT1"]),
    "5": (["NS", "RS", "UN", "AT"], ["NS1", "RS1", "AT1"]),
    "6": (["NS", "RS", "MT", "UN", "AT"], ["NS1", "RS1", "MT1", "AT1"]),
    "9": (["AT"], ["AT1"]),
}


def make_synthetic(n_eccns: int = 637, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Return ``entries, links, availability, evidence`` frames of ``n_eccns`` ECCNs.

    About 15% of ECCNs have no link (insufficient evidence), a third of the links fall
    back to HS4 headings, and a handful of ECCNs carry supply-side evidence.
    """
    rng = np.random.default_rng(seed)
    eccns: list[str] = []
    while len(eccns) < n_eccns:
        e = f"{rng.integers(0, 10)}{'ABCDE'[rng.integers(0, 5)]}{rng.choice(list('0123569'), p=[0.45, 0.1, 0.08, 0.03, 0.04, 0.05, 0.25])}{rng.integers(0, 100):02d}"
        if e not in eccns:
            eccns.append(e)
    rows = []
    for e in eccns:
        reasons, cols = _SERIES_REASONS[e[2]]
        reasons, cols = list(reasons), list(cols)
        if e[2] == "0" and rng.random() < 0.5:
            cols = ["NS2" if c == "NS1" else c for c in cols]
        if e[2] == "9" and rng.random() < 0.4:
            reasons, cols = ["CC", "AT"], ["CC1", "AT1"]
        rows.append(
            {
                "eccn": e,
                "category": int(e[0]),
                "product_group": e[1],
                "series": f"{e[2]}xx",
                "heading": f"Synthetic heading of {e}",
                "reasons": reasons,
                "chart_columns": cols,
                "reserved": False,
                "is_600_series": e[2] == "6",
                "is_515": e[0] == "9" and e[2:] == "515",
            }
        )
    entries = pd.DataFrame(rows)
    hs6_pool = [f"{rng.integers(2800, 9700):04d}{rng.integers(0, 100):02d}" for _ in range(900)]
    links = []
    for e in eccns:
        if rng.random() < 0.15:
            continue
        for r, hs in enumerate(rng.choice(hs6_pool, size=rng.integers(1, 5), replace=False), start=1):
            links.append(
                {
                    "eccn": e,
                    "paragraph": "",
                    "hs6": str(hs),
                    "hs_version": "HS2022",
                    "source": "inherited" if e[1] in "DE" else ("curated" if r == 1 else "suggested"),
                    "confidence": float(np.round(rng.uniform(0.2, 1.0), 2)),
                    "rank": r,
                    "rationale": "synthetic",
                }
            )
    links = pd.DataFrame(links)
    av = []
    for hs in sorted(set(hs6_pool)):
        level6 = rng.random() < 0.65
        code = hs if level6 else hs[:4]
        world = float(rng.lognormal(19, 2))
        us = world * float(rng.beta(2, 6))
        china = (world - us) * float(rng.beta(2, 5))
        sup = rng.choice(_COUNTRIES, size=3, replace=False)
        av.append(
            {
                "hs_code": code,
                "hs_level": 6 if level6 else 4,
                "hs6": hs if level6 else None,
                "hs4": hs[:4],
                "hs_version": "HS2022",
                "year": int(rng.choice([2021, 2022, 2023, 2024])),
                "source": "synthetic",
                "world_exports_usd": world,
                "us_exports_usd": us,
                "non_us_exports_usd": world - us,
                "non_us_share": (world - us) / world,
                "n_non_us_suppliers": int(rng.integers(0, 40)),
                "hhi_non_us": float(rng.uniform(0.05, 0.6)),
                "is_bounded": bool(rng.random() < 0.2),
                "china_exports_usd": china,
                "china_share": china / world,
                "share_outside_regime": float(rng.uniform(0, 0.5)),
                "top_suppliers": "; ".join(f"{c} {p}%" for c, p in zip(sup, (30, 15, 8), strict=True)),
                "top_suppliers_list": list(sup),
                "unit_value_ratio": float(rng.lognormal(-0.2, 0.4)),
                "missing_major_exporters": ["TWN"] if rng.random() < 0.2 else [],
            }
        )
    availability = pd.DataFrame(av).drop_duplicates(["hs_code", "hs_level"])
    ev = []
    for e in rng.choice(eccns, size=max(1, n_eccns // 60), replace=False):
        for c in rng.choice((*_COUNTRIES, "USA"), size=4, replace=False):
            ev.append(
                {
                    "eccn": str(e),
                    "hs6": None,
                    "item": f"tool {e}",
                    "country_iso3": str(c),
                    "producer": None,
                    "share": float(np.round(rng.uniform(0.05, 0.4), 2)),
                    "year": 2025,
                    "comparable_quality": str(rng.choice(["yes", "no", "unknown"])),
                    "source": "synthetic",
                    "source_url": "",
                }
            )
    return {"entries": entries, "links": links, "availability": availability, "evidence": pd.DataFrame(ev)}
