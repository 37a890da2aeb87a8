"""Reviewers' work and the data are never lost or silently wrong (issue 16).

One fixture-sized project is built once (``cclreview run`` on the hand-written
fixtures); each test works on its own copy. Cases: Ctrl-C to ``make reports`` at the
moment the workbook is replaced, a reviewer's save during a rebuild, dated backups,
stage outputs written as one unit, full disk / read-only / permission errors as one
line, malformed ``--previous``, notes' whitespace and lower-case ECCNs, the parsed CCL
edition and no local paths in any cell.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from cclreview import io as cio
from cclreview.cli import cli, one_line
from cclreview.errors import OutputError
from cclreview.report import workbook as wbmod

ROOT = Path(__file__).resolve().parents[1]
FIX = Path(__file__).resolve().parent / "fixtures"
CLI = Path(sys.executable).with_name("cclreview")

# The same fixture project as the end-to-end test (CCL, HS, trade and EAR lists).
from test_e2e import FIXTURE_SOURCES as SOURCES  # noqa: E402
from test_e2e import fixture_mirror  # noqa: E402


def _env(project: Path, mirror: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CCLREVIEW_MIRROR"}
    env["CCLREVIEW_HOME"] = str(project)
    if mirror is not None:
        env["CCLREVIEW_MIRROR"] = str(mirror)
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(project, mirror): a project built end to end on the fixtures."""
    base = tmp_path_factory.mktemp("reliab")
    mirror = base / "mirror"
    fixture_mirror(mirror)
    project = base / "project"
    (project / "config").mkdir(parents=True)
    shutil.copy(ROOT / "config" / "weights.toml", project / "config" / "weights.toml")
    (project / "config" / "sources.toml").write_text(SOURCES)
    from cclreview.controls import lists as ear_lists

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CCLREVIEW_HOME", str(project))
        mp.delenv("CCLREVIEW_MIRROR", raising=False)
        # The hand-written EAR lists are far shorter than the real ones (truncation floor).
        mp.setattr(ear_lists, "MIN_ROWS", {"MEU": 1, "SL": 1, "VSL": 1})
        res = CliRunner().invoke(cli, ["-q", "run", "--mirror", str(mirror), "--draws", "20"])
    assert res.exit_code == 0, res.output[-2000:]
    return project, mirror


@pytest.fixture
def project(built: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the built project (CCLREVIEW_HOME points at it)."""
    dest = tmp_path / "project"
    shutil.copytree(built[0], dest, symlinks=True)
    monkeypatch.setenv("CCLREVIEW_HOME", str(dest))
    monkeypatch.delenv("CCLREVIEW_MIRROR", raising=False)
    return dest


def _report(project: Path) -> Path:
    return project / "reports" / "decontrol_candidates.xlsx"


def _annotate(path: Path, notes: dict[str, str], eccn_case: str = "keep") -> None:
    """Type reviewer notes into the Candidates sheet, as a reviewer would, and save."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Candidates"]
    header = [c.value for c in ws[1]]
    col_e, col_n = header.index("ECCN") + 1, header.index("Reviewer notes") + 1
    for row in range(2, ws.max_row + 1):
        eccn = ws.cell(row, col_e).value
        if eccn in notes:
            ws.cell(row, col_n).value = notes[eccn]
            if eccn_case == "lower":
                ws.cell(row, col_e).value = str(eccn).lower()
    wb.save(path)


def _notes(path: Path) -> dict[str, str]:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb["Candidates"].iter_rows(values_only=True))
    wb.close()
    header = list(rows[0])
    i_e, i_n = header.index("ECCN"), header.index("Reviewer notes")
    return {str(r[i_e]): r[i_n] for r in rows[1:] if len(r) > i_n and r[i_n] is not None}


def _eccns(project: Path) -> list[str]:
    return sorted(pd.read_parquet(project / "data/processed/ccl_entries.parquet")["eccn"])


def _report_cli(*args: str) -> object:
    return CliRunner().invoke(cli, ["-q", "report", *args])


