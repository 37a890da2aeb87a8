"""Benchmark the DuckDB trade engine against a bare DuckDB query, on generated BACI files.

Comparisons, each as interleaved pairs (A then B, repeated), reporting the median
wall time and the peak RSS of each side (every run is its own process; RSS is that
process's maximum resident set, read with ``wait4``):

1. **engine vs bare query** (imports excluded, timed inside the process): the whole
   ``ingest_trade`` of a generated 10M-row BACI year (all three outputs: exports,
   flows_focus, us_exports, plus the reports; no cache) against a bare DuckDB
   ``read_csv`` + ``GROUP BY t, i, k`` written to Parquet. Targets: <= 1.1x wall,
   <= 450 MB peak RSS.
2. **whole process**: ``cclreview ingest-trade FILE --out DIR --no-cache`` against
   ``python bare_duckdb.py FILE OUT`` (the same bare query as a script), start-up and
   imports included. Target: <= 1.25x wall.
3. **five-year zip vs one year**: ``ingest_trade`` of a generated release zip with five
   yearly members against a zip with one. Targets: <= 5.5x wall, peak RSS <= one
   year's + 10%.
4. (``--only dups``) ``--duplicates full`` against the default ``sample``.

The machine's load (``uptime``) is printed before and after: timing ratios mean little
on a busy machine; run it on an idle one.

\b
Examples
--------
    python bench/bench_trade.py                          # everything, 10M rows, 5 pairs
    python bench/bench_trade.py --rows 200000 --pairs 1  # a quick check that it runs
    python bench/bench_trade.py --only engine,process    # skip the zip comparison
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

#: The bare reference: what DuckDB alone does with the file (the same sums of v and q).
BARE_SQL = (
    "COPY (SELECT t, i, k, sum(v) AS v, sum(try_cast(trim(q) AS DOUBLE)) AS q, count(*) AS n "
    "FROM read_csv(?, header = true) GROUP BY t, i, k) TO '{out}' (FORMAT parquet)"
)

BARE_SCRIPT = f"""
import sys
import duckdb
path, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute({BARE_SQL!r}.format(out=out.replace("'", "''")), [path])
"""

CHILD = r"""
import json, sys, time
kind, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
if kind in ("engine", "engine_full"):
    from cclreview.trade.ingest import ingest_trade
    t0 = time.perf_counter()
    s = ingest_trade([path], out, use_cache=False, duplicates="full" if kind == "engine_full" else "sample")
    info = {"rows": s["rows_read"], "export_rows": s["export_rows"], "focus_rows": s["focus_rows"],
            "us_rows": s["us_rows"]}
elif kind == "duckdb":
    import duckdb
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(SQL.format(out=out + "/bare.parquet"), [path])
    info = {"groups": con.execute(f"SELECT count(*) FROM '{out}/bare.parquet'").fetchall()[0][0]}
else:
    raise SystemExit(f"unknown contender {kind}")
print(json.dumps({"kind": kind, "wall_s": time.perf_counter() - t0, **info}))
""".replace("SQL", repr(BARE_SQL))


def uptime() -> str:
    """The ``uptime`` line (load averages), or the load from /proc when it is missing."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + " ".join(os.getloadavg().__repr__().strip("()").split(", "))


