"""Country resolution, the shipped country table, EAR groups and regimes."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from cclreview.errors import InputError
from cclreview.trade.countries import CountryResolver, load_countries, normalize_name
from cclreview.trade.groups import EAR_GROUPS, load_country_groups, load_regimes, members


@pytest.fixture(scope="module")
def resolver() -> CountryResolver:
    return CountryResolver()


def _golden(fixtures) -> list[tuple[str, str, str]]:
    with (fixtures / "trade" / "country_names_golden.tsv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [(r["value"], r["expected"], r["note"]) for r in rows]


def test_golden_names(resolver: CountryResolver, fixtures) -> None:
    failures = []
    golden = _golden(fixtures)
    assert len(golden) > 60
    for value, expected, note in golden:
        got = resolver.resolve(value)
        want = None if expected == "-" else expected
        if got != want:
            failures.append(f"{value!r} ({note}): got {got}, expected {want}")
    assert not failures, "\n".join(failures)


def test_numeric_codes_in_any_type(resolver: CountryResolver) -> None:
    for value in (842, "842", np.int64(842), 842.0, "842.0"):
        assert resolver.resolve(value) == "USA", value
    assert resolver.resolve("004") == "AFG"
    assert resolver.resolve(840) == "USA"  # ISO numeric works too


def test_non_countries_are_reported_with_reason() -> None:
    r = CountryResolver()
    assert r.resolve("World") is None
    assert r.resolve("USSR") is None
    assert r.resolve("Korea") is None
    assert r.resolve("Korea") is None
    report = r.unmatched_report().set_index("value")
    assert report.loc["World", "status"] == "aggregate"
    assert report.loc["USSR", "status"] == "historical"
    assert report.loc["Korea", "count"] == 2
    # Best candidates name both Koreas so a reviewer can add the right alias.
    assert "KOR" in report.loc["Korea", "candidates"] and "PRK" in report.loc["Korea", "candidates"]


def test_resolve_many_matches_scalar_and_counts() -> None:
    r = CountryResolver()
    values = pd.Series(["kor", 490, "Atlantis", None, "Atlantis", "Korea, Rep."] * 3)
    out = r.resolve_many(values)
    expected = [r.match(v).iso3 for v in values]
    assert [None if pd.isna(x) else x for x in out] == expected
    assert out.index.equals(values.index)
    report = r.unmatched_report()
    assert report.set_index("value").loc["Atlantis", "count"] == 6
    assert len(report) == 1  # None is empty, not unmatched


def test_resolve_many_record_false_keeps_report_empty() -> None:
    r = CountryResolver()
    r.resolve_many(pd.Series(["Nowhere"]), record=False)
    assert r.unmatched_report().empty


def test_fuzzy_threshold_is_configurable() -> None:
    strict = CountryResolver(fuzzy_threshold=99.0)
    assert strict.resolve("Germny") is None
    assert CountryResolver().resolve("Germny") == "DEU"


def test_normalize_name() -> None:
    assert normalize_name("  Côte d'Ivoire ") == "cote d ivoire"
    assert normalize_name("St. Lucia") == normalize_name("Saint Lucia")
    assert normalize_name("The Bahamas") == "bahamas"
    assert normalize_name("Bosnia & Herzegovina") == "bosnia and herzegovina"


def test_shipped_table_shape() -> None:
    df = load_countries()
    for col in ("iso3", "iso2", "m49", "baci_code", "name", "aliases", "kind"):
        assert col in df.columns
    countries = df[df["kind"] == "country"]
    assert countries["iso3"].str.fullmatch(r"[A-Z]{3}").all()
    assert {"TWN", "XKX", "KOR", "CHN", "USA"} <= set(countries["iso3"])
    assert set(df["kind"]) == {"country", "aggregate", "historical"}
    assert df.loc[df["iso3"] == "WLD", "kind"].item() == "aggregate"


def test_table_conflicts_are_errors(tmp_path) -> None:
    bad = tmp_path / "c.csv"
    bad.write_text(
        "iso3,iso2,m49,baci_code,kind,name,aliases\nAAA,AA,1,,country,Aland,\nBBB,BB,1,,country,Bland,\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="numeric code 1"):
        CountryResolver(bad)
    bad.write_text("iso3,name\nAAA,Aland\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing columns"):
        CountryResolver(bad)


def test_baci_dictionary_resolves(shared_data) -> None:
    """Every current BACI country code resolves to the ISO3 BACI gives (490 -> TWN)."""
    baci = pd.read_csv(shared_data / "countries" / "baci_country_codes_V202601.csv", keep_default_na=False)
    r = CountryResolver()
    got = r.resolve_many(baci["country_code"])
    real_iso = baci["country_iso3"].str.fullmatch(r"[A-Z]{3}") & ~baci["country_name"].str.contains(r"\.\.\.")
    mismatched = baci[real_iso & (got != baci["country_iso3"]) & (baci["country_code"] != 849)]
    assert mismatched.empty, mismatched
    assert got[baci["country_code"] == 490].item() == "TWN"
    # The historical entities with no single successor are reported, not mapped.
    assert got[baci["country_code"] == 810].isna().all()


def test_iso_table_resolves(shared_data) -> None:
    iso = pd.read_csv(shared_data / "countries" / "country_codes_iso.csv", dtype=str, keep_default_na=False)
    iso = iso[iso["ISO3166-1-Alpha-3"] != ""]
    r = CountryResolver()
    by_a2 = r.resolve_many(iso["ISO3166-1-Alpha-2"])
    by_num = r.resolve_many(iso["ISO3166-1-numeric"])
    by_name = r.resolve_many(iso["official_name_en"])
    want = iso["ISO3166-1-Alpha-3"]
    assert (by_a2 == want).all()
    assert (by_num == want).all()
    assert (by_name == want).mean() > 0.98


def test_country_groups_match_ear_json(shared_data) -> None:
    data = json.loads((shared_data / "ear" / "country_groups_2026-07-23.json").read_text(encoding="utf-8"))
    r = CountryResolver()
    groups = load_country_groups()
    assert set(groups["group"]) == set(EAR_GROUPS)
    assert (groups["as_of"] == data["ecfrIssueDate"]).all()
    for group, names in data["groups"].items():
        expected = {r.resolve(n) for n in names}
        assert None not in expected, group
        assert set(groups.loc[groups["group"] == group, "iso3"]) == expected, group


def test_regimes() -> None:
    regimes = load_regimes()
    sizes = regimes.groupby("regime").size().to_dict()
    assert sizes["MTCR"] == 35
    assert sizes["NSG"] == 48
    assert sizes["Australia Group"] == 42
    assert sizes["Wassenaar"] == 42
    china = set(regimes.loc[regimes["iso3"] == "CHN", "regime"])
    assert china == {"NSG"}
    assert "USA" in members("regime", "Wassenaar")
    # EAR A:1 is Wassenaar less Malta, Russia and Ukraine, plus Iceland (a COCOM-era
    # member of A:1 that never joined Wassenaar); A:2 is in MTCR; A:3 is the Australia Group.
    assert members("group", "A:1") - {"ISL"} <= members("regime", "Wassenaar")
    assert "ISL" not in members("regime", "Wassenaar")
    assert members("group", "A:2") <= members("regime", "MTCR")
    assert members("group", "A:4") <= members("regime", "NSG")
    assert members("group", "A:3") == members("regime", "Australia Group")
    assert regimes["as_of"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_group_table_errors(tmp_path) -> None:
    bad = tmp_path / "g.csv"
    bad.write_text("iso3,group,as_of\nUSA,Z:9,2026-01-01\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2: unknown group 'Z:9'"):
        load_country_groups(bad)
    bad.write_text("iso3,regime\nUSA,MTCR\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing columns"):
        load_regimes(bad)
    with pytest.raises(InputError):
        members("regime", "Zangger")
