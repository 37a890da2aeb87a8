"""eval-links precision and recall against a hand-judged gold (issue 12), hand-computed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cclreview.cli import cli
from cclreview.errors import InputError
from cclreview.link.evaluate import judged_precision, link_precision, read_judged_gold

GOLD_FILE = Path(__file__).parent / "data" / "link_gold_judged.csv"


def _links() -> pd.DataFrame:
    rows = [
        # eccn, hs6, source, confirmed, primary
        ("2B001", "845811", "curated", True, True),  # right
        ("2B001", "845710", "curated", True, True),  # not judged: ignored
        ("3A001", "854231", "curated", True, True),  # right
        ("3A001", "854239", "curated", True, True),  # partly
        ("6A005", "901320", "suggested", False, True),  # right, but unconfirmed
        ("6A005", "847149", "suggested", False, True),  # wrong, unconfirmed
        ("3D001", "848620", "inherited", True, True),  # partly
        ("9A012", "880624", "suggested", False, False),  # right, but not a primary link
    ]
    return pd.DataFrame(rows, columns=["eccn", "hs6", "source", "confirmed", "primary"])


def test_judged_precision_by_hand(fixtures: Path) -> None:
    gold = read_judged_gold(fixtures / "link" / "gold_judged_mini.csv")
    assert gold is not None and len(gold) == 7
    r = judged_precision(_links(), gold)
    # 6 judged primary links found: right 3 (845811, 854231, 901320), partly 2, wrong 1.
    assert r["overall"] == {
        "n": 6,
        "right": 3,
        "partly": 2,
        "wrong": 1,
        "precision": 0.5,
        "precision_lenient": round(5 / 6, 4),
    }
    assert r["by_source"]["curated"]["precision"] == round(2 / 3, 4)
    assert r["by_source"]["suggested"]["precision"] == 0.5
    assert r["by_source"]["inherited"]["precision_lenient"] == 1.0
    # Evidence = confirmed links: 845811, 854231 right, 854239 and 848620 partly.
    assert r["evidence"]["n"] == 4 and r["evidence"]["precision"] == 0.5
    # Gold has 4 right pairs; 3 are primary links (880624 is not primary), 2 confirmed.
    assert r["recall"] == 0.75 and r["evidence_recall"] == 0.5
    # right or partly: 6 in the gold, 5 found.
    assert r["recall_lenient"] == round(5 / 6, 4)


def test_link_precision_against_pairs() -> None:
    gold = pd.DataFrame(
        {"eccn": ["2B001", "3A001", "3A001", "7A001"], "hs6": ["845811", "854231", "854232", "903180"]}
    )
    r = link_precision(_links(), gold)
    # Common ECCNs: 2B001 and 3A001; their primary links: 845811, 845710, 854231, 854239.
    assert r["n_eccns"] == 2 and r["n_links"] == 4
    assert r["precision"] == 0.5  # 845811 and 854231 are gold pairs
    assert r["recall"] == round(2 / 3, 4)  # of 845811, 854231, 854232
    assert r["precision_by_source"] == {"curated": 0.5}


def test_pair_gold_is_not_judged(fixtures: Path) -> None:
    assert read_judged_gold(fixtures / "link" / "cn_pairs_mini.csv") is None


def test_judgement_must_be_known(tmp_path: Path) -> None:
    f = tmp_path / "g.csv"
    f.write_text("eccn,hs6,judgement,reason\n2B001,845811,maybe,unsure\n", encoding="utf-8")
    with pytest.raises(InputError, match="right, partly or wrong"):
        read_judged_gold(f)


def test_shipped_gold_sample() -> None:
    gold = read_judged_gold(GOLD_FILE)
    assert gold is not None
    random = gold[gold["sample"] == "random"]
    assert len(random) >= 60
    # Sampled across every source family, one line of reason per judgement.
    fam = random["sampled_source"].str.split(":").str[0]
    assert set(fam) == {"curated", "imported", "inherited", "suggested"}
    assert (gold["reason"].str.len() > 20).all() and not gold["reason"].str.contains("\n").any()
    assert set(gold["judgement"]) == {"right", "partly", "wrong"}


def test_eval_links_cli_prints_precision(fixtures: Path, tmp_path: Path) -> None:
    links = tmp_path / "links.parquet"
    _links().to_parquet(links)
    res = CliRunner().invoke(
        cli, ["eval-links", "--links", str(links), "--gold", str(fixtures / "link" / "gold_judged_mini.csv")]
    )
    assert res.exit_code == 0, res.output
    assert "precision" in res.output and "evidence" in res.output
    line = next(x for x in res.output.splitlines() if x.startswith("all"))
    assert line.split()[1:] == ["6", "3", "2", "1", "0.500", "0.833"]
