"""Tests of the review workbook (cclreview.report): reopened with openpyxl."""

from __future__ import annotations

import errno
import os
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import cclreview.io
from cclreview.cli import cli
from cclreview.errors import InputError, OutputError
from cclreview.report import (
    build_report,
    ecfr_url,
    read_previous,
    resolve_run_date,
    sheets_candidates,
    sheets_method,
    tables,
)
from cclreview.report.carryover import ORPHAN_LABEL
from cclreview.report.ecfr import ECFR_CCL_URL
from cclreview.report.safe import clean_text, needs_text_guard

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "report"))
from synth import BELL_HEADING, HOSTILE_EXPLANATION, HOSTILE_HEADING, make_processed

RUN_DATE = "2030-02-01"
EXPECTED_SHEETS = [
    "Summary", "Candidates", "China licence relief", "Evidence", "Unlinked", "Guardrails", "Sensitivity", "Changes", "Method",
    "Sources", "Data dictionary",
]  # fmt: skip


def _build(paths: dict[str, Path], out: Path, **kw) -> Path:
    build_report(
        paths["processed"], out, weights=paths["weights"], manifest=paths["manifest"], run_date=RUN_DATE, **kw
    )
    return out


def _table(ws) -> tuple[list[str], list[tuple]]:
    rows = list(ws.iter_rows(values_only=True))
    return [h for h in rows[0] if h is not None], rows[1:]


def _col(ws, header: str) -> int:
    headers = [c.value for c in ws[1]]
    return headers.index(header) + 1


def _row_of(ws, eccn: str) -> int:
    col = _col(ws, "ECCN")
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, col).value == eccn:
            return r
    raise AssertionError(f"{eccn} not on sheet {ws.title}")


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> dict[str, Path]:
    return make_processed(tmp_path_factory.mktemp("report_synth"), n_eccns=24)


@pytest.fixture(scope="module")
def built(synth, tmp_path_factory) -> Path:
    return _build(synth, tmp_path_factory.mktemp("report_out") / "wb.xlsx")


@pytest.fixture(scope="module")
def wb(built):
    book = load_workbook(built)
    yield book
    book.close()


def test_sheet_names_and_headers(wb):
    assert wb.sheetnames == EXPECTED_SHEETS
    headers, rows = _table(wb["Candidates"])
    assert headers == [c.header for c in sheets_candidates.candidates_columns(True)]
    assert headers[:2] == ["Rank", "ECCN"] and headers[-2:] == ["Reviewer decision", "Reviewer notes"]
    assert len(rows) == 24
    assert _table(wb["Evidence"])[0] == [c.header for c in tables.columns("evidence")]


def test_candidates_ranked_with_scores_from_scoring(wb, synth):
    scores = pd.read_parquet(synth["processed"] / "scores.parquet").set_index("eccn")
    ws = wb["Candidates"]
    ranks = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
    assert ranks == sorted(ranks)
    for r in range(2, ws.max_row + 1):
        eccn = ws.cell(r, _col(ws, "ECCN")).value
        assert ws.cell(r, _col(ws, "Tier")).value == scores.at[eccn, "tier"]
        assert ws.cell(r, _col(ws, "Decontrol score")).value == pytest.approx(
            scores.at[eccn, "decontrol_score"]
        )
    assert ws.cell(2, _col(ws, "China share")).number_format.endswith("%")


def test_hyperlinks_point_at_ecfr(wb):
    ws = wb["Candidates"]
    col = _col(ws, "ECCN")
    for r in range(2, ws.max_row + 1):
        cell = ws.cell(r, col)
        assert cell.hyperlink is not None, f"row {r} has no link"
        # Excel stores the part after "#" as the link's location; it opens target#location.
        link = cell.hyperlink.target + "#" + (cell.hyperlink.location or "")
        assert link.startswith(ECFR_CCL_URL + "#:~:text=")
        assert cell.value in link
    assert ecfr_url("3A090", "Integrated circuits as follows") == ECFR_CCL_URL + "#:~:text=3A090%20Integrated"
    assert ecfr_url("3A090", "\u201cParts\u201d and components").endswith("#:~:text=3A090")


