"""Benchmark of the score stage: scoring all ECCNs and 1,000 sensitivity draws.

Uses the real processed tables in ``data/processed/`` when all of them are present,
else an invented input of 637 ECCNs (:mod:`cclreview.score.synthetic`). The
sensitivity runs 1,000 draws of EACH kind (links, data, weights) and 1,000 of all
three combined (what ``cclreview score --sensitivity-draws 1000`` does). Target
(issue 12): prepare + score + all draws < 15 s on the 2-core machine; measure it on
an idle machine (``uptime``).


Example:
  .venv/bin/python bench/bench_score.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from cclreview.config import project_paths
from cclreview.score.engine import load_score_inputs, score_prepared
from cclreview.score.prepare import prepare
from cclreview.score.sensitivity import sensitivity
from cclreview.score.synthetic import make_synthetic
from cclreview.score.weights import load_weights, weights_sha256

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    paths = project_paths(ROOT)
    weights = load_weights(paths.weights)
    needed = ("ccl_entries.parquet", "eccn_hs_links.parquet", "availability_hs.parquet")
    if all((paths.processed / n).is_file() for n in needed):
        tables, label = load_score_inputs(paths.processed), f"real processed data ({paths.processed})"
    else:
        tables, label = make_synthetic(637, seed=0), "synthetic input (637 ECCNs)"
    t0 = time.perf_counter()
    prep = prepare(
        tables["entries"], tables["links"], tables["availability"], weights, tables.get("evidence")
    )
    scores = score_prepared(prep, weights, weights_sha256(paths.weights))
    t_score = time.perf_counter() - t0
    t0 = time.perf_counter()
    sens = sensitivity(prep, weights, draws=1000, spread=0.2, seed=0)
    t_sens = time.perf_counter() - t0
    print(f"input: {label}")
    print(f"score: {len(scores)} ECCNs in {t_score:.3f} s (target < 2 s)")
    print(f"sensitivity: 1000 draws x 4 kinds x {len(sens)} ECCNs in {t_sens:.3f} s")
    total = t_score + t_sens
    print(f"score with all perturbations: {total:.3f} s (target < 15 s)")
    return 0 if total < 15 else 1


if __name__ == "__main__":
    sys.exit(main())
