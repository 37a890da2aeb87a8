"""The China lens (cclreview/china/): per-HS stake, ECCN aggregation, effect, relief, lists."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from cclreview import contracts
from cclreview.china.eccn import ChinaTables, aggregate_china, link_rows_for
from cclreview.china.effect import china_effect, effects_for
from cclreview.china.indicators import BILATERAL, WORLD_ONLY, attach_to_availability, china_hs_table
from cclreview.china.lists import diversion_table, flags_by_code, read_part746_list, read_priority_list
from cclreview.china.relief import relief_table
from cclreview.errors import ConfigError, InputError, ValidationError
from cclreview.score.weights import Weights, parse_weights


def _flow(year, exp, imp, hs6, value, source="baci:V202601", source_file="a.parquet"):
    return {
        "year": year,
        "exporter_iso3": exp,
        "importer_iso3": imp,
        "hs6": hs6,
        "hs_version": "HS2017",
        "value_usd": float(value),
        "qty": float("nan"),
        "source": source,
        "source_file": source_file,
    }


# --------------------------------------------------------------------------- per HS code
def test_china_hs_one_source_shares_and_fallback() -> None:
    rows = [
        _flow(2024, "DEU", "CHN", "850511", 60),
        _flow(2024, "USA", "CHN", "850511", 30),
        _flow(2024, "JPN", "CHN", "850511", 10),
        _flow(2024, "JPN", "RUS", "850511", 99),  # not China
    ]
    # The same flows in a second file of the same source must not be added again.
    dup = [dict(r, source_file="b_usd.csv") for r in rows]
    flows = pd.DataFrame(rows + dup)
    us = pd.DataFrame([_flow(2024, "USA", "CHN", "850511", 30), _flow(2024, "USA", "DEU", "850511", 20)])
    exports = pd.DataFrame(
        {
            "year": [2024, 2024],
            "exporter_iso3": ["USA", "USA"],
            "hs6": ["811292", "850511"],
            "hs_level": [6, 6],
            "hs_version": ["HS2017", "HS2017"],
            "value_usd": [7.0, 50.0],
            "source": ["baci:V202601"] * 2,
            "source_file": ["a.parquet"] * 2,
            "value_kind": ["value"] * 2,
        }
    )
    t = china_hs_table(flows, us, exports).set_index("hs6")
    m = t.loc["850511"]
    assert m["china_imports_usd"] == 100.0
    assert m["china_imports_us_share"] == pytest.approx(0.30)
    assert m["us_exports_usd"] == 50.0 and m["us_exports_to_china_usd"] == 30.0
    assert m["top_suppliers_to_china"] == "DEU 60%; USA 30%; JPN 10%"
    assert m["n_suppliers_to_china"] == 3 and m["stake_basis"] == BILATERAL
    g = t.loc["811292"]  # no bilateral data: U.S. world exports only, China's imports unknown
    assert g["stake_basis"] == WORLD_ONLY and g["us_exports_usd"] == 7.0
    assert math.isnan(g["china_imports_usd"])


def test_china_hs_without_any_bilateral_table() -> None:
    t = china_hs_table(None, None, None)
    assert t.empty and "china_imports_usd" in t.columns
    contracts.validate("china_hs", t)  # empty, with the contract's dtypes


def test_availability_hook_validates_what_it_reads_and_writes(tmp_path: Path) -> None:
    """china_hs and diversion_hs are written through their contracts; a broken flows table stops it."""
    from cclreview.china.stage import availability_hook

    trade, out = tmp_path / "trade", tmp_path / "out"
    flows = pd.DataFrame([_flow(2024, "DEU", "CHN", "850511", 60), _flow(2024, "USA", "CHN", "850511", 40)])
    contracts.write("flows_focus", flows, trade)
    contracts.write("us_exports", pd.DataFrame([_flow(2024, "USA", "DEU", "850511", 20)]), trade)
    avail = pd.DataFrame({"hs_code": ["850511"], "hs_level": [6], "year": [2024]})
    got, written = availability_hook(avail, pd.DataFrame(), trade, out, raw_dir=tmp_path / "no_raw")
    assert [p.name for p in written] == [contracts.CHINA_HS, contracts.DIVERSION_HS]
    china = contracts.read("china_hs", out)
    assert china is not None and china["china_imports_us_share"].tolist() == [pytest.approx(0.4)]
    div = contracts.read("diversion_hs", out)
    assert div is not None and div.empty  # no list in raw: an empty, valid table
    assert got["china_imports_usd"].tolist() == [100.0]
    flows.loc[1, "hs6"] = "8505"  # a heading in an HS6 table
    flows.to_parquet(trade / contracts.FLOWS_FOCUS, index=False)
    with pytest.raises(ValidationError, match=r"flows_focus .* rebuild it with `cclreview ingest-trade`"):
        availability_hook(avail, pd.DataFrame(), trade, out, raw_dir=tmp_path / "no_raw")


def test_score_hook_refuses_a_broken_china_table(tmp_path: Path) -> None:
    from cclreview.china.stage import score_hook

    contracts.write(
        "china_hs", china_hs_table(pd.DataFrame([_flow(2024, "DEU", "CHN", "850511", 1)]), None), tmp_path
    )
    for name in ("eccn_hs_links", "availability_hs"):
        contracts.write(name, contracts.empty(name), tmp_path)
    broken = pd.read_parquet(tmp_path / contracts.CHINA_HS).assign(stake_basis="guess")
    broken.to_parquet(tmp_path / contracts.CHINA_HS, index=False)
    with pytest.raises(ValidationError, match=r"china_hs .*stake_basis.*`cclreview availability`"):
        score_hook(pd.DataFrame({"eccn": ["2B001"]}), tmp_path, Weights())


def test_attach_to_availability_only_hs6_rows() -> None:
    avail = pd.DataFrame(
        {
            "hs_code": ["850511", "8505"],
            "hs_level": [6, 4],
            "year": [2024, 2024],
            "us_exports_usd": [5.0, 9.0],
        }
    )
    china = china_hs_table(
        pd.DataFrame([_flow(2024, "USA", "CHN", "850511", 1), _flow(2024, "DEU", "CHN", "850511", 3)]), None
    )
    out = attach_to_availability(avail, china)
    assert out["china_imports_usd"].tolist()[0] == 4.0 and math.isnan(out["china_imports_usd"].tolist()[1])
    assert out["china_imports_us_share"].tolist()[0] == pytest.approx(0.25)
    assert out["us_exports_usd"].tolist() == [5.0, 9.0]  # kept as the availability stage wrote it


@pytest.mark.parametrize("hs6", ["850511", "811292"])
def test_real_china_imports_2024_match_raw_baci(shared_data: Path, hs6: str) -> None:
    """China's 2024 imports and the U.S. share equal an independent sum of the raw BACI Parquet."""
    raw = pd.read_parquet(shared_data / "trade" / "baci_hs17_V202601_minerals_2024.parquet")
    raw = raw[(raw["hs6"].astype(str) == hs6) & (raw["importer"] == "CHN")]
    expect_total = float(raw["value_kusd"].sum()) * 1000
    expect_us = float(raw.loc[raw["exporter"] == "USA", "value_kusd"].sum()) * 1000 / expect_total
    # The tables in the trade stage's shape, from the USD CSV of the same release
    # (another file than the one summed above) plus the Parquet as a second file.
    csv = pd.read_csv(shared_data / "trade" / "baci_hs17_V202601_minerals_2024_usd.csv", dtype={"cmd": str})
    csv["cmd"] = csv["cmd"].str.zfill(6)
    flows = pd.DataFrame(
        {
            "year": 2024,
            "exporter_iso3": csv["i"],
            "importer_iso3": csv["j"],
            "hs6": csv["cmd"],
            "hs_version": "HS2017",
            "value_usd": csv["value"].astype(float),
            "qty": None,
            "source": "baci:V202601",
            "source_file": "baci_hs17_V202601_minerals_2024_usd.csv",
        }
    )
    focus = flows[flows["importer_iso3"].isin(["CHN", "HKG", "MAC", "RUS", "BLR"])]
    us = flows[flows["exporter_iso3"] == "USA"]
    t = china_hs_table(focus, us).set_index("hs6")
    got = t.loc[hs6]
    assert got["stake_basis"] == BILATERAL
    assert got["china_imports_usd"] == pytest.approx(expect_total, rel=0.005)
    assert got["china_imports_us_share"] == pytest.approx(expect_us, rel=0.005, abs=1e-6)
    # U.S. exports to every importer: the Parquet's own sum.
    all_raw = pd.read_parquet(shared_data / "trade" / "baci_hs17_V202601_minerals_2024.parquet")
    us_total = (
        float(all_raw.loc[(all_raw["hs6"] == hs6) & (all_raw["exporter"] == "USA"), "value_kusd"].sum())
        * 1000
    )
    assert got["us_exports_usd"] == pytest.approx(us_total, rel=0.005)


