"""The structure of the fixture workbook against a golden file.

``tests/golden/workbook_structure.json`` holds what the writer decides for the workbook
of ``tests/fixtures/report/synth.py`` (24 invented ECCNs), read back with openpyxl: sheet
order, headers and their styles, per-column cell styles, number formats and value types,
column widths, row heights, frozen panes, autofilters, the Reviewer decision drop-down,
conditional formats, hyperlink kinds, charts and print settings (see
``tests/fixtures/report/xlsx_summary.py``). Data values are checked by the other report
tests. After a deliberate change of the workbook's layout, regenerate it with
``CCLREVIEW_UPDATE_GOLDEN=1 pytest tests/test_report_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from cclreview.report import build_report

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "report"))
from synth import make_processed
from xlsx_summary import differences, structure, summarise

GOLDEN = Path(__file__).parent / "golden" / "workbook_structure.json"


def test_workbook_structure_matches_golden(tmp_path: Path) -> None:
    paths = make_processed(tmp_path / "synth", n_eccns=24)
    out = tmp_path / "wb.xlsx"
    build_report(
        paths["processed"], out, weights=paths["weights"], manifest=paths["manifest"], run_date="2030-02-01"
    )
    # Through JSON, so that tuples compare as the lists the golden file holds.
    got = json.loads(json.dumps(structure(summarise(out))))
    if os.environ.get("CCLREVIEW_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    diffs = differences(want, got)
    assert not diffs, "workbook structure changed (golden first):\n" + "\n".join(diffs[:40])
    # The things reviewers rely on are in it (a golden file of nothing would pass).
    cand = got["sheets"]["Candidates"]
    assert cand["freeze"] == "C2" and cand["autofilter"].startswith("A1:")
    assert cand["validations"][0]["formula1"] == '"decontrol,keep,needs review,more evidence"'
    assert len(got["sheets"]["Summary"]["charts"]) == 2
