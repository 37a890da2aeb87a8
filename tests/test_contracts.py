"""The executable table contracts: messages, write/read guards, docs kept in step."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from fixtures.contract_fill import fill

from cclreview import contracts
from cclreview.cli import COMMAND_MODULES
from cclreview.errors import InputError, OutputError, ValidationError

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
    from cclreview.score import tiers

    # The tier names scoring assigns are exactly the contract's tiers, in one order.
    named = {getattr(tiers, n) for n in dir(tiers) if n.startswith("TIER_") and n != "TIER_ORDER"}
    assert named == set(contracts.TIER_ORDER) and tiers.TIERS == contracts.TIER_ORDER
    tier_check = contracts.Scores.to_schema().columns["tier"].checks[0]
    assert tier_check.statistics["allowed_values"] == list(contracts.TIER_ORDER)
    for stage in contracts.STAGE_ORDER:
        assert stage.command in COMMAND_MODULES
        for table in stage.tables:
            assert table in contracts.MODELS and table in contracts.FILES
    assert set(contracts.MODELS) == set(contracts.FILES) == set(contracts.PRODUCER)


def test_every_processed_table_has_a_model() -> None:
    """Each Parquet file the Makefile builds in data/processed, and each make target, has a contract."""
    from cclreview.io import MAKE_TARGETS

    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    built = set(re.findall(r"\$\(PROC\)/([a-z_]+\.parquet)", makefile))
    built |= {name for name in MAKE_TARGETS if name.endswith(".parquet")}
    assert {"flows_focus.parquet", "us_exports.parquet", "scores.parquet"} <= built
    assert built <= set(contracts.FILES.values())


def test_trade_outputs_from_the_fixtures_meet_their_contracts(tmp_path: Path) -> None:
    """What ingest-trade writes from the test fixtures (BACI, Comtrade, a generic long table
    with partners) passes exports, flows_focus and us_exports."""
    from cclreview.trade.generic import parse_column_map
    from cclreview.trade.ingest import ingest_trade

    trade = ROOT / "tests" / "fixtures" / "trade"
    files = [trade / "baci_small.csv", trade / "comtrade_api_small.csv", trade / "comtrade_legacy_small.csv"]
    cmap = parse_column_map(
        "year=Year,exporter=Country,importer=Partner,hs6=Product,value_usd=USD,qty=Tonnes"
    )
    runs = {
        "readers": (files, {}),
        "generic": ([trade / "generic_small.csv"], {"column_map": cmap, "max_rejected": 0.5}),
    }
    rows = {}
    for label, (paths, kwargs) in runs.items():
        out = tmp_path / label
        ingest_trade(paths, out, use_cache=False, **kwargs)
        for name in ("exports", "flows_focus", "us_exports"):
            contracts.validate_file(name, out / contracts.FILES[name])
            table = contracts.read(name, out)
            assert table is not None
            rows[label, name] = len(table)
    # Both runs wrote bilateral rows, so the bilateral contracts were exercised.
    assert rows["readers", "flows_focus"] and rows["readers", "us_exports"]
    assert rows["generic", "flows_focus"]


def test_validate_file_names_the_target_and_the_stage(tmp_path: Path) -> None:
    flows = pd.DataFrame(
        {"year": [2024, 2024], "exporter_iso3": ["USA", "USA"], "importer_iso3": ["CHN", "CHN"],
         "hs6": ["850511", "850511"], "hs_version": ["HS2017"] * 2, "value_usd": [1.0, 2.0],
         "qty": [float("nan")] * 2, "source": ["baci"] * 2, "source_file": ["a.csv"] * 2}
    )  # fmt: skip
    tmp = tmp_path / "staged.parquet"
    flows.to_parquet(tmp, index=False)
    with pytest.raises(ValidationError) as info:
        contracts.validate_file("us_exports", tmp, target=tmp_path / contracts.US_EXPORTS)
    summary = str(info.value).splitlines()[0]
    assert f"us_exports ({tmp_path / contracts.US_EXPORTS})" in summary
    assert "one row per source_file" in str(info.value) and "bug in `cclreview ingest-trade`" in summary
    flows.head(1).to_parquet(tmp, index=False)
    contracts.validate_file("us_exports", tmp)
    tmp.write_text("not parquet", encoding="utf-8")
    with pytest.raises(OutputError, match="cannot read back"):
        contracts.validate_file("us_exports", tmp)
