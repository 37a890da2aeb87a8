"""The DuckDB engine on the real mirror, checked against independent pandas sums of the
raw files (no output of the engine is used as its own reference)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cclreview.trade.countries import CountryResolver
from cclreview.trade.ingest import ingest_trade

pytestmark = pytest.mark.real

FOCUS = ["BLR", "CHN", "HKG", "MAC", "RUS"]
BACI_FILES = [
    "baci_sample_2021_two_exporters.csv",
    "baci_hs17_V202601_minerals_2024.parquet",
    "baci_hs17_V202601_minerals_2024_usd.csv",
    "baci_hs17_V202601_minerals_2022_usd.csv",
    "comtrade_minerals_2022.csv.gz",
    "comtrade_sme_2016_2020.csv",
]


@pytest.fixture(scope="module")
def run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trade_real")
    ingest_trade([shared_data / "trade" / f for f in BACI_FILES], out, use_cache=False)
    return out


def _independent_exports(shared_data: Path) -> pd.DataFrame:
    """exporter x HS6 x year sums of every file, computed with plain pandas."""
    trade = shared_data / "trade"
    resolver = CountryResolver()
    parts = []
    # Raw BACI layout: numeric codes, thousand USD, space-padded quantities, NA unknown.
    raw = pd.read_csv(trade / "baci_sample_2021_two_exporters.csv")
    raw["q"] = pd.to_numeric(raw["q"].astype(str).str.strip().replace("NA", np.nan))
    raw["exporter_iso3"] = raw["i"].map(lambda c: resolver.resolve(int(c)))
    raw["hs6"] = raw["k"].astype(int).astype(str).str.zfill(6)
    g = raw.groupby(["t", "exporter_iso3", "hs6"])
    parts.append(
        pd.DataFrame({"value_usd": g["v"].sum() * 1000, "qty": g["q"].sum(min_count=1)})
        .reset_index()
        .rename(columns={"t": "year"})
        .assign(source_file="baci_sample_2021_two_exporters.csv")
    )
    pq = pd.read_parquet(trade / "baci_hs17_V202601_minerals_2024.parquet")
    pq["exporter"] = pq["exporter"].map(resolver.resolve)  # S19 is BACI's code for Taiwan
    g = pq.groupby(["year", "exporter", "hs6"])
    parts.append(
        pd.DataFrame({"value_usd": g["value_kusd"].sum() * 1000, "qty": g["qty_t"].sum(min_count=1)})
        .reset_index()
        .rename(columns={"exporter": "exporter_iso3"})
        .assign(source_file="baci_hs17_V202601_minerals_2024.parquet")
    )
    for year in (2022, 2024):
        name = f"baci_hs17_V202601_minerals_{year}_usd.csv"
        csv = pd.read_csv(trade / name, dtype={"cmd": str})
        csv["i"] = csv["i"].map(resolver.resolve)
        g = csv.groupby(["i", "cmd"])["value"].sum().reset_index()
        parts.append(
            pd.DataFrame(
                {
                    "year": year,
                    "exporter_iso3": g["i"],
                    "hs6": g["cmd"].str.zfill(6),
                    "value_usd": g["value"],
                    "qty": np.nan,
                    "source_file": name,
                }
            )
        )
    ct = pd.read_csv(trade / "comtrade_minerals_2022.csv.gz", dtype={"cmd": str})
    ct = ct[(ct.flow == "X") & (ct.partner == 0)].drop_duplicates()
    # One total per reporter and product: the largest row (the others are its breakdowns).
    ct = ct.sort_values("value", ascending=False, kind="stable").drop_duplicates(["reporter", "cmd"])
    ct["reporter"] = ct["reporter"].map(lambda c: resolver.resolve(int(c)))
    g = ct.groupby(["reporter", "cmd"])
    parts.append(
        pd.DataFrame({"value_usd": g["value"].sum(), "qty": g["netwgt"].sum(min_count=1) / 1000})
        .reset_index()
        .rename(columns={"reporter": "exporter_iso3", "cmd": "hs6"})
        .assign(year=2022, source_file="comtrade_minerals_2022.csv.gz")
    )
    parts[-1]["hs6"] = parts[-1]["hs6"].str.zfill(6)
    legacy = pd.read_csv(trade / "comtrade_sme_2016_2020.csv", dtype={"Commodity Code": str})
    legacy = legacy[(legacy["Trade Flow Code"] == 2) & (legacy["Partner Code"] == 0)].drop_duplicates()
    iso = legacy["Reporter ISO"].map(lambda v: resolver.resolve(v) if isinstance(v, str) else None)
    legacy["exporter_iso3"] = iso.fillna(legacy["Reporter Code"].map(lambda c: resolver.resolve(int(c))))
    g = (
        legacy.groupby(["Year", "exporter_iso3", "Commodity Code"])
        .agg(v=("Trade Value (US$)", "sum"), kg=("Netweight (kg)", lambda s: s.sum(min_count=1)))
        .reset_index()
    )
    parts.append(
        pd.DataFrame(
            {
                "year": g["Year"],
                "exporter_iso3": g["exporter_iso3"],
                "hs6": g["Commodity Code"].str.zfill(6),
                "value_usd": g["v"],
                "qty": g["kg"] / 1000,
                "source_file": "comtrade_sme_2016_2020.csv",
            }
        )
    )
    return pd.concat(parts, ignore_index=True)


def test_exports_equal_independent_sums(run: Path, shared_data: Path) -> None:
    got = pd.read_parquet(run / "exports.parquet")
    ref = _independent_exports(shared_data)
    key = ["source_file", "year", "exporter_iso3", "hs6"]
    assert not got.duplicated(key).any()
    m = got.merge(ref, on=key, how="outer", suffixes=("", "_ref"), indicator=True)
    assert (m["_merge"] == "both").all(), m[m["_merge"] != "both"][[*key, "_merge"]].head()
    assert np.allclose(m["value_usd"], m["value_usd_ref"], rtol=1e-9, atol=0)
    both_q = m["qty"].notna() | m["qty_ref"].notna()
    assert np.allclose(m.loc[both_q, "qty"], m.loc[both_q, "qty_ref"], rtol=1e-9, atol=0)


def test_china_imports_of_magnets_equal_raw_sum(run: Path, shared_data: Path) -> None:
    raw = pd.read_parquet(shared_data / "trade" / "baci_hs17_V202601_minerals_2024.parquet")
    raw["exporter"] = raw["exporter"].replace({"S19": "TWN"})
    ref = raw[(raw.importer == "CHN") & (raw.hs6 == "850511")].groupby("exporter")["value_kusd"].sum() * 1000
    focus = pd.read_parquet(run / "flows_focus.parquet")
    got = focus[
        (focus.source_file == "baci_hs17_V202601_minerals_2024.parquet")
        & (focus.importer_iso3 == "CHN")
        & (focus.hs6 == "850511")
        & (focus.year == 2024)
    ].set_index("exporter_iso3")["value_usd"]
    assert len(ref) > 10
    pd.testing.assert_series_equal(
        got.sort_index(), ref.sort_index(), check_names=False, check_index_type=False, rtol=1e-9
    )
    # Every focus importer and every U.S. flow of the file, and nothing else.
    sel = raw[raw.importer.isin(FOCUS)]
    part = focus[focus.source_file == "baci_hs17_V202601_minerals_2024.parquet"]
    assert len(part) == len(sel.groupby(["exporter", "importer", "hs6"]))
    assert part["value_usd"].sum() == pytest.approx(sel["value_kusd"].sum() * 1000, rel=1e-9)
    us = pd.read_parquet(run / "us_exports.parquet")
    us_part = us[us.source_file == "baci_hs17_V202601_minerals_2024.parquet"]
    raw_us = raw[raw.exporter == "USA"]
    assert len(us_part) == len(raw_us)
    assert us_part["value_usd"].sum() == pytest.approx(raw_us["value_kusd"].sum() * 1000, rel=1e-9)


def test_raw_baci_layout_bilateral(run: Path, shared_data: Path) -> None:
    """The raw t,i,j,k,v,q sample (numeric codes) through DuckDB: focus flows equal the raw rows."""
    raw = pd.read_csv(shared_data / "trade" / "baci_sample_2021_two_exporters.csv")
    codes = {156: "CHN", 344: "HKG", 446: "MAC", 643: "RUS", 112: "BLR"}
    sel = raw[raw.j.isin(list(codes))]
    focus = pd.read_parquet(run / "flows_focus.parquet")
    part = focus[focus.source_file == "baci_sample_2021_two_exporters.csv"]
    assert len(part) == len(sel) > 0
    assert part["value_usd"].sum() == pytest.approx(sel["v"].sum() * 1000, rel=1e-9)
    zaf_chn = sel[(sel.i == 710) & (sel.j == 156)]["v"].sum() * 1000
    got = part[(part.exporter_iso3 == "ZAF") & (part.importer_iso3 == "CHN")]["value_usd"].sum()
    assert got == pytest.approx(zaf_chn, rel=1e-9)
    cov = pd.read_csv(run / "bilateral_coverage.csv").set_index("source_file")
    # The legacy Comtrade export has World rows only: no partner rows, and a note says so.
    assert cov.loc["comtrade_sme_2016_2020.csv", ["focus_rows", "us_rows"]].tolist() == [0, 0]
    assert "to World" in cov.loc["comtrade_sme_2016_2020.csv", "note"]
    assert not cov.loc["comtrade_sme_2016_2020.csv", "bilateral"]
    assert cov.loc["baci_sample_2021_two_exporters.csv", "bilateral"]