# --------------------------------------------------------------------------- ECCN aggregation
def _avail_row(code, year, world, us, china, outside, **kw):
    non_us = world - us
    return {
        "hs_code": code,
        "hs_level": 6,
        "hs6": code,
        "hs4": code[:4],
        "hs_version": "HS2022",
        "year": year,
        "source": "baci:V202601",
        "source_file": f"f{year}.parquet",
        "world_exports_usd": float(world),
        "us_exports_usd": float(us),
        "non_us_exports_usd": float(non_us),
        "china_exports_usd": float(china),
        "china_share": china / world,
        "share_outside_regime": outside,
        "share_outside_nsg": outside,
        "partial_source": False,
        **kw,
    }


def test_eccn_aggregation_hand_computed() -> None:
    """Two links: w = confidence x specificity = 0.9 and 0.2 (see the numbers below)."""
    links = pd.DataFrame(
        {
            "eccn": ["9X999", "9X999", "9X998"],
            "hs6": ["111111", "222222", "111111"],
            "confidence": [0.9, 0.5, 0.9],
            "specificity": [1.0, 0.4, 1.0],
            "confirmed": [True, True, False],  # 9X998's only link is unconfirmed: no evidence
            "source": ["curated", "curated", "suggested"],
        }
    )
    avail = pd.DataFrame(
        [
            _avail_row("111111", 2024, 1e9, 1e8, 4.5e8, 0.7),
            _avail_row("111111", 2022, 1e9, 1e8, 3.5e8, 0.7),
            _avail_row("222222", 2024, 2e9, 4e8, 2e8, 0.5),
        ]
    )
    exports = pd.DataFrame(
        {
            "year": 2024,
            "exporter_iso3": ["CHN", "DEU", "USA", "JPN"],
            "hs6": "111111",
            "hs_level": 6,
            "value_usd": [4.5e8, 3e8, 1e8, 1.5e8],
            "source": "baci:V202601",
            "source_file": "f2024.parquet",
            "value_kind": "value",
        }
    )
    china_hs = pd.DataFrame(
        {
            "hs6": ["111111", "222222"],
            "year": [2024, 2024],
            "china_imports_usd": [800.0, 1000.0],
            "china_imports_us_share": [0.05, 0.3],
            "supplier_shares_to_china": [["DEU=0.5", "JPN=0.45", "USA=0.05"], ["KOR=0.7", "USA=0.3"]],
            "us_exports_usd": [100.0, 400.0],
            "stake_basis": ["bilateral", "bilateral"],
        }
    )
    evidence = pd.DataFrame(
        {"eccn": ["9X999", "9X999", "9X990"], "hs6": [None, None, "111111"], "country_iso3": ["CHN", "JPN", "CHN"],
         "producer": ["Acme Magnets", "Other KK", "Not This Co"], "share": [None, None, None]}
    )  # fmt: skip
    div = pd.DataFrame(
        {"hs6": ["111111"], "list": ["Common High Priority List"], "tier": ["Tier 2"], "legal_basis": ["x"],
         "source_file": ["f.csv"]}
    )  # fmt: skip
    w = Weights()
    w.china_relief.china_share_full = 0.5
    rows = link_rows_for(links, avail)
    tables = ChinaTables(exports=exports, china_hs=china_hs, evidence=evidence, diversion=div)
    out = aggregate_china(["9X999", "9X998", "9X997"], rows, avail, w, tables, {"9X999": []})
    r = out.loc["9X999"]
    assert r["china_share"] == pytest.approx((0.9 * 0.45 + 0.2 * 0.1) / 1.1)
    # outside Wassenaar and not China, as a share of non-U.S. exports: 0.7 - 0.45/0.9 and 0.5 - 0.2/1.6
    assert r["outside_china_regime_share"] == pytest.approx((0.9 * 0.2 + 0.2 * 0.375) / 1.1)
    assert r["us_share_world"] == pytest.approx((0.9 * 0.1 + 0.2 * 0.2) / 1.1)
    assert r["china_rank"] == 1 and r["china_rank_of"] == "1 of 4 (111111, HS6 2024)"
    assert r["china_share_trend"] == pytest.approx(0.10)
    assert r["china_trend"].startswith("+10.0 pp 2022-2024")
    share_score = ((0.9 * 0.45 + 0.2 * 0.1) / 1.1) / 0.5
    assert r["available_inside_china"] == pytest.approx((share_score + 1.0) / 2)
    assert r["china_evidence_strength"] == pytest.approx(0.9)
    assert r["chinese_producers"] == "Acme Magnets"
    assert r["china_imports_usd"] == pytest.approx(0.9 * 800 + 0.2 * 1000)
    assert r["us_share_china_imports"] == pytest.approx((0.9 * 0.05 + 0.2 * 0.3) / 1.1)
    assert r["us_exports_usd"] == pytest.approx(0.9 * 100 + 0.2 * 400)
    assert r["top_suppliers_to_china"] == "DEU 41%; JPN 37%; KOR 13%; USA 10%"
    assert r["stake_basis"] == "bilateral" and r["stake_year"] == 2024
    assert r["diversion_flags"] == "CHPL Tier 2: 111111"
    for eccn in ("9X998", "9X997"):  # unconfirmed link / no link: empty, never zero
        assert math.isnan(out.loc[eccn, "available_inside_china"])
        assert math.isnan(out.loc[eccn, "china_share"]) and out.loc[eccn, "stake_basis"] == ""


