"""The DuckDB trade engine: bilateral outputs, hostile and clumsy inputs, cache on focus.

Every bad input either lands in ``rejected_rows.csv`` with its line (and column) or stops
with one ``InputError`` naming the file, and a failed run leaves the previous outputs as
they were.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cclreview.cli import cli
from cclreview.errors import InputError
from cclreview.trade.ingest import ingest_trade
from cclreview.trade.tidy import BILATERAL_COLUMNS, REJECT_COLUMNS

FIX = Path(__file__).resolve().parent / "fixtures" / "trade"
HEADER = '"t","i","j","k","v","q"'
# 156 China, 344 Hong Kong, 842 USA, 276 Germany, 392 Japan, 251 France.
ROWS = [
    '2022,276,156,848620,100.5,"       10.000"',
    '2022,276,344,848620,20,"        2.000"',
    '2022,276,251,848620,30,"           NA"',
    '2022,392,156,850511,7.25,"        1.000"',
    '2022,842,156,903082,40,"        0.400"',
    '2022,842,276,903082,60,"        0.600"',
    '2022,842,392,10121,5,"           NA"',
]


def _write(path: Path, rows: list[str], header: str = HEADER, eol: str = "\n", bom: bool = False) -> Path:
    text = eol.join([header, *rows]) + eol
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def _exports_value(out: Path, exporter: str, hs6: str) -> float:
    df = pd.read_parquet(out / "exports.parquet")
    sel = df[(df.exporter_iso3 == exporter) & (df.hs6 == hs6)]
    assert len(sel) == 1
    return float(sel["value_usd"].item())


# -- bilateral outputs ---------------------------------------------------------------------
def test_one_pass_gives_three_tables(tmp_path: Path) -> None:
    f = _write(tmp_path / "BACI_HS17_Y2022_V202601.csv", ROWS)
    out = tmp_path / "out"
    summary = ingest_trade([f], out)
    focus = pd.read_parquet(out / "flows_focus.parquet")
    us = pd.read_parquet(out / "us_exports.parquet")
    assert list(focus.columns) == BILATERAL_COLUMNS and list(us.columns) == BILATERAL_COLUMNS
    # To the world: every importer summed (thousand USD -> USD).
    assert _exports_value(out, "DEU", "848620") == pytest.approx(150_500.0)
    got = {(r.exporter_iso3, r.importer_iso3, r.hs6): r.value_usd for r in focus.itertuples()}
    assert got == {
        ("DEU", "CHN", "848620"): pytest.approx(100_500.0),
        ("DEU", "HKG", "848620"): pytest.approx(20_000.0),
        ("JPN", "CHN", "850511"): pytest.approx(7_250.0),
        ("USA", "CHN", "903082"): pytest.approx(40_000.0),
    }
    assert set(us["importer_iso3"]) == {"CHN", "DEU", "JPN"} and set(us["exporter_iso3"]) == {"USA"}
    jpn = us[us.importer_iso3 == "JPN"]
    assert jpn["hs6"].item() == "010121" and jpn["qty"].isna().item()
    assert focus["hs_version"].unique().tolist() == ["HS2017"]
    assert set(focus["source"]) == {"baci:V202601"} and set(focus["source_file"]) == {f.name}
    assert focus["year"].dtype == "int64" and focus.loc[0, "qty"] == pytest.approx(10.0)
    assert summary["focus_rows"] == 4 and summary["us_rows"] == 3
    cov = pd.read_csv(out / "bilateral_coverage.csv")
    assert cov["bilateral"].tolist() == [True] and cov["focus_rows"].tolist() == [4]


def test_focus_list_change_rereads_only_partner_files(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    _write(src / "baci_2022.csv", ROWS)
    shutil.copy(FIX.parent / "availability" / "hs4_world_2019.csv", src / "hs4_world_2019.csv")
    out = tmp_path / "out"
    files = sorted(src.iterdir())
    first = ingest_trade(files, out, max_rejected=1)
    assert first["cached"] == 0
    again = ingest_trade(files, out, focus=["FRA"], max_rejected=1)
    assert again["cached"] == 1  # the HS4 table (no partner detail) reused, BACI re-read
    focus = pd.read_parquet(out / "flows_focus.parquet")
    assert set(focus["importer_iso3"]) == {"FRA"} and len(focus) == 1
    cov = pd.read_csv(out / "bilateral_coverage.csv").set_index("source_file")
    assert not cov.loc["hs4_world_2019.csv", "bilateral"]
    assert "no partner detail" in cov.loc["hs4_world_2019.csv", "note"]
    with pytest.raises(InputError, match="not ISO3"):
        ingest_trade(files, out, focus=["China"])


def test_cli_focus_from_sources_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "sources.toml").write_text(
        '[trade]\nfocus_importers = ["HKG"]\n', encoding="utf-8"
    )
    f = _write(tmp_path / "baci_2022.csv", ROWS)
    monkeypatch.setenv("CCLREVIEW_HOME", str(tmp_path))
    res = CliRunner().invoke(cli, ["-q", "ingest-trade", str(f), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "1 focus and 3 U.S. bilateral rows" in res.output
    focus = pd.read_parquet(tmp_path / "out" / "flows_focus.parquet")
    assert set(focus["importer_iso3"]) == {"HKG"}


# -- bad values: rejected with their line ----------------------------------------------------
def test_non_finite_and_absurd_values_rejected(tmp_path: Path) -> None:
    rows = [
        *ROWS,
        '2022,276,251,848620,inf,"        1.000"',  # line 9
        '2022,276,251,848620,NaN,"        1.000"',  # line 10
        '2022,276,251,848620,1e300,"        1.000"',  # line 11
        '2022,276,251,848620,-inf,"        1.000"',  # line 12
        '2022,276,251,848620,5,"          inf"',  # line 13
        '2022,276,251,848620,5,"        1e300"',  # line 14
        '2022,276,251,848620,abc,"        1.000"',  # line 15
    ]
    f = _write(tmp_path / "baci_2022.csv", rows)
    out = tmp_path / "out"
    summary = ingest_trade([f], out, max_rejected=1)
    rej = pd.read_csv(out / "rejected_rows.csv", dtype={"value": str}, keep_default_na=False)
    assert list(rej.columns) == REJECT_COLUMNS
    got = {r.line: (r.column, r.value, r.reason) for r in rej.itertuples()}
    assert got[9] == ("v", "inf", "infinite value")
    assert got[10] == ("v", "NaN", "non-numeric value")
    assert got[11][0] == "v" and "absurd" in got[11][2]
    assert got[12][2] == "infinite value"
    assert got[13] == ("q", "inf", "non-numeric quantity")
    assert got[14][0] == "q" and "absurd" in got[14][2]
    assert got[15] == ("v", "abc", "non-numeric value")
    assert sorted(got) == list(range(9, 16)) and summary["rows_read"] == 14
    exports = pd.read_parquet(out / "exports.parquet")
    assert exports["value_usd"].map(lambda v: v == v and abs(v) < 1e13).all()
    assert _exports_value(out, "DEU", "848620") == pytest.approx(150_500.0)


def test_generic_table_non_finite_rejected(tmp_path: Path) -> None:
    f = tmp_path / "mine.csv"
    f.write_text(
        "Year,Country,Product,USD\n2022,KOR,848620,10\n2022,KOR,848620,inf\n2022,KOR,848620,nan\n"
        "2022,KOR,848620,1e300\n2022,DEU,848620,5\n2022,DEU,848620,5\n",
        encoding="utf-8",
    )
    cmap = {"year": "Year", "exporter": "Country", "hs6": "Product", "value_usd": "USD"}
    out = tmp_path / "out"
    summary = ingest_trade([f], out, column_map=cmap, max_rejected=1)
    rej = pd.read_csv(out / "rejected_rows.csv")
    assert dict(zip(rej["line"], rej["reason"], strict=True)) == {
        3: "infinite value",
        4: "non-numeric value",
        5: "value above 1e+13 USD (absurd)",
    }
    # The exact duplicate (lines 6 and 7) is dropped and counted, not summed.
    assert summary["duplicates_dropped"] == 1
    assert _exports_value(out, "DEU", "848620") == 5.0


def test_exact_duplicates_dropped_and_counted(tmp_path: Path) -> None:
    rows = [*ROWS, ROWS[0], ROWS[0], ROWS[4]]
    f = _write(tmp_path / "baci_2022.csv", rows)
    out = tmp_path / "out"
    summary = ingest_trade([f], out)
    assert summary["duplicates_dropped"] == 3 and summary["duplicates_by_file"] == {f.name: 3}
    assert summary["rows_read"] == 10
    assert _exports_value(out, "DEU", "848620") == pytest.approx(150_500.0)
    focus = pd.read_parquet(out / "flows_focus.parquet")
    usa = focus[(focus.exporter_iso3 == "USA") & (focus.importer_iso3 == "CHN")]
    assert usa["value_usd"].item() == pytest.approx(40_000.0)
    # Same key, different value: not an exact duplicate, both rows count.
    rows2 = [*ROWS, '2022,276,156,848620,1,"       10.000"']
    summary = ingest_trade([_write(tmp_path / "b2.csv", rows2)], tmp_path / "o2")
    assert summary["duplicates_dropped"] == 0
    assert _exports_value(tmp_path / "o2", "DEU", "848620") == pytest.approx(151_500.0)
    # The check can be switched off (then duplicates are summed, as the user asked).
    summary = ingest_trade([f], tmp_path / "o3", duplicates="off")
    assert summary["duplicates_dropped"] == 0
    assert _exports_value(tmp_path / "o3", "DEU", "848620") == pytest.approx(351_500.0)


def test_duplicate_check_modes(tmp_path: Path) -> None:
    """'sample' looks only at rows kept per importer; 'full' at every row."""
    # DEU -> FRA (not a focus importer, not a U.S. export) repeated: outside the sample.
    rows = [*ROWS, ROWS[2]]
    f = _write(tmp_path / "baci_2022.csv", rows)
    sample = ingest_trade([f], tmp_path / "s")
    assert sample["duplicates_dropped"] == 0
    assert _exports_value(tmp_path / "s", "DEU", "848620") == pytest.approx(180_500.0)
    full = ingest_trade([f], tmp_path / "f", duplicates="full")
    assert full["duplicates_dropped"] == 1
    assert _exports_value(tmp_path / "f", "DEU", "848620") == pytest.approx(150_500.0)
    # A repeated block reaches the sampled rows: the whole file is then de-duplicated.
    g = _write(tmp_path / "baci_twice.csv", [*ROWS, *ROWS])
    twice = ingest_trade([g], tmp_path / "t")
    assert twice["duplicates_dropped"] == len(ROWS)
    with pytest.raises(InputError, match="unknown duplicate check 'some'"):
        ingest_trade([f], tmp_path / "x", duplicates="some")  # type: ignore[arg-type]


def test_out_of_memory_is_one_line_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    ingest_trade([_write(tmp_path / "good.csv", ROWS)], out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    big = _write(
        tmp_path / "baci_2022.csv", [f'2022,{i % 900},{i % 7 + 1},{100000 + i},1,"1"' for i in range(60_000)]
    )
    monkeypatch.setenv("CCLREVIEW_DUCKDB_MEMORY", "2MB")
    res = CliRunner().invoke(cli, ["ingest-trade", str(big), "--out", str(out), "--no-cache"])
    assert res.exit_code == 1
    assert res.output.startswith("Error: baci_2022.csv: DuckDB ran out of its memory limit")
    assert "CCLREVIEW_DUCKDB_MEMORY=" in res.output and len(res.output.strip().splitlines()) == 1
    # The previous outputs are untouched and no half entry is left in the cache.
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not list((out / ".cache").glob(".entry.*"))


# -- layouts: BOM, CRLF, delimiters ---------------------------------------------------------
@pytest.mark.parametrize(
    ("delim", "eol", "bom"),
    [(",", "\r\n", False), (",", "\n", True), (";", "\n", False), ("\t", "\r\n", True)],
)
def test_layout_variants_give_the_same_numbers(tmp_path: Path, delim: str, eol: str, bom: bool) -> None:
    plain = ingest_trade([_write(tmp_path / "plain.csv", ROWS)], tmp_path / "plain")
    rows = [r.replace(",", delim) for r in ROWS]
    f = _write(tmp_path / "variant.csv", rows, header=HEADER.replace(",", delim), eol=eol, bom=bom)
    summary = ingest_trade([f], tmp_path / "variant")
    assert summary["rows_rejected"] == 0 and summary["export_rows"] == plain["export_rows"]
    for name in ("exports.parquet", "flows_focus.parquet", "us_exports.parquet"):
        a = pd.read_parquet(tmp_path / "plain" / name).drop(columns="source_file")
        b = pd.read_parquet(tmp_path / "variant" / name).drop(columns="source_file")
        pd.testing.assert_frame_equal(a, b)


def test_missing_column_is_one_line_naming_the_file(tmp_path: Path) -> None:
    f = tmp_path / "baci_2022.csv"
    f.write_text('"t","i","j","k","v"\n2022,276,156,848620,1\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"baci_2022.csv: missing required column\(s\) \['q'\]"):
        ingest_trade([f], tmp_path / "out")
    res = CliRunner().invoke(cli, ["ingest-trade", str(f), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "baci_2022.csv" in lines[0]


def test_short_and_long_rows_rejected_with_line(tmp_path: Path) -> None:
    rows = [*ROWS, "2022,276,156", '2022,276,156,848620,1,"1",9']
    f = _write(tmp_path / "baci_2022.csv", rows)
    summary = ingest_trade([f], tmp_path / "out", max_rejected=1)
    rej = pd.read_csv(tmp_path / "out" / "rejected_rows.csv")
    assert dict(zip(rej["line"], rej["reason"], strict=True)) == {
        9: "missing columns",
        10: "too many columns",
    }
    assert summary["rows_read"] == 9


def test_unknown_country_code_reported_with_value(tmp_path: Path) -> None:
    rows = [*ROWS, '2022,998,156,848620,3,"        1.000"', '2022,842,997,903082,2,"        1.000"']
    out = tmp_path / "out"
    ingest_trade([_write(tmp_path / "baci_2022.csv", rows)], out)
    um = pd.read_csv(out / "unmatched_countries.csv", dtype={"value": str}).set_index("value")
    assert um.loc["998", "role"] == "exporter" and um.loc["998", "value_usd"] == 3000
    assert um.loc["997", "role"] == "importer" and um.loc["997", "status"] == "unmatched"
    # The U.S. row to the unknown partner stays in exports to the world.
    assert _exports_value(out, "USA", "903082") == pytest.approx(102_000.0)


# -- zips: member by member; a truncated member stops the run ------------------------------------
def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def test_zip_members_read_one_at_a_time(tmp_path: Path) -> None:
    body = "\n".join([HEADER, *ROWS]) + "\n"
    z = _zip(
        tmp_path / "BACI_HS22_V209901.zip",
        {"BACI_HS22_Y2022_V209901.csv": body, "BACI_HS22_Y2021_V209901.csv": body.replace("2022,", "2021,")},
    )
    out = tmp_path / "out"
    summary = ingest_trade([z], out)
    assert summary["rows_read"] == 14
    focus = pd.read_parquet(out / "flows_focus.parquet")
    assert sorted(set(focus["year"])) == [2021, 2022] and set(focus["hs_version"]) == {"HS2022"}
    # Each member was unpacked to a temporary file, and removed once read.
    assert not [p for p in out.rglob("*.csv") if p.name.startswith(("BACI_", "baci_member_"))]
    # One sorted part per member and kind, stacked in member order into each output.
    (entry,) = [d for d in (out / ".cache").iterdir() if (d / "meta.json").is_file()]
    assert sorted(p.name for p in entry.glob("exports-*")) == ["exports-000.parquet", "exports-001.parquet"]
    exports = pd.read_parquet(out / "exports.parquet")
    keys = list(zip(exports["year"], exports["exporter_iso3"], exports["hs6"], strict=True))
    assert keys == sorted(keys) and len(keys) == 2 * 4
    one = ingest_trade([_write(tmp_path / "y2022.csv", ROWS)], tmp_path / "one")
    assert one["export_rows"] * 2 == summary["export_rows"]
    single = pd.read_parquet(tmp_path / "one" / "exports.parquet")
    assert exports[exports.year == 2022]["value_usd"].tolist() == single["value_usd"].tolist()
    assert exports["exporter_iso3"].dtype == "string" and exports["rank"].dtype == "Int64"


def test_no_cache_run_stores_and_hashes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cclreview.trade.cache as cache_mod

    f = _write(tmp_path / "baci_2022.csv", ROWS)
    out = tmp_path / "out"
    hashed: list[Path] = []
    real_sha = cache_mod.sha256_file
    monkeypatch.setattr(cache_mod, "sha256_file", lambda p: hashed.append(Path(p)) or real_sha(p))
    summary = ingest_trade([f], out, use_cache=False)
    assert summary["export_rows"] == 4 and (out / "exports.parquet").is_file()
    assert f not in hashed
    # No entry, no record of the run: the next cached run reads the file and stores it.
    assert [p.name for p in (out / ".cache").iterdir() if p.name != "duckdb_tmp"] == []
    assert ingest_trade([f], out)["cached"] == 0 and f in hashed
    assert ingest_trade([f], out, use_cache=False)["cached"] == 0
    entries = [p for p in (out / ".cache").iterdir() if (p / "meta.json").is_file()]
    assert len(entries) == 1  # the cached run's entry is left as it was
    # A --no-cache run failing on its second file leaves no temporary entry either.
    import gzip

    bad = tmp_path / "baci_2023.csv.gz"
    bad.write_bytes(gzip.compress(("\n".join([HEADER, *(ROWS * 3000)]) + "\n").encode())[:-2000])
    with pytest.raises(InputError, match="baci_2023"):
        ingest_trade([f, bad], out, use_cache=False)
    assert not list((out / ".cache").glob(".run.*")) and not list((out / ".cache").glob(".entry.*"))


def test_truncated_zip_member_stops_and_keeps_previous_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ingest_trade([_write(tmp_path / "good.csv", ROWS)], out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    body = "\n".join([HEADER, *(ROWS * 3000)]) + "\n"
    z = _zip(tmp_path / "BACI_HS22_V209901.zip", {"BACI_HS22_Y2022_V209901.csv": body})
    data = z.read_bytes()
    # Cut the compressed member short but keep the central directory readable.
    with zipfile.ZipFile(z) as zf:
        info = zf.getinfo("BACI_HS22_Y2022_V209901.csv")
    start = info.header_offset + 30 + len(info.filename)
    damaged = bytearray(data)
    damaged[start + info.compress_size // 2 : start + info.compress_size] = b"\x00" * (
        info.compress_size - info.compress_size // 2
    )
    z.write_bytes(bytes(damaged))
    with pytest.raises(
        InputError, match=r"BACI_HS22_V209901.zip:BACI_HS22_Y2022_V209901.csv: .*(truncated|corrupt)"
    ):
        ingest_trade([z], out)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before
    assert not list(out.glob(".trade_out.*"))


def test_gzip_truncated_is_one_error(tmp_path: Path) -> None:
    import gzip

    body = ("\n".join([HEADER, *(ROWS * 3000)]) + "\n").encode()
    gz = tmp_path / "baci_2022.csv.gz"
    gz.write_bytes(gzip.compress(body)[:-2000])
    with pytest.raises(InputError, match=r"baci_2022\.csv\.gz"):
        ingest_trade([gz], tmp_path / "out")


def test_a_part_with_the_wrong_columns_is_a_bug_naming_the_file(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cclreview.errors import ValidationError
    from cclreview.trade.parts import bilateral_schema, check_part, exports_schema

    good = tmp_path / "us-000.parquet"
    pq.write_table(bilateral_schema().empty_table(), good)
    check_part(good, "us", "f.csv -> us-000.parquet")  # the output's own schema passes
    # hs6 as a number (a reader that forgot the text key) and a missing column.
    wrong = bilateral_schema().set(3, pa.field("hs6", pa.int64()))
    pq.write_table(wrong.empty_table(), tmp_path / "us-001.parquet")
    with pytest.raises(ValidationError, match=r"f\.csv -> us-001\.parquet: .*'hs6 integer'.*bug"):
        check_part(tmp_path / "us-001.parquet", "us", "f.csv -> us-001.parquet")
    short = bilateral_schema().remove(8)
    pq.write_table(short.empty_table(), tmp_path / "us-002.parquet")
    with pytest.raises(ValidationError, match="us-002"):
        check_part(tmp_path / "us-002.parquet", "us", "f.csv -> us-002.parquet")
    # exports may carry extra columns after the contract's (hs4 of the heading tables).
    extra = exports_schema().append(pa.field("hs4", pa.string()))
    pq.write_table(extra.empty_table(), tmp_path / "exports-000.parquet")
    check_part(tmp_path / "exports-000.parquet", "exports", "x")