def measure(cmd: list[str]) -> dict:
    """Run ``cmd``; return its wall time, peak RSS (MB, of that process) and last JSON line."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.stdout.read(), proc.stderr.read()  # small outputs: no pipe deadlock
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} ... failed:\n{err[-2000:]}")
    info: dict = {}
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            info = json.loads(line)
            break
    return {"process_wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, **info}


def pairs(label_a: str, cmd_a: list[str], label_b: str, cmd_b: list[str], n: int, key: str) -> tuple:
    """Interleaved runs A, B, A, B, ...; returns the lists of measurements."""
    a, b = [], []
    for rep in range(n):
        for label, cmd, acc in ((label_a, cmd_a, a), (label_b, cmd_b, b)):
            r = measure(cmd)
            acc.append(r)
            print(
                f"  [{rep + 1}/{n}] {label:28s} {r[key]:7.2f} s   peak RSS {r['peak_rss_mb']:6.0f} MB",
                flush=True,
            )
    return a, b


def report(
    name: str, a: list[dict], b: list[dict], key: str, wall_target: float | None, rss: str = ""
) -> None:
    wa = statistics.median(r[key] for r in a)
    wb = statistics.median(r[key] for r in b)
    ra = max(r["peak_rss_mb"] for r in a)
    rb = max(r["peak_rss_mb"] for r in b)
    print(
        f"{name}: median {wa:.2f} s vs {wb:.2f} s = {wa / wb:.2f}x"
        f"{f' (target <= {wall_target}x)' if wall_target else ''}; "
        f"peak RSS {ra:.0f} MB vs {rb:.0f} MB{rss}"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows per generated year (default 10M)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pairs", type=int, default=5, help="interleaved pairs per comparison (default 5)")
    ap.add_argument(
        "--only",
        default="engine,process,zip",
        help="comparisons to run: engine, process, zip, dups (comma separated; dups: the cost of --duplicates full)",
    )
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    import gen_baci

    print(f"load before: {uptime()}")
    py = sys.executable
    cli = str(Path(py).with_name("cclreview"))
    with tempfile.TemporaryDirectory(prefix="bench_trade_") as tmp:
        tmp_path = Path(tmp)
        path = gen_baci.generate(args.rows, args.seed)
        print(f"input: {path.name} ({path.stat().st_size / 1e6:.0f} MB, {args.rows:,} rows)")
        results = {}
        if "engine" in only:
            print("1. ingest_trade (3 outputs) vs bare DuckDB GROUP BY -> Parquet (in process)")
            (tmp_path / "e").mkdir()
            (tmp_path / "d").mkdir()
            a, b = pairs(
                "ingest_trade",
                [py, "-c", CHILD, "engine", str(path), str(tmp_path / "e")],
                "bare duckdb",
                [py, "-c", CHILD, "duckdb", str(path), str(tmp_path / "d")],
                args.pairs,
                "wall_s",
            )
            results["engine"] = (a, b)
            first = a[0]
            print(
                f"  {first['rows']:,} rows -> {first['export_rows']:,} export rows, "
                f"{first['focus_rows']:,} focus rows, {first['us_rows']:,} U.S. rows; "
                f"{first['rows'] / statistics.median(r['wall_s'] for r in a) / 1e6:.2f} M rows/s"
            )
        if "process" in only:
            print(
                "2. `cclreview ingest-trade FILE --out DIR` vs `python bare_duckdb.py FILE OUT` (whole process)"
            )
            script = tmp_path / "bare_duckdb.py"
            script.write_text(BARE_SCRIPT, encoding="utf-8")
            a, b = pairs(
                "cclreview ingest-trade",
                [cli, "-q", "ingest-trade", str(path), "--out", str(tmp_path / "p"), "--no-cache"],
                "python bare_duckdb.py",
                [py, str(script), str(path), str(tmp_path / "bare.parquet")],
                args.pairs,
                "process_wall_s",
            )
            results["process"] = (a, b)
        if "dups" in only:
            print("4. ingest_trade --duplicates full vs the default (sample)")
            (tmp_path / "df").mkdir()
            (tmp_path / "ds").mkdir()
            a, b = pairs(
                "duplicates full",
                [py, "-c", CHILD, "engine_full", str(path), str(tmp_path / "df")],
                "duplicates sample",
                [py, "-c", CHILD, "engine", str(path), str(tmp_path / "ds")],
                args.pairs,
                "wall_s",
            )
            results["dups"] = (a, b)
        if "zip" in only:
            years5 = [2020, 2021, 2022, 2023, 2024]
            z5 = gen_baci.generate_zip(args.rows, years5, args.seed)
            z1 = gen_baci.generate_zip(args.rows, [2022], args.seed)
            print(
                f"3. five-year zip ({z5.stat().st_size / 1e6:.0f} MB) vs one year ({z1.stat().st_size / 1e6:.0f} MB)"
            )
            (tmp_path / "z5").mkdir()
            (tmp_path / "z1").mkdir()
            a, b = pairs(
                "ingest_trade 5-year zip",
                [py, "-c", CHILD, "engine", str(z5), str(tmp_path / "z5")],
                "ingest_trade 1-year zip",
                [py, "-c", CHILD, "engine", str(z1), str(tmp_path / "z1")],
                max(1, args.pairs // 2),
                "wall_s",
            )
            results["zip"] = (a, b)
    print(f"load after: {uptime()}")
    print("summary (medians of interleaved pairs):")
    if "engine" in results:
        a, b = results["engine"]
        report("  engine vs bare query", a, b, "wall_s", 1.1, " (target engine <= 450 MB)")
    if "process" in results:
        a, b = results["process"]
        report("  whole process", a, b, "process_wall_s", 1.25)
    if "dups" in results:
        a, b = results["dups"]
        report("  duplicates full vs sample", a, b, "wall_s", None)
    if "zip" in results:
        a, b = results["zip"]
        report("  5-year vs 1-year zip", a, b, "wall_s", 5.5, " (target 5-year <= 1-year + 10%)")


if __name__ == "__main__":
    main()
