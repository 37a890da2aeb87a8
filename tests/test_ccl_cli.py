"""CLI tests of `cclreview ingest-ccl`: exit codes, summary line and exact error lines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cclreview.cli import cli


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_ingest_ccl_writes_tables_and_summary(runner: CliRunner, fixtures: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["-q", "ingest-ccl", str(fixtures / "ccl" / "mini_ccl.xml"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"13 ECCNs, 12 paragraphs, 3 without reasons -> {tmp_path}\n"
    entries = pd.read_parquet(tmp_path / "ccl_entries.parquet")
    assert len(entries) == 13
    assert len(pd.read_parquet(tmp_path / "ccl_paragraphs.parquet")) == 12


def test_default_input_and_output_come_from_project_paths(
    runner: CliRunner, fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCLREVIEW_HOME", str(tmp_path))
    raw = tmp_path / "data" / "raw" / "ccl"
    raw.mkdir(parents=True)
    shutil.copy(fixtures / "ccl" / "mini_ccl.xml", raw / "ccl_supp1_test.xml")
    result = runner.invoke(cli, ["-q", "ingest-ccl"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "processed" / "ccl_entries.parquet").is_file()


def test_missing_default_input_is_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCLREVIEW_HOME", str(tmp_path))
    result = runner.invoke(cli, ["-q", "ingest-ccl", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    folder = tmp_path.resolve() / "data" / "raw" / "ccl"
    assert result.stderr == (
        f"Error: no CCL XML in {folder}: run `cclreview fetch ccl` or place the eCFR XML of "
        f"15 CFR 774 Supp. 1 (e.g. ccl_supp1_ecfr_2026-06.xml) in {folder}/\n"
    )


def test_malformed_xml_exit_1_with_file_and_line(runner: CliRunner, fixtures: Path, tmp_path: Path) -> None:
    path = fixtures / "ccl" / "malformed.xml"
    line = _line_of(path, "Active control in five axes;</FP>")
    result = runner.invoke(cli, ["-q", "ingest-ccl", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: {path}: malformed XML at line {line}: ")
    assert lines[0].endswith("; re-download it with `cclreview fetch ccl`")
    assert not (tmp_path / "ccl_entries.parquet").exists()


@pytest.mark.parametrize(
    ("name", "needle", "expected"),
    [
        (
            "duplicate_eccn.xml",
            "<B>2B950 “Technology”",
            "duplicated ECCN 2B950 (first header at line {first})",
        ),
        ("bad_eccn_id.xml", "<B>2B95 ", "ECCN header id '2B95' is not digit-letter-three-digits"),
    ],
)
def test_bad_entries_exit_1_naming_eccn_and_line(
    runner: CliRunner, fixtures: Path, tmp_path: Path, name: str, needle: str, expected: str
) -> None:
    path = fixtures / "ccl" / name
    line = _line_of(path, needle)
    first = _line_of(path, "<B>2B950 Balancing")
    result = runner.invoke(cli, ["-q", "ingest-ccl", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: line {line}: {expected.format(first=first)}")
    assert result.stderr.count("\n") == 1


def test_empty_ccl_exit_1(runner: CliRunner, fixtures: Path, tmp_path: Path) -> None:
    path = fixtures / "ccl" / "empty_ccl.xml"
    result = runner.invoke(cli, ["-q", "ingest-ccl", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: no CCL entries found")


def test_usage_error_exit_2(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["ingest-ccl", "--bogus"])
    assert result.exit_code == 2
    assert "No such option '--bogus'" in result.stderr


def test_help_has_an_example(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["ingest-ccl", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "--out DIRECTORY" in result.stdout


def test_out_that_is_a_file_exit_1(runner: CliRunner, fixtures: Path, tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    result = runner.invoke(
        cli, ["-q", "ingest-ccl", str(fixtures / "ccl" / "mini_ccl.xml"), "--out", str(target)]
    )
    assert result.exit_code != 0
    assert "Error:" in result.stderr and "file.txt" in result.stderr
