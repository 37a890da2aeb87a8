"""Tests of the evidence dossier (cclreview.dossier) on small invented tables.

Two invented processed folders: the base tables of the current stages ("bare"), and
the same plus every table and column later stages add ("full": controls, routes, the
China lens, link specificity, per-link indicators, focus flows). Every page must parse
as HTML5 without a single parse error, escape what the tables hold, reference no
remote URL but the eCFR, and say "not yet available" where a section lacks its input.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import html5lib
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cclreview.cli import cli
from cclreview.dossier import build_dossier, page_name
from cclreview.dossier.data import read_annotations
from cclreview.errors import InputError
from cclreview.report import build_report, read_previous
from cclreview.report.ecfr import ECFR_CCL_URL

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "report"))
from fixtures.contract_fill import fill
from synth import make_processed

SCRIPT_HEADING = '<script>alert("heading")</script> Invented widgets & "gadgets"'
HTML_NOTE = 'Looks fine <img src=x onerror=alert(1)> <b>bold</b> & <a href="https://evil.example">x</a>'
N = 24
XHTML = "{http://www.w3.org/1999/xhtml}"


def _eccns(processed: Path) -> list[str]:
    return sorted(pd.read_parquet(processed / "ccl_entries.parquet")["eccn"].astype(str))


def _bare(root: Path) -> dict[str, Path]:
    paths = make_processed(root, n_eccns=N)
    entries = pd.read_parquet(paths["processed"] / "ccl_entries.parquet")
    entries.loc[3, "heading"] = SCRIPT_HEADING
    entries.to_parquet(paths["processed"] / "ccl_entries.parquet", index=False)
    paths["script_eccn"] = entries.loc[3, "eccn"]
    return paths


def _add_later_stages(processed: Path) -> None:
    """Write the tables and columns of the decision, evidence, China and trade branches."""
    eccns = _eccns(processed)
    scores = pd.read_parquet(processed / "scores.parquet")
    n = len(scores)
    scores["route"] = ["U.S. unilateral rule" if i % 2 else "regime proposal: Wassenaar" for i in range(n)]
    scores["licence_to_china"] = [bool(i % 3) for i in range(n)]
    scores["licence_to_china_reasons"] = ["NS2; invented reason"] * n
    scores["licence_destinations"] = [150 + i for i in range(n)]
    scores["meu_listed"] = [i % 4 == 0 for i in range(n)]
    scores["meu_paragraphs"] = [f"{e}.a" if i % 4 == 0 else "" for i, e in enumerate(scores["eccn"])]
    scores["sensitive_list"] = [f"{e}.b" if i % 5 == 0 else "" for i, e in enumerate(scores["eccn"])]
    scores["very_sensitive_list"] = [""] * n
    scores["lvs"] = "$5000"
    scores["gbs"] = "Yes"
    scores["sta"] = "invented STA text"
    scores.loc[5, "tier"] = "not a foreign-availability case"
    scores["available_inside_china"] = ["yes" if i % 2 else "no" for i in range(n)]
    scores["china_rank"] = [1 + i % 7 for i in range(n)]
    scores["china_effect"] = ["invented effect <b>text</b>"] * n
    scores["china_imports_usd"] = [1.5e8] * n
    scores["us_share_china_imports"] = [0.123] * n
    scores["us_share_world"] = [0.2] * n
    scores["diversion_flags"] = [
        "CHPL Tier 2: 851762; 746 Supp. No. 4: 851762" if i % 3 == 0 else "" for i in range(n)
    ]
    scores.to_parquet(processed / "scores.parquet", index=False)
    controls = pd.DataFrame(
        [
            {"eccn": e, "reason": r, "column": f"{r}{c}", "scope_text": f"{r} applies to entire entry",
             "destinations": ["CHN", "RUS"], "n_destinations": 42 if r == "NS" else 4,
             "legal_basis": "15 CFR 742.4 (invented)" if r == "NS" else "15 CFR 742.8",
             "regime": "wassenaar" if r == "NS" else "none",
             "kind": "foreign-availability case", "route": "regime proposal: Wassenaar" if r == "NS" else "U.S. unilateral rule"}
            for e in eccns for r, c in (("NS", 2), ("AT", 1))
        ]
    )  # fmt: skip
    controls.to_parquet(processed / "eccn_controls.parquet", index=False)
    links = pd.read_parquet(processed / "eccn_hs_links.parquet")
    links["confirmed"] = [i % 2 == 0 for i in range(len(links))]
    links["specificity"] = [0.3 if i % 2 else 1.0 for i in range(len(links))]
    links["specificity_class"] = ["residual" if i % 2 else "dedicated" for i in range(len(links))]
    links.to_parquet(processed / "eccn_hs_links.parquet", index=False)
    ind = links[["eccn", "hs6"]].copy()
    ind["hs_code"] = ind["hs6"]
    ind["hs_level"] = 6
    ind["year"] = 2024.0
    ind["source"] = "synth:v1"
    ind["world_exports_usd"] = 1e9
    ind["link_source"] = "curated"
    ind["confidence"] = 0.9
    ind["specificity"] = 0.6
    ind["confirmed"] = True
    ind["counted"] = True
    ind["used"] = True
    ind["why_not_used"] = ""
    ind["weight"] = 0.54
    ind["weight_share"] = 1.0
    ind["granularity"] = "HS6"
    ind["hs_level"] = 6.0
    ind["hs_version_source"] = "HS2022"
    fill("eccn_hs_indicators", ind).to_parquet(processed / "eccn_hs_indicators.parquet", index=False)
    sens = pd.read_parquet(processed / "sensitivity.parquet")
    sens["p_candidate_weights"] = 0.31
    sens["p_candidate_evidence"] = 0.62
    sens.to_parquet(processed / "sensitivity.parquet", index=False)
    codes = sorted(set(links["hs6"].astype(str)))
    us = pd.DataFrame(
        [
            {"year": y, "exporter_iso3": "USA", "importer_iso3": imp, "hs6": c, "value_usd": 1234567.0}
            for y in (2023, 2024) for imp in ("CHN", "HKG", "DEU") for c in codes
        ]
    )  # fmt: skip
    # The same flows from two files (as the BACI extract ships as Parquet and CSV): never summed.
    us = pd.concat([us.assign(source_file="extract.parquet"), us.assign(source_file="extract.csv")])
    us.to_parquet(processed / "us_exports.parquet", index=False)
    us.assign(exporter_iso3="DEU").to_parquet(processed / "flows_focus.parquet", index=False)


def _annotate(workbook: Path, eccn: str, decision: str, note: str) -> None:
    book = load_workbook(workbook)
    ws = book["Candidates"]
    headers = [c.value for c in ws[1]]
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, headers.index("ECCN") + 1).value == eccn:
            ws.cell(r, headers.index("Reviewer decision") + 1).value = decision
            ws.cell(r, headers.index("Reviewer notes") + 1).value = note
    book.save(workbook)


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, dict[str, Path]]:
    out: dict[str, dict[str, Path]] = {}
    for kind in ("bare", "full"):
        root = tmp_path_factory.mktemp(f"dossier_{kind}")
        paths = _bare(root)
        if kind == "full":
            _add_later_stages(paths["processed"])
        wb = root / "reports" / "decontrol_candidates.xlsx"
        build_report(
            paths["processed"],
            wb,
            weights=paths["weights"],
            manifest=paths["manifest"],
            run_date="2030-02-01",
        )
        _annotate(wb, paths["script_eccn"], "keep", HTML_NOTE)
        build_dossier(paths["processed"], root / "reports" / "dossier", workbook=wb)
        out[kind] = {**paths, "workbook": wb, "site": root / "reports" / "dossier"}
    return out


def _page(site: Path, eccn: str) -> str:
    return (site / page_name(eccn)).read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["bare", "full"])
def test_every_eccn_has_a_page_and_an_index_row(sites, kind):
    s = sites[kind]
    eccns = _eccns(s["processed"])
    pages = sorted(p.name for p in s["site"].glob("*.html") if p.name != "index.html")
    assert pages == sorted(page_name(e) for e in eccns)
    doc = html5lib.parse(_page(s["site"], "index"), namespaceHTMLElements=False)
    rows = doc.findall(".//table[@id='dossier-index']/tbody/tr")
    assert len(rows) == len(eccns) == N
    linked = sorted(a.get("href") for a in doc.findall(".//table[@id='dossier-index']/tbody/tr/td/a"))
    assert linked == pages
    for eccn in eccns:
        text = _page(s["site"], eccn)
        assert f'<span class="eccn">{eccn}</span>' in text


@pytest.mark.parametrize("kind", ["bare", "full"])
def test_pages_are_valid_html5(sites, kind):
    parser = html5lib.HTMLParser(strict=True)
    for page in sorted(sites[kind]["site"].glob("*.html")):
        parser.parse(page.read_text(encoding="utf-8"))  # raises on the first parse error
        assert not parser.errors, (page.name, parser.errors[:3])


def test_heading_and_reviewer_note_are_escaped(sites):
    s = sites["full"]
    eccn = s["script_eccn"]
    text = _page(s["site"], eccn)
    assert "<script>" not in text
    assert (
        "&lt;script&gt;alert(&#34;heading&#34;)&lt;/script&gt; Invented widgets &amp; &#34;gadgets&#34;"
        in text
    )
    assert "<img" not in text and 'href="https://evil.example"' not in text
    assert "&lt;img src=x onerror=alert(1)&gt; &lt;b&gt;bold&lt;/b&gt;" in text
    assert "<b>Decision:</b> keep" in text
    # The parsed page shows the note as the reviewer typed it.
    doc = html5lib.parse(text, namespaceHTMLElements=False)
    note = doc.find(".//p[@class='note']")
    assert note is not None and note.text == HTML_NOTE
    index = _page(s["site"], "index")
    assert index.count("<script>") == 1  # the sort/filter script, and nothing from the data
    assert "&lt;script&gt;" in index
    # The control character of the fixture's bell heading is dropped, the words kept.
    assert "\x07" not in "".join(p.read_text(encoding="utf-8") for p in s["site"].glob("*.html"))


def _remote_references(text: str) -> list[str]:
    doc = html5lib.parse(text)
    refs = []
    for el in doc.iter():
        for attr, value in el.attrib.items():
            name = attr.split("}")[-1] if isinstance(attr, str) else attr[1]
            if name in ("href", "src", "srcset", "action", "data", "poster", "formaction"):
                refs.append(value)
        if el.tag in (f"{XHTML}style",) or "style" in el.attrib:
            css = (el.text or "") + el.attrib.get("style", "")
            refs += re.findall(r"url\(\s*['\"]?([^'\")]+)", css) + re.findall(
                r"@import\s+['\"]?([^'\";]+)", css
            )
    return [r for r in refs if re.match(r"^\s*(https?:)?//", r, re.IGNORECASE)]


@pytest.mark.parametrize("kind", ["bare", "full"])
def test_no_remote_reference_but_the_ecfr(sites, kind):
    for page in sorted(sites[kind]["site"].glob("*.html")):
        text = page.read_text(encoding="utf-8")
        remote = _remote_references(text)
        assert remote, f"{page.name} has no eCFR link"
        assert all(r.startswith(ECFR_CCL_URL) for r in remote), (page.name, remote)
        assert "<link" not in text and "<iframe" not in text and "@font-face" not in text


def test_bare_sections_say_not_yet_available(sites):
    s = sites["bare"]
    eccn = _eccns(s["processed"])[1]
    text = _page(s["site"], eccn)
    for needs in (
        "eccn_controls.parquet",
        "the China-lens columns of scores.parquet",
        "us_exports.parquet",
    ):
        assert f"(needs {needs})" in text, needs


def test_full_sections_fill_in(sites):
    s = sites["full"]
    eccns = _eccns(s["processed"])
    scores = pd.read_parquet(s["processed"] / "scores.parquet").set_index("eccn")
    eccn = eccns[1]
    text = _page(s["site"], eccn)
    assert "Not yet available" not in text
    assert "15 CFR 742.4 (invented)" in text and "U.S. unilateral rule" in text
    assert "<td>dedicated</td>" in text and "<th>Class</th>" in text
    assert "invented effect &lt;b&gt;text&lt;/b&gt;" in text
    assert "12.3%" in text  # U.S. share of China's imports
    links = pd.read_parquet(s["processed"] / "eccn_hs_links.parquet")
    n_codes = links.loc[links["eccn"] == eccn, "hs6"].nunique()
    assert f"${1234567.0 * n_codes / 1e6:.1f}M" in text  # U.S. exports to China of the linked codes
    assert "p candidate weights" in text and "31.0%" in text
    assert "weight_share" in text  # per-link indicator table (columns of eccn_hs_indicators)
    lic = "yes" if scores.at[eccn, "licence_to_china"] else "no"
    assert f"Licence to China: <b>{lic}</b>" in text
    flagged = scores.index[scores["diversion_flags"].str.startswith("CHPL")][0]
    flagged_page = _page(s["site"], flagged)
    assert "CHPL Tier 2: 851762" in flagged_page and "746 Supp. No. 4: 851762" in flagged_page
    nfa = scores.index[scores["tier"] == "not a foreign-availability case"][0]
    assert "Not a foreign-availability case:" in _page(s["site"], nfa)
    index = _page(s["site"], "index")
    assert "<th>Route</th>" in index and 'data-route="U.S. unilateral rule"' in index
    assert 'data-tier="not a foreign-availability case"' in index


def test_page_content_follows_the_tables(sites):
    s = sites["bare"]
    eccns = _eccns(s["processed"])
    scores = pd.read_parquet(s["processed"] / "scores.parquet").set_index("eccn")
    for eccn in eccns[:6]:
        text = _page(s["site"], eccn)
        row = scores.loc[eccn]
        assert f"Rank <b>{int(row['rank'])}</b> of {N}" in text
        assert f"<b>{row['decontrol_score']:.3f}</b><span>decontrol score</span>" in text
        assert f'class="tier tier-{row["tier"].replace(" ", "-")}"' in text
    # The supplier chart shows the largest non-U.S. exporter of the chosen table first.
    links = pd.read_parquet(s["processed"] / "eccn_hs_links.parquet")
    eccn = eccns[0]
    text = _page(s["site"], eccn)
    assert "<svg" in text and "U.S." in text
    assert set(links.loc[links["eccn"] == eccn, "hs6"]) & set(re.findall(r"\b\d{6}\b", text))
    # The last ECCN has no link: the page says so.
    assert "No HS link for this ECCN." in _page(s["site"], eccns[-1])


def test_fast_annotation_reader_matches_carry_over(sites):
    wb = sites["full"]["workbook"]
    fast = read_annotations(wb)
    slow = read_previous(wb).annotations
    assert fast == {
        r["eccn"]: {"decision": r["decision"], "notes": r["notes"]} for r in slow.to_dict("records")
    }
    assert fast[sites["full"]["script_eccn"]] == {"decision": "keep", "notes": HTML_NOTE}


def test_workbook_links_each_eccn_to_its_page(sites):
    s = sites["bare"]
    book = load_workbook(s["workbook"])
    ws = book["Candidates"]
    headers = [c.value for c in ws[1]]
    col_e, col_d = headers.index("ECCN") + 1, headers.index("Dossier") + 1
    assert headers.index("Dossier") < headers.index("Reviewer decision")
    seen = 0
    for r in range(2, ws.max_row + 1):
        eccn = ws.cell(r, col_e).value
        cell = ws.cell(r, col_d)
        assert cell.value == f"dossier/{page_name(eccn)}"
        # A relative file link: Excel (and xlsxwriter) store its path with backslashes.
        assert cell.hyperlink is not None and cell.hyperlink.target.replace("\\", "/") == cell.value
        assert (s["workbook"].parent / cell.value).is_file()
        seen += 1
    assert seen == N
    book.close()


def test_rebuild_is_atomic(sites, tmp_path, monkeypatch):
    s = sites["bare"]
    site = tmp_path / "dossier"
    shutil.copytree(s["site"], site)
    before = {p.name: p.read_bytes() for p in site.iterdir()}
    from cclreview.dossier import context

    def boom(self, rec):
        raise RuntimeError("invented failure half-way")

    monkeypatch.setattr(context.ContextBuilder, "build", boom)
    with pytest.raises(RuntimeError):
        build_dossier(s["processed"], site, workbook=s["workbook"])
    assert {p.name: p.read_bytes() for p in site.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["dossier"]  # no temp folder left behind


def test_missing_workbook_and_optional_tables(tmp_path):
    paths = make_processed(
        tmp_path, n_eccns=6, with_exports=False, with_sensitivity=False, with_evidence=False
    )
    (paths["processed"] / "eccn_hs_links.parquet").unlink()
    (paths["processed"] / "availability_hs.parquet").unlink()
    result = build_dossier(paths["processed"], tmp_path / "site", workbook=tmp_path / "absent.xlsx")
    assert result.n_pages == 6 and result.workbook is None
    text = (tmp_path / "site" / page_name(_eccns(paths["processed"])[0])).read_text(encoding="utf-8")
    assert "No review workbook found" in text
    assert "(needs eccn_hs_links.parquet)" in text and "(needs sensitivity.parquet)" in text
    html5lib.HTMLParser(strict=True).parse(text)


def test_older_stage_outputs_say_not_yet_available(tmp_path):
    """Tables written before the decision and evidence stages: the pages say what is missing."""
    paths = make_processed(tmp_path, n_eccns=6)
    processed = paths["processed"]
    links = pd.read_parquet(processed / "eccn_hs_links.parquet")
    links.drop(columns=["confirmed", "specificity", "specificity_class"]).to_parquet(
        processed / "eccn_hs_links.parquet", index=False
    )
    scores = pd.read_parquet(processed / "scores.parquet")
    decision = ["route", "licence_to_china", "licence_to_china_reasons", "licence_destinations",
                "meu_listed", "meu_paragraphs", "sensitive_list", "very_sensitive_list"]  # fmt: skip
    scores.drop(columns=[c for c in decision if c in scores.columns]).to_parquet(
        processed / "scores.parquet", index=False
    )
    build_dossier(processed, tmp_path / "site")
    text = (tmp_path / "site" / page_name(_eccns(processed)[0])).read_text(encoding="utf-8")
    assert "(needs the evidence-stage link columns)" in text and "<th>Class</th>" not in text
    assert "(needs the decision-model columns of scores.parquet)" in text
    assert "not yet available (meu_listed)" in text
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "Route and licence to China: not yet available" in index
    assert "<th>Route</th>" not in index
    html5lib.HTMLParser(strict=True).parse(text)


def test_required_tables_and_cli(tmp_path):
    paths = make_processed(tmp_path, n_eccns=5)
    runner = CliRunner()
    out = tmp_path / "site"
    result = runner.invoke(
        cli, ["-q", "dossier", "--processed", str(paths["processed"]), "--out", str(out), "--no-overview"]
    )
    assert result.exit_code == 0, result.output
    assert "5 ECCN pages" in result.output and (out / "index.html").is_file()
    (paths["processed"] / "scores.parquet").unlink()
    with pytest.raises(InputError, match=r"scores\.parquet not found"):
        build_dossier(paths["processed"], out)
    result = runner.invoke(cli, ["dossier", "--processed", str(paths["processed"]), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "cclreview score" in result.output
    assert (out / "index.html").is_file()  # the previous site stays
