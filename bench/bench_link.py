"""Benchmark the link suggester: all A/B/C ECCNs and their paragraphs against all HS6.

Usage::

    python bench/bench_link.py [CCL_XML] [HS_CSV]

Defaults read the mirror (``$CCLREVIEW_MIRROR`` or ``../shared/data``). The CCL is
parsed first (not timed); then :func:`suggest_links` is timed (best of 2) and the
full :func:`build_links` once (curated + China catalogue + suggestions + inheritance).
Prints wall time and the peak RSS of this process. Target: suggest < 10 s, < 1 GB.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cclreview.ccl import parse_ccl  # noqa: E402
from cclreview.link.hs import load_hs  # noqa: E402
from cclreview.link.pipeline import build_links  # noqa: E402
from cclreview.link.suggest import suggest_links  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> int:
    mirror = Path(os.environ.get("CCLREVIEW_MIRROR") or ROOT.parent / "shared" / "data")
    xml = Path(sys.argv[1]) if len(sys.argv) > 1 else mirror / "ccl" / "ccl_supp1_ecfr_2026-06.xml"
    hs_csv = Path(sys.argv[2]) if len(sys.argv) > 2 else mirror / "hs" / "harmonized_system_HS2022.csv"
    if not xml.is_file() or not hs_csv.is_file():
        print(f"skipped: inputs not found ({xml}, {hs_csv}); set CCLREVIEW_MIRROR")
        return 0
    entries, paragraphs = parse_ccl(xml)
    hs = load_hs(hs_csv)
    abc = entries[entries["product_group"].isin(["A", "B", "C"])]
    print(
        f"inputs: {len(entries)} ECCNs ({len(abc)} A/B/C), {len(paragraphs)} paragraphs, {len(hs)} HS6 codes"
    )
    rss0 = _rss_mb()
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        sug = suggest_links(entries, paragraphs, hs, top_k=10)
        best = min(best, time.perf_counter() - t)
    print(
        f"suggest_links: {best:.2f} s (best of 2), {len(sug)} suggestions, "
        f"peak RSS {_rss_mb():.0f} MB (before: {rss0:.0f} MB)  target < 10 s, < 1024 MB"
    )
    conc = [p for p in (mirror / "concordance").glob("cn_dualuse_*_pairs_*.csv")]
    t = time.perf_counter()
    res = build_links(entries, paragraphs, hs, conc)
    print(
        f"build_links (curated + {len(conc)} concordance + suggest + inherit): {time.perf_counter() - t:.2f} s, "
        f"{len(res.links)} links, peak RSS {_rss_mb():.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
