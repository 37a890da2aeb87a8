"""ingest_trade: outputs, cache, rejected-row limit, and the ingest-trade command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cclreview.cli import cli
from cclreview.errors import InputError, TooManyRejectedError
from cclreview.trade.ingest import find_trade_files, ingest_trade
from cclreview.trade.tidy import EXPORT_COLUMNS, REJECT_COLUMNS, UNMATCHED_COLUMNS

FIX = Path(__file__).resolve().parent / "fixtures" / "trade"
FILES = [FIX / "baci_small.csv", FIX / "comtrade_api_small.csv", FIX / "comtrade_legacy_small.csv"]


def test_ingest_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = ingest_trade(FILES, out)
    exports = pd.read_parquet(out / "exports.parquet")
    assert list(exports.columns[: len(EXPORT_COLUMNS)]) == EXPORT_COLUMNS
    assert str(exports["rank"].dtype) == "Int64" and exports["year"].dtype == "int64"
    assert summary["export_rows"] == len(exports)
    assert summary["rows_read"] == 8 + 8 + 6
    assert summary["duplicates_dropped"] == 2
    # Sources are kept side by side, never summed: TWN 848620 comes from BACI and Comtrade.
    twn = exports[(exports.exporter_iso3 == "TWN") & (exports.hs6 == "848620")]
    assert sorted(twn["source"]) == ["baci", "comtrade"]
    assert sorted(twn["source_file"]) == ["baci_small.csv", "comtrade_api_small.csv"]
    unmatched = pd.read_csv(out / "unmatched_countries.csv", dtype={"value": str})
    assert list(unmatched.columns) == UNMATCHED_COLUMNS
    assert {"999", "0", "EUR"} <= set(unmatched["value"])
    assert summary["unmatched_value_usd"] == pytest.approx(4000 + 6000 + 12_000_000)
    rejected = pd.read_csv(out / "rejected_rows.csv")
    assert list(rejected.columns) == REJECT_COLUMNS and rejected.empty
    assert not list(out.glob("*.tmp*"))


def test_cache_reuse_and_invalidation(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for f in FILES:
        shutil.copy(f, src / f.name)
    out = tmp_path / "out"
    first = ingest_trade(sorted(src.iterdir()), out)
    before = pd.read_parquet(out / "exports.parquet")
    again = ingest_trade(sorted(src.iterdir()), out)
    assert first["cached"] == 0 and again["cached"] == 3
    pd.testing.assert_frame_equal(pd.read_parquet(out / "exports.parquet"), before)
    assert again["unmatched_values"] == first["unmatched_values"]
    # A deleted output is rebuilt from the per-file cache.
    (out / "exports.parquet").unlink()
    rebuilt = ingest_trade(sorted(src.iterdir()), out)
    assert rebuilt["cached"] == 3
    pd.testing.assert_frame_equal(pd.read_parquet(out / "exports.parquet"), before)
    # Changing one file's content re-reads that file only.
    baci = src / "baci_small.csv"
    baci.write_bytes(baci.read_bytes().replace(b"2022,842,276,903082,75.125", b"2022,842,276,903082,80.000"))
    third = ingest_trade(sorted(src.iterdir()), out)
    assert third["cached"] == 2
    after = pd.read_parquet(out / "exports.parquet")
    usa = after[(after.exporter_iso3 == "USA") & (after.hs6 == "903082") & (after.source == "baci")]
    assert usa["value_usd"].item() == pytest.approx(80_000.0)
    # A different year filter is a different cache entry.
    fourth = ingest_trade(sorted(src.iterdir()), out, years=[2022])
    assert fourth["cached"] == 0
    assert set(pd.read_parquet(out / "exports.parquet")["year"]) == {2022}


def test_too_many_rejected(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(TooManyRejectedError, match=r"baci_bad.csv: 3 of 10 rows \(30.0%\)"):
        ingest_trade([FIX / "baci_bad.csv"], out)
    rejected = pd.read_csv(out / "rejected_rows.csv")
    assert sorted(rejected["line"]) == [3, 4, 5]
    assert not (out / "exports.parquet").exists()
    summary = ingest_trade([FIX / "baci_bad.csv"], out, max_rejected=0.5)
    assert summary["rows_rejected"] == 3
    assert (out / "exports.parquet").exists()


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no trade files given"):
        ingest_trade([], tmp_path)
    with pytest.raises(InputError, match="between 0 and 1"):
        ingest_trade(FILES, tmp_path, max_rejected=2)
    with pytest.raises(InputError, match="unknown HS revision"):
        ingest_trade(FILES, tmp_path, hs_version="HS2099")
    with pytest.raises(InputError, match="does not exist"):
        find_trade_files(tmp_path / "nope")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(InputError, match="no trade files"):
        find_trade_files(tmp_path / "empty_dir")


# -- CLI ----------------------------------------------------------------------------------
def test_cli_success_and_cache(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["-q", "ingest-trade", *map(str, FILES), "--out", str(tmp_path)]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "3 file(s) (0 cached)" in res.output and "2 duplicates dropped" in res.output
    res = runner.invoke(cli, args)
    assert res.exit_code == 0 and "3 file(s) (3 cached)" in res.output


def test_cli_default_paths_from_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "data" / "raw" / "trade"
    raw.mkdir(parents=True)
    shutil.copy(FIX / "baci_small.csv", raw / "baci_small.csv")
    (raw / "notes.md").write_text("not a trade file", encoding="utf-8")
    monkeypatch.setenv("CCLREVIEW_HOME", str(tmp_path))
    res = CliRunner().invoke(cli, ["-q", "ingest-trade"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "data" / "processed" / "exports.parquet").exists()


def test_cli_errors_and_usage(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["ingest-trade", str(FIX / "baci_bad.csv"), "--out", str(tmp_path)])
    assert res.exit_code == 1
    assert "Error: too many rejected rows" in res.output
    res = runner.invoke(cli, ["ingest-trade", str(tmp_path / "missing.csv"), "--out", str(tmp_path)])
    assert res.exit_code == 1 and "not found" in res.output
    res = runner.invoke(
        cli, ["ingest-trade", str(FIX / "baci_small.csv"), "--years", "20x2", "--out", str(tmp_path)]
    )
    assert res.exit_code == 2
    res = runner.invoke(cli, ["ingest-trade", str(FIX / "baci_small.csv"), "--max-rejected", "2"])
    assert res.exit_code == 2
    res = runner.invoke(
        cli, ["ingest-trade", str(FIX / "generic_small.csv"), "--column-map", "yr=1", "--out", str(tmp_path)]
    )
    assert res.exit_code == 1 and "unknown column map key" in res.output


def test_cli_generic_and_years(tmp_path: Path) -> None:
    cmap = "year=Year,exporter=Country,importer=Partner,hs6=Product,value_usd=USD,qty=Tonnes"
    res = CliRunner().invoke(
        cli,
        [
            "-q",
            "ingest-trade",
            str(FIX / "generic_small.csv"),
            "--column-map",
            cmap,
            "--max-rejected",
            "0.5",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    exports = pd.read_parquet(tmp_path / "exports.parquet")
    assert set(exports["exporter_iso3"]) == {"KOR", "DEU"}
    res = CliRunner().invoke(
        cli,
        ["-q", "ingest-trade", str(FIX / "baci_small.csv"), "--years", "2023", "--out", str(tmp_path / "y")],
    )
    assert res.exit_code == 0, res.output
    assert set(pd.read_parquet(tmp_path / "y" / "exports.parquet")["year"]) == {2023}


def test_cli_help_has_example() -> None:
    res = CliRunner().invoke(cli, ["ingest-trade", "--help"])
    assert res.exit_code == 0
    assert "Example:" in res.output and "--column-map" in res.output and "--out" in res.output


def test_register_custom_reader(tmp_path: Path) -> None:
    """Another module can plug a reader into the registry (as hs4.py does)."""
    from cclreview.trade import registry
    from cclreview.trade.tidy import ReadContext, ReadResult, aggregate, empty_rejected, empty_unmatched

    def detect(path: Path, columns: list[str]) -> bool:
        return columns == ["who", "what", "usd"]

    def read(path: Path, ctx: ReadContext) -> ReadResult:
        raw = pd.read_csv(path, dtype=str)
        tidy = pd.DataFrame(
            {
                "year": 2020,
                "exporter_iso3": ctx.resolver.resolve_many(raw["who"]),
                "hs6": raw["what"],
                "value_usd": raw["usd"].astype(float),
                "qty": float("nan"),
                "hs_version": "HS2017",
            }
        )
        return ReadResult(aggregate(tidy, "custom"), empty_rejected(), empty_unmatched(), len(raw))

    f = tmp_path / "custom.csv"
    f.write_text("who,what,usd\nFrance,848620,5\nfra,848620,7\n", encoding="utf-8")
    registry.register(registry.Reader("test_custom", detect, read, version="1", priority=5))
    try:
        summary = ingest_trade([f], tmp_path / "out")
        exports = pd.read_parquet(tmp_path / "out" / "exports.parquet")
        assert summary["export_rows"] == 1
        assert exports[["exporter_iso3", "value_usd", "source"]].values.tolist() == [["FRA", 12.0, "custom"]]
    finally:
        registry._READERS.pop("test_custom")
