"""The evidence dossier built from the real mirror: every ECCN of the CCL gets a page.

Runs the whole chain (`cclreview run`, small sensitivity draw) into a temporary project,
then `cclreview dossier`, and reads the pages as a reviewer would meet them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import html5lib
import pandas as pd
import pytest
from click.testing import CliRunner

from cclreview.cli import cli
from cclreview.report.ecfr import ECFR_CCL_URL

ROOT = Path(__file__).resolve().parents[1]
_ATTR = re.compile(r'\b(?:href|src|srcset|action|poster|data)\s*=\s*"([^"]*)"', re.IGNORECASE)


@pytest.fixture(scope="module")
def real_site(tmp_path_factory, shared_data: Path) -> dict[str, Path]:
    project = tmp_path_factory.mktemp("dossier_real") / "project"
    (project / "config").mkdir(parents=True)
    for name in ("weights.toml", "sources.toml"):
        shutil.copy(ROOT / "config" / name, project / "config" / name)
    mp = pytest.MonkeyPatch()
    mp.setenv("CCLREVIEW_HOME", str(project))
    try:
        runner = CliRunner()
        result = runner.invoke(cli, ["-q", "run", "--mirror", str(shared_data), "--draws", "50"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(cli, ["-q", "dossier"])
        assert result.exit_code == 0, result.output
    finally:
        mp.undo()
    return {"processed": project / "data" / "processed", "site": project / "reports" / "dossier"}


@pytest.mark.real
@pytest.mark.slow
def test_real_dossier(real_site):
    site = real_site["site"]
    eccns = sorted(pd.read_parquet(real_site["processed"] / "ccl_entries.parquet")["eccn"].astype(str))
    assert len(eccns) >= 637
    pages = sorted(p.stem for p in site.glob("*.html") if p.name != "index.html")
    assert pages == eccns
    index = (site / "index.html").read_text(encoding="utf-8")
    doc = html5lib.parse(index, namespaceHTMLElements=False)
    assert len(doc.findall(".//table[@id='dossier-index']/tbody/tr")) == len(eccns)

    p2b001 = (site / "2B001.html").read_text(encoding="utf-8")
    assert "Machine tools" in p2b001 and "NS Column 2." in p2b001
    assert "Available in fact" in p2b001 and "significant non-U.S. supplier countries" in p2b001
    assert "<svg" in p2b001 and "JPN" in p2b001  # supplier chart of the machine-tool headings
    p3a090 = (site / "3A090.html").read_text(encoding="utf-8")
    assert 'class="tier tier-guardrail"' in p3a090 and "advanced computing" in p3a090
    p2a290 = (site / "2A290.html").read_text(encoding="utf-8")
    assert "NP" in p2a290 and "Generators" in p2a290

    sample = {"2B001", "3A090", "2A290", *eccns[::25]}
    parser = html5lib.HTMLParser(strict=True)
    for eccn in sorted(sample):
        parser.parse((site / f"{eccn}.html").read_text(encoding="utf-8"))
    parser.parse(index)
    for page in site.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        remote = [u for u in _ATTR.findall(text) if re.match(r"^\s*(https?:)?//", u)]
        assert remote and all(u.startswith(ECFR_CCL_URL) for u in remote), (page.name, remote[:3])
        assert not re.search(r"url\(\s*['\"]?(?!#)", text), page.name  # only url(#id) of the SVG
        assert "@import" not in text and "<link" not in text
