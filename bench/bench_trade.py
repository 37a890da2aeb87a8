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
5. (``--only floor``) **the floor**: the engine, a script of bare SQL that writes the
   same three outputs (one strict read grouped by year x exporter x product x kept
   importer with the row checks, then the three tables with ISO3 and HS6 text keys,
   sorted, to Parquet; no reports, no rejects, no cache) and the bare ``GROUP BY``,
   interleaved in triplets. It says how far the engine is from the SQL its outputs need,
   and how far that SQL is from the bare query.
6. (``--only cache``) a cached run: the first run with the cache on (the file hashed,
   then read), a rerun on the unchanged file, and a rerun that re-hashes it (``--rehash``).

The machine's load (``uptime``) is printed before and after: timing ratios mean little
on a busy machine; run it on an idle one.

\b
Examples
--------
    python bench/bench_trade.py                          # engine, process, zip, floor; 10M rows, 5 pairs
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

#: The floor: the three outputs in their output form by SQL alone (see the module doc).
FLOOR_SCRIPT = r"""
import sys
import duckdb
path, out = sys.argv[-2], sys.argv[-1]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("SET memory_limit = '200MB'")
cols = "{'t': 'INTEGER', 'i': 'INTEGER', 'j': 'INTEGER', 'k': 'INTEGER', 'v': 'DOUBLE', 'q': 'DOUBLE'}"
src = (f"read_csv('{path}', header = true, delim = ',', quote = '\"', escape = '\"', auto_detect = false, "
       f"columns = {cols}, nullstr = ['', 'NA', '           NA'])")
valid = ("coalesce(v >= 0 AND v <= 1e12 AND t IS NOT NULL AND i BETWEEN 0 AND 999 AND j BETWEEN 0 AND 999 "
         "AND k BETWEEN 0 AND 999999 AND (q IS NULL OR (q >= 0 AND q <= 1e12)), false)")
con.execute(
    f"CREATE TEMP TABLE agg AS SELECT t, i, k, CASE WHEN NOT {valid} THEN -1 "
    f"WHEN j IN (156, 344, 446, 643, 112) OR i = 842 THEN j END AS jj, "
    f"sum(v) AS v, sum(q) AS q, count(q) AS qn, count(*) AS n FROM {src} GROUP BY ALL"
)
# Every code 0-999 has a three-letter text key; products get their 6-digit text.
iso = ", ".join(f"'C{c:03d}'" for c in range(1000))
con.execute(f"CREATE TEMP TABLE iso AS SELECT range::INTEGER AS code, printf('C%03d', range)::ENUM({iso}) AS iso3 FROM range(1000)")
ks = [r[0] for r in con.execute("SELECT DISTINCT k FROM agg WHERE jj IS NULL OR jj >= 0 ORDER BY k").fetchall()]
hs = ", ".join(f"'{k:06d}'" for k in ks)
con.execute(f"CREATE TEMP TABLE hs AS SELECT k, lpad(k::VARCHAR, 6, '0')::ENUM({hs}) AS hs6 FROM (SELECT DISTINCT k FROM agg WHERE jj IS NULL OR jj >= 0)")
label = "'baci'::ENUM('baci') AS source, 'HS2022'::ENUM('HS2022') AS hs_version"
con.execute(
    f"COPY (SELECT t::BIGINT AS year, c.iso3 AS exporter_iso3, h.hs6, 6::BIGINT AS hs_level, {label}, "
    "sum(v) * 1000.0 AS value_usd, CASE WHEN sum(qn) > 0 THEN sum(q) END AS qty FROM agg "
    "JOIN iso c ON agg.i = c.code JOIN hs h ON agg.k = h.k WHERE coalesce(jj, 0) >= 0 "
    f"GROUP BY t, c.iso3, h.hs6 ORDER BY 1, 2, 3) TO '{out}/exports.parquet' (FORMAT parquet)"
)
for name, keep in (("focus", "jj IN (156, 344, 446, 643, 112)"), ("us", "i = 842 AND jj >= 0")):
    con.execute(
        f"COPY (SELECT t::BIGINT AS year, ce.iso3 AS exporter_iso3, ci.iso3 AS importer_iso3, h.hs6, {label}, "
        "sum(v) * 1000.0 AS value_usd, CASE WHEN sum(qn) > 0 THEN sum(q) END AS qty FROM agg "
        "JOIN iso ce ON agg.i = ce.code JOIN iso ci ON agg.jj = ci.code JOIN hs h ON agg.k = h.k "
        f"WHERE {keep} GROUP BY t, ce.iso3, ci.iso3, h.hs6 ORDER BY 1, 2, 3, 4) TO '{out}/{name}.parquet' (FORMAT parquet)"
    )
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
elif kind == "cache":
    from cclreview.trade.ingest import ingest_trade
    t0 = time.perf_counter()
    ingest_trade([path], out)
    info = {"cold_s": time.perf_counter() - t0}
    t1 = time.perf_counter()
    ingest_trade([path], out)
    info["unchanged_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    ingest_trade([path], out, rehash=True)
    info["rehash_s"] = time.perf_counter() - t1
elif kind == "floor":
    t0 = time.perf_counter()
    exec(FLOOR, {"__name__": "floor"}, {})
    info = {}
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
""".replace("SQL", repr(BARE_SQL)).replace("FLOOR", repr(FLOOR_SCRIPT))


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


