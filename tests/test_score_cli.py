"""The score-stage commands through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from fixtures.contract_fill import fill

from cclreview.cli import cli

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "config" / "weights.toml"


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory, fixtures: Path) -> Path:
    data = json.loads((fixtures / "score" / "mini.json").read_text(encoding="utf-8"))
    folder = tmp_path_factory.mktemp("processed")
    names = {
        "entries": "ccl_entries",
        "links": "eccn_hs_links",
        "availability": "availability_hs",
        "evidence": "evidence",
    }
    for key, name in names.items():
        fill(name, pd.DataFrame(data[key])).to_parquet(folder / f"{name}.parquet")
    return folder


def test_score_command_writes_scores_and_summary(processed: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["score", "--processed", str(processed), "--weights", str(WEIGHTS), "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert len(scores) == 10
    assert "10 ECCNs scored" in res.output
    n_guard = int((scores["tier"] == "guardrail").sum())
    assert f"guardrail              {n_guard:>5}" in res.output
    assert scores["rank"].tolist() == list(range(1, 11))


def test_score_missing_inputs_is_one_line_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["score", "--processed", str(tmp_path), "--weights", str(WEIGHTS), "--out", str(tmp_path)]
    )
    assert res.exit_code == 1
    assert (
        "Error: " in res.output
        and "ccl_entries.parquet not found; run `cclreview ingest-ccl` first" in res.output
    )


def test_weights_show_and_invalid_file(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["weights", "--weights", str(WEIGHTS), "--show", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "[security.reasons]" in res.output and "NS1 = 0.7" in res.output
    assert "[[guardrails]]" in res.output
    assert (tmp_path / "weights_effective.toml").is_file()
    bad = tmp_path / "bad.toml"
    bad.write_text("[security.reasons]\nNSX = 0.3\n", encoding="utf-8")
    res = runner.invoke(cli, ["weights", "--weights", str(bad)])
    assert res.exit_code == 1
    assert f"Error: {bad}: security.reasons.NSX: unknown reason code 'NSX' (allowed: NS1, NS2," in res.output


def test_sensitivity_and_compare_commands(processed: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "sensitivity",
            "--processed",
            str(processed),
            "--weights",
            str(WEIGHTS),
            "--out",
            str(tmp_path),
            "--draws",
            "50",
            "--spread",
            "0.2",
            "--seed",
            "4",
        ],
    )
    assert res.exit_code == 0, res.output
    sens = pd.read_parquet(tmp_path / "sensitivity.parquet")
    assert {"eccn", "median_rank", "rank_p05", "rank_p95", "p_top25"} <= set(sens.columns)
    alt = tmp_path / "alt.toml"
    alt.write_text(WEIGHTS.read_text(encoding="utf-8").replace("AT1 = 0.05", "AT1 = 0.5"), encoding="utf-8")
    res = runner.invoke(
        cli,
        ["compare-weights", str(WEIGHTS), str(alt), "--processed", str(processed), "--out", str(tmp_path)],
    )
    assert res.exit_code == 0, res.output
    cmp = pd.read_csv(tmp_path / "weights_comparison.csv")
    assert len(cmp) == 10
    assert "change rank" in res.output
    res = runner.invoke(cli, ["sensitivity", "--draws", "0"])
    assert res.exit_code == 2  # usage error


def test_help_texts_have_examples() -> None:
    for cmd in ("score", "weights", "sensitivity", "compare-weights"):
        res = CliRunner().invoke(cli, [cmd, "--help"])
        assert res.exit_code == 0
        assert "Example" in res.output and f"cclreview {cmd}" in res.output
        assert "--out" in res.output
