"""Benchmark: build the evidence dossier (index + one HTML page per ECCN).

Usage: .venv/bin/python bench/bench_dossier.py [--processed DIR] [--workbook FILE] [--n 638] [--synthetic]

By default it reads the real build (data/processed and reports/decontrol_candidates.xlsx
after `make reports`: 638 ECCNs); with --synthetic, or when there is no build, invented
tables (tests/fixtures/report/synth.py: N ECCNs x 3 HS6 links x 20 suppliers). Prints wall and
CPU time of loading and of rendering, page count and site size. Target: the whole
dossier in under 30 s on a 2-core machine (the exit status judges CPU time, which other
jobs on a shared machine do not inflate).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "report"))
sys.path.insert(0, str(ROOT / "tests"))  # synth imports fixtures.contract_fill


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--processed", type=Path, default=None, help="real processed tables (default: invented)"
    )
    parser.add_argument("--workbook", type=Path, default=None, help="workbook with reviewer notes")
    parser.add_argument(
        "--hs", type=Path, default=ROOT / "data" / "raw" / "hs" / "harmonized_system_HS2022.csv"
    )
    parser.add_argument("--n", type=int, default=638, help="ECCNs to invent")
    parser.add_argument("--synthetic", action="store_true", help="invented tables even when a build exists")
    args = parser.parse_args()
    real = ROOT / "data" / "processed"
    if args.processed is None and not args.synthetic and (real / "scores.parquet").is_file():
        args.processed = real
        wb = ROOT / "reports" / "decontrol_candidates.xlsx"
        args.workbook = args.workbook or (wb if wb.is_file() else None)
    print(f"input: {args.processed or f'invented, {args.n} ECCNs'}")

    t_import, c_import = time.perf_counter(), time.process_time()
    from cclreview.dossier import load_dossier_inputs, render_site

    t_import, c_import = time.perf_counter() - t_import, time.process_time() - c_import
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        processed = args.processed
        if processed is None:
            from synth import make_processed

            processed = make_processed(
                tmp_path, n_eccns=args.n, hs_per_eccn=3, n_suppliers=20, hostile=False
            )["processed"]
        t0, c0 = time.perf_counter(), time.process_time()
        inputs = load_dossier_inputs(
            processed, workbook=args.workbook, hs_file=args.hs if args.hs.is_file() else None
        )
        t1, c1 = time.perf_counter(), time.process_time()
        result = render_site(inputs, tmp_path / "dossier")
        t2, c2 = time.perf_counter(), time.process_time()
        files = list((tmp_path / "dossier").iterdir())
        size = sum(f.stat().st_size for f in files)
    total_wall, total_cpu = t2 - t0 + t_import, c2 - c0 + c_import
    print(f"dossier: {result.n_pages} ECCN pages + index, {len(files)} files, {size / 1e6:.1f} MB")
    print(f"imports  {t_import:.2f} s wall, {c_import:.2f} s CPU")
    print(f"load     {t1 - t0:.2f} s wall, {c1 - c0:.2f} s CPU")
    print(
        f"render   {t2 - t1:.2f} s wall, {c2 - c1:.2f} s CPU ({(t2 - t1) / max(result.n_pages, 1) * 1000:.1f} ms/page)"
    )
    print(
        f"total    {total_wall:.2f} s wall, {total_cpu:.2f} s CPU (target < 30 s; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    return 0 if total_cpu < 30 else 1


if __name__ == "__main__":
    sys.exit(main())