def test_decision_drop_down_frozen_panes_filter(wb):
    ws = wb["Candidates"]
    col_letter = ws.cell(1, _col(ws, "Reviewer decision")).column_letter
    validations = ws.data_validations.dataValidation
    assert len(validations) == 1
    dv = validations[0]
    assert dv.type == "list"
    assert all(choice in dv.formula1 for choice in ("decontrol", "keep", "needs review", "more evidence"))
    assert f"{col_letter}2:{col_letter}{ws.max_row}" in str(dv.sqref)
    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref.startswith("A1:")
    assert len(ws.conditional_formatting) >= 5  # colour scales and tier colours
    assert wb["Evidence"].freeze_panes == "B2"
    assert ws.column_dimensions["C"].width >= 40  # heading is readable


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        elif isinstance(v, list) and v and all(isinstance(i, dict) for i in v):
            for n, item in enumerate(v, start=1):
                out.update(_flatten(item, f"{prefix}{k}[{n}]."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_method_sheet_weights_equal_config(wb, synth):
    rows = list(wb["Method"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "Weights key") + 1
    shown = {}
    for r in rows[start:]:
        if r[0] is None:
            break
        shown[r[0]] = r[1]
    with Path(synth["weights"]).open("rb") as fh:
        expected = _flatten(tomllib.load(fh))
    assert expected, "weights file is empty"
    for key, value in expected.items():
        assert key in shown, f"weights key {key} missing from Method sheet"
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value) or None
        if isinstance(value, float):
            assert shown[key] == pytest.approx(value), key
        else:
            assert shown[key] == value, key


def test_formula_injection_is_escaped(wb, built):
    ws = wb["Candidates"]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    hostile = [c for c in cells if c.value in (HOSTILE_HEADING, HOSTILE_EXPLANATION, "-1 + 2")]
    assert {c.value for c in hostile} == {HOSTILE_HEADING, HOSTILE_EXPLANATION, "-1 + 2"}
    for c in hostile:
        assert c.data_type == "s", c.coordinate
        assert c.quotePrefix, c.coordinate
    note = [
        c
        for row in wb["Sources"].iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.startswith("=cmd")
    ]
    assert note and note[0].data_type == "s" and note[0].quotePrefix
    assert BELL_HEADING.replace("\x07", " ") in [c.value for c in cells]  # cleaned, not fatal
    # No formula at all anywhere in the file (the raw XML has no <f> element).
    with zipfile.ZipFile(built) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name


def test_safe_text_rules():
    for text in ("=1+1", "+1", "-1", "@SUM(1)", "\tx", "\rx", "#N/A"):
        assert needs_text_guard(text), text
    for text in ("3A090", "a=b", "", "1-2"):
        assert not needs_text_guard(text), text
    assert clean_text("bell\x07here") == "bell here"


def test_evidence_rows_follow_exports(wb, synth):
    """The suppliers listed for a link are the largest non-U.S. exporters of the code."""
    headers, rows = _table(wb["Evidence"])
    ev = pd.DataFrame([r[: len(headers)] for r in rows], columns=headers)
    exports = pd.read_parquet(synth["processed"] / "exports.parquet")
    avail = pd.read_parquet(synth["processed"] / "availability_hs.parquet")
    trade = ev[ev["Basis"].str.startswith("exports.parquet")]
    assert len(trade) > 0
    assert "USA" not in set(trade["Supplier"])
    first = trade.iloc[0]
    code, year = first["HS code"], first["Year"]
    assert year == avail[avail["hs_code"] == code]["year"].max()  # latest year
    ex = exports[(exports["hs6"] == code) & (exports["year"] == year) & (exports["exporter_iso3"] != "USA")]
    expected = ex.sort_values("value_usd", ascending=False)["exporter_iso3"].head(10).tolist()
    got = trade[(trade["ECCN"] == first["ECCN"]) & (trade["HS code"] == code)]["Supplier"].tolist()
    assert got == expected
    world = avail[(avail["hs_code"] == code) & (avail["year"] == year)]["world_exports_usd"].iloc[0]
    top = ex.sort_values("value_usd", ascending=False).iloc[0]
    assert first["Share"] == pytest.approx(top["value_usd"] / world, rel=1e-5)
    assert (ev["Basis"] == "evidence.parquet: supply-side market share").sum() == 1


def test_unlinked_guardrails_and_dictionary(wb, synth):
    scores = pd.read_parquet(synth["processed"] / "scores.parquet")
    unlinked = pd.read_csv(synth["processed"] / "unlinked_eccns.csv", dtype=str)
    _, rows = _table(wb["Unlinked"])
    assert [r[0] for r in rows] == unlinked["eccn"].tolist()
    _, rows = _table(wb["Guardrails"])
    assert sorted(r[1] for r in rows) == sorted(scores.loc[scores["tier"] == "guardrail", "eccn"])
    _, dic_rows = _table(wb["Data dictionary"])
    described = {(r[0], r[1]) for r in dic_rows}
    for name in ("Candidates", "Evidence", "Unlinked", "Guardrails", "Sensitivity", "Changes", "Sources"):
        for header in _table(wb[name])[0]:
            assert (name, header) in described, (name, header)
    assert all(r[2] for r in dic_rows), "every column has a description"


def test_summary_facts_and_chart(wb):
    ws = wb["Summary"]
    values = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r and r[0]}
    assert values["Run date"] == RUN_DATE
    # The edition of the file actually parsed, with its name and sha256 (issue 16).
    assert values["CCL edition (eCFR date)"].startswith("2030-01-15 (parsed from ")
    assert "sha256 " in values["CCL edition (eCFR date)"]
    assert values["ECCNs ranked"] == 24
    assert "Top 20 candidates" in values
    assert len(ws._charts) == 2


def test_sources_list_manifest_and_inputs(wb, synth):
    headers, rows = _table(wb["Sources"])
    df = pd.DataFrame([r[: len(headers)] for r in rows], columns=headers)
    assert set(df["File"]) >= {"ccl/invented_ccl.xml", "trade/invented_trade.csv", "processed/scores.parquet"}
    assert df.loc[df["File"] == "ccl/invented_ccl.xml", "sha256"].iloc[0] == "ab" * 32
    assert df.loc[df["File"] == "ccl/invented_ccl.xml", "Licence"].iloc[0] == "public domain"


def test_deterministic_and_source_date_epoch(synth, built, tmp_path, monkeypatch):
    again = _build(synth, tmp_path / "again.xlsx", carry_from_existing=False)
    a, b = load_workbook(built), load_workbook(again)
    for name in a.sheetnames:
        assert [r for r in a[name].iter_rows(values_only=True)] == [
            r for r in b[name].iter_rows(values_only=True)
        ], name
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1900000000")  # 2030-03-17 UTC
    assert resolve_run_date().isoformat() == "2030-03-17"
    assert resolve_run_date("2031-01-02").isoformat() == "2031-01-02"  # explicit wins
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH"):
        resolve_run_date()


def _annotate(path: Path, notes: dict[str, tuple[str | None, str | None]]) -> None:
    book = load_workbook(path)
    ws = book["Candidates"]
    for eccn, (decision, note) in notes.items():
        r = _row_of(ws, eccn)
        ws.cell(r, _col(ws, "Reviewer decision")).value = decision
        ws.cell(r, _col(ws, "Reviewer notes")).value = note
    book.save(path)


def _drop_eccn(src: Path, dst: Path, eccn: str) -> None:
    shutil.copytree(src, dst)
    for name in ("scores.parquet", "ccl_entries.parquet", "sensitivity.parquet"):
        df = pd.read_parquet(dst / name)
        df[df["eccn"] != eccn].to_parquet(dst / name, index=False)


def test_reviewer_carry_over_and_changes(synth, built, tmp_path):
    old = tmp_path / "old.xlsx"
    shutil.copy(built, old)
    scores = pd.read_parquet(synth["processed"] / "scores.parquet").sort_values("rank")
    keep_eccn, gone_eccn = scores["eccn"].iloc[0], scores["eccn"].iloc[1]
    _annotate(
        old,
        {
            keep_eccn: ("keep", "- checked with the lab; =not a formula"),
            gone_eccn: ("decontrol", "widely sold"),
        },
    )

    # Rebuild without gone_eccn, and with keep_eccn moved to another tier.
    processed2 = tmp_path / "processed2"
    _drop_eccn(synth["processed"], processed2, gone_eccn)
    s2 = pd.read_parquet(processed2 / "scores.parquet")
    s2.loc[s2["eccn"] == keep_eccn, "tier"] = "retain"
    s2.to_parquet(processed2 / "scores.parquet", index=False)
    paths2 = {**synth, "processed": processed2}
    new = _build(paths2, tmp_path / "new.xlsx", previous=old)

    book = load_workbook(new)
    ws = book["Candidates"]
    r = _row_of(ws, keep_eccn)
    assert ws.cell(r, _col(ws, "Reviewer decision")).value == "keep"
    note = ws.cell(r, _col(ws, "Reviewer notes"))
    assert note.value == "- checked with the lab; =not a formula"
    assert note.data_type == "s" and note.quotePrefix
    assert gone_eccn not in [c.value for c in ws["B"]]
    _, rows = _table(book["Changes"])
    changes = pd.DataFrame([r[:11] for r in rows], columns=[c.header for c in tables.columns("changes")])
    orphan = changes[changes["ECCN"] == gone_eccn]
    assert orphan["Change"].tolist() == [ORPHAN_LABEL]
    assert orphan["Previous reviewer notes"].iloc[0] == "widely sold"
    assert orphan["Previous reviewer decision"].iloc[0] == "decontrol"
    tier = changes[(changes["ECCN"] == keep_eccn) & (changes["Change"] == "tier changed")]
    assert tier["New tier"].tolist() == ["retain"] and tier["Carried to"].tolist() == ["Candidates"]

    # A second rebuild from the new workbook keeps the orphaned note; when the ECCN
    # comes back, its note returns to the Candidates sheet.
    third = _build(paths2, tmp_path / "third.xlsx", previous=new)
    prev3 = read_previous(third)
    assert prev3.annotations.set_index("eccn").at[gone_eccn, "notes"] == "widely sold"
    back = _build(synth, tmp_path / "back.xlsx", previous=third)
    ws = load_workbook(back)["Candidates"]
    assert ws.cell(_row_of(ws, gone_eccn), _col(ws, "Reviewer notes")).value == "widely sold"


def test_rebuild_over_existing_keeps_notes_unless_fresh(synth, built, tmp_path):
    out = tmp_path / "wb.xlsx"
    shutil.copy(built, out)
    eccn = pd.read_parquet(synth["processed"] / "scores.parquet")["eccn"].iloc[3]
    _annotate(out, {eccn: ("needs review", "ask the desk")})
    _build(synth, out)  # no --previous: the existing workbook is the previous one
    ws = load_workbook(out)["Candidates"]
    assert ws.cell(_row_of(ws, eccn), _col(ws, "Reviewer notes")).value == "ask the desk"
    _build(synth, out, carry_from_existing=False)
    ws = load_workbook(out)["Candidates"]
    assert ws.cell(_row_of(ws, eccn), _col(ws, "Reviewer notes")).value is None


def test_failure_leaves_previous_workbook_untouched(synth, built, tmp_path, monkeypatch):
    out = tmp_path / "wb.xlsx"
    shutil.copy(built, out)
    before = out.read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(sheets_method, "write_method", boom)
    with pytest.raises(RuntimeError):
        _build(synth, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wb.xlsx"]  # no temp file left


def test_locked_or_read_only_target(synth, tmp_path):
    out = tmp_path / "wb.xlsx"
    lock = tmp_path / ".~lock.wb.xlsx#"
    lock.write_text("someone,host", encoding="utf-8")
    with pytest.raises(OutputError, match="open in a spreadsheet"):
        _build(synth, out)
    lock.unlink()


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_read_only_target_folder(synth, tmp_path, monkeypatch, code):
    """A folder the temp file cannot be created in (read-only, or a read-only mount).

    Root ignores permission bits, so the refusal is simulated where the writer creates
    its temp file: the test runs the same way as any user (and in CI, as root).
    """

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(cclreview.io.tempfile, "mkstemp", refuse)
    out = tmp_path / "wb.xlsx"
    with pytest.raises(OutputError, match="not writable"):
        _build(synth, out)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "wb.xlsx"]


def test_bad_inputs_give_clear_errors(synth, tmp_path):
    with pytest.raises(InputError, match="cclreview score"):
        build_report(tmp_path, tmp_path / "x.xlsx")
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook", encoding="utf-8")
    with pytest.raises(InputError, match="cannot be read"):
        _build(synth, tmp_path / "x.xlsx", previous=bad)
    with pytest.raises(OutputError, match=r"\.xlsx"):
        _build(synth, tmp_path / "x.csv")


def test_cli_report(synth, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["report", "--help"])
    assert res.exit_code == 0 and "Example" in res.output and "--previous" in res.output
    out = tmp_path / "cli.xlsx"
    args = ["-q", "report", "--processed", str(synth["processed"]), "--weights", str(synth["weights"]),
            "--manifest", str(synth["manifest"]), "--run-date", RUN_DATE, "--out", str(out)]  # fmt: skip
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert out.is_file() and "24 ECCNs" in res.output
    res = runner.invoke(
        cli, ["report", "--processed", str(tmp_path / "none"), "--out", str(tmp_path / "y.xlsx")]
    )
    assert res.exit_code == 1 and "Error:" in res.output and "scores.parquet" in res.output


def test_nullable_and_numpy_columns_are_written_plainly():
    """Nullable pandas dtypes (pd.NA) and lists must not break a sheet (seen on real data)."""
    from cclreview.report.tables import prepare_column

    assert prepare_column(pd.Series([1.23456789, pd.NA], dtype="Float64"), "score") == [1.234568, None]
    assert prepare_column(pd.Series([3, pd.NA], dtype="Int64"), "rank") == [3, None]
    assert prepare_column(pd.Series([2.0, float("nan")]), "rank") == [2, None]
    assert prepare_column(pd.Series([["TWN", "KOR"], []], dtype=object), "text") == ["TWN; KOR", None]
    assert prepare_column(pd.Series([True, None], dtype=object), "bool") == ["yes", None]


def test_only_required_tables(synth, tmp_path):
    """With just scores and entries (no links, trade, sensitivity, manifest, weights)."""
    processed = tmp_path / "processed"
    processed.mkdir()
    for name in ("scores.parquet", "ccl_entries.parquet"):
        shutil.copy(synth["processed"] / name, processed / name)
    out = tmp_path / "min.xlsx"
    build_report(processed, out, run_date=RUN_DATE)
    book = load_workbook(out)
    assert "Sensitivity" not in book.sheetnames and "Scenarios" not in book.sheetnames
    for name in ("Evidence", "Unlinked"):
        rows = list(book[name].iter_rows(values_only=True))
        assert len(rows) == 2 and "not found" in rows[1][0], name
    assert len(list(book["Candidates"].iter_rows())) == 25


def test_suppliers_of_one_file_when_a_source_arrives_twice():
    """BACI as Parquet and as CSV under one source label: each supplier is listed once,
    from the file the availability stage chose (else the first by name)."""
    from cclreview.report.frames import _supplier_rows

    rows = [("CHN", 300.0), ("JPN", 100.0), ("USA", 50.0)]
    exports = pd.DataFrame(
        [
            {"year": 2024, "exporter_iso3": iso, "hs6": "850511", "hs_level": 6, "value_usd": v, "qty": 1.0,
             "source": "baci:V202601", "source_file": f}
            for f in ("b.parquet", "a_usd.csv")
            for iso, v in rows
        ]
    )  # fmt: skip
    base = pd.DataFrame(
        [
            {
                "hs_code": "850511",
                "hs_level": 6,
                "year": 2024,
                "data_source": "baci:V202601",
                "_world": 450.0,
                "_has": True,
            }
        ]
    )
    key = ("850511", 6, 2024, "baci:V202601")
    avail = pd.DataFrame(
        [
            {
                "hs_code": "850511",
                "hs_level": 6,
                "year": 2024,
                "source": "baci:V202601",
                "source_file": "b.parquet",
            }
        ]
    )
    for availability in (avail, None):
        got = _supplier_rows(exports, base, 10, availability)[key]
        assert [(s["supplier"], s["supplier_rank"]) for s in got] == [("CHN", 1), ("JPN", 2)]
    # The chosen file is the one listed: its values, not the other file's.
    exports.loc[exports["source_file"] == "b.parquet", "value_usd"] *= 2
    assert _supplier_rows(exports, base, 10, avail)[key][0]["value_usd"] == 600.0
    assert _supplier_rows(exports, base, 10, None)[key][0]["value_usd"] == 300.0  # "a_usd.csv" first


def test_trade_inputs_on_the_sources_sheet():
    from cclreview.report.provenance import _trade_input_rows

    cov = pd.DataFrame(
        {
            "source_file": ["comtrade_2022.csv", "hs4_2017.csv"],
            "source": ["comtrade", "otstats"],
            "reader": ["comtrade_trim", "otstats_hs4"],
            "bilateral": ["True", "False"],
            "focus_rows": ["12", "0"],
            "us_rows": ["3", "0"],
            "note": ["kept", "no partner detail (HS4 table): exports to the world only"],
            "rows_read": ["1000", "50"],
            "rows_rejected": ["2", "0"],
            "duplicates_dropped": ["5", "0"],
            "breakdowns_set_aside": ["40", "0"],
            "unmatched_values": ["0", "0"],
        }
    )
    ct, hs4 = _trade_input_rows(cov)
    assert ct["kind"] == "trade input" and ct["rows"] == 1000 and ct["vintage"] == "comtrade"
    assert ct["note"] == (
        "1,000 rows read; 2 rejected; 5 exact duplicate rows dropped; 40 Comtrade breakdown rows set "
        "aside (the total of each key kept); partner detail: 12 rows to the focus importers, "
        "3 U.S. export rows (reader comtrade_trim)"
    )
    assert hs4["note"] == (
        "50 rows read; 0 rejected; no partner detail (HS4 table): exports to the world only (reader otstats_hs4)"
    )
    # A coverage file of an older trade stage has no counts: the sheet says so, not "0 rows".
    (old,) = _trade_input_rows(cov.iloc[:1, :7])
    assert old["rows"] is None and old["note"].startswith("row counts not recorded")
