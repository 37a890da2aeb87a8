"""Where the time of one trade ingest goes: wall and CPU seconds of its main steps.

Runs ``ingest_trade`` once (no cache) on the generated 10M-row BACI year (see
``gen_baci.py``) with timers around the steps: the grouping query, gathering the
outputs, writing the sorted parts, checking them against their contracts, hashing the
input. Steps nest (writing and checking the parts happen inside ``store_cached``), and
the hash runs in a thread beside the grouping query, so the rows do not add up to the
total, and CPU seconds are the whole process's (every thread) while a step runs. Run it
on an idle machine.

\b
Example
-------
    python bench/profile_trade.py              # 10M rows
    python bench/profile_trade.py --rows 200000
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))


def _timed(owner: Any, name: str, times: dict[str, list[float]]) -> None:
    func = getattr(owner, name)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0, c0 = time.perf_counter(), os.times()
        try:
            return func(*args, **kwargs)
        finally:
            c1 = os.times()
            acc = times.setdefault(name, [0.0, 0.0])
            acc[0] += time.perf_counter() - t0
            acc[1] += c1.user - c0.user + c1.system - c0.system

    setattr(owner, name, wrapper)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    import gen_baci

    path = gen_baci.generate(args.rows, args.seed)
    t_imp = time.perf_counter()
    import cclreview.contracts as contracts
    from cclreview.trade import baci, cache, ingest, parts
    from cclreview.trade.ingest import ingest_trade

    imports = time.perf_counter() - t_imp
    times: dict[str, list[float]] = {}
    steps = [
        (baci, "_aggregate"),  # the grouping query (and its second pass when there are rejects)
        (baci, "_write_parts"),  # gathering the outputs of the grouped table
        (cache, "store_cached"),  # the parts: written, checked, and the cache entry's reports
        (parts.PartSink, "close"),  # writing the sorted parts
        (contracts, "validate_file"),  # checking the parts against their contracts
        (cache, "sha256_file"),  # the input's hash (a thread beside the query under --no-cache)
        (ingest, "_write_all"),  # copying the parts to the outputs
    ]
    for owner, name in steps:
        _timed(owner, name, times)
    with tempfile.TemporaryDirectory(prefix="profile_trade_") as out:
        t0, c0 = time.perf_counter(), os.times()
        summary = ingest_trade([path], out, use_cache=False)
        c1 = os.times()
        wall = time.perf_counter() - t0
    cpu = c1.user - c0.user + c1.system - c0.system
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{summary['rows_read']:,} rows; imports {imports:.2f} s; ingest {wall:.2f} s wall, {cpu:.2f} s CPU; peak RSS {rss:.0f} MB"
    )
    for name, (w, c) in sorted(times.items(), key=lambda kv: -kv[1][0]):
        print(f"  {name:16s} {w:6.2f} s wall {c:6.2f} s CPU")


if __name__ == "__main__":
    main()
