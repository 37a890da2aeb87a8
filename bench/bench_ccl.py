"""Benchmark the CCL parse on the real eCFR XML: seconds (best of 3) and peak memory.

Usage::

    python bench/bench_ccl.py [XML]

XML defaults to ``$CCLREVIEW_MIRROR/ccl/ccl_supp1_ecfr_2026-06.xml`` or
``../shared/data/ccl/...``. Each measurement runs in a fresh subprocess so that peak
RSS (``resource.getrusage``) belongs to that measurement alone. For comparison it
times the obvious alternative: a full stdlib ``xml.etree.ElementTree`` parse (parse
only, none of the interpretation), and the full ingest (parse + validate + write).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_NAME = "ccl/ccl_supp1_ecfr_2026-06.xml"

# Code run in a child process: import, warm nothing, time best of 3, report peak RSS.
_CHILD = r"""
import json, resource, sys, time
kind, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "parse_ccl":
    from cclreview.ccl import parse_ccl
    run = lambda: parse_ccl(path)
elif kind == "ingest_ccl":
    from cclreview.ccl import ingest_ccl
    run = lambda: ingest_ccl(path, out)
elif kind == "import_only":
    import cclreview.ccl
    run = lambda: None
else:
    import xml.etree.ElementTree as ET
    run = lambda: ET.parse(path)
times = []
for _ in range(3):
    t0 = time.perf_counter()
    run()
    times.append(time.perf_counter() - t0)
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
print(json.dumps({"best_s": min(times), "peak_mb": peak_kb / 1024}))
"""


def _default_xml() -> Path:
    mirror = os.environ.get("CCLREVIEW_MIRROR")
    base = Path(mirror) if mirror else ROOT.parent / "shared" / "data"
    return base / DEFAULT_NAME


def _measure(kind: str, xml: Path, out: str) -> dict[str, float]:
    """Run one measurement in a fresh interpreter and return its JSON result."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, str(xml), out], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"bench {kind} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    xml = Path(argv[1]) if len(argv) > 1 else _default_xml()
    if not xml.is_file():
        print(f"bench_ccl: {xml} not found; pass the XML path or set CCLREVIEW_MIRROR", file=sys.stderr)
        return 1
    size_mb = xml.stat().st_size / 1e6
    print(f"CCL XML: {xml} ({size_mb:.1f} MB), {os.cpu_count()} CPU(s); best of 3, fresh process each")
    with tempfile.TemporaryDirectory() as out:
        for kind, label in (
            ("parse_ccl", "cclreview parse_ccl (lxml, full interpretation)"),
            ("ingest_ccl", "cclreview ingest_ccl (parse + validate + write)"),
            ("import_only", "baseline: import cclreview.ccl (pandas, pyarrow, pandera)"),
            ("stdlib_etree", "stdlib xml.etree parse only (comparison)"),
        ):
            r = _measure(kind, xml, out)
            print(f"{label:60s} {r['best_s']:6.3f} s   peak RSS {r['peak_mb']:6.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