def test_broad_heading_does_not_swamp_by_value() -> None:
    """Shares are weighted by confidence x specificity, not by trade value."""
    links = pd.DataFrame(
        {"eccn": ["9X999", "9X999"], "hs6": ["111111", "222222"], "confidence": [1.0, 1.0],
         "specificity": [1.0, 0.1], "source": ["curated"] * 2}
    )  # fmt: skip
    avail = pd.DataFrame(
        [_avail_row("111111", 2024, 1e7, 0, 0.0, 0.5), _avail_row("222222", 2024, 1e12, 0, 9e11, 0.5)]
    )
    out = aggregate_china(["9X999"], link_rows_for(links, avail), avail, Weights())
    assert out.loc["9X999", "china_share"] == pytest.approx(0.1 * 0.9 / 1.1)


# --------------------------------------------------------------------------- china_effect
def test_china_effect_cases() -> None:
    ns2 = [{"eccn": "6A001", "reason": "NS", "column": "NS2", "destinations": ["CHN", "RUS"],
            "kind": "foreign-availability case", "whole_entry": True}]  # fmt: skip
    assert (
        china_effect("6A001", ["NS", "AT"], True, "NS2", False, "", ns2)
        == "removes a licence requirement for all Chinese end users (NS2)"
    )
    assert (
        china_effect("6C992", ["AT"], False, "", True, "6C992")
        == "removes only the military end-use/user licence requirement (744 Supp. 2)"
    )
    assert china_effect("4A994", ["AT"], False, "", True, "4A994 (limited)") == (
        "removes only the military end-use/user licence requirement (744 Supp. 2: 4A994 (limited))"
    )
    assert (
        china_effect("6A997", ["AT"], False, "", False, "")
        == "no change for China (AT only, not on 744 Supp. 2)"
    )
    assert china_effect("6A997", ["AT"], None) is None  # unknown: never guessed
    cc = [
        {"reason": "CC", "column": "CC1", "destinations": ["CHN"], "kind": "not a foreign-availability case"}
    ]
    assert china_effect("0A979", ["CC"], True, "CC1", False, "", cc).endswith(
        "but those controls are not a foreign-availability case"
    )