# --- the reviewed workbook ----------------------------------------------------------


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_sigint_to_make_when_the_workbook_is_replaced_keeps_every_note(project: Path) -> None:
    """Ctrl-C (SIGINT to make's process group) right when the new workbook is renamed in."""
    report = _report(project)
    eccns = _eccns(project)
    notes = {e: f"note on {e}" for e in eccns}
    _annotate(report, notes)
    # Only the report is stale: it is older than every stage output.
    earlier = time.time() - 3600
    os.utime(report, (earlier, earlier))
    for prereq in ("pyproject.toml", "requirements-dev.lock"):  # what the venv stamp depends on
        (project / prereq).write_text("")
        os.utime(project / prereq, (earlier - 60, earlier - 60))
    stamp = project / ".stamp"
    stamp.write_text("")
    (project / "cclreview").symlink_to(ROOT / "cclreview")  # reference tables the Makefile names
    # The focus-importer stamp make keeps beside the stage outputs (cclreview run does not).
    from cclreview.sources import load_sources

    focus = project / "data/processed/.trade_focus"
    focus.write_text(f"{load_sources(project / 'config/sources.toml').trade.focus_importers}\n")
    os.utime(focus, (earlier - 30, earlier - 30))
    os.utime(project / "config/sources.toml", (earlier - 90, earlier - 90))
    ino = report.stat().st_ino
    proc = subprocess.Popen(
        [
            "make",
            "-f",
            str(ROOT / "Makefile"),
            "reports",
            f"CLI={CLI}",
            f"STAMP={stamp}",
            "CCLREVIEW_MIRROR=",
        ],
        cwd=project,
        env=_env(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    hit = False
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if report.stat().st_ino != ino:
                os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
                hit = True
                break
        except FileNotFoundError:
            pass
    out = proc.communicate(timeout=120)[0].decode(errors="replace")
    assert hit, f"the workbook was never replaced: {out[-2000:]}"
    assert report.exists(), f"make deleted the reviewed workbook: {out[-2000:]}"
    assert _notes(report) == notes
    assert "Deleting file" not in out


def test_a_save_during_the_rebuild_is_merged(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = _report(project)
    first, second = _eccns(project)[:2]
    _annotate(report, {first: "before the rebuild"})
    real = wbmod.frames.changes_frame
    calls = {"n": 0}

    def reviewer_saves_meanwhile(*args: object, **kwargs: object) -> pd.DataFrame:
        calls["n"] += 1
        if calls["n"] == 1:  # the reviewer saves a new note while the report is built
            _annotate(report, {second: "saved during the rebuild"})
        return real(*args, **kwargs)

    monkeypatch.setattr(wbmod.frames, "changes_frame", reviewer_saves_meanwhile)
    res = _report_cli()
    assert res.exit_code == 0, res.output
    assert calls["n"] == 2, "the report was rebuilt once to merge the new save"
    assert _notes(report) == {first: "before the rebuild", second: "saved during the rebuild"}


def test_a_save_during_a_rebuild_with_previous_stops_and_keeps_both(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    report = _report(project)
    first = _eccns(project)[0]
    old = tmp_path / "old.xlsx"
    shutil.copy(report, old)
    real = wbmod.frames.changes_frame

    def reviewer_saves_meanwhile(*args: object, **kwargs: object) -> pd.DataFrame:
        _annotate(report, {first: "typed while the report ran"})
        return real(*args, **kwargs)

    monkeypatch.setattr(wbmod.frames, "changes_frame", reviewer_saves_meanwhile)
    res = _report_cli("--previous", str(old))
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "saved by someone else" in lines[0]
    assert _notes(report) == {first: "typed while the report ran"}
    side = list(report.parent.glob("decontrol_candidates.new-*.xlsx"))
    assert len(side) == 1 and side[0].name in lines[0]


def test_dated_backups_keep_the_last_n(project: Path) -> None:
    report = _report(project)
    first = _eccns(project)[0]
    for i in range(4):
        _annotate(report, {first: f"version {i}"})
        res = _report_cli("--keep-history", "2")
        assert res.exit_code == 0, res.output
        time.sleep(1.05)  # backups are named by the second
    hist = sorted((report.parent / "history").glob("decontrol_candidates.*.xlsx"))
    assert len(hist) == 2
    assert [_notes(p)[first] for p in hist] == ["version 2", "version 3"]
    assert _notes(report)[first] == "version 3"


def test_backup_of_an_unchanged_workbook_is_not_duplicated(tmp_path: Path) -> None:
    out = tmp_path / "w.xlsx"
    out.write_bytes(b"same")
    a = wbmod.backup_workbook(out, 5)
    b = wbmod.backup_workbook(out, 5)
    assert a == b and len(list((tmp_path / "history").iterdir())) == 1
    assert wbmod.backup_workbook(out, 0) is None


def test_leftover_temp_file_of_a_killed_run_is_removed(project: Path) -> None:
    report = _report(project)
    # What `kill -9` during a save leaves: a temp file of a process that is gone.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = report.parent / f".{report.name}.tmp.{dead.stdout.strip()}.abc123.xlsx"
    stale.write_bytes(b"half a workbook")
    old_style = report.parent / f".{report.name}.tmp.oldstyle.xlsx"
    old_style.write_bytes(b"x")
    os.utime(old_style, (time.time() - 3600, time.time() - 3600))
    res = _report_cli()
    assert res.exit_code == 0, res.output
    assert not stale.exists() and not old_style.exists()
    assert not [p for p in report.parent.iterdir() if ".tmp." in p.name]


def test_notes_keep_whitespace_and_lowercase_eccn_keeps_its_note(project: Path) -> None:
    report = _report(project)
    a, b = _eccns(project)[:2]
    _annotate(report, {a: "  indented note\nsecond line  "})
    _annotate(report, {b: "note on a retyped ECCN"}, eccn_case="lower")
    res = _report_cli()
    assert res.exit_code == 0, res.output
    assert _notes(report) == {a: "  indented note\nsecond line  ", b: "note on a retyped ECCN"}


def test_malformed_previous_xml_is_one_error_line(project: Path, tmp_path: Path) -> None:
    import zipfile

    src = _report(project)
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet2.xml":
                data = data[: len(data) // 2] + b"<c><<broken"
            zout.writestr(item, data)
    res = _report_cli("--previous", str(bad), "--out", str(tmp_path / "new.xlsx"))
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: previous workbook") and "malformed" in lines[0]


# --- what the workbook says --------------------------------------------------------


def _all_cells(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path, read_only=True)
    out = [
        str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None
    ]
    wb.close()
    return out


def test_no_absolute_local_path_in_any_cell(built: tuple[Path, Path]) -> None:
    project, mirror = built
    cells = _all_cells(_report(project))
    for local in (str(project), str(mirror), str(Path.home()), str(project.parent)):
        hits = [c for c in cells if local in c]
        assert not hits, hits[:3]
    assert any(c == "mirror:hs/harmonized_system_HS2022.csv" for c in cells)
    assert any(c.startswith("From config/weights.toml") for c in cells)


def test_summary_and_sources_name_the_ccl_actually_parsed(project: Path, built: tuple[Path, Path]) -> None:
    """A newer CCL XML placed in data/raw/ccl is parsed: the workbook must name it, not the manifest's."""
    xml = (FIX / "ccl" / "mini_ccl.xml").read_text(encoding="utf-8")
    newer = project / "data/raw/ccl/ccl_supp1_ecfr_2026-03-01.xml"
    newer.write_text(xml.replace("</", "\n</", 1), encoding="utf-8")  # same content, other bytes
    old = project / "data/raw/ccl/ccl_supp1_ecfr_2026-01-15.xml"
    old.unlink()
    env = _env(project)
    for args in (["ingest-ccl"], ["report"]):
        res = subprocess.run([str(CLI), "-q", *args], cwd=project, env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    sha = cio.sha256_file(newer)
    cells = _all_cells(_report(project))
    assert any("2026-03-01" in c and sha[:12] in c for c in cells), "Summary names the parsed edition"
    assert sha in cells, "Sources lists the parsed file's sha256"
    assert any(c.startswith("NOT the file parsed") for c in cells)


def test_no_guardrails_needs_an_explicit_empty_list_and_is_shown_in_red(project: Path) -> None:
    from cclreview.score.weights import format_weights, load_weights

    weights = project / "config/weights.toml"
    shipped = load_weights(weights)
    shipped.guardrails = []
    full = format_weights(shipped)
    assert full.startswith("guardrails = []\n")
    weights.write_text(full.replace("guardrails = []\n", "", 1), encoding="utf-8")
    env = _env(project)
    res = subprocess.run([str(CLI), "-q", "score", "--sensitivity-draws", "5"], cwd=project, env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        f"Error: {weights}: guardrails: required key is missing; add the [[guardrails]] tables of "
        "config/weights.toml, or write `guardrails = []` at the top to run without any"
    ]
    weights.write_text(full, encoding="utf-8")
    for args in (["score", "--sensitivity-draws", "5"], ["report"]):
        res = subprocess.run([str(CLI), "-q", *args], cwd=project, env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    wb = openpyxl.load_workbook(_report(project))
    red = [
        c.value
        for row in wb["Summary"].iter_rows()
        for c in row
        if isinstance(c.value, str)
        and c.value.startswith("WARNING: no guardrails")
        and c.font.color.rgb.endswith("C00000")
    ]
    assert len(red) == 1


# --- stage outputs as one unit ------------------------------------------------------


def test_a_stage_killed_between_its_writes_leaves_no_new_target(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ingest-ccl writes ccl_entries (the make target) and ccl_paragraphs: both or neither."""
    proc = project / "data/processed"
    before = {
        p: p.stat().st_mtime_ns for p in (proc / "ccl_entries.parquet", proc / "ccl_paragraphs.parquet")
    }
    import pyarrow.parquet as pq

    real = pq.write_table
    written: list[str] = []

    def die_on_second_write(table: object, path: object, *a: object, **k: object) -> None:
        if written:
            raise KeyboardInterrupt  # the stage is killed between its two writes
        written.append(str(path))
        real(table, path, *a, **k)

    monkeypatch.setattr(pq, "write_table", die_on_second_write)
    res = CliRunner().invoke(cli, ["-q", "ingest-ccl", "--out", str(proc)])
    assert res.exit_code == 130
    assert {p: p.stat().st_mtime_ns for p in before} == before, "no output of the killed stage was renamed"
    assert not [p for p in proc.iterdir() if ".tmp." in p.name]


def test_stage_outputs_rename_the_make_target_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    real = os.replace
    monkeypatch.setattr(cio.os, "replace", lambda a, b: (order.append(Path(b).name), real(a, b)))
    with cio.stage_outputs():
        # The link stage: its make target first, then its other tables.
        cio.write_text("t", tmp_path / "eccn_hs_links.parquet")
        cio.write_text("c", tmp_path / "eccn_hs_link_candidates.parquet")
        cio.write_text("r", tmp_path / "rejected_links.csv")
        assert not (tmp_path / "eccn_hs_links.parquet").exists(), "nothing is renamed before the stage ends"
    assert order == ["eccn_hs_link_candidates.parquet", "rejected_links.csv", "eccn_hs_links.parquet"]


def test_makefile_targets_are_known_to_io() -> None:
    import re

    text = (ROOT / "Makefile").read_text()
    rules = re.findall(r"^(\$\(PROC\)/[^:]*?)\s*&?:", text, re.M)
    targets = {t for rule in rules for t in re.findall(r"\$\(PROC\)/(\w+\.parquet)", rule)}
    assert targets and targets <= cio.MAKE_TARGETS
    assert ".PRECIOUS: $(REPORT)" in text


# --- full disk, read-only, permission denied: one line ------------------------------


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "the file system is read-only"),
        (errno.EACCES, "ermission"),
    ],
)
@pytest.mark.parametrize("where", ["create", "write"])
def test_os_errors_are_one_line_naming_the_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, code: int, fix: str, where: str
) -> None:
    proc = project / "data/processed"
    before = (proc / "ccl_entries.parquet").read_bytes()
    if where == "create":

        def fail(*a: object, **k: object) -> None:
            raise OSError(code, os.strerror(code), str(k.get("dir", "")))

        monkeypatch.setattr(cio.tempfile, "mkstemp", fail)
    else:
        import pyarrow.parquet as pq

        def fail_write(table: object, path: object, *a: object, **k: object) -> None:
            Path(str(path)).write_bytes(b"PAR1 half")
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(pq, "write_table", fail_write)
    res = CliRunner().invoke(cli, ["-q", "ingest-ccl", "--out", str(proc)])
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: cannot write ") and "ccl_" in lines[0] and fix in lines[0]
    assert (proc / "ccl_entries.parquet").read_bytes() == before
    assert not [p for p in proc.iterdir() if ".tmp." in p.name]


def test_report_on_a_full_disk_is_one_line_and_keeps_the_workbook(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _report(project)
    before = report.read_bytes()

    def full(*a: object, **k: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(wbmod.Workbook, "close", full)  # xlsxwriter writes the file on close
    res = _report_cli()
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        f"Error: cannot write {report}: {os.strerror(errno.ENOSPC)} (errno {errno.ENOSPC}); "
        "the disk is full; free some space and run again"
    ]
    assert report.read_bytes() == before


def test_stray_os_error_and_long_messages_are_one_short_line() -> None:
    msg = one_line("a\nb\x00" + "x" * 5000)
    assert "\n" not in msg and len(msg) <= 600 and msg.startswith("a b ")
    with (
        pytest.raises(OutputError, match="cannot write"),
        cio.atomic_path("/proc/cclreview-cannot-exist/x.csv"),
    ):
        pass


def test_every_stage_command_writes_as_one_unit() -> None:
    from cclreview.cli import STAGE_COMMANDS
    from cclreview.contracts import STAGE_ORDER

    assert {s.command for s in STAGE_ORDER} <= STAGE_COMMANDS


def test_cache_files_are_renamed_at_once_inside_a_stage(tmp_path: Path) -> None:
    """A stage may read back its cache (trade parts under out/.cache/) before it ends."""
    with cio.stage_outputs():
        cio.write_text("part", tmp_path / ".cache" / "abc" / "exports-000.parquet")
        assert (tmp_path / ".cache" / "abc" / "exports-000.parquet").read_text() == "part"
        cio.write_text("t", tmp_path / "exports.parquet")
        assert not (tmp_path / "exports.parquet").exists()
    assert (tmp_path / "exports.parquet").read_text() == "t"
