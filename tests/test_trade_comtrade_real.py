"""The Comtrade readers on the mirror's real files, against independent pandas sums of
the raw files (nothing the readers produce is used as its own reference)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cclreview.trade.countries import CountryResolver
from cclreview.trade.ingest import ingest_trade
from cclreview.trade.tidy import COMTRADE_HS

pytestmark = pytest.mark.real

FOCUS = ["BLR", "CHN", "HKG", "MAC", "RUS"]
KEY = ["year", "exporter_iso3", "hs6"]
BKEY = ["year", "exporter_iso3", "importer_iso3", "hs6"]
MINERALS = ["comtrade_minerals_2022.csv.gz", "comtrade_minerals_2024.csv.gz"]
LEGACY = "comtrade_sme_2016_2020.csv"


@pytest.fixture(scope="module")
def run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("comtrade_real")
    ingest_trade([shared_data / "trade" / f for f in [*MINERALS, LEGACY]], out, use_cache=False)
    return out


@pytest.fixture(scope="module")
def resolver() -> CountryResolver:
    return CountryResolver()


def _minerals(shared_data: Path, name: str, resolver: CountryResolver) -> pd.DataFrame:
    """Export rows of a trimmed file with ISO3 codes: exact duplicates dropped, then one
    row per reporter, partner, product and year, the largest (Comtrade's total; the
    other rows of such a key are its breakdowns by customs procedure or transport mode)."""
    raw = pd.read_csv(shared_data / "trade" / name, dtype={"cmd": str})
    if "year" not in raw.columns:
        raw["year"] = int(name[-11:-7])  # comtrade_minerals_2024.csv.gz
    x = raw[raw["flow"] == "X"].drop_duplicates()
    x = x.sort_values("value", ascending=False, kind="stable").drop_duplicates(
        ["year", "reporter", "partner", "cmd"]
    )
    codes = {int(c): resolver.match(int(c)).iso3 for c in pd.concat([x["reporter"], x["partner"]]).unique()}
    return x.assign(
        exporter_iso3=x["reporter"].map(codes),
        importer_iso3=x["partner"].map(codes),
        hs6=x["cmd"].str.zfill(6),
        qty=x["netwgt"] / 1000,
        source_file=name,
    )


def _sum(rows: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    g = rows.groupby([*key, "source_file"], sort=True)
    return pd.DataFrame({"value_usd": g["value"].sum(), "qty": g["qty"].sum(min_count=1)}).reset_index()


def _check(got: pd.DataFrame, want: pd.DataFrame, key: list[str]) -> None:
    cols = [*key, "source_file", "value_usd", "qty"]
    got = got[cols].astype({c: str for c in cols if c not in ("year", "value_usd", "qty")})
    want = want[cols].astype({c: str for c in cols if c not in ("year", "value_usd", "qty")})
    pd.testing.assert_frame_equal(
        got.sort_values(cols[:-2]).reset_index(drop=True),
        want.sort_values(cols[:-2]).reset_index(drop=True),
        check_dtype=False,
        rtol=1e-9,
    )


def test_exports_equal_raw_world_rows(run: Path, shared_data: Path, resolver: CountryResolver) -> None:
    exports = pd.read_parquet(run / "exports.parquet")
    for name in MINERALS:
        x = _minerals(shared_data, name, resolver)
        want = _sum(x[x["partner"] == 0], KEY)
        assert want["exporter_iso3"].notna().all()  # every reporter is a country (490: Taiwan)
        got = exports[exports["source_file"] == name]
        _check(got, want, KEY)
        assert set(got["hs_version"]) == {"HS2022"}  # in force in 2022 and 2024
    # The legacy export: ISO3 where given, else the numeric code; Classification gives the revision.
    raw = pd.read_csv(shared_data / "trade" / LEGACY, dtype={"Commodity Code": str})
    x = raw[(raw["Trade Flow Code"] == 2) & (raw["Partner Code"] == 0)].drop_duplicates()
    iso = x["Reporter ISO"].fillna("").map(lambda v: resolver.match(v).iso3 if v else None)
    x = x.assign(
        year=x["Year"],
        exporter_iso3=iso.fillna(x["Reporter Code"].map(lambda c: resolver.match(int(c)).iso3)),
        hs6=x["Commodity Code"],
        value=x["Trade Value (US$)"],
        qty=x["Netweight (kg)"] / 1000,
        source_file=LEGACY,
    )
    got = exports[exports["source_file"] == LEGACY]
    _check(got, _sum(x, KEY), KEY)
    versions = x.groupby(["Year", "Classification"]).size().reset_index()["Classification"].map(COMTRADE_HS)
    assert set(got["hs_version"]) == set(versions)


def test_bilateral_equal_raw_partner_rows(run: Path, shared_data: Path, resolver: CountryResolver) -> None:
    focus = pd.read_parquet(run / "flows_focus.parquet")
    us = pd.read_parquet(run / "us_exports.parquet")
    for name in MINERALS:
        x = _minerals(shared_data, name, resolver)
        partners = x[(x["partner"] != 0) & x["importer_iso3"].notna()]
        _check(
            focus[focus["source_file"] == name],
            _sum(partners[partners["importer_iso3"].isin(FOCUS)], BKEY),
            BKEY,
        )
        _check(us[us["source_file"] == name], _sum(partners[partners["exporter_iso3"] == "USA"], BKEY), BKEY)
    # One number checked by hand-sized sums: China's 2022 imports of 850511, by supplier,
    # as declared by the exporting reporters.
    x = _minerals(shared_data, MINERALS[0], resolver)
    sel = x[(x["partner"] == 156) & (x["hs6"] == "850511")]
    got = focus[
        (focus["source_file"] == MINERALS[0]) & (focus["importer_iso3"] == "CHN") & (focus["hs6"] == "850511")
    ]
    assert len(got) == sel["reporter"].nunique() > 0
    assert got["value_usd"].sum() == pytest.approx(sel["value"].sum(), rel=1e-9)
    assert np.isclose(
        got.set_index("exporter_iso3")["value_usd"].sort_index(),
        sel.groupby("exporter_iso3")["value"].sum().sort_index(),
        rtol=1e-9,
    ).all()


def test_reports_and_coverage(run: Path) -> None:
    assert pd.read_csv(run / "rejected_rows.csv").empty
    # Partner codes that are not countries ("Areas, nes", free zones...) are not in the
    # focus list, and the U.S. reports none of them here: nothing unmatched.
    assert pd.read_csv(run / "unmatched_countries.csv").empty
    cov = pd.read_csv(run / "bilateral_coverage.csv").set_index("source_file")
    assert cov.loc[MINERALS, "bilateral"].all() and (cov.loc[MINERALS, "focus_rows"] > 0).all()
    # Every row of the legacy export is to World: no partner rows, and the note says why.
    assert cov.loc[LEGACY, ["focus_rows", "us_rows"]].tolist() == [0, 0]
    assert "every export row of this UN Comtrade file is to World" in cov.loc[LEGACY, "note"]


def test_comtrade_world_exports_agree_with_baci(run: Path, shared_data: Path) -> None:
    """Reporter-declared totals against BACI's reconciled flows for the same exporter,
    product and year: they differ (valuation, mirror reconciliation) but seldom by more
    than 2x. Summing a total with its breakdowns put 17% of the pairs above 2x (3.7x for
    Bulgaria's copper cathodes, 740311, 2022); keeping the total puts 3% there."""
    exports = pd.read_parquet(run / "exports.parquet")
    frames = []
    for year in (2022, 2024):
        b = pd.read_csv(
            shared_data / "trade" / f"baci_hs17_V202601_minerals_{year}_usd.csv", dtype={"cmd": str}
        )
        w = b.groupby(["i", "cmd"], as_index=False)["value"].sum()
        frames.append(w.assign(year=year, hs6=w["cmd"].str.zfill(6)).rename(columns={"i": "exporter_iso3"}))
    baci = pd.concat(frames)
    ct = exports[exports["source_file"].isin(MINERALS)]
    pairs = ct.merge(baci, on=KEY)
    ratio = pairs["value_usd"] / pairs["value"]
    assert len(pairs) > 2500
    assert (ratio > 2).mean() < 0.05 and 0.8 < ratio.median() < 1.2
    bgr = pairs[(pairs.exporter_iso3 == "BGR") & (pairs.hs6 == "740311") & (pairs.year == 2022)]
    assert bgr["value_usd"].item() == pytest.approx(1.620092e9, rel=1e-6)
