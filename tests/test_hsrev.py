"""HS revision conversion on a hand-written concordance and on the real UN table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cclreview.errors import InputError, SourceMissingError
from cclreview.trade.hsrev import Concordance, normalise_revision


@pytest.fixture()
def conc(fixtures: Path) -> Concordance:
    # Three sources make a residual in the tiny table (the real default is 20).
    return Concordance.from_csv(fixtures / "availability" / "concordance.csv", residual_min_sources=3)


def _convert(conc: Concordance, rows: dict[str, float], **kw: object) -> tuple[dict[str, float], object]:
    df = pd.DataFrame({"hs6": list(rows), "value_usd": list(rows.values())})
    out, rep = conc.convert(df, kw.pop("from_rev", "HS2017"), "HS2022", **kw)  # type: ignore[arg-type]
    return out.groupby("hs6")["value_usd"].sum().to_dict(), rep


def test_revision_names() -> None:
    assert normalise_revision("hs17") == "HS2017"
    assert normalise_revision("H92") == "HS1992"
    assert normalise_revision("2022") == "HS2022"
    with pytest.raises(InputError, match="unknown HS revision"):
        normalise_revision("HS2019")


def test_unchanged_rename_merge(conc: Concordance) -> None:
    got, rep = _convert(conc, {"111111": 10.0, "222222": 20.0, "333331": 1.0, "333332": 2.0})
    assert got == {"111111": 10.0, "222200": 20.0, "333330": 3.0}
    assert rep.n_unchanged == 1 and rep.n_renamed == 3


def test_residual_carve_out_does_not_spread_trade(conc: Concordance) -> None:
    # 111111 is listed as a source of the residual 999901 but keeps all its trade.
    got, _ = _convert(conc, {"111111": 10.0})
    assert got == {"111111": 10.0}
    # A code whose only targets are the residual does move there (nowhere else to go).
    got, _ = _convert(conc, {"666666": 7.0})
    assert got == {"999901": 7.0}


def test_split_keeps_code_or_first_or_weights(conc: Concordance) -> None:
    got, rep = _convert(conc, {"444444": 8.0, "555551": 4.0})
    assert got == {"444444": 8.0, "555552": 4.0}
    assert rep.n_split == 2
    got, rep = _convert(conc, {"444444": 8.0}, weights={"444441": 3.0, "444444": 1.0})
    assert got == pytest.approx({"444441": 6.0, "444444": 2.0})
    assert rep.n_split_weighted == 1


def test_chain_and_unconverted(conc: Concordance) -> None:
    got, rep = _convert(conc, {"121212": 5.0, "000000": 9.0, "111111": 1.0}, from_rev="HS2012")
    assert got == {"111111": 6.0}
    assert rep.n_unconverted_codes == 1 and rep.unconverted_value == 9.0
    assert rep.unconverted["code"].tolist() == ["000000"]


def test_heading_map_statuses(conc: Concordance) -> None:
    hm = conc.heading_map("HS2017")
    status = hm.drop_duplicates("hs4_from").set_index("hs4_from")["status"].to_dict()
    assert status["1111"] == "unchanged"
    assert status["2222"] == "unchanged"  # the subheading was renamed inside its heading
    assert status["6666"] == "renamed"
    assert status["8888"] == "renamed"
    assert status["7777"] == "split"
    split = hm[hm["hs4_from"] == "7777"].set_index("hs4_to")
    assert split.loc["7777", "share"] == 0.5 and split.loc["7878", "share"] == 0.5
    assert bool(split.loc["7777", "is_main"]) and not bool(split.loc["7878", "is_main"])


def test_hs6_to_heading(conc: Concordance) -> None:
    got = conc.hs6_to_heading(pd.Series(["787802", "999901", "111111", "123456"]), "HS2017").set_index("hs6")
    assert got.loc["787802", "hs4_table"] == "7777" and got.loc["787802", "heading_status"] == "split"
    assert got.loc["999901", "hs4_table"] == "6666"
    assert got.loc["111111", "hs4_table"] == "1111"
    assert got.loc["123456", "heading_status"] == "not in concordance"


def test_missing_file_and_columns(tmp_path: Path) -> None:
    with pytest.raises(SourceMissingError, match="not found"):
        Concordance.from_csv(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("after,before\n1,2\n")
    with pytest.raises(InputError, match="missing columns"):
        Concordance.from_csv(bad)


def test_real_concordance_magnets_stay(shared_data: Path) -> None:
    conc = Concordance.from_csv(shared_data / "hs" / "hs_concordances_comtrade.csv")
    raw = pd.read_csv(shared_data / "hs" / "hs_concordances_comtrade.csv", dtype=str)
    step = raw[raw["adjustment"] == "2022 to 2017"]
    # The raw table does list 850511 as a source of the e-waste residual 8549xx ...
    assert step.loc[step["code.before"] == "850511", "code.after"].str.startswith("8549").any()
    # ... but magnet trade must stay on 850511.
    out, rep = conc.convert(pd.DataFrame({"hs6": ["850511"], "value_usd": [100.0]}), "HS2017")
    assert out["hs6"].tolist() == ["850511"] and out["value_usd"].tolist() == [100.0]
    assert rep.n_residual_links_dropped > 1000
    # Headings of the 2007 table: chips unchanged up to HS2022.
    hm = conc.heading_map("HS2007").drop_duplicates("hs4_from").set_index("hs4_from")["status"]
    assert hm["8542"] == "unchanged" and hm["8456"] == "unchanged"
