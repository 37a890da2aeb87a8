"""Imported concordances: China catalogue (pairs + psv), EU xlsx, generic CSV, conflicts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from cclreview.errors import InputError
from cclreview.link.hs import load_hs
from cclreview.link.imported import (
    detect_layout,
    flag_conflicts,
    read_cn_pairs,
    read_cn_psv,
    read_concordance,
    read_eu_correlation,
    read_generic_links,
)


@pytest.fixture()
def mini(fixtures: Path) -> Path:
    return fixtures / "link"


def _entries(mini: Path) -> pd.DataFrame:
    return pd.read_csv(mini / "entries_mini.csv", dtype={"eccn": str}, keep_default_na=False)


def test_cn_pairs_reduces_hs10_and_reports_junk(mini: Path) -> None:
    links, rej = read_cn_pairs(mini / "cn_pairs_mini.csv")
    assert set(zip(links["eccn"], links["paragraph"], links["hs6"], strict=False)) == {
        ("2B001", "2B001.a", "845811"),
        ("3C001", "", "811292"),
        ("1C999", "", "281213"),
        ("2A001", "", "848210"),
    }
    assert (links["source"] == "imported:cn_catalogue").all()
    assert links["confidence"].between(0.2, 0.5).all()  # a noisy source
    reasons = dict(zip(rej["row"], rej["reason"], strict=False))
    assert reasons == {
        3: "control code is not an ECCN-style number",
        4: "empty control code",
        5: "no customs code for this control code",
    }
    assert rej.loc[rej["row"] == 3, "control_code"].item() == "UF6"


def test_cn_psv_splits_code_lists_and_keeps_names(mini: Path) -> None:
    links, rej = read_cn_psv(mini / "cn_catalogue_mini.psv")
    assert sorted(links.loc[links["eccn"] == "3C001", "hs6"]) == ["811292", "811299"]
    assert links.loc[links["eccn"] == "6A005", "product_name"].item() == "激光器"
    assert rej["control_code"].tolist() == ["N"]


def test_eu_correlation_xlsx(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["Correlation table, indicative (test layout)"])
    ws.append([])
    ws.append(["CN code", "CN description", "Dual-use item (Annex I)"])
    ws.append(["8458 11 20", "Horizontal lathes, numerically controlled", "2B001.a"])
    ws.append([84571010, "Machining centres", "2B001.b; 2B201.a"])
    ws.append(["9013 20 00", "Lasers", "6A005"])
    ws.append(["8486 20 90", "Semiconductor machines", "see note"])
    f = tmp_path / "eu.xlsx"
    wb.save(f)
    assert detect_layout(f) == "eu_xlsx"
    links, rej = read_eu_correlation(f)
    got = set(
        zip(links["paragraph"].where(links["paragraph"] != "", links["eccn"]), links["hs6"], strict=False)
    )
    assert got == {("2B001.a", "845811"), ("2B001.b", "845710"), ("2B201.a", "845710"), ("6A005", "901320")}
    assert (links["source"] == "imported:eu_correlation").all()
    assert rej["reason"].tolist() == ["control code is not an ECCN-style number"]
    assert links.loc[links["eccn"] == "6A005", "product_name"].item() == "Lasers"


def test_eu_without_header_is_an_input_error(tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.append(["just", "numbers"])
    f = tmp_path / "x.xlsx"
    wb.save(f)
    with pytest.raises(InputError, match="CN code"):
        read_eu_correlation(f)


def test_generic_csv(mini: Path) -> None:
    links, rej = read_generic_links(mini / "generic_mini.csv")
    assert set(zip(links["eccn"], links["hs6"], strict=False)) == {("6A005", "901320"), ("0A980", "010129")}
    assert (links["source"] == "imported:generic_mini").all()
    assert sorted(rej["reason"]) == [
        "control code is not an ECCN-style number",
        "no customs code for this control code",
    ]


def test_layout_detection(mini: Path) -> None:
    assert detect_layout(mini / "cn_pairs_mini.csv") == "cn_pairs"
    assert detect_layout(mini / "cn_catalogue_mini.psv") == "cn_psv"
    assert detect_layout(mini / "generic_mini.csv") == "generic"
    assert detect_layout(mini / "analyst_override.csv") == "curated"
    with pytest.raises(InputError, match="unknown concordance layout"):
        read_concordance(mini / "paragraphs_mini.csv")


def test_conflicts_flag_same_number_different_item(mini: Path) -> None:
    hs = load_hs(mini / "hs_mini.csv")
    links, _ = read_cn_pairs(mini / "cn_pairs_mini.csv")
    out, rej = flag_conflicts(links, _entries(mini), hs)
    by = out.set_index("eccn")
    # China's 3C001 is gallium metal; the U.S. 3C001 is hetero-epitaxial wafers.
    assert bool(by.loc["3C001", "conflict"])
    assert by.loc["3C001", "confidence"] < links.loc[links["eccn"] == "3C001", "confidence"].item()
    # Bearings listed against the bearings ECCN agree.
    assert not bool(by.loc["2A001", "conflict"])
    # A number that is not in the U.S. CCL is reported, not linked.
    assert rej["reason"].tolist() == ["control number not in the U.S. CCL"]
    assert "1C999" not in out["eccn"].tolist()


def test_real_cn_catalogue_files_agree(shared_data: Path) -> None:
    d = shared_data / "concordance"
    pairs, rej_pairs = read_cn_pairs(d / "cn_dualuse_2026_pairs_cat013579.csv")
    psv, rej_psv = read_cn_psv(d / "cn_dualuse_2026_catalogue_cat013579.psv")
    raw = pd.read_csv(d / "cn_dualuse_2026_pairs_cat013579.csv", dtype=str, keep_default_na=False)
    # Nothing silently dropped: every catalogue row is linked or rejected.
    linked_rows = {int(o.rsplit(":", 1)[1]) for o in pairs["origin"]}
    assert linked_rows | set(rej_pairs["row"]) == set(raw["row"].astype(int))
    assert rej_psv["reason"].str.len().gt(0).all()
    assert "UF6" in set(rej_pairs["control_code"])
    assert pairs["hs6"].str.fullmatch(r"\d{6}").all()
    key = ["eccn", "paragraph", "hs6"]
    assert set(map(tuple, pairs[key].to_numpy())) == set(map(tuple, psv[key].to_numpy()))
    assert pairs["eccn"].nunique() > 80
