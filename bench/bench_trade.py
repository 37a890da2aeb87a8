"""Benchmark the trade ingest on a full-scale BACI-shaped year against two references.

Each contender runs in its own subprocess (so peak RSS is honest) on the same file, in
the same run, and aggregates to exporter x HS6 (year x exporter x product sums of value
and quantity):

- ``cclreview``: ``ingest_trade`` (streaming Arrow reader, writes exports.parquet), no cache;
- ``cclreview-cached``: the same call again on the unchanged file (cache hit; the
  file's sha256 is trusted while its size and mtime are unchanged);
- ``cclreview-rehash``: the cache hit again, but re-hashing the file (sha256);
- ``pandas``: plain ``pandas.read_csv`` + ``groupby`` with default settings;
- ``duckdb``: ``read_csv`` + ``GROUP BY`` with 2 threads.

Wall time is measured inside each subprocess around the work (interpreter start and
imports excluded for every contender alike); peak RSS is the subprocess's maximum.

\b
Examples
--------
    python bench/bench_trade.py                    # 10M rows (generated on first use)
    python bench/bench_trade.py --rows 1000000     # quicker
    python bench/bench_trade.py --rows 20000000 --only cclreview
    python bench/bench_trade.py --zip 2021,2022    # multi-year release zip (cclreview only)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

CHILD = r"""
import json, resource, sys, time
kind, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
if kind.startswith("cclreview"):
    from cclreview.trade.ingest import ingest_trade
    cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2]); t0 = time.perf_counter()
    s = ingest_trade([path], out, use_cache=(kind != "cclreview"), rehash=(kind == "cclreview-rehash"))
    rows, groups = s["rows_read"], s["export_rows"]
elif kind == "pandas":
    import pandas as pd
    cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2]); t0 = time.perf_counter()
    df = pd.read_csv(path)
    df["q"] = pd.to_numeric(df["q"], errors="coerce")  # "NA" padded with spaces is text
    res = df.groupby(["t", "i", "k"])[["v", "q"]].sum()
    rows, groups = len(df), len(res)
elif kind == "duckdb":
    import duckdb
    cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2]); t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    res = con.execute(
        "SELECT t, i, k, sum(v) AS v, sum(try_cast(trim(q) AS DOUBLE)) AS q, count(*) AS n "
        "FROM read_csv(?, header = true) GROUP BY t, i, k", [path]
    ).df()
    rows, groups = int(res["n"].sum()), len(res)
else:
    raise SystemExit(f"unknown contender {kind}")
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
cpu = ru.ru_utime + ru.ru_stime - cpu0
print(json.dumps({"kind": kind, "wall_s": wall, "cpu_s": cpu, "rows": rows, "groups": groups,
                  "peak_rss_mb": ru.ru_maxrss / 1024}))
"""


def run(kind: str, path: Path, out: Path) -> dict:
    """Run one contender in a fresh interpreter and return its measurements."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(path), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows per year (default 10M)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--repeat", type=int, default=1, help="run the contenders N times, interleaved; report the fastest"
    )
    ap.add_argument("--zip", default=None, help="years of a multi-year release zip, e.g. 2021,2022")
    ap.add_argument(
        "--only",
        default=None,
        help="comma-separated contenders (cclreview,cclreview-cached,cclreview-rehash,pandas,duckdb)",
    )
    args = ap.parse_args(argv)
    import gen_baci

    if args.zip:
        path = gen_baci.generate_zip(args.rows, [int(y) for y in args.zip.split(",")], args.seed)
        default = ["cclreview", "cclreview-cached", "cclreview-rehash"]
    else:
        path = gen_baci.generate(args.rows, args.seed)
        default = ["cclreview", "cclreview-cached", "cclreview-rehash", "pandas", "duckdb"]
    kinds = args.only.split(",") if args.only else default
    size_mb = path.stat().st_size / 1e6
    print(f"input: {path.name} ({size_mb:.0f} MB)")
    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench_trade_") as tmp:
        for rep in range(args.repeat):
            for kind in kinds:
                r = run(kind, path, Path(tmp) / "out")
                if kind not in best or r["wall_s"] < best[kind]["wall_s"]:
                    best[kind] = r
                print(
                    f"[{rep + 1}/{args.repeat}] {kind:17s} {r['wall_s']:7.2f} s wall {r['cpu_s']:7.2f} s CPU  "
                    f"{r['rows'] / max(r['wall_s'], 1e-9) / 1e6:6.2f} M rows/s  "
                    f"peak RSS {r['peak_rss_mb']:6.0f} MB  ({r['rows']:,} rows -> {r['groups']:,} groups)",
                    flush=True,
                )
    results = [best[k] for k in kinds]
    print("best of", args.repeat)
    for r in results:
        print(
            f"  {r['kind']:17s} {r['wall_s']:7.2f} s wall {r['cpu_s']:7.2f} s CPU  "
            f"{r['rows'] / max(r['wall_s'], 1e-9) / 1e6:6.2f} M rows/s  peak RSS {r['peak_rss_mb']:6.0f} MB"
        )
    by = {r["kind"]: r for r in results}
    if "cclreview" in by and "duckdb" in by:
        print(
            f"cclreview / duckdb wall time: {by['cclreview']['wall_s'] / by['duckdb']['wall_s']:.2f}x (target <= 1.2x)"
        )
    if "cclreview" in by and "pandas" in by:
        print(f"cclreview / pandas wall time: {by['cclreview']['wall_s'] / by['pandas']['wall_s']:.2f}x")


if __name__ == "__main__":
    main()
