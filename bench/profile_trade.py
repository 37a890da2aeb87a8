"""Where the time of one trade ingest goes: wall and CPU seconds of its main steps.

Runs ``ingest_trade`` once (no cache, so no hashing) on the generated 10M-row BACI year
(see ``gen_baci.py``) with timers around the steps: the grouping query, writing the three
sorted parts (``_write_parts``, one ``append_query`` per part), checking the parts'
columns and types, and writing the outputs. Steps nest (``append_query`` runs inside
``_write_parts``, ``check_part`` inside ``store_cached``), so the rows do not add up to
the total; CPU seconds are the whole process's (every thread) while a step runs. Run it
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
    from cclreview.trade import baci, cache, ingest, parts
    from cclreview.trade.ingest import ingest_trade

    imports = time.perf_counter() - t_imp
    times: dict[str, list[float]] = {}
    steps = [
        (baci, "_aggregate"),  # the grouping query (and its second pass when there are rejects)
        (baci, "_write_parts"),  # the three sorted parts from the grouped table
        (parts.PartSink, "append_query"),  # one part (a sorted COPY)
        (cache, "store_cached"),  # the parts checked, the entry's reports and meta
        (cache, "check_part"),  # one part's columns and types
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
