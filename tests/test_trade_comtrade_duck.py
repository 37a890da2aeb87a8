"""The Comtrade and generic readers on DuckDB: the fixtures against sums computed here
with plain pandas from the documented rules, partner detail, and bad inputs."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pandas as pd
import pytest

from cclreview.errors import InputError
from cclreview.trade import comtrade, generic  # noqa: F401  (registers readers)
from cclreview.trade.countries import CountryResolver
from cclreview.trade.duck import connect
from cclreview.trade.duckload import WHITESPACE, csv_lines, number_sql, strip_sql
from cclreview.trade.ingest import ingest_trade, read_trade_file
from cclreview.trade.tidy import BILATERAL_COLUMNS, COMTRADE_HS, EXPORT_COLUMNS, ReadContext, hs_in_force

FIX = Path(__file__).resolve().parent / "fixtures" / "trade"
FOCUS = ("BLR", "CHN", "HKG", "MAC", "RUS")
KEY = ["year", "exporter_iso3", "hs6", "hs_version"]
BKEY = ["year", "exporter_iso3", "importer_iso3", "hs6", "hs_version"]


@pytest.fixture(scope="module")
def resolver() -> CountryResolver:
    return CountryResolver()


def _iso(resolver: CountryResolver, value: str) -> str | None:
    return resolver.match(value).iso3 if value.strip() else None


def _prefer(resolver: CountryResolver, iso: pd.Series, code: pd.Series) -> pd.Series:
    """The reporter: its ISO code when that is a country, else its numeric code."""
    return pd.Series(
        [_iso(resolver, i) or _iso(resolver, c) for i, c in zip(iso, code, strict=True)], index=iso.index
    )


def _sum(rows: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    g = rows.groupby(key, sort=True)
    return pd.DataFrame({"value_usd": g["value"].sum(), "qty": g["qty"].sum(min_count=1)}).reset_index()


def _expected(raw: pd.DataFrame, cols: dict[str, str], resolver: CountryResolver) -> tuple[pd.DataFrame, ...]:
    """Exports to the world and bilateral flows of a Comtrade table, in plain pandas:
    export rows (``cols['export']`` is a mask) to World for the exports, to a focus
    importer or from the U.S. for the bilateral flows; exact duplicates dropped."""
    rows = raw[cols["export"]].drop_duplicates()
    out = pd.DataFrame(
        {
            "year": rows[cols["year"]].astype(int),
            "exporter_iso3": _prefer(
                resolver, rows.get(cols.get("iso"), rows[cols["reporter"]]), rows[cols["reporter"]]
            ),
            "importer_iso3": [_iso(resolver, p) for p in rows[cols["partner"]]],
            "world": rows[cols["partner"]] == "0",
            "hs6": rows[cols["cmd"]].str.zfill(6),
            "hs_version": rows[cols["class"]].map(COMTRADE_HS)
            if "class" in cols
            else rows[cols["year"]].astype(int).map(hs_in_force),
            "value": rows[cols["value"]].astype(float),
            "qty": pd.to_numeric(rows[cols["qty"]]) / 1000,
        }
    )
    exports = _sum(out[out["world"] & out["exporter_iso3"].notna()], KEY)
    bil = out[~out["world"] & out["exporter_iso3"].notna() & out["importer_iso3"].notna()]
    bil = bil[bil["importer_iso3"].isin(FOCUS) | (bil["exporter_iso3"] == "USA")]
    return exports, _sum(bil, BKEY)


def _compare(got: pd.DataFrame, want: pd.DataFrame, key: list[str]) -> None:
    cols = [*key, "value_usd", "qty"]
    pd.testing.assert_frame_equal(
        got[cols].astype({c: str for c in key if c != "year"}).sort_values(key).reset_index(drop=True),
        want[cols].astype({c: str for c in key if c != "year"}).sort_values(key).reset_index(drop=True),
        check_dtype=False,
        rtol=1e-9,
    )


def _raw(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# -- the fixtures against independent sums ----------------------------------------------------
def test_api_fixture_equals_independent_sums(resolver: CountryResolver) -> None:
    raw = _raw(FIX / "comtrade_api_small.csv")
    export = (raw.flowCode == "X") & raw.customsCode.isin(["C00", ""]) & raw.motCode.isin(["0", ""])
    want, want_bil = _expected(
        raw,
        {
            "export": export,
            "year": "refYear",
            "iso": "reporterISO",
            "reporter": "reporterCode",
            "partner": "partnerCode",
            "cmd": "cmdCode",
            "class": "classificationCode",
            "value": "primaryValue",
            "qty": "netWgt",
        },
        resolver,
    )
    res = read_trade_file(FIX / "comtrade_api_small.csv", ReadContext(resolver))
    _compare(res.exports, want, KEY)
    assert list(res.exports.columns) == EXPORT_COLUMNS and set(res.exports["source"]) == {"comtrade"}
    # The JPN -> CHN partner row is bilateral; the World rows alone make the exports.
    _compare(res.bilateral, want_bil, BKEY)
    assert list(res.bilateral.columns) == BILATERAL_COLUMNS
    assert res.bilateral[["exporter_iso3", "importer_iso3", "value_usd"]].values.tolist() == [
        ["JPN", "CHN", 3e6]
    ]
    assert res.rows_read == len(raw) and res.duplicates_dropped == 1 and res.rejected.empty
    assert "World rows only" in res.bilateral_note


def test_legacy_fixture_equals_independent_sums(resolver: CountryResolver) -> None:
    raw = _raw(FIX / "comtrade_legacy_small.csv")
    want, want_bil = _expected(
        raw,
        {
            "export": raw["Trade Flow Code"] == "2",
            "year": "Year",
            "iso": "Reporter ISO",
            "reporter": "Reporter Code",
            "partner": "Partner Code",
            "cmd": "Commodity Code",
            "class": "Classification",
            "value": "Trade Value (US$)",
            "qty": "Netweight (kg)",
        },
        resolver,
    )
    res = read_trade_file(FIX / "comtrade_legacy_small.csv", ReadContext(resolver))
    _compare(res.exports, want, KEY)
    assert want_bil.empty and res.bilateral is None  # every row is to World
    assert "no partner detail" in res.bilateral_note


def test_trim_fixture_equals_independent_sums(resolver: CountryResolver) -> None:
    raw = _raw(FIX / "comtrade_trim_2021.csv").assign(year="2021")  # the year is in the name
    want, want_bil = _expected(
        raw,
        {
            "export": raw.flow == "X",
            "year": "year",
            "reporter": "reporter",
            "partner": "partner",
            "cmd": "cmd",
            "value": "value",
            "qty": "netwgt",
        },
        resolver,
    )
    res = read_trade_file(FIX / "comtrade_trim_2021.csv", ReadContext(resolver))
    _compare(res.exports, want, KEY)
    _compare(res.bilateral, want_bil, BKEY)
    assert len(res.bilateral) == 1  # DEU -> CHN 811292


def test_generic_fixture_equals_independent_sums(resolver: CountryResolver) -> None:
    raw = _raw(FIX / "generic_small.csv")
    value = pd.to_numeric(raw["USD"], errors="coerce")
    ok = value.notna() & (value >= 0)
    rows = pd.DataFrame(
        {
            "year": raw["Year"].astype(int),
            "exporter_iso3": [_iso(resolver, c) for c in raw["Country"]],
            "importer_iso3": [_iso(resolver, c) for c in raw["Partner"]],
            "hs6": raw["Product"].str.replace(".", "", regex=False),
            "hs_version": "HS2022",
            "value": value,
            "qty": pd.to_numeric(raw["Tonnes"]),
        }
    )[ok]
    rows = rows[rows["exporter_iso3"].notna()]
    cmap = {
        "year": "Year",
        "exporter": "Country",
        "importer": "Partner",
        "hs6": "Product",
        "value_usd": "USD",
        "qty": "Tonnes",
    }
    res = read_trade_file(FIX / "generic_small.csv", ReadContext(resolver, column_map=cmap))
    _compare(res.exports, _sum(rows, KEY), KEY)
    bil = rows[rows["importer_iso3"].isin(FOCUS) | (rows["exporter_iso3"] == "USA")]
    _compare(res.bilateral, _sum(bil, BKEY), BKEY)
    got = dict(
        zip(
            res.rejected["line"],
            zip(res.rejected["column"], res.rejected["reason"], strict=True),
            strict=True,
        )
    )
    assert got == {
        6: ("value", "non-numeric value"),
        7: ("value", "negative value"),
        8: ("value", "empty value"),
    }
    assert (
        res.rejected.loc[0, "raw"]
        == "year=2024; exporter=Germany; importer=France; hs6=903082; value=n/a; qty=1"
    )


# -- partner detail ---------------------------------------------------------------------------
_TRIM = """year,reporter,partner,cmd,flow,value,netwgt
2021,276,0,811292,X,1000,20
2021,276,156,811292,X,400,5
2021,276,156,811292,X,400,5
2021,276,251,811292,X,300,5
2021,842,0,811292,X,900,9
2021,842,276,811292,X,500,1
2021,842,899,811292,X,44,1
2021,842,156,811292,M,70,1
2021,97,156,811292,X,60,1
2021,156,643,850511,X,70,
"""


def test_partner_rows_to_bilateral_outputs(resolver: CountryResolver, tmp_path: Path) -> None:
    f = tmp_path / "comtrade_2021.csv"
    f.write_text(_TRIM, encoding="utf-8")
    res = read_trade_file(f, ReadContext(resolver))
    # Exports to the world from the World rows only: nothing summed over partners.
    assert res.exports.set_index("exporter_iso3")["value_usd"].to_dict() == {"DEU": 1000.0, "USA": 900.0}
    got = {(r.exporter_iso3, r.importer_iso3): r.value_usd for r in res.bilateral.itertuples()}
    # DEU -> CHN once (a duplicate row dropped), U.S. -> DEU, CHN -> RUS; not DEU -> FRA
    # (not a focus importer), not the U.S. import.
    assert got == {("DEU", "CHN"): 400.0, ("USA", "DEU"): 500.0, ("CHN", "RUS"): 70.0}
    assert res.duplicates_dropped == 1
    um = res.unmatched.set_index(["value", "role"])
    # U.S. exports to "Areas, nes" and the EU's own report to China: said, not dropped.
    assert um.loc[("899", "importer"), "value_usd"] == 44.0
    assert um.loc[("97", "exporter (partner rows)"), ["rows", "value_usd"]].tolist() == [1, 60.0]


def test_partner_rows_through_ingest(resolver: CountryResolver, tmp_path: Path) -> None:
    f = tmp_path / "comtrade_2021.csv"
    f.write_text(_TRIM, encoding="utf-8")
    out = tmp_path / "out"
    summary = ingest_trade([f], out, resolver=resolver)
    focus = pd.read_parquet(out / "flows_focus.parquet")
    us = pd.read_parquet(out / "us_exports.parquet")
    assert sorted(focus["importer_iso3"]) == ["CHN", "RUS"] and set(focus["source"]) == {"comtrade"}
    assert us[["importer_iso3", "value_usd"]].values.tolist() == [["DEU", 500.0]]
    assert set(focus["source_file"]) == {f.name}
    cov = pd.read_csv(out / "bilateral_coverage.csv")
    assert cov["bilateral"].tolist() == [True] and cov["focus_rows"].tolist() == [2]
    assert "World rows only" in cov.loc[0, "note"]
    assert summary["focus_rows"] == 2 and summary["us_rows"] == 1 and summary["duplicates_dropped"] == 1
    exports = pd.read_parquet(out / "exports.parquet")
    assert exports["value_usd"].sum() == 1900.0
    # A new focus list re-reads the file (its partner rows depend on it).
    again = ingest_trade([f], out, resolver=resolver, focus=["FRA"])
    assert again["cached"] == 0
    assert pd.read_parquet(out / "flows_focus.parquet")["importer_iso3"].tolist() == ["FRA"]


def test_duplicates_off_still_keeps_one_comtrade_total(resolver: CountryResolver, tmp_path: Path) -> None:
    f = tmp_path / "comtrade_2021.csv"
    f.write_text(_TRIM + "2021,276,0,811292,X,1000,20\n", encoding="utf-8")
    res = read_trade_file(f, ReadContext(resolver, duplicates="off"))
    # Nothing is dropped as a duplicate, but a reporter declares one total per key.
    assert res.duplicates_dropped == 0 and res.breakdowns_set_aside == 2
    assert res.exports.set_index("exporter_iso3").loc["DEU", "value_usd"] == 1000.0
    bil = res.bilateral.set_index(["exporter_iso3", "importer_iso3"])
    assert bil.loc[("DEU", "CHN"), "value_usd"] == 400.0


#: A total and its breakdowns (by customs procedure, by transport mode) in the trimmed
#: layout, which lacks the columns that tell them apart: DEU to World 1000 = 600 + 400
#: = 700 + 300; DEU to China 400 = 250 + 150. Japan declares one row.
_TOTALS = """year,reporter,partner,cmd,flow,value,netwgt
2021,276,0,811292,X,600,12
2021,276,0,811292,X,1000,20
2021,276,0,811292,X,400,8
2021,276,0,811292,X,700,14
2021,276,0,811292,X,300,6
2021,276,156,811292,X,250,3
2021,276,156,811292,X,400,5
2021,276,156,811292,X,150,2
2021,392,0,811292,X,80,1
"""


def test_comtrade_total_kept_and_breakdowns_set_aside(resolver: CountryResolver, tmp_path: Path) -> None:
    f = tmp_path / "comtrade_2021.csv"
    f.write_text(_TOTALS, encoding="utf-8")
    out = tmp_path / "out"
    summary = ingest_trade([f], out, resolver=resolver)
    exports = pd.read_parquet(out / "exports.parquet").set_index("exporter_iso3")
    # The total and its own quantity (20 000 kg = 20 t), not the sum of every row.
    assert exports.loc["DEU", "value_usd"] == 1000.0 and exports.loc["DEU", "qty"] == pytest.approx(0.02)
    assert exports.loc["JPN", "value_usd"] == 80.0
    focus = pd.read_parquet(out / "flows_focus.parquet")
    assert focus[["exporter_iso3", "importer_iso3", "value_usd"]].values.tolist() == [["DEU", "CHN", 400.0]]
    assert summary["breakdowns_set_aside"] == 6 and summary["breakdowns_by_file"] == {f.name: 6}
    assert summary["duplicates_dropped"] == 0 and summary["rows_rejected"] == 0
    # The same rows as a generic long table are summed: only Comtrade declares totals.
    g = tmp_path / "long_2021.csv"
    g.write_text(_TOTALS.replace("reporter,partner,cmd", "exporter,importer,hs6"), encoding="utf-8")
    res = read_trade_file(
        g,
        ReadContext(
            resolver,
            column_map={
                "year": "year",
                "exporter": "exporter",
                "hs6": "hs6",
                "value_usd": "value",
                "qty": "netwgt",
            },
        ),
    )
    assert res.breakdowns_set_aside == 0
    assert res.exports.set_index("exporter_iso3").loc["DEU", "value_usd"] == 3000.0 + 800.0


# -- bad inputs -------------------------------------------------------------------------------
#: Each layout: a header, a good row and the same row with a non-numeric value; the
#: generic layout reads with a column map.
_LAYOUTS = {
    "trim": (
        "c_2021.csv",
        "reporter,partner,cmd,flow,value,netwgt",
        "276,0,811292,X,1000,20",
        "276,0,811293,X,12x,20",
        None,
    ),
    "api": (
        "api.csv",
        "refYear,reporterCode,reporterISO,flowCode,partnerCode,cmdCode,classificationCode,netWgt,primaryValue",
        "2021,276,DEU,X,0,811292,H5,20,1000",
        "2021,276,DEU,X,0,811293,H5,20,12x",
        None,
    ),
    "legacy": (
        "legacy.csv",
        "Classification,Year,Trade Flow Code,Reporter Code,Reporter ISO,Partner Code,Commodity Code,"
        "Netweight (kg),Trade Value (US$)",
        "H5,2021,2,276,DEU,0,811292,20,1000",
        "H5,2021,2,276,DEU,0,811293,20,12x",
        None,
    ),
    "generic": (
        "mine.csv",
        "Year,Country,Product,USD",
        "2021,Germany,811292,1000",
        "2021,Germany,811293,12x",
        {"year": "Year", "exporter": "Country", "hs6": "Product", "value_usd": "USD"},
    ),
}


def _file(tmp_path: Path, layout: str, style: str) -> tuple[Path, dict | None]:
    name, header, good, bad, cmap = _LAYOUTS[layout]
    lines = [header, good, good.replace("811292", "811294"), bad, good.replace("811292", "811295")]
    delim, end, bom = ",", "\n", ""
    if style == "semicolon":
        delim = ";"
    if style == "crlf":
        end = "\r\n"
    if style == "bom":
        bom = "\ufeff"
    text = bom + end.join(line.replace(",", delim) for line in lines) + end
    path = tmp_path / name
    if style == "gzip":
        path = tmp_path / (name + ".gz")
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_bytes(text.encode())
    return path, cmap


@pytest.mark.parametrize("style", ["plain", "bom", "crlf", "semicolon", "gzip"])
@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_bad_value_rejected_with_its_line(
    layout: str, style: str, tmp_path: Path, resolver: CountryResolver
) -> None:
    path, cmap = _file(tmp_path, layout, style)
    out = tmp_path / "out"
    summary = ingest_trade([path], out, resolver=resolver, column_map=cmap, max_rejected=1)
    rej = pd.read_csv(out / "rejected_rows.csv", dtype=str, keep_default_na=False)
    assert rej[["file", "line", "column", "value", "reason"]].values.tolist() == [
        [path.name, "4", "value", "12x", "non-numeric value"]
    ]
    assert "hs6=811293" in rej.loc[0, "raw"]
    assert summary["rows_read"] == 4
    exports = pd.read_parquet(out / "exports.parquet")
    assert sorted(exports["hs6"]) == ["811292", "811294", "811295"]
    assert set(exports["exporter_iso3"]) == {"DEU"} and exports["value_usd"].sum() == 3000.0


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_missing_column_stops_with_one_line(layout: str, tmp_path: Path, resolver: CountryResolver) -> None:
    name, header, good, _, cmap = _LAYOUTS[layout]
    value_col = {"trim": "value", "api": "primaryValue", "legacy": "Trade Value (US$)", "generic": "USD"}[
        layout
    ]
    path = tmp_path / name
    path.write_text(header.replace(value_col, "Other") + "\n" + good + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_trade_file(path, ReadContext(resolver, column_map=cmap))
    message = str(err.value)
    assert "\n" not in message and str(path) in message and f"['{value_col}']" in message


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_unknown_country_reported_with_rows_and_value(
    layout: str, tmp_path: Path, resolver: CountryResolver
) -> None:
    name, header, good, _, cmap = _LAYOUTS[layout]
    unknown = good.replace("276", "999").replace("DEU", "ZZZ").replace("Germany", "Atlantis")
    path = tmp_path / name
    path.write_text(
        "\n".join([header, good, unknown, unknown.replace("811292", "811299")]) + "\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    ingest_trade([path], out, resolver=resolver, column_map=cmap)
    um = pd.read_csv(out / "unmatched_countries.csv", dtype={"value": str})
    assert len(um) == 1 and um.loc[0, "role"] == "exporter" and um.loc[0, "source_file"] == path.name
    assert um.loc[0, "value"] in {"999", "ZZZ", "Atlantis"}
    assert um.loc[0, "rows"] == 2 and um.loc[0, "value_usd"] == 2000.0
    assert pd.read_parquet(out / "exports.parquet")["value_usd"].sum() == 1000.0


def test_line_numbers_count_blank_lines_and_quoted_newlines(
    tmp_path: Path, resolver: CountryResolver
) -> None:
    f = tmp_path / "c_2021.csv"
    f.write_text(
        'reporter,partner,cmd,flow,value,note\n276,0,811292,X,10,a\n\n276,0,811293,X,"two\nlines",b\n'
        "276,0,811294,X,-1,c\n",
        encoding="utf-8",
    )
    res = read_trade_file(f, ReadContext(resolver))
    assert dict(zip(res.rejected["line"], res.rejected["reason"], strict=True)) == {
        4: "non-numeric value",
        6: "negative value",
    }
    assert csv_lines(f, ",", [0, 1, 2]) == {0: 2, 1: 4, 2: 6}


def test_unparsable_file_stops_with_one_line(tmp_path: Path, resolver: CountryResolver) -> None:
    f = tmp_path / "c_2021.csv"
    f.write_text(
        "reporter,partner,cmd,flow,value\n276,0,811292,X,10\n276,0,811292,X,10,5,6\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as err:
        read_trade_file(f, ReadContext(resolver))
    message = str(err.value)
    assert "\n" not in message and str(f) in message and "Comtrade" in message
    assert "line 3: Expected Number of Columns: 5" in message
    f.write_bytes(b"reporter,partner,cmd,flow,value\n276,0,81\xff1292,X,10\n")
    with pytest.raises(InputError, match=r"line 2: Invalid unicode"):
        read_trade_file(f, ReadContext(resolver))


def test_generic_xlsx_line_numbers(tmp_path: Path, resolver: CountryResolver) -> None:
    df = pd.DataFrame(
        {"Year": ["2021", "2021"], "Country": ["KOR", "KOR"], "Product": ["848620", "x"], "USD": ["5", "6"]}
    )
    xlsx = tmp_path / "mine.xlsx"
    df.to_excel(xlsx, index=False)
    cmap = {"year": "Year", "exporter": "Country", "hs6": "Product", "value_usd": "USD"}
    res = read_trade_file(xlsx, ReadContext(resolver, column_map=cmap))
    assert res.rejected[["line", "column"]].values.tolist() == [[3, "hs6"]]
    assert res.exports["value_usd"].tolist() == [5.0]


# -- the SQL text helpers keep pandas' reading of numbers and whitespace -----------------------
def test_number_and_strip_sql_match_pandas() -> None:
    python_whitespace = "".join(ch for ch in map(chr, range(sys.maxunicode + 1)) if ch.isspace())
    assert python_whitespace == WHITESPACE
    cells = [
        "5",
        " 5 ",
        "+5",
        "-5",
        "5.",
        ".5",
        "1e3",
        "1E-3",
        "1e",
        "1,000",
        "1_000",
        "0x10",
        "inf",
        "-inf",
        "Infinity",
        " inf",
        "nan",
        "NaN",
        "",
        " ",
        "NA",
        "--5",
        "+-5",
        "1 000",
        "00012",
        "1e400",
        "abc",
    ]
    con = connect()
    try:
        one = "FROM (SELECT ?::VARCHAR AS x)"
        got = [con.execute(f"SELECT {number_sql('x')} {one}", [c]).fetchone()[0] for c in cells]
        texts = [*cells, "\u3000a\xa0", "\ta\n"]
        stripped = [con.execute(f"SELECT {strip_sql('x')} {one}", [c]).fetchone()[0] for c in texts]
    finally:
        con.close()
    want = pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").tolist()
    for cell, g, w in zip(cells, got, want, strict=True):
        assert (g is None or g != g) if w != w else g == w, cell
    assert stripped == [c.strip() for c in texts]
