"""Suggested links: behaviour on fixtures and the golden file on the real CCL and HS2022."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cclreview.link.hs import load_hs
from cclreview.link.suggest import content_words, expand, prior_vector, suggest_links

GOLDEN = Path(__file__).parent / "fixtures" / "link" / "golden_links.tsv"


def _mini(fixtures: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    d = fixtures / "link"
    entries = pd.read_csv(d / "entries_mini.csv", dtype={"eccn": str}, keep_default_na=False)
    entries["reserved"] = entries["reserved"].astype(str) == "True"
    paragraphs = pd.read_csv(d / "paragraphs_mini.csv", dtype=str, keep_default_na=False)
    return entries, paragraphs, load_hs(d / "hs_mini.csv")


def test_suggestions_on_fixtures(fixtures: Path) -> None:
    entries, paragraphs, hs = _mini(fixtures)
    s = suggest_links(entries, paragraphs, hs, top_k=3)
    top = s[s["paragraph"] == ""].sort_values(["eccn", "rank"]).groupby("eccn")["hs6"].first().to_dict()
    assert top["2A001"] == "848210"
    assert top["3B001"] == "848620"
    assert top["6A005"] == "901320"
    assert top["0A508"] == "930320"
    assert s["score"].between(0, 1).all()
    assert (s.groupby(["eccn", "paragraph"])["rank"].min() == 1).all()
    assert s.groupby(["eccn", "paragraph"]).size().max() <= 3
    # D/E and reserved entries get no suggestions.
    assert not set(s["eccn"]) & {"3D001", "3E001", "9A999"}
    # Paragraph-level suggestions exist and explain themselves.
    p = s[s["paragraph"] == "2B001.a"]
    assert p["hs6"].iloc[0] == "845811"
    assert "lathe" in p["why"].iloc[0]


def test_scores_fall_when_chapter_is_unusual(fixtures: Path) -> None:
    hs6 = np.array(["848210", "010121", "854231"])
    assert prior_vector("2A001", hs6).tolist() == [1.0, 0.0, pytest.approx(0.6)]
    assert prior_vector("3B001", np.array(["848620", "847989"])).tolist() == [1.0, pytest.approx(0.8)]


def test_text_helpers() -> None:
    assert {"fibre", "carbon"} <= content_words("Carbon fibers, specially designed")
    assert "specially" not in content_words("specially designed parts")
    assert "automatic data processing" in expand("Digital computers")


@pytest.fixture(scope="module")
def golden_suggestions(shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from cclreview.ccl import parse_ccl

    gold = pd.read_csv(GOLDEN, sep="\t", comment="#", dtype=str)
    entries, paragraphs = parse_ccl(shared_data / "ccl" / "ccl_supp1_ecfr_2026-06.xml")
    keep = set(gold["eccn"])
    hs = load_hs(shared_data / "hs" / "harmonized_system_HS2022.csv")
    s = suggest_links(entries[entries["eccn"].isin(keep)], paragraphs[paragraphs["eccn"].isin(keep)], hs)
    return gold, s[s["paragraph"] == ""]


def test_golden_file(golden_suggestions: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    gold, s = golden_suggestions
    top = {e: g.sort_values("rank")["hs6"].head(10).tolist() for e, g in s.groupby("eccn")}
    failures = []
    for r in gold.itertuples():
        got = top.get(r.eccn, [])
        if r.kind == "must" and r.hs not in got:
            failures.append(f"{r.eccn}: expected {r.hs} ({r.note}) in {got}")
        if r.kind == "must_not" and any(h.startswith(r.hs) for h in got):
            failures.append(f"{r.eccn}: must not suggest {r.hs}* ({r.note}), got {got}")
    assert not failures, "\n".join(failures)
