"""The low-level workbook writer (cclreview.report.xlsx, tables): xlsxwriter, public API only.

Each file is written with the report's own helpers and read back with openpyxl.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from xlsxwriter.exceptions import FileCreateError

from cclreview.errors import ConfigError
from cclreview.report import build_report, sheets_method, styles, tables
from cclreview.report.xlsx import Formats, Sheet, close_workbook, open_workbook, url_of

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "report"))
from synth import make_processed

#: Text a spreadsheet would turn into a formula, a link, a number, an error or a date.
HOSTILE = ["=1+1", '=HYPERLINK("http://evil.example","x")', "+1", "-1", "@SUM(1)", "\tx", "#N/A",
           "http://example.com/a", "123", "1e5", "2030-01-01", "TRUE", " padded "]  # fmt: skip


def _sheet(tmp_path: Path, name: str = "t.xlsx") -> tuple[Path, object, Sheet]:
    path = tmp_path / name
    wb = open_workbook(path, dt.date(2030, 1, 1), tmp_path)
    return path, wb, Sheet(wb, Formats(wb), "T")


def test_text_is_always_text_never_a_formula_link_or_number(tmp_path: Path) -> None:
    path, wb, sheet = _sheet(tmp_path)
    for i, text in enumerate(HOSTILE):
        sheet.put(i, 0, text)
        sheet.put(i, 1, text, styles.number("0.000"))  # a number column holding text
    close_workbook(wb)
    ws = load_workbook(path)["T"]
    for i, text in enumerate(HOSTILE, start=1):
        for col in (1, 2):
            cell = ws.cell(i, col)
            assert cell.value == text and cell.data_type == "s", (text, cell.data_type)
            assert cell.hyperlink is None
            assert bool(cell.quotePrefix) == (text[0] in "=+-@\t" or text == "#N/A"), text
    with zipfile.ZipFile(path) as z:
        sheet_xml = z.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml


def test_table_writes_values_styles_and_links(tmp_path: Path) -> None:
    path, wb, sheet = _sheet(tmp_path)
    cols = [
        tables.Column("ECCN", "eccn", "d", "link", 9),
        tables.Column("Score", "score", "d", "score", 10),
        tables.Column("Share", "share", "d", "pct", 8),
        tables.Column("Flag", "flag", "d", "bool", 6),
        tables.Column("Note", "note", "d", "reviewer", 30),
        tables.Column("Absent", "absent", "d", "text", 12),
    ]
    df = pd.DataFrame(
        {"eccn": ["3A001", "=X", None], "score": [0.1234567, None, 2.0], "share": [0.5, 0.25, float("nan")],
         "flag": [True, False, None], "note": ["ok", "", "-minus"]}
    )  # fmt: skip
    links = {"3A001": "https://www.ecfr.gov/x#:~:text=3A001", "=X": "dossier/X.html"}
    n = tables.write_table(sheet, cols, df, link_for=links.get, score_format="0.00", freeze="B2")
    close_workbook(wb)
    assert n == 3
    ws = load_workbook(path)["T"]
    assert [c.value for c in ws[1]] == [c.header for c in cols]
    assert ws["A1"].fill.fgColor.rgb.endswith("1F3864") and ws["E1"].fill.fgColor.rgb.endswith("7F6000")
    assert ws.row_dimensions[1].height == 45
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref == "A1:F4"
    assert ws.column_dimensions["A"].width == 9  # the width as stored, exactly
    assert (
        ws["A2"].hyperlink.target == "https://www.ecfr.gov/x"
        and ws["A2"].hyperlink.location == ":~:text=3A001"
    )
    assert ws["A3"].value == "=X" and ws["A3"].quotePrefix and ws["A3"].hyperlink.target == "dossier\\X.html"
    assert ws["A4"].value is None and ws["A4"].hyperlink is None
    assert ws["B2"].value == 0.123457 and ws["B2"].number_format == "0.00"
    assert ws["B3"].value is None and ws["B4"].value == 2
    assert ws["C2"].number_format == "0.0%" and ws["C4"].value is None
    assert [ws[f"D{r}"].value for r in (2, 3, 4)] == ["yes", "no", None]
    assert ws["E2"].fill.fgColor.rgb.endswith("FFF2CC") and ws["E2"].alignment.wrap_text
    assert ws["E3"].value is None and ws["E4"].quotePrefix
    assert all(ws[f"F{r}"].value is None for r in (2, 3, 4))


def test_put_datetimes_styled_blanks_and_overlong_links(tmp_path: Path, caplog) -> None:
    path, wb, sheet = _sheet(tmp_path)
    sheet.put(0, 0, pd.Timestamp("2030-01-02 03:04:05", tz="UTC"))
    sheet.put(0, 1, None, styles.LABEL_FONT)
    sheet.put(0, 2, "long", link="https://example.com/" + "x" * 3000)
    sheet.put(0, 3, 1.23456789, styles.number("0"))
    close_workbook(wb)
    ws = load_workbook(path)["T"]
    assert ws["A1"].value == dt.datetime(2030, 1, 2, 3, 4, 5) and ws["A1"].is_date
    assert ws["B1"].value is None and ws["B1"].font.b
    assert ws["C1"].value == "long" and ws["C1"].hyperlink is None  # text kept, link said
    assert "not written" in caplog.text
    assert ws["D1"].value == 1.234568 and ws["D1"].number_format == "0"


def test_url_forms() -> None:
    assert url_of("https://a.example/x#y") == "https://a.example/x#y"
    assert url_of("#'Evidence'!A1") == "internal:'Evidence'!A1"
    assert url_of("dossier/2B001.html") == "external:dossier/2B001.html"


def test_close_names_the_os_error(tmp_path: Path, monkeypatch) -> None:
    """xlsxwriter wraps a failed write in FileCreateError; the caller gets the OSError."""
    _, wb, _ = _sheet(tmp_path)

    def full(self) -> None:
        raise FileCreateError(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    monkeypatch.setattr(type(wb), "close", full)
    with pytest.raises(OSError) as info:
        close_workbook(wb)
    assert info.value.errno == errno.ENOSPC


def test_column_table(tmp_path: Path, monkeypatch) -> None:
    cols = tables.columns("candidates")
    assert cols[0].header == "Rank" and all(c.description for c in cols)
    with pytest.raises(ConfigError, match="no table"):
        tables.columns("nonexistent")
    bad = tmp_path / "columns.csv"
    bad.write_text("table,header,key,kind,width,description\nx,H,h,colour,9,d\n", encoding="utf-8")
    monkeypatch.setattr(tables, "COLUMNS_FILE", bad)
    tables._column_tables.cache_clear()
    try:
        with pytest.raises(ConfigError, match="unknown kind 'colour'"):
            tables.columns("x")
    finally:
        monkeypatch.undo()
        tables._column_tables.cache_clear()


def test_failed_build_leaves_no_temp_files(tmp_path: Path, monkeypatch) -> None:
    """Neither the temp workbook beside the target nor xlsxwriter's scratch files stay."""
    paths = make_processed(tmp_path / "synth", n_eccns=6)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("failed half-way (simulated)")

    monkeypatch.setattr(sheets_method, "write_method", boom)
    out_dir = tmp_path / "out"
    with pytest.raises(RuntimeError):
        build_report(paths["processed"], out_dir / "wb.xlsx", run_date="2030-01-01")
    assert list(scratch.iterdir()) == []
    assert list(out_dir.iterdir()) == []
