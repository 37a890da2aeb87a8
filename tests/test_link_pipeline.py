"""The link stage end to end: override order, inheritance, outputs and the CLI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cclreview.cli import cli
from cclreview.errors import SourceMissingError, ValidationError
from cclreview.link.hs import load_hs
from cclreview.link.pipeline import OUTPUT_COLUMNS, build_links, run_link


@pytest.fixture()
def mini(fixtures: Path, tmp_path: Path) -> dict[str, Path]:
    d = fixtures / "link"
    entries = pd.read_csv(d / "entries_mini.csv", dtype={"eccn": str}, keep_default_na=False)
    entries["reserved"] = entries["reserved"].astype(str) == "True"
    paragraphs = pd.read_csv(d / "paragraphs_mini.csv", dtype=str, keep_default_na=False)
    paragraphs["depth"] = paragraphs["depth"].astype(int)
    entries.to_parquet(tmp_path / "ccl_entries.parquet")
    paragraphs.to_parquet(tmp_path / "ccl_paragraphs.parquet")
    return {
        "dir": d,
        "entries": tmp_path / "ccl_entries.parquet",
        "paragraphs": tmp_path / "ccl_paragraphs.parquet",
        "hs": d / "hs_mini.csv",
    }


def _build(mini: dict[str, Path], concordances: list[Path]) -> pd.DataFrame:
    entries = pd.read_parquet(mini["entries"])
    paragraphs = pd.read_parquet(mini["paragraphs"])
    return build_links(
        entries,
        paragraphs,
        load_hs(mini["hs"]),
        concordances,
        curated_file=mini["dir"] / "curated_mini.csv",
        top_k=3,
    )


def test_override_order(mini: dict[str, Path]) -> None:
    d = mini["dir"]
    res = _build(mini, [d / "cn_pairs_mini.csv", d / "analyst_override.csv"])
    cand = res.candidates
    assert list(cand.columns) == OUTPUT_COLUMNS and list(res.links.columns) == OUTPUT_COLUMNS
    prim = res.links.groupby("eccn")["source"].agg(set).to_dict()
    # curated (analyst + shipped) > imported > suggested
    assert prim["2B001"] == {"curated:analyst", "curated"}
    assert prim["3B001"] == {"curated"}
    assert prim["2A001"] == {"imported:cn_catalogue"}  # no curated row for 2A001
    assert prim["6A005"] == {"suggested"}  # nothing better
    # The stage output holds primary rows only; the overridden rows live in the candidates.
    assert res.links["primary"].all()
    b = cand[cand["eccn"] == "2B001"]
    assert not b.loc[b["source"].isin(["imported:cn_catalogue", "suggested"]), "primary"].any()
    # curated > imported for the same pair: 2B001 -> 845811 appears once, under curated.
    pair = cand[(cand["eccn"] == "2B001") & (cand["hs6"] == "845811") & (cand["paragraph"] == "")]
    assert pair["source"].tolist() == ["curated"]
    para = cand[(cand["paragraph"] == "2B001.a") & (cand["hs6"] == "845811")]
    assert para["source"].tolist() == ["imported:cn_catalogue"] and not para["primary"].item()
    # imported > suggested for the same pair: listed once, the suggester noted in also_in.
    a = res.links[res.links["eccn"] == "2A001"]
    assert a.iloc[0]["rank"] == 1
    assert "suggested" in a.loc[a["hs6"] == "848210", "also_in"].item()
    # ranks: 1..n within each ECCN, primary rows first
    for frame in (cand, res.links):
        for _, g in frame.groupby("eccn"):
            assert g["rank"].tolist() == list(range(1, len(g) + 1))
            assert g["primary"].iloc[0]
    assert cand["confidence"].between(0, 1).all()
    assert (cand["hs_version"] == "HS2022").all()


def test_conflicting_import_is_flagged_and_rejections_reported(mini: dict[str, Path]) -> None:
    res = _build(mini, [mini["dir"] / "cn_pairs_mini.csv"])
    c = res.candidates[
        (res.candidates["eccn"] == "3C001") & (res.candidates["source"] == "imported:cn_catalogue")
    ]
    assert c["conflict"].all() and c["confidence"].lt(0.35).all()
    reasons = set(res.rejected["reason"])
    assert {"control code is not an ECCN-style number", "control number not in the U.S. CCL"} <= reasons


def test_inheritance_and_unlinked(mini: dict[str, Path]) -> None:
    res = _build(mini, [])
    inh = res.links[res.links["eccn"] == "3D001"]
    assert (inh["source"] == "inherited").all()
    assert "848620" in set(inh["hs6"])  # via curated 3B001
    assert inh.loc[inh["hs6"] == "848620", "confidence"].item() == pytest.approx(0.9 * 0.6)
    un = res.unlinked.set_index("eccn")
    assert un.loc["5D002", "reason"] == "software/technology naming no commodity"
    assert un.loc["6A005", "reason"] == "unconfirmed links"
    assert "901320" in un.loc["6A005", "suggestions"]
    assert "3B001" not in un.index and "9A999" not in un.index  # linked / reserved
    assert res.summary["eccns_by_primary_source"]["curated"] == 3


def test_invalid_curated_hs6_is_an_error(mini: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "analyst.csv"
    bad.write_text(
        "eccn,hs6,confidence,rationale,added\n2A001,999999,high,HS 9999 none,2026-11-01\n", encoding="utf-8"
    )
    with pytest.raises(ValidationError, match="999999"):
        _build(mini, [bad])


def test_run_link_writes_outputs(mini: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_link(
        mini["entries"],
        mini["paragraphs"],
        mini["hs"],
        out,
        [mini["dir"] / "cn_pairs_mini.csv"],
        curated_file=mini["dir"] / "curated_mini.csv",
    )
    links = pd.read_parquet(out / "eccn_hs_links.parquet")
    assert links["hs6"].str.fullmatch(r"\d{6}").all() and links["primary"].all()
    assert {"confirmed", "specificity", "specificity_class"} <= set(links.columns)
    sugg = pd.read_csv(out / "link_suggestions.csv", dtype=str, keep_default_na=False)
    assert set(sugg["eccn"]) <= set(pd.read_csv(out / "unlinked_eccns.csv", dtype=str)["eccn"])
    assert "6A005" in set(sugg["eccn"]) and (sugg["description"] != "").all()
    cand = pd.read_parquet(out / "eccn_hs_link_candidates.parquet")
    assert len(cand) > len(links) and not cand["primary"].all()
    unlinked = pd.read_csv(out / "unlinked_eccns.csv", dtype=str)
    assert list(unlinked.columns) == ["eccn", "heading", "reason", "suggestions"]
    rejected = pd.read_csv(out / "rejected_concordance_rows.csv", dtype=str)
    assert "UF6" in set(rejected["control_code"])
    with pytest.raises(SourceMissingError, match="cclreview ingest-ccl"):
        run_link(tmp_path / "nope.parquet", None, mini["hs"], out)


def test_cli_link(mini: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = [
        "link",
        "--entries",
        str(mini["entries"]),
        "--hs",
        str(mini["hs"]),
        "--out",
        str(out),
        "--concordance",
        str(mini["dir"] / "cn_pairs_mini.csv"),
        "--top-k",
        "3",
    ]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "ECCNs by primary source" in res.output and "unlinked:" in res.output
    assert (out / "eccn_hs_links.parquet").is_file()
    # The shipped table's codes that the mini nomenclature lacks are reported, not linked.
    rej = pd.read_csv(out / "rejected_concordance_rows.csv", dtype=str)
    assert (rej["source_file"] == "eccn_hs_curated.csv").sum() > 300
    links = pd.read_parquet(out / "eccn_hs_links.parquet")
    assert set(links.loc[links["source"] == "curated", "hs6"]) <= set(load_hs(mini["hs"])["hs6"])
    res = CliRunner().invoke(cli, ["link", "--entries", str(tmp_path / "missing.parquet"), "--out", str(out)])
    assert res.exit_code == 1 and res.output.startswith("Error:")
    assert "Example" in CliRunner().invoke(cli, ["link", "--help"]).output
    assert "Example" in CliRunner().invoke(cli, ["eval-links", "--help"]).output


def test_suggestions_are_unconfirmed_and_not_evidence(mini: dict[str, Path]) -> None:
    res = _build(mini, [mini["dir"] / "cn_pairs_mini.csv", mini["dir"] / "analyst_override.csv"])
    cand = res.candidates
    fam = cand["source"].str.split(":").str[0]
    # Text similarity never confirms itself; curated, analyst and imported rows are confirmed.
    assert not cand.loc[cand["source"] == "suggested", "confirmed"].any()
    assert cand.loc[fam == "curated", "confirmed"].all()
    # The China catalogue is not evidence until confirmed (link_sources.csv evidence = no).
    assert not cand.loc[cand["source"] == "imported:cn_catalogue", "confirmed"].any()
    # 6A005 has suggestions only: its primary links are all unconfirmed, and it is listed
    # as "unconfirmed links" with its suggestions offered for confirmation.
    six = res.links[res.links["eccn"] == "6A005"]
    assert len(six) > 0 and not six["confirmed"].any()
    assert res.unlinked.set_index("eccn").loc["6A005", "reason"] == "unconfirmed links"
    offered = res.suggestions[res.suggestions["eccn"] == "6A005"]
    assert offered["suggestion_rank"].tolist() == list(range(1, len(offered) + 1))
    assert offered["confirm_row"].str.startswith("6A005").all()
    # Inherited rows are confirmed exactly when the commodity link they copy is.
    inh = cand[cand["source"] == "inherited"]
    from_unconfirmed = inh["rationale"].str.contains(r"\((?:suggested|imported:cn_catalogue)\)")
    assert (inh["confirmed"] == ~from_unconfirmed).all()
    assert res.summary["eccns_unconfirmed_only"] >= 1


def test_specificity_columns(mini: dict[str, Path]) -> None:
    res = _build(mini, [])
    cand = res.candidates
    assert set(cand["specificity_class"]) <= {"dedicated", "shared", "residual", "heading"}
    assert cand["specificity"].between(0, 1, inclusive="right").all()
    # The curated fixture marks 2B001 -> 845811 dedicated (1.0); the rest come from the
    # table or the HS text.
    row = cand[(cand["eccn"] == "2B001") & (cand["hs6"] == "845811") & (cand["source"] == "curated")]
    assert row["specificity_class"].item() == "dedicated" and row["specificity"].item() == 1.0
    # Inherited rows keep the class of the link they copy (3D001 <- 3B001 848620, shared).
    inh = cand[(cand["eccn"] == "3D001") & (cand["hs6"] == "848620")]
    assert inh["specificity_class"].item() == "shared"
