"""Controls as rows: routes, scopes, kinds, FP, lists, bad input; real entries from the mirror."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cclreview.ccl import parse_ccl
from cclreview.controls import (
    KIND_FA,
    KIND_NOT_FA,
    build_controls,
    ear_files,
    load_country_chart,
    load_meu,
    load_sensitive_lists,
    run_controls,
    summarise,
)
from cclreview.errors import InputError, SourceMissingError

CHART = "ear/country_chart_2026-07-23.json"
MEU = "ear/meu_supp2_part744_items_2026-09-24.csv"
SLVSL = "ear/wassenaar_sl_vsl_part774_supp6_supp7_2026-09-24.csv"


@pytest.fixture(scope="module")
def chart(shared_data: Path):
    return load_country_chart(shared_data / CHART)


@pytest.fixture(scope="module")
def entries(shared_data: Path) -> pd.DataFrame:
    return parse_ccl(shared_data / "ccl" / "ccl_supp1_ecfr_2026-06.xml")[0]


@pytest.fixture(scope="module")
def lists(shared_data: Path) -> pd.DataFrame:
    return pd.concat(
        [load_meu(shared_data / MEU), load_sensitive_lists(shared_data / SLVSL)], ignore_index=True
    )


@pytest.fixture(scope="module")
def controls(entries: pd.DataFrame, chart) -> pd.DataFrame:
    return build_controls(entries, chart)


@pytest.fixture(scope="module")
def summary(controls: pd.DataFrame, entries: pd.DataFrame, lists: pd.DataFrame) -> pd.DataFrame:
    return summarise(controls, entries, lists)


def rows(controls: pd.DataFrame, eccn: str, reason: str | None = None) -> pd.DataFrame:
    out = controls[controls["eccn"] == eccn]
    return out if reason is None else out[out["reason"] == reason]


# --- the Country Chart --------------------------------------------------------------


@pytest.mark.real
def test_chart_columns_from_the_source(chart) -> None:
    # China has an X in NS1/NS2/NP1/NP2/RS1 but not in AT: the embargoed rows are AT's reach.
    for col in ("NS1", "NS2", "NP1", "NP2", "MT1", "RS1", "CC1"):
        assert "CHN" in chart.columns[col], col
    assert "CHN" not in chart.columns["CC2"] and "CAN" not in chart.columns["NS2"]
    assert chart.embargoed == {"CUB", "IRN", "PRK", "SYR"}
    assert chart.destinations("AT1") == chart.embargoed
    # NP column 2: a short U.S.-only list (Country Group D:2-like), incl. China and Russia.
    assert {"CHN", "RUS", "IRQ", "PAK"} <= chart.columns["NP2"] and len(chart.columns["NP2"]) < 15
    assert len(chart.all_destinations) >= 195
    assert chart.names["hong kong"] == "CHN"  # Hong Kong is governed by the China row


# --- routes, regimes and kinds ----------------------------------------------------------


@pytest.mark.real
def test_ns_route_depends_on_the_series(controls: pd.DataFrame) -> None:
    ns = rows(controls, "2B001", "NS").iloc[0]
    assert (ns["regime"], ns["route"], ns["legal_basis"]) == (
        "wassenaar",
        "regime proposal: Wassenaar",
        "742.4",
    )
    ns9 = rows(controls, "3B903", "NS")  # NS on an x9xx entry: a U.S. addition
    assert len(ns9) and (ns9["regime"] == "none").all() and (ns9["route"] == "U.S. unilateral rule").all()
    ml = rows(controls, "9A610", "NS").iloc[0]
    assert ml["regime"] == "wassenaar" and "Munitions List" in ml["scope_note"]


@pytest.mark.real
def test_np_column_1_is_nsg_and_column_2_us_only(controls: pd.DataFrame, summary: pd.DataFrame) -> None:
    np1 = rows(controls, "2B001", "NP").iloc[0]
    assert (np1["column"], np1["regime"], np1["legal_basis"]) == ("NP1", "nsg", "742.3(a)(1)")
    assert "2B001.a" in np1["scope_text"] and not np1["whole_entry"]
    for eccn in ("2A290", "2A291"):
        np2 = rows(controls, eccn, "NP").iloc[0]
        assert (np2["column"], np2["regime"], np2["legal_basis"]) == ("NP2", "none", "742.3(a)(2)")
        assert np2["route"] == "U.S. unilateral rule" and np2["us_can_lift_alone"]
        assert summary.loc[eccn, "unilateral_action_possible"]
    s = summary.loc["2B001"]
    assert "regime proposal: Wassenaar (NS2)" in s["route"]
    assert "regime proposal: NSG (NP1 [2B001.a, .b, .c, .d])" in s["route"]
    assert not s["unilateral_action_possible"] and s["licence_to_china"]


@pytest.mark.real
def test_wmd_regimes_and_rs_has_none(controls: pd.DataFrame) -> None:
    assert set(rows(controls, "9A101", "MT")["regime"]) == {"mtcr"}
    assert set(rows(controls, "1C350", "CB")["regime"]) == {"australia_group"}
    cw = rows(controls, "1C350", "CW")
    assert set(cw["regime"]) == {"cwc"} and set(cw["kind"]) == {KIND_NOT_FA}
    rs = rows(controls, "3A090", "RS")
    assert set(rs["regime"]) == {"none"} and set(rs["route"]) == {"U.S. unilateral rule"}
    rs600 = rows(controls, "9A610", "RS")
    assert set(rs600["regime"]) == {"none"} and rs600["scope_note"].str.contains("Munitions List").all()


@pytest.mark.real
def test_controls_foreign_availability_cannot_lift(controls: pd.DataFrame, summary: pd.DataFrame) -> None:
    cases = {
        "0A979": ("CC", "742.7"),
        "0A982": ("CC", "742.7"),
        "1C988": ("SS", "754"),
        "0A998": ("FP", "746.8"),
    }
    for eccn, (reason, basis) in cases.items():
        r = rows(controls, eccn, reason).iloc[0]
        assert r["kind"] == KIND_NOT_FA and r["legal_basis"] == basis, eccn
        assert summary.loc[eccn, "controls_kind"] == KIND_NOT_FA, eccn
    assert set(controls.loc[controls["reason"] == "UN", "kind"]) == {KIND_NOT_FA}
    assert set(controls.loc[controls["reason"] == "SL", "kind"]) == {KIND_NOT_FA}
    assert set(controls.loc[controls["reason"].isin(["NS", "MT", "NP", "RS", "AT"]), "kind"]) == {KIND_FA}
    # UN sanctions and treaties are not something the U.S. can lift alone.
    assert not controls.loc[controls["reason"].isin(["UN", "CW", "FC"]), "us_can_lift_alone"].any()


# --- FP and reasons named in prose -------------------------------------------------------


@pytest.mark.real
def test_foreign_policy_is_read(entries: pd.DataFrame, controls: pd.DataFrame) -> None:
    e = entries.set_index("eccn")
    assert list(e.loc["0A998", "reasons"]) == ["FP"] and list(e.loc["8D999", "reasons"]) == ["FP"]
    assert "FP" in list(e.loc["6A991", "reasons"]) and "FP" in list(e.loc["3A229", "reasons"])
    for eccn in ("0A998", "8D999", "6A991", "8A992", "3A229", "3A231", "3A232", "1C992"):
        fp = rows(controls, eccn, "FP")
        assert len(fp) == 1, eccn
        assert fp.iloc[0]["legal_basis"] == "746.8" and "industry sector" in fp.iloc[0]["scope_text"]
        assert sorted(fp.iloc[0]["destinations"]) == ["BLR", "RUS"]


@pytest.mark.real
def test_reason_named_only_in_the_reason_line_gets_a_row(controls: pd.DataFrame) -> None:
    at = rows(controls, "0A999", "AT")  # "Reason for Control: AT", no control table row
    assert len(at) == 1 and at.iloc[0]["source"] == "reason_line"
    rs = rows(controls, "0A521", "RS")  # "subject to RS1 controls" in prose
    assert rs.iloc[0]["column"] == "RS1" and rs.iloc[0]["source"] == "prose"


# --- scope: destinations -----------------------------------------------------------------


@pytest.mark.real
def test_scope_from_column_text_and_groups(controls: pd.DataFrame, chart) -> None:
    ns2 = rows(controls, "2B001", "NS").iloc[0]
    assert set(ns2["destinations"]) == set(chart.destinations("NS2")) and ns2["n_destinations"] > 150
    iraq = rows(controls, "0A999", "RS")
    iraq = controls[(controls["eccn"].str.endswith("999")) & (controls["reason"] == "RS")]
    one = iraq[iraq["requirement_text"].str.contains("to Iraq or transfer within Iraq")]
    assert len(one) and all(list(d) == ["IRQ"] for d in one["destinations"])
    # "D:1, D:4, and D:5 ... excluding any destination also specified in A:5 or A:6".
    rs_b = rows(controls, "3A090", "RS")
    b = rs_b[rs_b["scope_text"].str.contains("3A090.b")].iloc[0]
    assert "CHN" in b["destinations"] and "DEU" not in b["destinations"] and "ISR" not in b["destinations"]
    c = rs_b[rs_b["scope_text"].str.contains("3A090.c")].iloc[0]
    assert "MAC" in c["destinations"] and "CHN" in c["destinations"]
    a = rs_b[rs_b["scope_text"].str.contains("3A090.a")].iloc[0]
    assert a["n_destinations"] == len(chart.all_destinations)  # worldwide
    cc = controls[(controls["reason"] == "CC") & controls["requirement_text"].str.contains("except Canada")]
    assert len(cc) and all("CAN" not in d and "CHN" in d for d in cc["destinations"])
    rs7 = controls[controls["requirement_text"].str.startswith("China, Russia")]
    assert len(rs7) and all(sorted(d) == ["CHN", "RUS", "VEN"] for d in rs7["destinations"])
    # AT without a column text reaches the embargoed destinations named ("to North Korea").
    nk = controls[
        (controls["reason"] == "AT") & controls["requirement_text"].str.contains("to North Korea for")
    ]
    assert len(nk) and all(list(d) == ["PRK"] for d in nk["destinations"])


@pytest.mark.real
def test_unreadable_scope_is_said_not_guessed(controls: pd.DataFrame) -> None:
    unknown = controls[controls["n_destinations"].isna()]
    assert len(unknown) < 30
    assert unknown["destinations_basis"].str.len().gt(0).all()
    assert (unknown["destinations"].map(len) == 0).all()


# --- pointers and per-ECCN summary -----------------------------------------------------------


@pytest.mark.real
def test_pointer_entry_has_no_controls_and_cannot_act(controls: pd.DataFrame, summary: pd.DataFrame) -> None:
    assert not len(rows(controls, "9A010"))
    s = summary.loc["9A010"]
    assert s["pointer_entry"] and not s["unilateral_action_possible"] and not s["licence_to_china"]
    assert s["route"] == "no licence requirement of its own"
    assert not summary.loc["0A002", "pointer_entry"]  # ITAR, not a pointer
    assert summary.loc["0A002", "route"] == "ITAR (State Department)"


@pytest.mark.real
def test_licence_to_china_meu_and_sensitive_lists(summary: pd.DataFrame) -> None:
    # AT-only: no licence for China, but on the military end-use list.
    s = summary.loc["3A991"]
    assert not s["licence_to_china"] and s["meu_listed"] and s["licence_destinations"] == 4
    assert summary.loc["2A290", "licence_to_china_reasons"] == "NP2"
    assert summary.loc["4A994", "meu_paragraphs"].endswith("(limited)")
    assert summary.loc["5A001", "sensitive_list"] == "5A001.b.3; 5A001.b.5; 5A001.h"
    assert summary.loc["5A001", "very_sensitive_list"] == "5A001.b.5; 5A001.h"
    assert summary.loc["3A001", "sensitive_list"].startswith("3A001.b.2 (limited)")
    assert summary.loc["3A001", "lvs"] != "nan"
    assert int(summary["meu_listed"].sum()) == 52


@pytest.mark.real
def test_lists_keep_paragraph_level(lists: pd.DataFrame) -> None:
    sl = lists[(lists["list"] == "SL") & (lists["eccn"] == "7D004")].iloc[0]
    assert list(sl["paragraphs"]) == ["7D004.a", "7D004.b", "7D004.c", "7D004.d", "7D004.g"]
    meu = lists[(lists["list"] == "MEU") & (lists["eccn"] == "5A991")].iloc[0]
    assert meu["limited"] and {"5A991.a", "5A991.b.7", "5A991.f"} <= set(meu["paragraphs"])
    scoped = lists[(lists["list"] == "MEU") & (lists["eccn"] == "9D004")].iloc[0]
    assert scoped["limited"]  # "for equipment controlled by 9A012.a.1"
    vsl = set(lists.loc[lists["list"] == "VSL", "eccn"])
    assert vsl <= set(lists.loc[lists["list"] == "SL", "eccn"])  # VSL is a subset of SL


# --- bad input: one clear line naming the file ---------------------------------------------


def test_chart_missing_truncated_or_unknown_country(tmp_path: Path, shared_data: Path) -> None:
    with pytest.raises(InputError, match=r"country_chart\.json: Country Chart file not found"):
        load_country_chart(tmp_path / "country_chart.json")
    text = (shared_data / CHART).read_text(encoding="utf-8")
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(InputError, match=r"cut\.json: not valid JSON .* truncated"):
        load_country_chart(cut)
    data = json.loads(text)
    data["countries"]["Freedonia"] = {"marks": ["NS 1"], "footnotes": []}
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_country_chart(odd)
    assert "odd.json: country row 'Freedonia' is not a known country" in str(info.value)
    assert "\n" not in str(info.value)
    few = dict(data, countries=dict(list(data["countries"].items())[:20]))
    short = tmp_path / "short.json"
    short.write_text(json.dumps(few), encoding="utf-8")
    with pytest.raises(InputError, match=r"short\.json: only 20 country rows \(expected 196\).* truncated"):
        load_country_chart(short)


def test_list_files_missing_or_truncated(tmp_path: Path, shared_data: Path) -> None:
    with pytest.raises(InputError, match=r"meu\.csv: Supp\. No\. 2 to Part 744 .* not found"):
        load_meu(tmp_path / "meu.csv")
    lines = (shared_data / MEU).read_text(encoding="utf-8").splitlines()
    cut = tmp_path / "meu_cut.csv"
    cut.write_text("\n".join(lines[:10]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"meu_cut\.csv: only 9 items .* truncated"):
        load_meu(cut)
    half = tmp_path / "sl_half.csv"
    raw = (shared_data / SLVSL).read_text(encoding="utf-8")
    half.write_text(raw[: len(raw) // 3].rsplit(",", 3)[0], encoding="utf-8")
    with pytest.raises(InputError, match=r"sl_half\.csv: "):
        load_sensitive_lists(half)


def test_run_controls_names_the_missing_file_and_writes_nothing(tmp_path: Path, shared_data: Path) -> None:
    processed = tmp_path / "processed"
    processed.mkdir()
    entries, _ = parse_ccl(shared_data / "ccl" / "ccl_supp1_ecfr_2026-06.xml")
    entries.to_parquet(processed / "ccl_entries.parquet")
    raw = tmp_path / "raw"
    (raw / "ear").mkdir(parents=True)
    shutil.copy(shared_data / CHART, raw / CHART)
    shutil.copy(shared_data / MEU, raw / MEU)
    with pytest.raises(
        SourceMissingError, match=r"wassenaar_sl_vsl_part774_supp6_supp7_\*\.csv: Supps\. No\. 6/7"
    ):
        run_controls(processed, raw)
    assert not (processed / "eccn_controls.parquet").exists()
    shutil.copy(shared_data / SLVSL, raw / SLVSL)
    assert set(ear_files(raw)) == {"chart", "meu", "sl_vsl"}
    df, path = run_controls(processed, raw)
    assert path.exists() and (processed / "eccn_lists.parquet").exists()
    back = pd.read_parquet(path)
    assert len(back) == len(df) > 1500
    for col in ("eccn", "reason", "column", "scope_text", "destinations", "n_destinations", "legal_basis",
                "regime", "kind", "route"):  # fmt: skip
        assert col in back.columns
