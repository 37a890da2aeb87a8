"""Supply-side evidence readers: CSET layout and the analyst template."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cclreview.cli import cli
from cclreview.errors import InputError
from cclreview.trade.evidence import (
    EVIDENCE_COLUMNS,
    TEMPLATE_COLUMNS,
    load_cset_links,
    read_cset,
    read_template,
)

ROOT = Path(__file__).resolve().parents[1]


def test_cset_layout(fixtures: Path) -> None:
    ev = read_cset(fixtures / "availability" / "cset")
    assert list(ev.columns) == EVIDENCE_COLUMNS
    litho = ev[ev["item_id"] == "N19"]
    # Country rows: share of the item by country, no producer.
    countries = litho[litho["provider_type"] == "country"].set_index("country_iso3", drop=False)
    assert countries.loc["NLD", "share"] == pytest.approx(0.60)
    assert countries["producer"].isna().all()
    # "Various countries" is not one country: kept, country left empty.
    assert litho["country_iso3"].isna().sum() == 1
    firm = litho[litho["producer"] == "Acme Optics"].iloc[0]
    assert firm["country_iso3"] == "JPN" and firm["share"] == pytest.approx(0.30)
    # Linked through the shipped table, with its rationale.
    assert set(litho["eccn"]) == {"3B001"} and set(litho["hs6"]) == {"848620"}
    assert litho["link_rationale"].str.contains("lithography", case=False).all()
    # An item without a link keeps eccn/hs6 empty rather than guessing.
    other = ev[ev["item_id"] == "N999"].iloc[0]
    assert pd.isna(other["eccn"]) and pd.isna(other["hs6"]) and other["year"] == 2024
    assert (ev["comparable_quality"] == "unknown").all() and (ev["evidence_kind"] == "market_share").all()


def test_template_reader(fixtures: Path) -> None:
    ev = read_template(fixtures / "availability" / "producers.csv")
    assert len(ev) == 3
    first = ev.iloc[0]
    assert (first["eccn"], first["country_iso3"], first["comparable_quality"], first["year"]) == (
        "2B001",
        "DEU",
        "yes",
        2026,
    )
    assert ev.iloc[1]["hs6"] == "084592"  # leading zero restored
    assert ev.iloc[1]["comparable_quality"] == "unknown"  # empty means unknown
    assert ev.iloc[2]["country_iso3"] == "TWN" and ev.iloc[2]["provider_type"] == "country"
    assert ev["source_row"].tolist() == [2, 3, 4]


def test_template_errors(fixtures: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"line 2: comparable_quality 'maybe'"):
        read_template(fixtures / "availability" / "producers_bad_quality.csv")
    bad = tmp_path / "p.csv"
    bad.write_text(",".join(TEMPLATE_COLUMNS) + "\n,,DEU,X,,,,,\n")
    with pytest.raises(InputError, match="line 2: needs an eccn or an hs6"):
        read_template(bad)
    bad.write_text(",".join(TEMPLATE_COLUMNS) + "\n2B001,,Atlantis,X,,,yes,,\n")
    with pytest.raises(InputError, match="not recognised"):
        read_template(bad)


def test_template_xlsx(fixtures: Path, tmp_path: Path) -> None:
    df = pd.read_csv(fixtures / "availability" / "producers.csv", dtype=str, keep_default_na=False)
    df.to_excel(tmp_path / "p.xlsx", index=False)
    assert read_template(tmp_path / "p.xlsx")["country_iso3"].tolist() == ["DEU", "JPN", "TWN"]


def test_shipped_template_and_links() -> None:
    header = (ROOT / "data" / "raw" / "templates" / "producer_evidence_template.csv").read_text().splitlines()
    assert header and set(TEMPLATE_COLUMNS) <= set(header[0].split(","))
    links = load_cset_links()
    assert links["rationale"].str.len().gt(20).all()
    assert links["hs6"].str.fullmatch(r"\d{6}").all()


def test_cli_ingest_evidence(fixtures: Path, tmp_path: Path) -> None:
    fx = fixtures / "availability"
    res = CliRunner().invoke(
        cli, ["ingest-evidence", str(fx / "cset"), str(fx / "producers.csv"), "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    ev = pd.read_parquet(tmp_path / "evidence.parquet")
    assert len(ev) == 8 and set(ev["evidence_kind"]) == {"market_share", "producer"}
    res = CliRunner().invoke(cli, ["ingest-evidence", str(tmp_path / "nothing"), "--out", str(tmp_path)])
    assert res.exit_code == 1 and "does not exist" in res.output


def test_real_cset(shared_data: Path) -> None:
    ev = read_cset(shared_data / "evidence" / "cset_eto")
    raw = pd.read_csv(shared_data / "evidence" / "cset_eto" / "provision.csv")
    assert len(ev) == len(raw)
    euv = ev[(ev["item_id"] == "N20") & (ev["provider_type"] == "country")]
    assert euv["eccn"].eq("3B001").all() and euv["share"].between(0, 1).all()
    assert ev["share"].dropna().between(0, 1).all()
