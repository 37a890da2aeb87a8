"""CLI commands of the score stage: ``score``, ``weights``, ``sensitivity``, ``compare-weights``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cclreview.cli import options
from cclreview.config import project_paths

_processed_option = options.processed()
_weights_option = options.weights()
_out_option = options.out_dir()


def _defaults(
    processed: Path | None, weights_path: Path | None, out_dir: Path | None
) -> tuple[Path, Path, Path]:
    paths = project_paths()
    return (processed or paths.processed, weights_path or paths.weights, out_dir or paths.processed)


@click.command("score")
@_processed_option
@_weights_option
@_out_option
@options.setting(
    "--sensitivity-draws",
    0,
    "Also write sensitivity.parquet with this many draws of each kind (links, data, weights, all; seed 0), in the same process.",
    type=click.IntRange(min=0),
)
def score(
    processed: Path | None, weights_path: Path | None, out_dir: Path | None, sensitivity_draws: int
) -> None:
    """Score every ECCN and write scores.parquet (ranked, with tiers and explanations).

    Reads ccl_entries, eccn_hs_links, availability_hs and (if present) evidence
    from the processed folder, plus the weights; never raw files. Prints the number
    of ECCNs per tier and the top of the ranking.

    \b
    Example:
      cclreview score
      cclreview score --weights my_weights.toml --out /tmp/scores
      cclreview score --sensitivity-draws 1000     # what `make reports` runs
    """
    from cclreview.contracts import TIER_ORDER
    from cclreview.score.engine import load_prepared, run_score

    processed, weights_path, out_dir = _defaults(processed, weights_path, out_dir)
    prepared = load_prepared(processed, weights_path)
    scores, path = run_score(processed, weights_path, out_dir, prepared=prepared)
    counts = scores["tier"].value_counts()
    click.echo(f"{len(scores)} ECCNs scored -> {path}")
    for tier in TIER_ORDER:
        if tier not in counts and tier == "not a foreign-availability case":
            continue  # listed once the scoring stage assigns it
        click.echo(f"  {tier:<22} {int(counts.get(tier, 0)):>5}")
    top = scores[scores["tier"] == "candidate"].head(5)
    for row in top.itertuples():
        click.echo(f"  #{row.rank:<4} {row.eccn}  {row.decontrol_score:.3f}  {row.explanation}")
    if sensitivity_draws:
        _sensitivity(prepared, out_dir, sensitivity_draws, None, 0, "lognormal")


@click.command("weights")
@_weights_option
@options.flag("--show", "Print every effective value (defaults filled in).")
@options.out_dir("Also write the effective values to DIR/weights_effective.toml.")
def weights(weights_path: Path | None, show: bool, out_dir: Path | None) -> None:
    """Validate a weights file; with --show print the effective values.

    A misspelt key, a negative weight or an unknown reason code fails with the
    key path, the value and the allowed range.

    \b
    Example:
      cclreview weights --show
      cclreview weights --weights my_weights.toml
    """
    from cclreview.io import write_text
    from cclreview.score.weights import format_weights, load_weights, weights_sha256

    path = weights_path or project_paths().weights
    w = load_weights(path)
    text = f"# effective weights from {path} (sha256 {weights_sha256(path)})\n" + format_weights(w)
    if show:
        click.echo(text, nl=False)
    else:
        click.echo(f"{path}: OK ({len(w.guardrails)} guardrails, sha256 {weights_sha256(path)[:12]})")
    if out_dir is not None:
        click.echo(f"wrote {write_text(text, Path(out_dir) / 'weights_effective.toml')}")


@click.command("sensitivity")
@_processed_option
@_weights_option
@_out_option
@options.setting("--draws", 1000, "Number of weightings.", type=click.IntRange(min=1))
@options.value(
    "--spread",
    click.FloatRange(0, 5),
    "Weight noise scale (0.2 ~ +/-20%) [default: weights sensitivity.spread].",
)
@options.setting("--seed", 0, "Random seed (same seed, same result).")
@options.setting(
    "--method",
    "lognormal",
    "Multiplicative lognormal noise, or Dirichlet draws of the availability weights.",
    type=click.Choice(["lognormal", "dirichlet"]),
)
def sensitivity(
    processed: Path | None,
    weights_path: Path | None,
    out_dir: Path | None,
    draws: int,
    spread: float | None,
    seed: int,
    method: str,
) -> None:
    """Perturb links, data and weights; write sensitivity.parquet (rank robustness).

    For each ECCN and each kind of perturbation (links, data, weights, all): median
    rank, 90% rank interval, P(top 25) and P(candidate); [sensitivity] in the weights
    file sets the sizes of the draws.

    \b
    Example:
      cclreview sensitivity --draws 1000 --spread 0.2 --seed 7
    """
    from cclreview.score.engine import load_prepared

    processed, weights_path, out_dir = _defaults(processed, weights_path, out_dir)
    _sensitivity(load_prepared(processed, weights_path), out_dir, draws, spread, seed, method)


def _sensitivity(
    prepared: tuple[Any, Any], out_dir: Path, draws: int, spread: float | None, seed: int, method: str
) -> None:
    from cclreview import contracts
    from cclreview.score.sensitivity import sensitivity as run

    w, prep = prepared
    result = run(prep, w, draws=draws, spread=spread, seed=seed, method=method)
    path = contracts.write("sensitivity", result, out_dir)
    robust = int((result["p_top25"] >= 0.9).sum())
    shown = w.sensitivity.spread if spread is None else spread
    click.echo(f"{draws} draws per kind (links, data, weights, all), spread {shown}, seed {seed} -> {path}")
    click.echo(f"  {robust} ECCN(s) in the top 25 in at least 90% of draws")
    for row in result.head(10).itertuples():
        click.echo(
            f"  {row.eccn}  median rank {row.median_rank:g}  90% [{row.rank_p05:g}, {row.rank_p95:g}]"
            f"  p(top25) {row.p_top25:.2f}  p(candidate) {row.p_candidate:.2f}  moved most by {row.moved_most_by}"
        )


@click.command("compare-weights")
@click.argument("weights_a", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("weights_b", type=click.Path(dir_okay=False, path_type=Path))
@_processed_option
@_out_option
@options.setting("--top", 20, "Changes to print.", type=click.IntRange(min=0))
def compare_weights(
    weights_a: Path, weights_b: Path, processed: Path | None, out_dir: Path | None, top: int
) -> None:
    """List rank and tier changes between two weightings (A = reference, B = new).

    Writes weights_comparison.csv (every ECCN, largest moves first);
    rank_change > 0 means B ranks the ECCN higher.

    \b
    Example:
      cclreview compare-weights config/weights.toml my_weights.toml --out /tmp/cmp
    """
    from cclreview.io import write_csv
    from cclreview.score.compare import compare_weights as run
    from cclreview.score.engine import load_score_inputs
    from cclreview.score.weights import load_weights, weights_sha256

    processed, _, out_dir = _defaults(processed, None, out_dir)
    wa, wb = load_weights(weights_a), load_weights(weights_b)
    tables = load_score_inputs(processed)
    df = run(tables, wa, wb, weights_sha256(weights_a), weights_sha256(weights_b))
    path = write_csv(df, out_dir / "weights_comparison.csv")
    moved = int((df["rank_change"] != 0).sum())
    click.echo(f"{moved} ECCN(s) change rank, {int(df['tier_changed'].sum())} change tier -> {path}")
    for row in df.head(top).itertuples():
        if row.rank_change == 0 and not row.tier_changed:
            break
        click.echo(
            f"  {row.eccn}  {row.rank_a} -> {row.rank_b} ({row.rank_change:+d})  {row.tier_a} -> {row.tier_b}"
        )


commands: list[click.Command] = [score, weights, sensitivity, compare_weights]
