"""Evaluation metrics on a tiny example computed by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cclreview.cli import cli
from cclreview.errors import InputError
from cclreview.link.evaluate import evaluate_links, read_gold


def _links() -> pd.DataFrame:
    rows = [
        # eccn, paragraph, hs6, source, score, also_in
        ("2A001", "", "111111", "suggested", 0.9, ""),
        ("2A001", "", "222222", "suggested", 0.8, ""),
        ("2A001", "", "333333", "suggested", 0.7, ""),
        ("2A001", "2A001.a", "111111", "suggested", 0.2, ""),  # same hs6 again: counted once
        ("2B001", "", "444444", "curated", None, "suggested"),  # suggested too, kept its score
        ("2B001", "", "555555", "suggested", 0.3, ""),
        ("3B001", "", "666666", "suggested", 0.5, ""),
        ("3B001", "", "777777", "curated", None, ""),  # curated only: not scored
        ("9A001", "", "888888", "imported:x", None, ""),
    ]
    df = pd.DataFrame(rows, columns=["eccn", "paragraph", "hs6", "source", "score", "also_in"])
    df.loc[df["eccn"] == "2B001", "score"] = [0.9, 0.3]
    return df.assign(confidence=0.5)


def _gold() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("2A001", "222222"),
            ("2A001", "999999"),
            ("2B001", "444444"),
            ("3B001", "777777"),
            ("9A001", "888888"),
            ("1C450", "281213"),
        ],
        columns=["eccn", "hs6"],
    )


def test_metrics_by_hand() -> None:
    r = evaluate_links(_links(), _gold(), k=2)
    o = r["overall"]
    # 2A001: top2 [111111, 222222], 1 of 2 gold found at rank 2 -> R .5, P .5, RR .5
    # 2B001: top2 [444444, 555555], 1 of 1 at rank 1 -> R 1, P .5, RR 1
    # 3B001: only curated 777777 matches -> 0;  9A001: imported only -> 0
    assert o["n_eccns"] == 4 and o["n_pairs"] == 5
    assert o["recall@2"] == pytest.approx((0.5 + 1) / 4)
    assert o["recall_capped@2"] == pytest.approx((0.5 + 1) / 4)
    assert o["precision@2"] == pytest.approx((0.5 + 0.5) / 4)
    assert o["mrr"] == pytest.approx((0.5 + 1) / 4)
    assert o["hit@2"] == pytest.approx(0.5)
    cat2 = r["by_category"]["2"]
    assert (
        cat2["n_eccns"] == 2
        and cat2["recall@2"] == pytest.approx(0.75)
        and cat2["mrr"] == pytest.approx(0.75)
    )
    # 1C450 is not an ECCN of the links file (a foreign-only number): skipped, reported.
    assert r["skipped"] == ["1C450"]


def test_capped_recall_with_large_gold_sets() -> None:
    links = pd.DataFrame(
        {
            "eccn": "1C010",
            "paragraph": "",
            "hs6": ["100001", "100002"],
            "source": "suggested",
            "score": [0.9, 0.8],
            "also_in": "",
        }
    )
    gold = pd.DataFrame({"eccn": "1C010", "hs6": ["100001", "100002", "100003", "100004"]})
    o = evaluate_links(links, gold, k=2)["overall"]
    assert o["recall@2"] == pytest.approx(0.5)  # 2 of 4
    assert o["recall_capped@2"] == pytest.approx(1.0)  # 2 of min(2, 4)
    assert o["precision@2"] == pytest.approx(1.0)


def test_k_must_be_positive() -> None:
    with pytest.raises(InputError):
        evaluate_links(_links(), _gold(), k=0)


def test_read_gold_layouts(fixtures: Path, tmp_path: Path) -> None:
    g = read_gold(fixtures / "link" / "cn_pairs_mini.csv")
    # junk codes (UF6, empty) and rows without customs code are not gold; paragraphs -> base
    assert set(map(tuple, g.to_numpy())) == {
        ("2B001", "845811"),
        ("3C001", "811292"),
        ("1C999", "281213"),
        ("2A001", "848210"),
    }
    cur = read_gold(fixtures / "link" / "curated_mini.csv")
    assert ("3A001", "854231") in set(map(tuple, cur.to_numpy()))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError):
        read_gold(bad)


def test_cli_eval_links_json(tmp_path: Path) -> None:
    links = tmp_path / "links.parquet"
    _links().to_parquet(links)
    gold = tmp_path / "gold.csv"
    _gold().to_csv(gold, index=False)
    res = CliRunner().invoke(
        cli, ["eval-links", "--links", str(links), "--gold", str(gold), "--k", "2", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert '"recall@2": 0.375' in res.output
    res = CliRunner().invoke(cli, ["eval-links", "--links", str(links), "--gold", str(gold), "--k", "2"])
    assert res.exit_code == 0 and "recall@2" in res.output and "skipped 1" in res.output


def test_noise_share_and_plausible_only_metrics() -> None:
    links = pd.DataFrame(
        {
            "eccn": "2A001",
            "paragraph": "",
            "hs6": ["848210", "848220"],
            "source": "suggested",
            "score": [0.9, 0.8],
            "also_in": "",
        }
    )
    # 2203 (beer) is no home for bearings: a spill-over pair in a noisy gold list.
    gold = pd.DataFrame({"eccn": "2A001", "hs6": ["848210", "220300"]})
    r = evaluate_links(links, gold, k=2)
    assert r["overall"]["recall@2"] == pytest.approx(0.5)
    assert r["noise"]["pairs_outside_usual_chapters"] == 1
    assert r["noise"]["share_outside_usual_chapters"] == pytest.approx(0.5)
    assert r["noise"]["plausible_only"]["recall@2"] == pytest.approx(1.0)
