"""End to end: the whole chain (`cclreview run`) into a temporary project folder.

One run on small hand-written fixtures (seconds), one on the real mirror data.
Both check the workbook as a reviewer meets it: every ECCN once, tiers assigned, the
sources listed, the reviewer columns present.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from cclreview.cli import cli
from cclreview.contracts import TIER_ORDER

ROOT = Path(__file__).resolve().parents[1]
FIX = Path(__file__).resolve().parent / "fixtures"
TIERS = set(TIER_ORDER)

FIXTURE_SOURCES = """
[ccl]
date = "latest"

[baci]
enabled = false

[[files]]
name = "hs2022"
kind = "hs"
target = "hs/harmonized_system_HS2022.csv"
mirror = "hs/harmonized_system_HS2022.csv"
vintage = "HS2022"
required = true

[[files]]
name = "baci_small"
kind = "trade"
target = "trade/baci_small.csv"
mirror = "trade/baci_small.csv"
vintage = "2022"

[[files]]
name = "ear_country_chart"
kind = "ear"
target = "ear/country_chart_2026-07-23.json"
mirror = "ear/country_chart_mini.json"
vintage = "2026-07-23"

[[files]]
name = "ear_meu_items"
kind = "ear"
target = "ear/meu_supp2_part744_items_2026-09-24.csv"
mirror = "ear/meu_mini.csv"
vintage = "2026-09-24"

[[files]]
name = "ear_sl_vsl"
kind = "ear"
target = "ear/wassenaar_sl_vsl_part774_supp6_supp7_2026-09-24.csv"
mirror = "ear/sl_vsl_mini.csv"
vintage = "2026-09-24"
"""


def _project(tmp_path: Path, sources: str | None = None) -> Path:
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    shutil.copy(ROOT / "config" / "weights.toml", project / "config" / "weights.toml")
    if sources is None:
        shutil.copy(ROOT / "config" / "sources.toml", project / "config" / "sources.toml")
    else:
        (project / "config" / "sources.toml").write_text(sources)
    return project


def _candidates(report: Path) -> tuple[list[str], list[dict[str, object]]]:
    wb = openpyxl.load_workbook(report, read_only=True)
    rows = list(wb["Candidates"].iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    records = [dict(zip(header, r, strict=False)) for r in rows[1:] if any(v is not None for v in r)]
    return header, records


def _check_workbook(project: Path) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    report = project / "reports" / "decontrol_candidates.xlsx"
    assert report.exists()
    entries = pd.read_parquet(project / "data/processed/ccl_entries.parquet")
    header, records = _candidates(report)
    assert "Reviewer decision" in header and "Reviewer notes" in header
    eccns = [str(r["ECCN"]) for r in records]
    assert sorted(eccns) == sorted(entries["eccn"]), "every ECCN exactly once"
    assert {str(r["Tier"]) for r in records} <= TIERS
    wb = openpyxl.load_workbook(report, read_only=True)
    sources_text = "\n".join(
        str(v) for row in wb["Sources"].iter_rows(values_only=True) for v in row if v is not None
    )
    manifest = json.loads((project / "data/raw/MANIFEST.json").read_text())
    for f in manifest["files"]:
        assert f["sha256"] in sources_text, f"{f['path']} missing from the Sources sheet"
    # Every trade input, with what the trade stage made of its rows and its partner detail.
    trade = [r for r in wb["Sources"].iter_rows(values_only=True) if r and r[0] == "trade input"]
    trade_files = [f for f in manifest["files"] if f.get("kind") == "trade"]
    assert sorted(str(r[1]) for r in trade) == sorted(Path(f["path"]).name for f in trade_files)
    for r in trade:
        note = str(r[-1])
        assert " rows read; " in note and " rejected" in note, note
        assert "partner detail" in note, note
    return entries, records


def fixture_mirror(mirror: Path) -> Path:
    """Lay the hand-written fixtures out as a source mirror (the layout ``fetch`` copies)."""
    for src, dest in [
        (FIX / "ccl" / "mini_ccl.xml", "ccl/ccl_supp1_ecfr_2026-01-15.xml"),
        (FIX / "link" / "hs_mini.csv", "hs/harmonized_system_HS2022.csv"),
        (FIX / "trade" / "baci_small.csv", "trade/baci_small.csv"),
        (FIX / "ear" / "country_chart_mini.json", "ear/country_chart_mini.json"),
        (FIX / "ear" / "meu_mini.csv", "ear/meu_mini.csv"),
        (FIX / "ear" / "sl_vsl_mini.csv", "ear/sl_vsl_mini.csv"),
    ]:
        (mirror / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, mirror / dest)
    return mirror


def test_run_on_fixtures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    fixture_mirror(mirror)
    project = _project(tmp_path, FIXTURE_SOURCES)
    monkeypatch.setenv("CCLREVIEW_HOME", str(project))
    # The hand-written lists are far shorter than the real ones (truncation floor).
    from cclreview.controls import lists as ear_lists

    monkeypatch.setattr(ear_lists, "MIN_ROWS", {"MEU": 1, "SL": 1, "VSL": 1})
    result = CliRunner().invoke(cli, ["-q", "run", "--mirror", str(mirror), "--draws", "50"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()[-5:]
    assert lines[0] == f"Workbook: {project / 'reports' / 'decontrol_candidates.xlsx'}"
    assert lines[1].startswith("  ECCNs scored:")
    entries, records = _check_workbook(project)
    assert len(records) == len(entries) >= 10


@pytest.mark.slow
def test_run_on_real_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> None:
    project = _project(tmp_path)
    monkeypatch.setenv("CCLREVIEW_HOME", str(project))
    result = CliRunner().invoke(cli, ["-q", "run", "--mirror", str(shared_data), "--draws", "200"])
    assert result.exit_code == 0, result.output
    entries, records = _check_workbook(project)
    assert len(records) == len(entries) >= 637
    tiers = {str(r["ECCN"]): str(r["Tier"]) for r in records}
    for eccn in ("3A090", "4A090", "3B001"):
        assert tiers[eccn] in {"guardrail", "retain"}, (eccn, tiers[eccn])
    assert tiers["2B001"] != "insufficient evidence"
    wb = openpyxl.load_workbook(project / "reports" / "decontrol_candidates.xlsx", read_only=True)
    notes = {
        str(r[1]): str(r[-1])
        for r in wb["Sources"].iter_rows(values_only=True)
        if r and r[0] == "trade input"
    }
    # The HS4 tables say they have no partner detail; Comtrade says what it set aside.
    assert notes["otstats_world_exports_hs07_hs4_2017.csv"].split("; ")[-1].startswith("no partner detail")
    assert "Comtrade breakdown rows set aside" in notes["comtrade_minerals_2022.csv.gz"]
    assert "exact duplicate rows dropped" in notes["comtrade_minerals_2022.csv.gz"]
