"""D and E entries inherit the links of the commodities they name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cclreview.link.inherit import find_references, inherit_links


@pytest.fixture(scope="module")
def real_entries(shared_data: Path) -> pd.DataFrame:
    from cclreview.ccl import parse_ccl

    entries, _ = parse_ccl(shared_data / "ccl" / "ccl_supp1_ecfr_2026-06.xml")
    return entries


def _heading(entries: pd.DataFrame, eccn: str) -> str:
    return entries.loc[entries["eccn"] == eccn, "heading"].iloc[0]


def test_references_in_real_headings(real_entries: pd.DataFrame) -> None:
    r = find_references(_heading(real_entries, "0D001"), "0D001")
    assert r.eccns == ["0A002"]
    r = find_references(_heading(real_entries, "7D001"), "7D001")
    assert r.groups == ["7A", "7B"] and {"7A994", "7B994"} <= r.excluded
    r = find_references(_heading(real_entries, "3D001"), "3D001")
    assert "3A090" in r.eccns and "3A001.b" in r.eccns and "3B" in r.groups
    assert "3B903" in r.excluded and "3B903" not in r.eccns
    r = find_references(_heading(real_entries, "1E001"), "1E001")
    assert r.eccns[:3] == ["1A002", "1A003", "1A004"]
    # "other than that controlled by 2D002" is an exclusion, not a reference.
    r = find_references(_heading(real_entries, "2D001"), "2D001")
    assert r.eccns == [] and "2D002" in r.excluded


def test_real_entries_naming_nothing(real_entries: pd.DataFrame) -> None:
    for eccn in ("5E002", "0E521"):
        r = find_references(_heading(real_entries, eccn), eccn)
        assert not r.eccns and not r.groups


def test_invented_phrasings() -> None:
    assert find_references("technology for items controlled by 3A001.a or 3A090").eccns == [
        "3A001.a",
        "3A090",
    ]
    r = find_references("software for equipment controlled by 7A (except 7A994)")
    assert r.groups == ["7A"] and r.excluded == {"7A994"}
    assert find_references("software for 3B001", self_eccn="3B001").eccns == []


def _links() -> pd.DataFrame:
    rows = [
        ("3B001", "", "848620", "curated", 0.9, "HS 8486.20 machines", True),
        ("3B001", "", "848690", "suggested", 0.3, "similar", False),
        ("3A001", "3A001.a", "854231", "curated", 0.9, "HS 8542.31 processors", True),
        ("3A001", "", "854239", "curated", 0.7, "HS 8542.39 other ICs", True),
        ("3A002", "", "903020", "suggested", 0.4, "similar", True),
    ]
    return pd.DataFrame(
        rows, columns=["eccn", "paragraph", "hs6", "source", "confidence", "rationale", "primary"]
    )


def test_inherit_links(fixtures: Path) -> None:
    entries = pd.read_csv(fixtures / "link" / "entries_mini.csv", dtype={"eccn": str}, keep_default_na=False)
    entries = pd.concat(
        [
            entries,
            pd.DataFrame(
                [
                    {
                        "eccn": "3A002",
                        "category": 3,
                        "product_group": "A",
                        "heading": "General purpose electronic equipment",
                        "items_text": "",
                        "reserved": False,
                    }
                ]
            ),
        ]
    )
    inh, report = inherit_links(entries, _links())
    d1 = inh[inh["eccn"] == "3D001"].set_index("hs6")
    # 3D001 names 3B001 (primary curated only, not the non-primary suggestion) and 3A001.a
    # (the paragraph's own link, not the whole-entry one).
    assert set(d1.index) == {"848620", "854231"}
    assert d1.loc["848620", "confidence"] == pytest.approx(0.9 * 0.6)
    assert (d1["source"] == "inherited").all()
    assert d1.loc["854231", "inherited_from"] == "3A001.a"
    # 3E001 names group 3A (except 3A999): whole-group references count less.
    e1 = inh[inh["eccn"] == "3E001"].set_index("hs6")
    assert set(e1.index) == {"854231", "854239", "903020"}
    assert e1.loc["854231", "confidence"] == pytest.approx(0.9 * 0.6 * 0.5)
    reasons = report.set_index("eccn")["reason"].to_dict()
    assert reasons["5D002"] == "software/technology naming no commodity"
    assert reasons["3D001"] == ""


def test_inherited_links_follow_only_the_named_paragraphs() -> None:
    entries = pd.DataFrame(
        [
            {"eccn": "3A001", "product_group": "A", "heading": "Electronic items", "items_text": ""},
            {"eccn": "3D101", "product_group": "D", "heading": "Software for 3A001.b.2 amplifiers."},
            {"eccn": "3D102", "product_group": "D", "heading": "Software for items in 3A001.a."},
            {"eccn": "3D103", "product_group": "D", "heading": "Software for items in 3A001.c."},
            {"eccn": "3D104", "product_group": "D", "heading": "Software for equipment controlled by 3A001."},
        ]
    )
    links = pd.DataFrame(
        [
            ("3A001", "3A001.a", "854231", "curated", 0.9, "processors", True),
            ("3A001", "3A001.a.1", "854232", "curated", 0.7, "memories", True),
            ("3A001", "3A001.b", "854079", "curated", 0.9, "microwave tubes", True),
            ("3A001", "3A001.b.2", "854233", "curated", 0.9, "amplifier ICs", True),
            ("3A001", "", "854239", "curated", 0.7, "other ICs", True),
        ],
        columns=["eccn", "paragraph", "hs6", "source", "confidence", "rationale", "primary"],
    )
    inh, _ = inherit_links(entries, links)
    got = {e: set(g["hs6"]) for e, g in inh.groupby("eccn")}
    # 3A001.b.2: its own link and the link of its parent paragraph .b; not .a, not the entry's.
    assert got["3D101"] == {"854233", "854079"}
    # 3A001.a: its link and its sub-paragraph's; nothing from .b.
    assert got["3D102"] == {"854231", "854232"}
    # 3A001.c has no paragraph link: the entry-level link only.
    assert got["3D103"] == {"854239"}
    # The whole entry named: every link of 3A001.
    assert got["3D104"] == {"854231", "854232", "854079", "854233", "854239"}