def interleaved(contenders: list[tuple[str, list[str]]], n: int, key: str) -> list[list[dict]]:
    """Interleaved runs A, B, (C,) A, B, ...; returns each contender's measurements."""
    acc: list[list[dict]] = [[] for _ in contenders]
    for rep in range(n):
        for (label, cmd), runs in zip(contenders, acc, strict=True):
            r = measure(cmd)
            runs.append(r)
            print(
                f"  [{rep + 1}/{n}] {label:28s} {r[key]:7.2f} s   peak RSS {r['peak_rss_mb']:6.0f} MB",
                flush=True,
            )
    return acc


def pairs(label_a: str, cmd_a: list[str], label_b: str, cmd_b: list[str], n: int, key: str) -> tuple:
    """Interleaved runs A, B, A, B, ...; returns the lists of measurements."""
    a, b = interleaved([(label_a, cmd_a), (label_b, cmd_b)], n, key)
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
        default="engine,process,zip,floor",
        help="comparisons to run: engine, process, zip, dups, floor, cache (comma separated; dups: the cost of "
        "--duplicates full; floor: the engine against bare SQL writing the same outputs)",
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

        def children(
            label_a: str, kind_a: str, src_a: Path, label_b: str, kind_b: str, src_b: Path, n: int
        ) -> tuple:
            """Interleaved in-process timings of two CHILD kinds, each writing to its own folder."""
            out_a = Path(tempfile.mkdtemp(prefix=f"{kind_a}_", dir=tmp_path))
            out_b = Path(tempfile.mkdtemp(prefix=f"{kind_b}_", dir=tmp_path))
            cmd_a = [py, "-c", CHILD, kind_a, str(src_a), str(out_a)]
            cmd_b = [py, "-c", CHILD, kind_b, str(src_b), str(out_b)]
            return pairs(label_a, cmd_a, label_b, cmd_b, n, "wall_s")

        if "engine" in only:
            print("1. ingest_trade (3 outputs) vs bare DuckDB GROUP BY -> Parquet (in process)")
            a, b = children("ingest_trade", "engine", path, "bare duckdb", "duckdb", path, args.pairs)
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
        if "cache" in only:
            folder = Path(tempfile.mkdtemp(prefix="cache_", dir=tmp_path))
            r = measure([py, "-c", CHILD, "cache", str(path), str(folder)])
            print(
                f"cache: first run {r['cold_s']:.2f} s, unchanged file {r['unchanged_s']:.3f} s, "
                f"re-hashing it {r['rehash_s']:.2f} s"
            )
        if "dups" in only:
            print("4. ingest_trade --duplicates full vs the default (sample)")
            a, b = children(
                "duplicates full", "engine_full", path, "duplicates sample", "engine", path, args.pairs
            )
            results["dups"] = (a, b)
        if "floor" in only:
            print("5. ingest_trade vs the floor (the same outputs by bare SQL) vs bare GROUP BY (in process)")
            cmds = []
            for kind in ("engine", "floor", "duckdb"):
                folder = Path(tempfile.mkdtemp(prefix=f"{kind}_", dir=tmp_path))
                cmds.append([py, "-c", CHILD, kind, str(path), str(folder)])
            e, f, b = interleaved(
                [
                    ("ingest_trade", cmds[0]),
                    ("floor (bare SQL, 3 outputs)", cmds[1]),
                    ("bare duckdb", cmds[2]),
                ],
                args.pairs,
                "wall_s",
            )
            results["floor"] = (e, f, b)
        if "zip" in only:
            years5 = [2020, 2021, 2022, 2023, 2024]
            z5 = gen_baci.generate_zip(args.rows, years5, args.seed)
            z1 = gen_baci.generate_zip(args.rows, [2022], args.seed)
            print(
                f"3. five-year zip ({z5.stat().st_size / 1e6:.0f} MB) vs one year ({z1.stat().st_size / 1e6:.0f} MB)"
            )
            a, b = children(
                "ingest_trade 5-year zip",
                "engine",
                z5,
                "ingest_trade 1-year zip",
                "engine",
                z1,
                max(1, args.pairs // 2),
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
    if "floor" in results:
        e, f, b = results["floor"]
        report("  engine vs floor", e, f, "wall_s", None)
        report("  floor vs bare query", f, b, "wall_s", None)
        report("  engine vs bare query", e, b, "wall_s", 1.1)
    if "zip" in results:
        a, b = results["zip"]
        report("  5-year vs 1-year zip", a, b, "wall_s", 5.5, " (target 5-year <= 1-year + 10%)")


if __name__ == "__main__":
    main()
