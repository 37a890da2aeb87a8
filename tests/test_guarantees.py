"""Guarantees a one-line change could break without any other test noticing.

Each test here kills one mutant of a mutation probe (issue 13), and is written against
public behaviour so that it holds whatever the modules' insides become:

* the HHI point value of a truncated table is the cautious (most concentrated) bound;
* editing the country table reruns the trade ingest (no stale cache);
* outputs get the usual permissions (not the 0600 of a temp file);
* a server that ignores HTTP Range does not corrupt a resumed download;
* links inherited by D/E entries weigh less in the evidence strength.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fixtures.contract_fill import fill

import cclreview
from cclreview import contracts
from cclreview.fetch import download
from cclreview.indicators import compute_availability
from cclreview.io import write_csv, write_parquet, write_text
from cclreview.score.engine import score_tables
from cclreview.score.weights import load_weights
from cclreview.trade.hs4 import read_hs4_top_n

ROOT = Path(__file__).resolve().parents[1]
FIX = Path(__file__).resolve().parent / "fixtures"


# --- HHI point value -------------------------------------------------------------------


def test_hhi_point_value_is_the_cautious_bound() -> None:
    """Truncated top-N tables: the point HHI is the upper (concentrated) bound."""
    fx = FIX / "availability"
    ex = read_hs4_top_n(fx / "topn_exporter_ranks.csv", fx / "topn_products.csv").exports
    av = compute_availability(ex, min_share=0.01, min_value_usd=40).availability.set_index("hs_code")
    bounded = av[av["is_bounded"]]
    assert len(bounded) and (bounded["hhi_non_us_lo"] < bounded["hhi_non_us_hi"]).all()
    assert (bounded["hhi_non_us"] == bounded["hhi_non_us_hi"]).all()
    # Chips: listed TWN 500 and CHN 250 of NU = 900; the 150 left piled in blocks of vN = 100.
    assert av.loc["8542", "hhi_non_us"] == pytest.approx((500**2 + 250**2 + 100**2 + 50**2) / 900**2)
    # ... and so is the supplier count: the fewest suppliers.
    assert (bounded["n_non_us_suppliers"] == bounded["n_non_us_suppliers_lo"]).all()


# --- trade cache and the country table -------------------------------------------------


def _ingest(package_root: Path, trade: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    cmap = "year=year,exporter=exporter,hs6=hs6,value_usd=value_usd"
    subprocess.run(
        [sys.executable, "-m", "cclreview", "-q", "ingest-trade", str(trade), "--column-map", cmap,
         "--max-rejected", "1", "--out", str(out)],
        check=True, env=env, cwd=package_root, capture_output=True, timeout=300,
    )  # fmt: skip


def test_editing_the_country_table_reruns_the_trade_ingest(tmp_path: Path) -> None:
    """An analyst adds an alias to countries.csv: the next ingest must use it."""
    copy = tmp_path / "pkg"
    shutil.copytree(
        Path(cclreview.__file__).parent, copy / "cclreview", ignore=shutil.ignore_patterns("__pycache__")
    )
    trade = tmp_path / "trade.csv"
    pd.DataFrame(
        {"year": [2022, 2022], "exporter": ["Germany", "Freedonia"], "hs6": ["848620", "848620"],
         "value_usd": [100.0, 50.0]}
    ).to_csv(trade, index=False)  # fmt: skip
    out = tmp_path / "out"
    _ingest(copy, trade, out)
    assert pd.read_parquet(out / contracts.EXPORTS)["value_usd"].sum() == 100.0
    assert "Freedonia" in (out / "unmatched_countries.csv").read_text(encoding="utf-8")

    countries = copy / "cclreview" / "reference" / "countries.csv"
    table = pd.read_csv(countries, dtype=str, keep_default_na=False)
    deu = table["iso3"] == "DEU"
    table.loc[deu, "aliases"] = table.loc[deu, "aliases"] + "|Freedonia"
    table.to_csv(countries, index=False)
    _ingest(copy, trade, out)  # same trade file, same folder: a stale cache would answer
    exports = pd.read_parquet(out / contracts.EXPORTS)
    assert exports.loc[exports["exporter_iso3"] == "DEU", "value_usd"].sum() == 150.0
    assert "Freedonia" not in (out / "unmatched_countries.csv").read_text(encoding="utf-8")


# --- output permissions ----------------------------------------------------------------


def test_outputs_get_the_usual_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        paths = [
            write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet"),
            write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv"),
            write_text("x", tmp_path / "t.txt"),
        ]
    finally:
        os.umask(old)
    for path in paths:
        assert path.stat().st_mode & 0o777 == 0o644, path.name  # readable by the team, not 0600


# --- resumed download against a server that ignores Range ------------------------------

BODY = bytes(range(256)) * 64


class _NoRange(http.server.BaseHTTPRequestHandler):
    """Always answers 200 with the whole body, whatever Range asks for."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def no_range_server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoRange)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/file.bin"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_resume_against_a_server_that_ignores_range(tmp_path: Path, no_range_server: str) -> None:
    target = tmp_path / "file.bin"
    (tmp_path / "file.bin.part").write_bytes(BODY[:1000])
    download(no_range_server, target)
    assert target.read_bytes() == BODY  # not the partial bytes followed by the whole body


# --- inherited links -------------------------------------------------------------------


def test_inherited_links_weigh_less() -> None:
    """Two software entries alike but for how their one link was made."""
    weights = load_weights(ROOT / "config" / "weights.toml")
    factor = weights.evidence.inherited_factor
    assert 0 < factor < 1
    entries = fill(
        "ccl_entries",
        pd.DataFrame(
            {
                "eccn": ["2D001", "2D002"],
                "heading": ["software a", "software b"],
                "reasons": [["AT"], ["AT"]],
                "chart_columns": [["AT1"], ["AT1"]],
            }
        ),
    )
    links = fill(
        "eccn_hs_links",
        pd.DataFrame(
            {
                "eccn": ["2D001", "2D002"],
                "hs6": ["848620", "848620"],
                "source": ["inherited", "curated"],
                "confidence": [0.9, 0.9],
                "rank": [1, 1],
                "rationale": ["x", "x"],
            }
        ),
    )
    availability = fill(
        "availability_hs",
        pd.DataFrame(
            {
                "hs_code": ["848620"],
                "hs6": ["848620"],
                "year": [2024],
                "source": ["baci:V202601"],
                "world_exports_usd": [1e9],
                "us_exports_usd": [1e8],
                "non_us_exports_usd": [9e8],
                "non_us_share": [0.9],
                "n_non_us_suppliers": [12],
                "hhi_non_us": [0.15],
                "china_share": [0.2],
                "share_outside_regime": [0.3],
                "top_suppliers_list": [["DEU", "JPN"]],
            }
        ),
    )
    scores = score_tables(entries, links, availability, weights).set_index("eccn")
    inherited, curated = scores.loc["2D001", "evidence_strength"], scores.loc["2D002", "evidence_strength"]
    assert curated > 0
    assert inherited == pytest.approx(curated * factor)
