"""Curated links: the shipped table's coverage and validity, and analyst overrides."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cclreview.errors import ValidationError
from cclreview.link.curated import CURATED_FILE, check_hs6, load_curated, read_curated_file
from cclreview.link.hs import load_hs


def test_shipped_table_covers_150_abc_eccns_in_all_categories() -> None:
    cur = load_curated()
    abc = cur[cur["eccn"].str[1].isin(list("ABC"))]
    assert abc["eccn"].nunique() >= 150
    assert set(abc["eccn"].str[0]) == set("0123456789")
    assert set(cur["label"]) <= {"high", "medium", "low"}
    assert cur["confidence"].between(0, 1).all()


def test_every_rationale_names_its_hs_heading() -> None:
    cur = load_curated()
    for r in cur.itertuples():
        heading = f"{r.hs6[:2]}{r.hs6[2:4]}"
        assert r.rationale, r.origin
        assert heading in r.rationale.replace(".", ""), f"{r.origin}: rationale should name HS {heading}"
        assert r.added, r.origin


def test_every_shipped_hs6_exists_in_hs2022(shared_data: Path) -> None:
    hs = load_hs(shared_data / "hs" / "harmonized_system_HS2022.csv")
    check_hs6(load_curated(), hs["hs6"], "shipped curated links")  # raises on any unknown code


def test_every_shipped_eccn_exists_in_the_ccl(shared_data: Path) -> None:
    xml = (shared_data / "ccl" / "ccl_supp1_ecfr_2026-06.xml").read_text(encoding="utf-8")
    cur = load_curated()
    missing = [e for e in cur["eccn"].unique() if f"<B>{e}" not in xml]
    assert not missing


def test_check_hs6_lists_unknown_codes(fixtures: Path) -> None:
    hs = load_hs(fixtures / "link" / "hs_mini.csv")
    cur = read_curated_file(fixtures / "link" / "curated_mini.csv")
    check_hs6(cur, hs["hs6"], "mini")
    bad = cur.assign(hs6="999999")
    with pytest.raises(ValidationError, match="999999"):
        check_hs6(bad, hs["hs6"], "mini")


def test_analyst_file_overrides_shipped_rows(fixtures: Path) -> None:
    d = fixtures / "link"
    cur = load_curated(d / "curated_mini.csv", [d / "analyst_override.csv"])
    # 2B001: the analyst adds a pair; the shipped pair stays.
    b = cur[(cur["eccn"] == "2B001") & (cur["paragraph"] == "")].set_index("hs6")["source"].to_dict()
    assert b == {"845811": "curated", "845710": "curated:analyst"}
    # 3A001.a: the analyst withdraws 854232 ("none"); 854231 stays.
    assert cur.loc[cur["paragraph"] == "3A001.a", "hs6"].tolist() == ["854231"]


def test_analyst_row_replaces_the_same_pair(fixtures: Path, tmp_path: Path) -> None:
    f = tmp_path / "mine.csv"
    f.write_text(
        "eccn,hs6,confidence,rationale,added\n3B001,848620,low,HS 8486.20 doubt,2026-11-02\n",
        encoding="utf-8",
    )
    cur = load_curated(fixtures / "link" / "curated_mini.csv", [f])
    row = cur[cur["hs6"] == "848620"]
    assert len(row) == 1
    assert row["label"].item() == "low" and row["source"].item() == "curated:analyst"


def test_invalid_rows_are_all_reported(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(
        "eccn,hs6,confidence,rationale,added\n"
        "XX1,848210,high,x,2026-01-01\n2A001,8482,high,x,2026-01-01\n2A001,848210,sure,x,2026-01-01\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as err:
        read_curated_file(f)
    msg = str(err.value)
    assert "line 2" in msg and "line 3" in msg and "line 4" in msg


def test_five_digit_codes_regain_their_leading_zero(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text(
        "eccn,hs6,confidence,rationale,added\n0A980,10129,high,HS 0101.29 horses,2026-01-01\n",
        encoding="utf-8",
    )
    assert read_curated_file(f)["hs6"].tolist() == ["010129"]


def test_shipped_file_is_plain_csv_with_the_contract_columns() -> None:
    df = pd.read_csv(CURATED_FILE, dtype=str)
    assert list(df.columns) == ["eccn", "hs6", "confidence", "rationale", "added", "specificity_class"]
    assert not df.duplicated(["eccn", "hs6"]).any()
