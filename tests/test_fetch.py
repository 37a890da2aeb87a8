"""Fetching sources: loopback HTTP server (never the internet), resume, checksum, mirror."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from cclreview.cli import cli
from cclreview.config import project_paths
from cclreview.errors import FetchError, SourceMissingError
from cclreview.fetch import download, fetch_all, fetch_baci, fetch_ccl
from cclreview.io import sha256_file
from cclreview.manifest import load_manifest
from cclreview.sources import SourcesConfig, load_sources

XML = (Path(__file__).parent / "fixtures" / "fetch" / "part774_small.xml").read_bytes()
ROOT = Path(__file__).resolve().parents[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the eCFR titles endpoint, a Part 774 XML and a zip, honouring Range."""

    ranges: ClassVar[list[str]] = []
    files: ClassVar[dict[str, bytes]] = {}
    etags: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        body = self.files.get(path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        rng = self.headers.get("Range")
        etag = self.etags.get(path)
        if rng and etag and self.headers.get("If-Range") not in (None, etag):
            rng = None  # If-Range does not match: the whole (changed) file, as RFC 9110 says
        if rng:
            type(self).ranges.append(rng)
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            chunk = body[start:]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            chunk = body
            self.send_response(200)
        self.send_header("Content-Length", str(len(chunk)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(chunk)

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture(autouse=True)
def _no_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI sets CCLREVIEW_MIRROR; these tests choose their source explicitly."""
    monkeypatch.delenv("CCLREVIEW_MIRROR", raising=False)


@pytest.fixture()
def server() -> Iterator[str]:
    _Handler.ranges = []
    _Handler.etags = {}
    _Handler.files = {
        "/api/versioner/v1/titles.json": json.dumps(
            {
                "titles": [
                    {"number": 14, "latest_issue_date": "2026-01-02"},
                    {"number": 15, "latest_issue_date": "2026-06-24"},
                ]
            }
        ).encode(),
        "/api/versioner/v1/full/2026-06-24/title-15.xml": XML,
        "/baci/BACI_HS22_V202601.zip": b"PK-not-really-a-zip" * 1000,
    }
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _closed_port_url() -> str:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more: connection refused
    return f"http://127.0.0.1:{port}"


def test_fetch_ccl_latest_from_loopback(tmp_path: Path, server: str) -> None:
    paths = project_paths(tmp_path)
    result = fetch_ccl(paths, base_url=server)
    assert result.action == "downloaded"
    target = tmp_path / "data/raw/ccl/ccl_supp1_ecfr_2026-06-24.xml"
    assert target.read_bytes() == XML
    [entry] = load_manifest(paths.manifest)["files"]
    assert entry["path"] == "ccl/ccl_supp1_ecfr_2026-06-24.xml"
    assert entry["url"] == f"{server}/api/versioner/v1/full/2026-06-24/title-15.xml?part=774"
    assert entry["vintage"] == "2026-06-24"
    assert entry["bytes"] == len(XML)
    assert entry["sha256"] == sha256_file(target)
    assert entry["retrieved"].endswith("+00:00")
    assert not list(target.parent.glob("*.part")), "no partial file left behind"


XML_PATH = "/api/versioner/v1/full/2026-06-24/title-15.xml"


def _interrupted(tmp_path: Path, url: str, data: bytes, total: int | None, etag: str | None = None) -> Path:
    """What an interrupted download leaves: the .part and its .part.json."""
    part = tmp_path / "out.xml.part"
    part.write_bytes(data)
    meta = {"url": url, "etag": etag, "last_modified": None, "total": total}
    (tmp_path / "out.xml.part.json").write_text(json.dumps(meta))
    return part


def test_download_resumes_a_partial_file(tmp_path: Path, server: str) -> None:
    target = tmp_path / "out.xml"
    url = f"{server}{XML_PATH}"
    part = _interrupted(tmp_path, url, XML[:100], len(XML))
    download(url, target)
    assert target.read_bytes() == XML
    assert _Handler.ranges == ["bytes=100-"]
    assert not part.exists() and not (tmp_path / "out.xml.part.json").exists()


def test_download_records_what_it_needs_to_resume(tmp_path: Path, server: str) -> None:
    """An interrupted download leaves the validators a resume checks."""
    _Handler.etags[XML_PATH] = '"v1"'
    url = f"{server}{XML_PATH}"
    target = tmp_path / "out.xml"
    import cclreview.fetch.http as fetch_mod

    real_read = fetch_mod.CHUNK
    try:
        fetch_mod.CHUNK = 64
        calls = {"n": 0}
        orig_open = fetch_mod._open

        def cut(*a: object, **k: object) -> object:
            resp = orig_open(*a, **k)
            read = resp.read

            def read_then_fail(n: int) -> bytes:
                calls["n"] += 1
                if calls["n"] > 2:
                    raise OSError("connection reset")
                return read(n)

            resp.read = read_then_fail
            return resp

        fetch_mod._open = cut
        with pytest.raises(FetchError, match="interrupted"):
            download(url, target)
    finally:
        fetch_mod.CHUNK = real_read
        fetch_mod._open = orig_open
    meta = json.loads((tmp_path / "out.xml.part.json").read_text())
    assert meta == {"url": url, "etag": '"v1"', "last_modified": None, "total": len(XML)}
    download(url, target)
    assert target.read_bytes() == XML and _Handler.ranges == ["bytes=128-"]


@pytest.mark.parametrize(
    ("case", "data", "total", "etag"),
    [
        ("stale .part without its record", XML[:100], "none", None),
        ("other version (total differs)", b"X" * 100, len(XML) + 7, None),
        ("server file changed (ETag)", b"X" * 100, len(XML), '"old"'),
        ("larger than the server's file (416)", XML + b"trailing junk", len(XML) + 13, None),
    ],
)
def test_download_restarts_a_partial_file_it_cannot_trust(
    tmp_path: Path, server: str, case: str, data: bytes, total: object, etag: str | None
) -> None:
    _Handler.etags[XML_PATH] = '"new"'
    url = f"{server}{XML_PATH}"
    target = tmp_path / "out.xml"
    if total == "none":
        (tmp_path / "out.xml.part").write_bytes(data)
    else:
        _interrupted(tmp_path, url, data, int(total), etag)  # type: ignore[call-overload]
    download(url, target)
    assert target.read_bytes() == XML, case
    assert not (tmp_path / "out.xml.part").exists()


def test_download_pinned_sha_is_checked_after_a_resume(tmp_path: Path, server: str) -> None:
    url = f"{server}{XML_PATH}"
    target = tmp_path / "out.xml"
    # Right size and total, wrong bytes (a corrupted part): the pin catches it; one fresh retry.
    _interrupted(tmp_path, url, b"Z" * 100, len(XML))
    download(url, target, expected_sha256=sha256_file_bytes(XML))
    assert target.read_bytes() == XML


def sha256_file_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_download_checksum_mismatch_leaves_nothing(tmp_path: Path, server: str) -> None:
    target = tmp_path / "x.zip"
    with pytest.raises(FetchError, match="checksum mismatch"):
        download(f"{server}/baci/BACI_HS22_V202601.zip", target, expected_sha256="0" * 64)
    assert not target.exists()
    assert not (tmp_path / "x.zip.part").exists()


def test_download_http_404_is_a_fetch_error(tmp_path: Path, server: str) -> None:
    with pytest.raises(FetchError, match=r"HTTP 404"):
        download(f"{server}/nothing.csv", tmp_path / "n.csv")


def test_fetch_baci_from_loopback_records_manifest(tmp_path: Path, server: str) -> None:
    paths = project_paths(tmp_path)
    result = fetch_baci(paths, base_url=f"{server}/baci")
    assert result.action == "downloaded"
    entry = load_manifest(paths.manifest)["files"][0]
    assert entry["path"] == "trade/BACI_HS22_V202601.zip"
    assert entry["vintage"] == "V202601"
    assert entry["sha256"] == sha256_file(tmp_path / "data/raw/trade/BACI_HS22_V202601.zip")


def test_no_network_no_mirror_says_where_to_put_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCLREVIEW_ECFR_URL", _closed_port_url())
    monkeypatch.setenv("CCLREVIEW_HOME", str(tmp_path))
    monkeypatch.delenv("CCLREVIEW_MIRROR", raising=False)
    result = CliRunner().invoke(cli, ["fetch", "ccl", "--date", "2026-06-24"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: cannot download ")
    assert "no connection" in lines[0]
    assert (
        f"put the eCFR XML of 15 CFR 774 Supp. 1 at {tmp_path}/data/raw/ccl/ccl_supp1_ecfr_<YYYY-MM-DD>.xml"
        in lines[0]
    )
    assert "or set CCLREVIEW_MIRROR" in lines[0]


def test_mirror_copy_and_rerun_keeps(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "ccl").mkdir(parents=True)
    (mirror / "ccl" / "ccl_supp1_ecfr_2026-06.xml").write_bytes(XML)
    (mirror / "trade").mkdir()
    (mirror / "trade" / "t.csv").write_text("year,exporter,hs6,value_usd\n2024,DEU,850511,10\n")
    cfg = SourcesConfig.model_validate(
        {
            "baci": {"enabled": False},
            "files": [{"name": "t", "kind": "trade", "target": "trade/t.csv", "mirror": "trade/t.csv"}],
        }
    )
    paths = project_paths(tmp_path / "proj")
    first = fetch_all(paths, cfg, mirror=mirror)
    assert [r.action for r in first] == ["copied", "copied"]
    manifest = load_manifest(paths.manifest)
    assert {f["path"] for f in manifest["files"]} == {"ccl/ccl_supp1_ecfr_2026-06.xml", "trade/t.csv"}
    assert manifest["files"][0]["vintage"] == "2026-06"
    second = fetch_all(paths, cfg, mirror=mirror)
    assert [r.action for r in second] == ["kept", "kept"]


def test_required_file_missing_from_mirror_is_one_line(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "ccl").mkdir(parents=True)
    (mirror / "ccl" / "c.xml").write_bytes(XML)
    cfg = SourcesConfig.model_validate(
        {
            "files": [
                {"name": "hs2022", "kind": "hs", "target": "hs/h.csv", "mirror": "hs/h.csv", "required": True}
            ]
        }
    )
    with pytest.raises(SourceMissingError) as info:
        fetch_all(project_paths(tmp_path / "p"), cfg, mirror=mirror)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("source 'hs2022' is missing (mirror ")
    assert f"put h.csv at {tmp_path}/p/data/raw/hs/h.csv" in msg


def test_no_trade_data_at_all_is_an_error(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "ccl").mkdir(parents=True)
    (mirror / "ccl" / "c.xml").write_bytes(XML)
    with pytest.raises(SourceMissingError, match=r"no trade data: put BACI_HS22_V202601.zip"):
        fetch_all(project_paths(tmp_path / "p"), SourcesConfig(), mirror=mirror)


def test_shipped_sources_file_is_valid() -> None:
    cfg = load_sources(ROOT / "config" / "sources.toml")
    names = [f.name for f in cfg.files]
    assert len(names) == len(set(names))
    assert {"hs2022", "otstats_hs4_2017", "oec_baci_hs4_2023_ranks", "cn_dualuse_catalogue_pairs"} <= set(
        names
    )
    assert [f.name for f in cfg.files if f.required] == ["hs2022"]  # EAR lists: checked by `controls`


def test_sources_file_misspelt_key(tmp_path: Path) -> None:
    from cclreview.errors import ConfigError

    bad = tmp_path / "s.toml"
    bad.write_text('[baci]\nrelase = "V202601"\n')
    with pytest.raises(ConfigError) as info:
        load_sources(bad)
    assert str(info.value) == f"{bad}: baci.relase: Extra inputs are not permitted (got 'V202601')"


def test_shipped_sources_resolve_against_real_mirror(shared_data: Path) -> None:
    cfg = load_sources(ROOT / "config" / "sources.toml")
    missing = [f.mirror for f in cfg.files if not (shared_data / f.mirror).exists()]
    assert missing == []


def test_every_cli_module_command_is_mapped() -> None:
    """The lazy command table names every command each CLI module defines, and only those."""
    import importlib

    from cclreview.cli import COMMAND_MODULES

    defined: dict[str, str] = {}
    for module_name in sorted(set(COMMAND_MODULES.values())):
        module = importlib.import_module(f"cclreview.cli.{module_name}")
        for command in module.commands:
            defined[command.name] = module_name
    assert defined == COMMAND_MODULES
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMAND_MODULES:
        assert f"  {name} " in result.output


# --- mirror integrity: changed mirror files, local edits, pins ------------------------


def _mirror_with_hs(tmp_path: Path, text: str) -> Path:
    mirror = tmp_path / "mirror"
    (mirror / "hs").mkdir(parents=True, exist_ok=True)
    (mirror / "hs" / "hs.csv").write_text(text)
    return mirror


def _spec(pin: str = "") -> object:
    from cclreview.sources import FileSource

    return FileSource(name="hs", kind="hs", target="hs/hs.csv", mirror="hs/hs.csv", sha256=pin)


def test_changed_mirror_file_is_reported_not_copied_silently(tmp_path: Path) -> None:
    from cclreview.fetch import fetch_file

    paths = project_paths(tmp_path / "p")
    mirror = _mirror_with_hs(tmp_path, "code,desc\n01,old\n")
    assert fetch_file(paths, _spec(), mirror).action == "copied"
    (mirror / "hs" / "hs.csv").write_text("code,desc\n01,new\n")
    r = fetch_file(paths, _spec(), mirror)
    assert r.action == "differs" and "mirror's hs.csv changed" in r.detail and "--force" in r.detail
    assert (paths.raw / "hs/hs.csv").read_text().endswith("old\n")
    r = fetch_file(paths, _spec(), mirror, force=True)
    assert r.action == "copied" and (paths.raw / "hs/hs.csv").read_text().endswith("new\n")
    [entry] = load_manifest(paths.manifest)["files"]
    assert entry["sha256"] == sha256_file(paths.raw / "hs/hs.csv")
    assert entry["source"] == "mirror:hs/hs.csv", "no absolute mirror path recorded"


def test_local_edit_in_data_raw_is_kept_and_reported(tmp_path: Path) -> None:
    from cclreview.fetch import fetch_file

    paths = project_paths(tmp_path / "p")
    mirror = _mirror_with_hs(tmp_path, "code,desc\n01,mirror\n")
    fetch_file(paths, _spec(), mirror)
    (paths.raw / "hs/hs.csv").write_text("code,desc\n01,my fix\n")
    r = fetch_file(paths, _spec(), mirror)
    assert r.action == "differs" and "edited or placed by hand" in r.detail
    assert (paths.raw / "hs/hs.csv").read_text().endswith("my fix\n")
    assert fetch_file(paths, _spec(), mirror, force=True).action == "copied"
    assert (paths.raw / "hs/hs.csv").read_text().endswith("mirror\n")


def test_pinned_sha256_refuses_a_changed_mirror_file(tmp_path: Path) -> None:
    from cclreview.fetch import fetch_file

    paths = project_paths(tmp_path / "p")
    good = "code,desc\n01,pinned\n"
    mirror = _mirror_with_hs(tmp_path, good)
    pin = sha256_file_bytes(good.encode())
    assert fetch_file(paths, _spec(pin), mirror).action == "copied"
    (mirror / "hs" / "hs.csv").write_text("code,desc\n01,tampered\n")
    with pytest.raises(FetchError, match=r"not the .* pinned in config/sources\.toml"):
        fetch_file(paths, _spec(pin), mirror)
    assert (paths.raw / "hs/hs.csv").read_text() == good
    # A new pin that the mirror matches takes the new file without --force.
    new_pin = sha256_file(mirror / "hs" / "hs.csv")
    assert fetch_file(paths, _spec(new_pin), mirror).action == "copied"


def test_fetch_all_cli_prints_differs_and_accepts_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "p"
    (project / "config").mkdir(parents=True)
    mirror = _mirror_with_hs(tmp_path, "code,desc\n01,a\n")
    (mirror / "ccl").mkdir()
    (mirror / "ccl" / "ccl_supp1_ecfr_2026-01-15.xml").write_bytes(XML)
    (mirror / "trade").mkdir()
    (mirror / "trade" / "t.csv").write_text("x\n")
    (project / "config" / "sources.toml").write_text(
        '[baci]\nenabled = false\n[[files]]\nname = "hs"\nkind = "hs"\ntarget = "hs/hs.csv"\nmirror = "hs/hs.csv"\n'
        '[[files]]\nname = "t"\nkind = "trade"\ntarget = "trade/t.csv"\nmirror = "trade/t.csv"\n'
    )
    monkeypatch.setenv("CCLREVIEW_HOME", str(project))
    runner = CliRunner()
    assert runner.invoke(cli, ["fetch", "all", "--mirror", str(mirror)]).exit_code == 0
    (mirror / "hs" / "hs.csv").write_text("code,desc\n01,b\n")
    res = runner.invoke(cli, ["fetch", "all", "--mirror", str(mirror)])
    assert res.exit_code == 0 and "differs" in res.output and "--force" in res.output
    res = runner.invoke(cli, ["fetch", "all", "--mirror", str(mirror), "--force"])
    assert res.exit_code == 0 and "differs" not in res.output


# --- EAR parts (Country Chart, MEU list) from the eCFR versioner API ------------------------

CHART_XML = (Path(__file__).parent / "fixtures" / "ear" / "part738_chart_small.xml").read_bytes()


def test_fetch_ear_parts_from_loopback_and_read_the_chart(tmp_path: Path, server: str) -> None:
    from cclreview.controls import ear_files, load_country_chart
    from cclreview.fetch import fetch_ear

    _Handler.files["/api/versioner/v1/full/2026-07-23/title-15.xml"] = CHART_XML
    paths = project_paths(tmp_path)
    results = fetch_ear(paths, date="2026-07-23", base_url=server)
    assert [r.action for r in results] == ["downloaded", "downloaded"]
    target = tmp_path / "data/raw/ear/ecfr_part738_2026-07-23.xml"
    assert target.read_bytes() == CHART_XML
    urls = {e["url"] for e in load_manifest(paths.manifest)["files"]}
    assert f"{server}/api/versioner/v1/full/2026-07-23/title-15.xml?part=738" in urls
    assert f"{server}/api/versioner/v1/full/2026-07-23/title-15.xml?part=744" in urls
    # Without a chart JSON the controls stage reads the Part 738 XML.
    (paths.raw / "ear" / "meu_supp2_part744_items_x.csv").write_text("x\n", encoding="utf-8")
    (paths.raw / "ear" / "wassenaar_sl_vsl_part774_supp6_supp7_x.csv").write_text("x\n", encoding="utf-8")
    assert ear_files(paths.raw)["chart"] == target
    chart = load_country_chart(target, min_countries=3)
    assert chart.columns["NS2"] == {"CHN", "IRQ"} and chart.columns["FC1"] == {"CAN"}
    assert chart.embargoed == {"CUB"} and chart.footnotes["1"] == {"IRQ"}
    assert "CHN" not in chart.columns["CC2"] and "IRQ" in chart.columns["CC2"]


def test_fetch_ear_unreachable_names_what_to_put_where(tmp_path: Path) -> None:
    from cclreview.fetch import fetch_ear

    with pytest.raises(SourceMissingError, match=r"put the eCFR XML of 15 CFR Parts 738, 744 in .*ear"):
        fetch_ear(project_paths(tmp_path), date="2026-07-23", base_url=_closed_port_url())
    assert not list((tmp_path / "data" / "raw").rglob("*.xml"))


def test_mirror_copies_the_ear_lists(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "ear").mkdir(parents=True)
    sources = load_sources(ROOT / "config" / "sources.toml")
    ear = [f for f in sources.files if f.kind == "ear"]
    assert {f.name for f in ear} >= {"ear_country_chart", "ear_meu_items", "ear_sl_vsl"}
    for f in ear:
        (mirror / f.mirror).write_text("{}" if f.mirror.endswith(".json") else "a,b\n", encoding="utf-8")
    from cclreview.fetch import fetch_file

    paths = project_paths(tmp_path / "proj")
    for f in ear:
        assert fetch_file(paths, f, mirror).action == "copied"
        assert (paths.raw / f.target).exists()
