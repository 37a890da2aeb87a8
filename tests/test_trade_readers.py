"""Trade readers on hand-written fixtures and on the real files of the data mirror."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cclreview.errors import InputError
from cclreview.trade import baci, comtrade, generic  # noqa: F401  (registers readers)
from cclreview.trade.countries import CountryResolver
from cclreview.trade.ingest import read_trade_file
from cclreview.trade.registry import detect_reader, load_readers, sniff_columns
from cclreview.trade.tidy import EXPORT_COLUMNS, ReadContext, clean_hs6, hs_version_from_name, year_from_name

FIX = Path(__file__).resolve().parent / "fixtures" / "trade"


@pytest.fixture(scope="module")
def resolver() -> CountryResolver:
    return CountryResolver()


@pytest.fixture
def ctx(resolver: CountryResolver) -> ReadContext:
    return ReadContext(resolver=resolver)


def _value(df: pd.DataFrame, **keys: object) -> float:
    sel = np.ones(len(df), dtype=bool)
    for col, val in keys.items():
        sel &= (df[col] == val).to_numpy()
    assert sel.sum() == 1, f"{keys}: {sel.sum()} rows"
    return float(df.loc[sel, "value_usd"].iloc[0])


def _check_contract(df: pd.DataFrame) -> None:
    assert list(df.columns[: len(EXPORT_COLUMNS)]) == EXPORT_COLUMNS
    assert df["hs6"].str.fullmatch(r"\d{6}").all()
    assert df["exporter_iso3"].str.fullmatch(r"[A-Z]{3}").all()
    assert (df["value_usd"] >= 0).all()
    assert not df.duplicated(["year", "exporter_iso3", "hs6", "source", "hs_version"]).any()


# -- BACI yearly CSV ------------------------------------------------------------------------
def test_baci_csv_fixture(ctx: ReadContext) -> None:
    res = read_trade_file(FIX / "baci_small.csv", ctx)
    df = res.exports
    _check_contract(df)
    assert res.rows_read == 8
    # Bilateral flows summed over importers; thousand USD -> USD.
    assert _value(df, year=2022, exporter_iso3="DEU", hs6="848620") == pytest.approx(150_500.0)
    assert (
        df.loc[(df.exporter_iso3 == "DEU") & (df.hs6 == "848620") & (df.year == 2022), "qty"].item() == 15.5
    )
    # 5-digit k keeps its leading zero; an NA quantity stays null.
    row = df[(df.hs6 == "010121")]
    assert row["value_usd"].item() == pytest.approx(2250.0) and row["qty"].isna().item()
    assert _value(df, exporter_iso3="TWN", hs6="848620") == pytest.approx(300_000.0)  # 490
    assert _value(df, exporter_iso3="USA", hs6="903082") == pytest.approx(75_125.0)  # 842
    assert set(df["year"]) == {2022, 2023}
    # 999 is unknown and 0 is World: both reported with their value, neither exported.
    um = res.unmatched.set_index("value")
    assert um.loc["999", "value_usd"] == pytest.approx(4000.0) and um.loc["999", "status"] == "unmatched"
    assert um.loc["0", "status"] == "aggregate" and um.loc["0", "rows"] == 1
    assert res.rejected.empty


def test_baci_csv_year_filter_and_version(resolver: CountryResolver, tmp_path: Path) -> None:
    target = tmp_path / "BACI_HS17_Y2022_V202601.csv"
    target.write_bytes((FIX / "baci_small.csv").read_bytes())
    res = read_trade_file(target, ReadContext(resolver, years=frozenset({2023})))
    assert set(res.exports["year"]) == {2023}
    assert set(res.exports["hs_version"]) == {"HS2017"}
    assert set(res.exports["source"]) == {"baci:V202601"}


def test_baci_csv_gzip(ctx: ReadContext, tmp_path: Path) -> None:
    gz = tmp_path / "baci_small.csv.gz"
    gz.write_bytes(gzip.compress((FIX / "baci_small.csv").read_bytes()))
    plain = read_trade_file(FIX / "baci_small.csv", ctx).exports
    pd.testing.assert_frame_equal(read_trade_file(gz, ctx).exports, plain)


def test_baci_bad_rows(ctx: ReadContext) -> None:
    res = read_trade_file(FIX / "baci_bad.csv", ctx)
    rej = res.rejected.set_index("line")
    assert rej.loc[3, "reason"] == "negative value"
    assert rej.loc[4, "reason"] == "empty value"
    # DuckDB's reader refuses the cell itself: its reject table names line and column.
    assert rej.loc[5, "reason"] == "non-numeric value"
    assert (rej.loc[5, "column"], rej.loc[5, "value"]) == ("v", "abc")
    assert set(res.rejected["file"]) == {"baci_bad.csv"}
    assert res.rows_read == 10
    # The good rows are kept and summed.
    assert _value(res.exports, exporter_iso3="DEU", hs6="848620") == pytest.approx(100_500.0)
    assert _value(res.exports, exporter_iso3="USA", hs6="903082") == pytest.approx(140_000.0)


def test_baci_bad_rows_numeric(ctx: ReadContext) -> None:
    """Numeric but invalid cells are counted by the query and located with their line."""
    res = read_trade_file(FIX / "baci_bad_fast.csv", ctx)
    got = dict(zip(res.rejected["line"], res.rejected["reason"], strict=True))
    assert got == {
        3: "negative value",
        4: "empty value",
        5: "country or product code out of range",
        6: "negative quantity",
    }
    assert res.rows_read == 6
    assert _value(res.exports, exporter_iso3="USA", hs6="903082") == pytest.approx(25_000.0)


# -- BACI release zip -----------------------------------------------------------------------
def _make_zip(path: Path) -> Path:
    y2022 = (FIX / "baci_small.csv").read_text(encoding="utf-8").replace("\r\n", "\n")
    y2021 = '"t","i","j","k","v","q"\n2021,276,251,848620,10,"        1.000"\n2021,777,251,848620,3,"        1.000"\n'
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("BACI_HS22_Y2021_V209901.csv", y2021)
        zf.writestr("BACI_HS22_Y2022_V209901.csv", y2022)
        # 777 is not a real code: the release's own dictionary says it is Germany.
        zf.writestr(
            "country_codes_V209901.csv",
            "country_code,country_name,country_iso2,country_iso3\n276,Germany,DE,DEU\n777,Invented Germany,,DEU\n",
        )
        zf.writestr("product_codes_HS22_V209901.csv", "code,description\n848620,machines\n")
        zf.writestr("Readme.txt", "not a data file")
    return path


def test_baci_zip(ctx: ReadContext, tmp_path: Path) -> None:
    z = _make_zip(tmp_path / "BACI_HS22_V209901.zip")
    assert detect_reader(z, ctx).name == "baci_zip"
    res = read_trade_file(z, ctx)
    df = res.exports
    _check_contract(df)
    assert set(df["year"]) == {2021, 2022, 2023}  # the 2022 file holds one 2023 row
    assert set(df["hs_version"]) == {"HS2022"} and set(df["source"]) == {"baci:V209901"}
    # 777 decoded with the zip's dictionary and summed with 276 (both DEU).
    assert _value(df, year=2021, exporter_iso3="DEU", hs6="848620") == pytest.approx(13_000.0)
    # Same numbers as the yearly CSV read on its own.
    alone = read_trade_file(FIX / "baci_small.csv", ctx).exports
    z2022 = df[df.year == 2022].drop(columns=["hs_version", "source"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        z2022, alone[alone.year == 2022].drop(columns=["hs_version", "source"]).reset_index(drop=True)
    )


def test_baci_zip_year_filter(resolver: CountryResolver, tmp_path: Path) -> None:
    z = _make_zip(tmp_path / "BACI_HS22_V209901.zip")
    res = read_trade_file(z, ReadContext(resolver, years=frozenset({2021})))
    assert set(res.exports["year"]) == {2021}
    assert res.rows_read == 2  # the 2022 member was not read at all
    with pytest.raises(InputError, match="has years \\[2021, 2022\\]"):
        read_trade_file(z, ReadContext(resolver, years=frozenset({1999})))


def test_bad_zip(ctx: ReadContext, tmp_path: Path) -> None:
    z = tmp_path / "other.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("notes.txt", "hello")
    with pytest.raises(InputError, match="unknown trade file format"):
        read_trade_file(z, ctx)
    with pytest.raises(InputError, match="no BACI"):
        read_trade_file(z, ctx, reader="baci_zip")


# -- Comtrade -------------------------------------------------------------------------------
def test_comtrade_api(ctx: ReadContext) -> None:
    res = read_trade_file(FIX / "comtrade_api_small.csv", ctx)
    df = res.exports
    _check_contract(df)
    # Only flow X to World: not the bilateral row, not imports, not the C01 breakdown.
    assert _value(df, exporter_iso3="JPN") == 5_000_000
    assert df.loc[df.exporter_iso3 == "JPN", "qty"].item() == pytest.approx(12.0)  # kg -> t
    assert _value(df, exporter_iso3="TWN") == 2_500_000  # S19 / 490
    assert _value(df, exporter_iso3="NLD") == 9_000_000  # duplicate dropped
    assert res.duplicates_dropped == 1
    assert set(df["hs_version"]) == {"HS2022"} and set(df["source"]) == {"comtrade"}
    assert res.unmatched.set_index("value").loc["EUR", "value_usd"] == 12_000_000


def test_comtrade_trim_year_from_name(ctx: ReadContext) -> None:
    res = read_trade_file(FIX / "comtrade_trim_2021.csv", ctx)
    df = res.exports
    assert set(df["year"]) == {2021}
    assert _value(df, exporter_iso3="DEU", hs6="811292") == pytest.approx(1000.5)
    assert _value(df, exporter_iso3="CHN", hs6="850511") == 2000
    assert df.loc[(df.exporter_iso3 == "CHN") & (df.hs6 == "850511"), "qty"].isna().item()
    assert res.duplicates_dropped == 1
    assert set(df["hs_version"]) == {"HS2017"}  # in force in 2021


def test_comtrade_trim_without_year(ctx: ReadContext, tmp_path: Path) -> None:
    f = tmp_path / "comtrade_minerals.csv"
    f.write_text((FIX / "comtrade_trim_2021.csv").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(InputError, match="no year column"):
        read_trade_file(f, ctx)


def test_comtrade_legacy(ctx: ReadContext) -> None:
    res = read_trade_file(FIX / "comtrade_legacy_small.csv", ctx)
    df = res.exports
    assert _value(df, exporter_iso3="ITA") == 120_000  # export only, no re-export
    assert _value(df, exporter_iso3="TWN") == 800_000  # no Reporter ISO: code 490
    assert _value(df, exporter_iso3="KOR") == 650_000
    assert res.duplicates_dropped == 1
    versions = dict(zip(df["exporter_iso3"], df["hs_version"], strict=True))
    assert versions == {"ITA": "HS2017", "TWN": "HS2012", "KOR": "HS2017"}


# -- generic --------------------------------------------------------------------------------
_MAP = {
    "year": "Year",
    "exporter": "Country",
    "importer": "Partner",
    "hs6": "Product",
    "value_usd": "USD",
    "qty": "Tonnes",
}


def _generic_checks(res) -> None:
    df = res.exports
    assert _value(df, exporter_iso3="KOR", hs6="848620") == 1500  # "8486.20" and "848620" summed
    assert df.loc[df.exporter_iso3 == "KOR", "qty"].item() == 1.5
    assert _value(df, exporter_iso3="DEU", hs6="848620") == 250
    reasons = sorted(res.rejected["reason"])
    assert reasons == ["empty value", "negative value", "non-numeric value"]
    assert res.unmatched.set_index("value").loc["Atlantis", "value_usd"] == 77


def test_generic_csv(resolver: CountryResolver) -> None:
    res = read_trade_file(FIX / "generic_small.csv", ReadContext(resolver, column_map=_MAP))
    _generic_checks(res)
    assert sorted(res.rejected["line"]) == [6, 7, 8]
    assert set(res.exports["source"]) == {"generic:generic_small"}


def test_generic_xlsx_and_parquet(resolver: CountryResolver, tmp_path: Path) -> None:
    df = pd.read_csv(FIX / "generic_small.csv", dtype=str, keep_default_na=False)
    xlsx = tmp_path / "mine.xlsx"
    df.to_excel(xlsx, index=False)
    pq = tmp_path / "mine.parquet"
    df.to_parquet(pq, index=False)
    ctx = ReadContext(resolver, column_map=_MAP)
    assert detect_reader(xlsx, ctx).name == "generic"
    _generic_checks(read_trade_file(xlsx, ctx))
    _generic_checks(read_trade_file(pq, ctx))


def test_generic_missing_columns(resolver: CountryResolver) -> None:
    cmap = dict(_MAP, value_usd="Value")
    with pytest.raises(InputError, match=r"missing required column\(s\) \['Value'\].*found \['Year'"):
        read_trade_file(FIX / "generic_small.csv", ReadContext(resolver, column_map=cmap))


def test_parse_column_map() -> None:
    m = generic.parse_column_map("year=Year, exporter=Country,hs6=HS,value_usd=USD,source=mine")
    assert m == {"year": "Year", "exporter": "Country", "hs6": "HS", "value_usd": "USD", "source": "mine"}
    with pytest.raises(InputError, match="unknown column map key 'yr'"):
        generic.parse_column_map("yr=Year,exporter=C,hs6=H,value_usd=V")
    with pytest.raises(InputError, match="lacks"):
        generic.parse_column_map("year=Year")
    with pytest.raises(InputError, match="not key=column"):
        generic.parse_column_map("year")


# -- detection and bad files ----------------------------------------------------------------
def test_registry_detection(ctx: ReadContext) -> None:
    names = {p.name: detect_reader(p, ctx).name for p in FIX.glob("*.csv") if "generic" not in p.name}
    assert names["baci_small.csv"] == "baci_csv"
    assert names["comtrade_api_small.csv"] == "comtrade_api"
    assert names["comtrade_legacy_small.csv"] == "comtrade_legacy"
    assert names["comtrade_trim_2021.csv"] == "comtrade_trim"
    priorities = [r.priority for r in load_readers()]
    assert priorities == sorted(priorities)


def test_empty_and_unknown_files(ctx: ReadContext, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="is empty"):
        read_trade_file(empty, ctx)
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="no header"):
        read_trade_file(blank, ctx)
    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"unknown trade file format.*\['a', 'b', 'c'\]"):
        read_trade_file(other, ctx)
    header_only = tmp_path / "c_2020.csv"
    header_only.write_text("reporter,partner,cmd,flow,value\n", encoding="utf-8")
    with pytest.raises(InputError, match="no rows"):
        read_trade_file(header_only, ctx)
    with pytest.raises(InputError, match="not found"):
        sniff_columns(tmp_path / "missing.csv")


def test_comtrade_missing_column(ctx: ReadContext, tmp_path: Path) -> None:
    f = tmp_path / "c_2020.csv"
    f.write_text("reporter,partner,cmd,flow,netwgt\n276,0,811292,X,3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing required column\(s\) \['value'\].*found"):
        read_trade_file(f, ctx)


def test_helpers() -> None:
    assert hs_version_from_name("BACI_HS22_V202601.zip") == "HS2022"
    assert hs_version_from_name("baci_hs17_V202601_minerals_2024.parquet") == "HS2017"
    assert hs_version_from_name("baci_hs92_x.csv") == "HS1992"
    assert hs_version_from_name("comtrade.csv") is None
    assert year_from_name("comtrade_minerals_2024.csv.gz") == 2024
    assert year_from_name("comtrade_sme_2016_2020.csv") is None
    hs6, ok = clean_hs6(pd.Series(["10121", "8486.20", "84862010", "abc", "1234567"]))
    assert list(hs6[ok]) == ["010121", "848620", "848620"]
    assert list(ok) == [True, True, True, False, False]


# -- real files -----------------------------------------------------------------------------
@pytest.mark.real
def test_real_baci_extracts_agree(shared_data: Path, ctx: ReadContext) -> None:
    """The 2024 extract as Parquet (thousand USD) and as CSV (USD) give the same totals,
    equal to an independent sum over the raw flows."""
    trade = shared_data / "trade"
    pq = read_trade_file(trade / "baci_hs17_V202601_minerals_2024.parquet", ctx)
    csv = read_trade_file(trade / "baci_hs17_V202601_minerals_2024_usd.csv", ctx)
    raw = pd.read_parquet(trade / "baci_hs17_V202601_minerals_2024.parquet")
    # S19 (Taiwan in BACI's own ISO-like code) is resolved, so all value is kept.
    assert pq.unmatched.empty and csv.unmatched.empty
    assert pq.exports["value_usd"].sum() == pytest.approx(raw["value_kusd"].sum() * 1000, rel=1e-9)
    key = ["exporter_iso3", "hs6"]
    merged = pq.exports.merge(csv.exports, on=key, suffixes=("_pq", "_csv"))
    assert len(merged) == len(pq.exports) == len(csv.exports)
    assert np.allclose(merged["value_usd_pq"], merged["value_usd_csv"], rtol=1e-6, atol=1.0)
    china = raw[(raw.exporter == "CHN") & (raw.hs6 == "850511")]["value_kusd"].sum() * 1000
    assert _value(pq.exports, exporter_iso3="CHN", hs6="850511") == pytest.approx(china)
    assert set(pq.exports["hs_version"]) == {"HS2017"} and set(pq.exports["year"]) == {2024}


@pytest.mark.real
def test_real_baci_sample(shared_data: Path, ctx: ReadContext) -> None:
    path = shared_data / "trade" / "baci_sample_2021_two_exporters.csv"
    res = read_trade_file(path, ctx)
    raw = pd.read_csv(path)
    assert set(res.exports["exporter_iso3"]) == {"ZAF", "AFG"}
    assert res.exports["value_usd"].sum() == pytest.approx(raw["v"].sum() * 1000)
    assert len(res.exports) == raw.groupby(["i", "k"]).ngroups
    assert res.rows_read == len(raw) and res.rejected.empty
    # The sample is HS1992 but its name does not say so: the caller can state it.
    forced = read_trade_file(path, ReadContext(ctx.resolver, hs_version="HS1992"))
    assert set(forced.exports["hs_version"]) == {"HS1992"}
    assert any("assumed" in n for n in res.notes)


@pytest.mark.real
def test_real_comtrade_minerals(shared_data: Path, ctx: ReadContext) -> None:
    path = shared_data / "trade" / "comtrade_minerals_2022.csv.gz"
    res = read_trade_file(path, ctx)
    raw = pd.read_csv(path)
    x = raw[(raw.flow == "X") & (raw.partner == 0)]
    # Duplicates are counted among the rows used: World rows and the partner rows kept.
    partner_iso = raw["partner"].map(lambda c: ctx.resolver.match(int(c)).iso3)
    used = (raw.flow == "X") & (
        (raw.partner == 0) | partner_iso.isin(list(ctx.focus)) | ((raw.reporter == 842) & (raw.partner != 0))
    )
    assert res.duplicates_dropped == int(raw[used].duplicated().sum()) > int(x.duplicated().sum()) > 0
    x = x.drop_duplicates()
    # One total per reporter and product, the largest row; the others are its breakdowns.
    totals = x.sort_values("value", ascending=False, kind="stable").drop_duplicates(["reporter", "cmd"])
    assert res.exports["value_usd"].sum() == pytest.approx(totals["value"].sum())
    assert res.exports["value_usd"].sum() < 0.8 * x["value"].sum()  # the sum counted breakdowns too
    assert "TWN" in set(res.exports["exporter_iso3"])  # reported as 490
    assert res.unmatched.empty and res.rejected.empty
    assert res.bilateral is not None and set(res.bilateral["importer_iso3"]) >= {"CHN", "RUS"}


@pytest.mark.real
def test_real_comtrade_legacy(shared_data: Path, ctx: ReadContext) -> None:
    path = shared_data / "trade" / "comtrade_sme_2016_2020.csv"
    res = read_trade_file(path, ctx)
    raw = pd.read_csv(path)
    x = raw[(raw["Trade Flow Code"] == 2) & (raw["Partner Code"] == 0)].drop_duplicates()
    assert res.exports["value_usd"].sum() == pytest.approx(x["Trade Value (US$)"].sum())
    assert res.unmatched.empty
    per_code_year = res.exports.groupby(["hs6", "year"])["exporter_iso3"].nunique()
    assert per_code_year.min() >= 40
    assert {"USA", "JPN", "NLD", "TWN", "ITA"} <= set(res.exports["exporter_iso3"])
