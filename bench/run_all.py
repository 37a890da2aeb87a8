"""Run every benchmark script in turn (``make bench``) and print their measured numbers.

Each script runs in its own process so that peak-memory figures are per benchmark.
Machine used for the figures quoted in the README: 2 cores, 24 GiB.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "bench_ccl.py",
    "bench_trade.py",
    "bench_availability.py",
    "bench_link.py",
    "bench_score.py",
    "bench_report.py",
    "bench_dossier.py",
]


def main() -> int:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    failed = []
    for name in ORDER:
        script = HERE / name
        if not script.exists():
            continue
        print(f"\n=== {name}", flush=True)
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
