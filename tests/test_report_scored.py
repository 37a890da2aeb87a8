"""The report on tables written by the real score stage (its invented inputs).

Guards the contract between scoring and the report: whatever columns scoring writes,
the workbook shows its ranks, tiers and scores unchanged and its weights as used.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fixtures.contract_fill import fill
from openpyxl import load_workbook

from cclreview import contracts
from cclreview.report import build_report
from cclreview.score import compare, engine, synthetic
from cclreview.score import weights as weights_mod

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> dict[str, Path]:
    weights_path = ROOT / "config" / "weights.toml"
    root = tmp_path_factory.mktemp("scored")
    processed = root / "processed"
    processed.mkdir()
    tables = synthetic.make_synthetic(n_eccns=60, seed=3)
    weights = weights_mod.load_weights(weights_path)
    scores = engine.score_tables(
        tables["entries"], tables["links"], tables["availability"], weights, tables.get("evidence"),
        sha=weights_mod.weights_sha256(weights_path),
    )  # fmt: skip
    for name, df in (
        ("ccl_entries", tables["entries"]),
        ("eccn_hs_links", tables["links"]),
        ("availability_hs", tables["availability"]),
        ("evidence", tables["evidence"]),
    ):
        fill(name, df).to_parquet(processed / contracts.FILES[name], index=False)
    contracts.write("scores", scores, processed)  # scoring's own output meets its contract
    out = root / "wb.xlsx"
    build_report(processed, out, weights=weights_path, run_date="2030-01-01")
    return {"processed": processed, "out": out}


def test_candidates_show_scoring_unchanged(scored):
    scores = pd.read_parquet(scored["processed"] / "scores.parquet").set_index("eccn")
    ws = load_workbook(scored["out"])["Candidates"]
    headers = [c.value for c in ws[1]]
    col = {h: i for i, h in enumerate(headers)}
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(scores)
    for row in rows:
        eccn = row[col["ECCN"]]
        assert row[col["Rank"]] == scores.at[eccn, "rank"]
        assert row[col["Tier"]] == scores.at[eccn, "tier"]
        assert row[col["Security score"]] == pytest.approx(scores.at[eccn, "security_score"], abs=1e-6)
    assert [r[col["Rank"]] for r in rows] == sorted(scores["rank"])
    guard = scores[scores["tier"] == "guardrail"]
    for eccn in guard.index:
        row = next(r for r in rows if r[col["ECCN"]] == eccn)
        assert row[col["Guardrail reason"]] == guard.at[eccn, "guardrail_reason"]


def test_summary_says_weights_match_scores(scored):
    ws = load_workbook(scored["out"])["Summary"]
    values = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r and r[0]}
    assert "the same file scoring used" in values["Weights"]
    coverage_total = next(r for r in ws.iter_rows(values_only=True) if r and r[0] == "All categories")
    scores = pd.read_parquet(scored["processed"] / "scores.parquet")
    assert coverage_total[1] == len(scores)
    assert coverage_total[3] == (scores["granularity"] == "HS6").sum()
    assert coverage_total[4] == (scores["granularity"] == "HS4").sum()


def test_scenarios_sheet_from_weights_comparison(scored, tmp_path):
    weights = weights_mod.load_weights(ROOT / "config" / "weights.toml")
    other = weights.model_copy(deep=True)
    other.decontrol.security_exponent = 2.0
    tables = {name: pd.read_parquet(scored["processed"] / f"{file}.parquet") for name, file in
              (("entries", "ccl_entries"), ("links", "eccn_hs_links"), ("availability", "availability_hs"),
               ("evidence", "evidence"))}  # fmt: skip
    df = compare.compare_weights(tables, weights, other)
    processed = tmp_path / "processed"
    processed.mkdir()
    for f in scored["processed"].iterdir():
        (processed / f.name).write_bytes(f.read_bytes())
    df.to_csv(processed / "weights_comparison.csv", index=False)
    out = tmp_path / "wb.xlsx"
    build_report(processed, out, run_date="2030-01-01")
    book = load_workbook(out)
    assert "Scenarios" in book.sheetnames
    rows = list(book["Scenarios"].iter_rows(values_only=True))
    assert list(rows[0]) == list(df.columns)
    assert [r[0] for r in rows[1:]] == df["eccn"].tolist()
    assert [r[3] for r in rows[1:]] == df["rank_change"].tolist()