def test_china_effect_real_entries(shared_data: Path, tmp_path: Path) -> None:
    """NS2, an AT-only entry on 744 Supp. 2, an AT-only entry not on it: from the real CCL and lists."""
    from cclreview.ccl import parse_ccl
    from cclreview.controls import ear_files, load_lists
    from cclreview.controls.build import build_controls, summarise
    from cclreview.controls.chart import load_country_chart

    entries, _ = parse_ccl(next((shared_data / "ccl").glob("*.xml")))
    files = ear_files(shared_data)
    controls = build_controls(entries, load_country_chart(files["chart"]))
    decision = summarise(controls, entries, load_lists(files))
    want = ["6A001", "6C992", "6A997"]
    scores = entries[entries["eccn"].isin(want)][["eccn", "reasons"]].merge(
        decision.reset_index(drop="eccn" in decision.columns), on="eccn"
    )
    eff = dict(zip(scores["eccn"], effects_for(scores, controls), strict=True))
    assert eff["6A001"].startswith("removes a licence requirement for all Chinese end users (NS2")
    assert eff["6C992"] == "removes only the military end-use/user licence requirement (744 Supp. 2)"
    assert eff["6A997"] == "no change for China (AT only, not on 744 Supp. 2)"


# --------------------------------------------------------------------------- relief
def test_relief_eligibility_and_score() -> None:
    base = {
        "tier": "candidate",
        "licence_to_china": True,
        "meu_listed": False,
        "available_inside_china": 0.8,
        "outside_china_regime_share": 0.15,
        "china_evidence_strength": 0.5,
        "security_score": 0.4,
        "stake_basis": "bilateral",
        "china_imports_usd": 1e7,
        "us_share_world": 0.2,
        "us_share_china_imports": 0.1,
    }
    df = pd.DataFrame(
        [
            dict(base, eccn="A"),
            dict(base, eccn="B", licence_to_china=False, meu_listed=True),
            dict(base, eccn="C", tier="guardrail"),
            dict(base, eccn="D", available_inside_china=0.3),
            dict(base, eccn="E", licence_to_china=None),
            dict(base, eccn="3E980", china_licence_not_fa=""),
            dict(base, eccn="3A980", china_licence_not_fa="CC1"),
        ]
    )
    cr = Weights().china_relief
    r = relief_table(df, cr).set_index(df["eccn"])
    assert r["china_relief_eligible"].tolist() == [True, False, False, False, False, False, False]
    assert r.loc["3E980", "china_relief_why_not"] == "software/technology: follows the hardware it serves"
    assert (
        r.loc["3A980", "china_relief_why_not"]
        == "licence for China stays: CC1 not a foreign-availability case"
    )
    assert r.loc["B", "china_relief_why_not"].startswith("no licence needed for China today")
    assert r.loc["C", "china_relief_why_not"] == "tier: guardrail"
    assert r.loc["D", "china_relief_why_not"] == "available inside China 0.30 < 0.5"
    assert r.loc["E", "china_relief_why_not"].startswith("licence for China unknown")
    size = math.log10(1e7 / 1e6) / math.log10(1e9 / 1e6)
    k = (size + (0.2 - 0.1) / 0.2) / 2
    expect = (0.35 * 0.8 + 0.25 * (0.15 / 0.30) + 0.20 * 0.6 + 0.20 * k) / 1.0 * (0.5 + 0.5 * 0.5)
    assert r.loc["A", "china_relief_score"] == pytest.approx(expect)
    assert r.loc["A", "china_relief_rank"] == 1
    cr.include_meu_only = True
    assert relief_table(df, cr).loc[1, "china_relief_eligible"]


