"""The executable table contracts: messages, write/read guards, docs kept in step."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fixtures.contract_fill import fill

from cclreview import contracts
from cclreview.cli import COMMAND_MODULES
from cclreview.errors import InputError, ValidationError

ROOT = Path(__file__).resolve().parents[1]


def _scores(n: int = 3) -> pd.DataFrame:
    return fill(
        "scores",
        pd.DataFrame(
            {
                "eccn": [f"2B00{i}" for i in range(n)],
                "rank": list(range(1, n + 1)),
                "tier": ["candidate"] * n,
                "security_score": [0.5] * n,
                "evidence_strength": [0.5] * n,
                "explanation": ["x"] * n,
            }
        ),
    )


def test_docs_match_the_models() -> None:
    text = (ROOT / "docs" / "CONTRACTS.md").read_text(encoding="utf-8")
    assert text == contracts.render_docs(text), "run `python -m cclreview.contracts --write-docs`"
    assert "authoritative" not in text  # one text, no appendix that overrides it


def test_failure_message_is_a_summary_line_and_a_table() -> None:
    df = _scores()
    df.loc[1, "tier"] = "maybe"
    df.loc[2, "security_score"] = 1.5
    df = df.drop(columns=["explanation"])
    df["rank"] = df["rank"].astype("float64")
    with pytest.raises(ValidationError) as info:
        contracts.validate("scores", df, "x/scores.parquet")
    summary, header, *rows = str(info.value).splitlines()
    assert summary.startswith("scores (x/scores.parquet) failed its contract: 4 problem(s)")
    assert "rebuild it with `cclreview score`" in summary
    assert header.split() == ["column", "check", "row", "value", "eccn"]
    text = "\n".join(rows)
    assert "explanation" in text and "required column is missing" in text
    assert "'maybe'" in text and "2B001" in text
    assert "1.5" in text and "2B002" in text
    assert "found float64" in text  # a wrong dtype is one line, not one per row
    assert len(rows) == 4


def test_write_refuses_a_broken_table_and_writes_a_good_one(tmp_path: Path) -> None:
    bad = _scores().assign(tier="unheard of")
    with pytest.raises(ValidationError, match="bug in `cclreview score`"):
        contracts.write("scores", bad, tmp_path)
    assert not list(tmp_path.iterdir())
    path = contracts.write("scores", _scores(), tmp_path)
    assert path == tmp_path / contracts.SCORES
    back = contracts.read("scores", tmp_path)
    assert back is not None and back["eccn"].tolist() == ["2B000", "2B001", "2B002"]


def test_read_missing_table(tmp_path: Path) -> None:
    assert contracts.read("evidence", tmp_path, required=False) is None
    with pytest.raises(InputError, match="run `cclreview ingest-evidence` first"):
        contracts.read("evidence", tmp_path)


def test_extra_columns_are_allowed() -> None:
    contracts.validate("scores", _scores().assign(added_by_another_stage=1))


def test_tiers_and_stages() -> None:
    assert contracts.TIER_ORDER == (
        "candidate",
        "review",
        "retain",
        "not a foreign-availability case",
        "guardrail",
        "insufficient evidence",
    )
    for stage in contracts.STAGE_ORDER:
        assert stage.command in COMMAND_MODULES
        for table in stage.tables:
            assert table in contracts.MODELS and table in contracts.FILES
    assert set(contracts.MODELS) == set(contracts.FILES) == set(contracts.PRODUCER)
