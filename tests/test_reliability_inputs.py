"""Inputs that used to be accepted silently or crash (issue 16): evidence, concordances.

Shares adding up to 175%, an evidence date in year 3026, a 200 MB file of NUL bytes,
an analyst concordance without its confidence column, and a ``6A997.z``-style paragraph
that does not exist.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from cclreview.errors import InputError, ValidationError
from cclreview.link.hs import load_hs
from cclreview.link.imported import detect_layout, read_concordance
from cclreview.link.pipeline import build_links
from cclreview.trade.evidence import TEMPLATE_COLUMNS, ingest_evidence, read_cset, read_template

FIX = Path(__file__).resolve().parent / "fixtures"


def test_cset_shares_adding_up_to_170_percent_are_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "cset"
    shutil.copytree(FIX / "availability" / "cset", folder)
    text = (
        (folder / "provision.csv")
        .read_text()
        .replace("NLD,P1,Lithography tools,N19,60,", "NLD,P1,Lithography tools,N19,135,")
    )
    # A share above 100 is refused on its own; plausible ones that add up to 175% (85 + 85 + 5) too.
    (folder / "provision.csv").write_text(text)
    with pytest.raises(InputError, match="not a percentage between 0 and 100"):
        read_cset(folder)
    text = text.replace(",N19,135,", ",N19,85,").replace(
        "JPN,P2,Lithography tools,N19,35,", "JPN,P2,Lithography tools,N19,85,"
    )
    (folder / "provision.csv").write_text(text)
    with pytest.raises(InputError) as info:
        read_cset(folder)
    msg = str(info.value)
    assert "lines 2, 3, 4" in msg and "'N19' in 2025 add up to 175%" in msg and "\n" not in msg


def test_rounded_shares_just_over_100_percent_are_accepted() -> None:
    df = read_cset(FIX / "availability" / "cset")  # the fixture itself adds up to <= 100%
    assert len(df) > 0


def _template(tmp_path: Path, date: str) -> Path:
    path = tmp_path / "producers.csv"
    path.write_text(",".join(TEMPLATE_COLUMNS) + f"\n2B001,,DEU,Maker,M1,,yes,https://example.org,{date}\n")
    return path


def test_evidence_date_in_year_3026_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_template(_template(tmp_path, "3026-01-01"))
    msg = str(info.value)
    assert "line 2" in msg and "year 3026 is not between 1900 and" in msg and "has no year" not in msg
    assert read_template(_template(tmp_path, "2025-03-01"))["year"].tolist() == [2025]
    with pytest.raises(InputError, match="has no year"):
        read_template(_template(tmp_path, "soon"))


def test_200_mb_of_nul_bytes_is_refused_fast_with_a_short_line(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir()
    big = folder / "dump.csv"
    with big.open("wb") as fh:  # sparse: no disk space used
        fh.truncate(200 * 1024 * 1024)
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        ingest_evidence([folder], tmp_path / "out")
    assert time.perf_counter() - start < 5
    msg = str(info.value)
    assert "dump.csv" in msg and "larger than the 52 MB" in msg and len(msg) < 300
    small = folder / "dump.csv"
    with small.open("wb") as fh:
        fh.truncate(1024 * 1024)
    with pytest.raises(InputError, match="NUL bytes"):
        ingest_evidence([folder], tmp_path / "out")


def test_concordance_size_and_nul_guard(tmp_path: Path) -> None:
    big = tmp_path / "huge.csv"
    with big.open("wb") as fh:
        fh.truncate(60 * 1024 * 1024)
    with pytest.raises(InputError, match="larger than the 52 MB a concordance"):
        detect_layout(big)
    nul = tmp_path / "nul.psv"
    nul.write_bytes(b"\x00" * 1000)
    with pytest.raises(InputError, match="NUL bytes"):
        read_concordance(nul)


def test_analyst_concordance_without_confidence_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "analyst.csv"
    path.write_text("eccn,hs6,rationale,added\n2B001,845710,milling centres,2026-11-01\n")
    with pytest.raises(InputError) as info:
        detect_layout(path)
    assert "needs a confidence column" in str(info.value)
    plain = tmp_path / "generic.csv"
    plain.write_text("eccn,hs6\n2B001,845710\n")
    assert detect_layout(plain) == "generic"


def _mini_links(tmp_path: Path, analyst_rows: str) -> pd.DataFrame:
    d = FIX / "link"
    entries = pd.read_csv(d / "entries_mini.csv", dtype={"eccn": str}, keep_default_na=False)
    entries["reserved"] = entries["reserved"].astype(str) == "True"
    paragraphs = pd.read_csv(d / "paragraphs_mini.csv", dtype=str, keep_default_na=False)
    paragraphs["depth"] = paragraphs["depth"].astype(int)
    analyst = tmp_path / "analyst.csv"
    analyst.write_text("eccn,hs6,confidence,rationale,added\n" + analyst_rows)
    return build_links(entries, paragraphs, load_hs(d / "hs_mini.csv"), [analyst],
                       curated_file=d / "curated_mini.csv", top_k=3)  # fmt: skip


def test_unknown_paragraph_is_not_a_second_link(tmp_path: Path) -> None:
    ok = _mini_links(tmp_path, "2B001,845710,high,whole entry,2026-11-01\n")
    assert len(ok.links) > 0
    with pytest.raises(ValidationError) as info:
        _mini_links(
            tmp_path, "2B001,845710,high,whole entry,2026-11-01\n2B001.z,845710,high,typo,2026-11-01\n"
        )
    assert "paragraph '2B001.z' is not in ECCN 2B001" in str(info.value)