def test_china_relief_weights_validated() -> None:
    with pytest.raises(ConfigError, match=r"china_relief.inside_chin: unknown key"):
        parse_weights({"china_relief": {"inside_chin": 0.3}}, "w.toml")
    with pytest.raises(ConfigError, match="stake_full_usd"):
        parse_weights({"china_relief": {"stake_full_usd": 10.0, "stake_floor_usd": 100.0}}, "w.toml")


# --------------------------------------------------------------------------- diversion lists
def test_real_diversion_lists(shared_data: Path, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    for sub, name in (
        ("priority", "bis_common_high_priority_hs6_2024-02-23.csv"),
        ("ear", "russia_belarus_iran_hts6_part746_supps_2026-09-24.csv"),
    ):
        (raw / sub).mkdir(parents=True)
        (raw / sub / name).write_bytes((shared_data / sub / name).read_bytes())
    div, missing = diversion_table(raw)
    assert missing == []
    chpl = div[div["list"] == "Common High Priority List"]
    assert chpl["hs6"].nunique() == 50
    assert set(chpl["tier"]) == {"Tier 1", "Tier 2", "Tier 3A", "Tier 3B", "Tier 4A", "Tier 4B"}
    part = div[div["list"] == "Part 746"]
    assert len(part) == 2850 and part["tier"].nunique() == 4
    flags = flags_by_code(div)
    assert flags["854231"][0] == "CHPL Tier 1"


def test_diversion_list_bad_rows(tmp_path: Path) -> None:
    p = tmp_path / "chpl.csv"
    p.write_text("hs6,tier\n854231,TIER_1\n85423,TIER_9\n")
    with pytest.raises(InputError, match=r"chpl.csv: line 3: tier 'TIER_9'"):
        read_priority_list(p)
    p.write_text("hs6,tier\n8542x1,TIER_1\n")
    with pytest.raises(InputError, match=r"line 2: column hs6 is '8542x1'"):
        read_priority_list(p)
    q = tmp_path / "p746.csv"
    q.write_text("supplement,hts6\nSupp. No. 4 to Part 746,850511\n")
    with pytest.raises(InputError, match=r"missing column\(s\) \['license_requirement'\]"):
        read_part746_list(q)
    div, missing = diversion_table(tmp_path / "nothing")
    assert div.empty and len(missing) == 2


# --------------------------------------------------------------------------- workbook
def test_workbook_china_sheet(tmp_path: Path) -> None:
    """The sheet lists exactly the eligible entries by relief rank; Candidates has the filter column."""
    from openpyxl import load_workbook

    from cclreview.china.stage import china_columns
    from cclreview.report import build_report
    from cclreview.score import engine, synthetic

    tables = synthetic.make_synthetic(n_eccns=60, seed=3)
    w = Weights()
    scores = engine.score_tables(
        tables["entries"], tables["links"], tables["availability"], w, tables.get("evidence")
    )
    # Decision columns as the decision model writes them: every third entry needs a licence for China.
    scores["licence_to_china"] = [i % 3 == 0 for i in range(len(scores))]
    scores["meu_listed"] = False
    scores["licence_to_china_reasons"] = "NS2"
    w.china_relief.min_inside_china = 0.0
    w.china_relief.min_outside_regime_share = 0.0
    w.china_relief.min_evidence_strength = 0.0
    scores = china_columns(
        scores, tables["links"], tables["availability"], w, ChinaTables(evidence=tables.get("evidence"))
    )
    eligible = scores[scores["china_relief_eligible"]].sort_values("china_relief_rank")
    assert len(eligible) > 0
    processed = tmp_path / "processed"
    processed.mkdir()
    from fixtures.contract_fill import fill

    from cclreview import contracts

    for name, df in (
        ("ccl_entries", tables["entries"]),
        ("eccn_hs_links", tables["links"]),
        ("availability_hs", tables["availability"]),
    ):
        fill(name, df).to_parquet(processed / contracts.FILES[name], index=False)
    contracts.write("scores", scores, processed)  # the China columns keep scoring's contract
    out = tmp_path / "wb.xlsx"
    build_report(processed, out, run_date="2030-01-01")
    wb = load_workbook(out, read_only=True)
    assert "China licence relief" in wb.sheetnames
    rows = list(wb["China licence relief"].iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:2] == ["Relief rank", "ECCN"] and "China effect" in header and "Route" in header
    assert [r[1] for r in rows[1:]] == eligible["eccn"].tolist()
    assert [r[0] for r in rows[1:]] == list(range(1, len(eligible) + 1))
    cand_header = next(wb["Candidates"].iter_rows(max_row=1, values_only=True))
    assert "Available inside China" in cand_header and "China effect" in cand_header
    col = cand_header.index("Available inside China")
    values = {r[col] for r in wb["Candidates"].iter_rows(min_row=2, values_only=True)}
    assert values <= {"yes", "no", "no data"}


@pytest.mark.parametrize("hs6", ["850511", "811292"])
def test_real_trade_engine_tables_match_raw_baci(shared_data: Path, tmp_path: Path, hs6: str) -> None:
    """With the trade stage's own bilateral tables (once it writes them), the same sums hold."""
    import inspect

    from cclreview.trade.ingest import ingest_trade

    if "focus" not in inspect.signature(ingest_trade).parameters:
        pytest.skip(
            "this trade stage writes no flows_focus.parquet / us_exports.parquet (trade engine not merged)"
        )
    src = shared_data / "trade" / "baci_hs17_V202601_minerals_2024.parquet"
    ingest_trade([src], tmp_path, use_cache=False)
    from cclreview.china.indicators import read_bilateral

    flows, us = read_bilateral(tmp_path)
    assert flows is not None and us is not None
    got = china_hs_table(flows, us).set_index("hs6").loc[hs6]
    raw = pd.read_parquet(src)
    chn = raw[(raw["hs6"] == hs6) & (raw["importer"] == "CHN")]
    total = float(chn["value_kusd"].sum()) * 1000
    assert got["china_imports_usd"] == pytest.approx(total, rel=0.005)
    us_share = float(chn.loc[chn["exporter"] == "USA", "value_kusd"].sum()) * 1000 / total
    assert got["china_imports_us_share"] == pytest.approx(us_share, rel=0.005)
