"""The trade stage's cache: one entry per input file, keyed on its sha256 and the options.

An entry (``out_dir/.cache/<key>/``) holds the file's Parquet parts (see
:mod:`cclreview.trade.parts`), its rejected and unmatched rows and ``meta.json`` (counts,
notes; written last, so its presence marks a complete entry). Entries are built under a
temporary name and renamed when complete. ``outputs.json`` remembers the last run's key
and outputs, so an unchanged run does nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from cclreview.errors import OutputError
from cclreview.io import sha256_file, write_parquet, write_text
from cclreview.trade.parts import KINDS, PartSink, check_part, part_files
from cclreview.trade.registry import Reader
from cclreview.trade.tidy import (
    REJECT_COLUMNS,
    UNMATCHED_COLUMNS,
    ReadContext,
    ReadResult,
    empty_bilateral,
    empty_exports,
)

log = logging.getLogger(__name__)

CACHE_DIR = ".cache"
#: Bump when the combined outputs change shape (invalidates the whole-run shortcut).
INGEST_VERSION = "5"
#: The outputs whose sizes and times say whether the last run's outputs are intact.
OUTPUT_FILES = (
    "exports.parquet",
    "rejected_rows.csv",
    "unmatched_countries.csv",
    "flows_focus.parquet",
    "us_exports.parquet",
    "bilateral_coverage.csv",
)


def cache_key(sha: str, path: Path, reader: Reader, ctx: ReadContext) -> str:
    opts: dict[str, object] = {
        "sha256": sha,
        # The parts carry the file's name (``source_file``): a renamed file is read again.
        "name": path.name,
        "reader": reader.name,
        "version": reader.version,
        "years": sorted(ctx.years) if ctx.years is not None else None,
        "column_map": ctx.column_map,
        "hs_version": ctx.hs_version,
        "countries": countries_sha(),
        "duplicates": ctx.duplicates,
    }
    if reader.bilateral:
        opts["focus"] = sorted(ctx.focus)
    return hashlib.sha256(json.dumps(opts, sort_keys=True).encode()).hexdigest()[:32]


_COUNTRIES_SHA: str | None = None


def countries_sha() -> str:
    # The country table decides which rows are matched: a new alias must refresh the cache.
    global _COUNTRIES_SHA
    if _COUNTRIES_SHA is None:
        from cclreview.trade.countries import COUNTRIES_CSV

        _COUNTRIES_SHA = sha256_file(COUNTRIES_CSV)
    return _COUNTRIES_SHA


def load_cached(folder: Path) -> ReadResult | None:
    """A complete cache entry: counts and reports; the big tables stay in their parts."""
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("layout") != INGEST_VERSION or not all(part_files(folder, k) for k in KINDS):
            return None
        return ReadResult(
            exports=None,  # type: ignore[arg-type]
            rejected=pd.read_parquet(folder / "rejected.parquet"),
            unmatched=pd.read_parquet(folder / "unmatched.parquet"),
            rows_read=int(meta["rows_read"]),
            duplicates_dropped=int(meta["duplicates_dropped"]),
            breakdowns_set_aside=int(meta["breakdowns_set_aside"]),
            notes=list(meta.get("notes", [])),
            bilateral=empty_bilateral() if meta["has_bilateral"] else None,
            bilateral_note=str(meta.get("bilateral_note", "")),
            written={k: int(v) for k, v in meta["written"].items()},
        )
    except (OSError, ValueError, KeyError) as exc:  # a damaged cache entry is just a miss
        log.warning("ignoring damaged cache entry %s (%s)", folder, exc)
        return None


def store_cached(
    folder: Path, res: ReadResult, path: Path, reader: Reader, sink: PartSink, focus: tuple[str, ...]
) -> None:
    """Write a reader's frames to the parts (unless it wrote them itself), the reports and meta."""
    # A reader says a file has partner detail by returning a bilateral frame (empty
    # when it wrote its rows to the sink); world totals only leave it None.
    has_bilateral = res.bilateral is not None
    has_exports = res.exports is not None and len(res.exports) > 0
    if has_exports or (res.bilateral is not None and len(res.bilateral) > 0):
        exports = res.exports if has_exports else empty_exports()
        sink.write_frames(exports, res.bilateral, focus)
    res.written = sink.close()
    # The parts are the outputs (copied, or stacked with other files' parts): each is
    # checked here for the output's columns and types, and row by row against its
    # contract where it is read (the China lens, the dossier). Checking the rows here as
    # well cost a tenth of the ingest's time and the import of pandera.
    for kind in KINDS:
        for part in part_files(folder, kind):
            check_part(part, kind, f"{path.name} -> {part.name}")
    write_parquet(
        res.rejected.reindex(columns=REJECT_COLUMNS).astype(
            {c: "string" for c in ("file", "column", "value", "reason", "raw")}
        ),
        folder / "rejected.parquet",
    )
    write_parquet(
        res.unmatched.reindex(columns=UNMATCHED_COLUMNS).astype(
            {c: "string" for c in ("value", "source_file", "status", "candidates", "role")}
        ),
        folder / "unmatched.parquet",
    )
    meta = {
        "layout": INGEST_VERSION,
        "file": str(path),
        "reader": reader.name,
        "rows_read": res.rows_read,
        "duplicates_dropped": res.duplicates_dropped,
        "breakdowns_set_aside": res.breakdowns_set_aside,
        "notes": res.notes,
        "has_bilateral": has_bilateral,
        "bilateral_note": res.bilateral_note,
        "written": res.written,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    # meta.json last: its presence marks a complete entry.
    write_text(json.dumps(meta, indent=2), folder / "meta.json")
    # The frames are in the parts now; the run reads them from there.
    res.exports = None  # type: ignore[assignment]
    res.bilateral = empty_bilateral() if has_bilateral else None


def output_stats(out_dir: Path) -> dict[str, list[int]] | None:
    stats = {}
    for name in OUTPUT_FILES:
        p = out_dir / name
        if not p.is_file():
            return None
        st = p.stat()
        stats[name] = [st.st_size, st.st_mtime_ns]
    return stats


def outputs_unchanged(out_dir: Path, run_key: str) -> dict | None:
    """The stored summary when the last run had the same key and its outputs are intact."""
    marker = _marker(out_dir)
    try:
        stored = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if stored.get("run_key") != run_key or stored.get("outputs") != output_stats(out_dir):
        return None
    return dict(stored["summary"])


def record_outputs(out_dir: Path, run_key: str, summary: dict) -> None:
    marker = {"run_key": run_key, "outputs": output_stats(out_dir), "summary": summary}
    write_text(json.dumps(marker, indent=2), _marker(out_dir))


def forget_outputs(out_dir: Path) -> None:
    """Drop the last run's record: the outputs about to be written are not a cached run's."""
    _marker(out_dir).unlink(missing_ok=True)


def _marker(out_dir: Path) -> Path:
    return out_dir / CACHE_DIR / "outputs.json"


class HashMemo:
    """sha256 per file, remembered with the file's size and mtime (ns) so an untouched
    400 MB source is not re-hashed on every run (as make and git do with stat data)."""

    def __init__(self, path: Path, trust_stat: bool) -> None:
        self.path = path
        self.trust_stat = trust_stat
        try:
            self.memo: dict[str, list] = json.loads(path.read_text(encoding="utf-8")) if trust_stat else {}
        except (OSError, ValueError):
            self.memo = {}
        self.changed = False

    def sha256(self, file: Path) -> str:
        st = file.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        key = str(file.resolve())
        hit = self.memo.get(key)
        if self.trust_stat and hit and hit[:3] == stamp:
            return str(hit[3])
        digest = sha256_file(file)
        self.memo[key] = [*stamp, digest]
        self.changed = True
        return digest

    def save(self) -> None:
        if self.changed:
            try:
                write_text(json.dumps(self.memo, indent=1), self.path)
            except (OSError, OutputError) as exc:  # a read-only cache only costs speed
                log.debug("cannot save %s: %s", self.path, exc)


def run_key(planned: list[tuple[Path, Reader, str]], max_rejected: float, focus: tuple[str, ...]) -> str:
    """The key of a whole run: same key and untouched outputs mean nothing to redo."""
    payload = [INGEST_VERSION, max_rejected, list(focus), *(k for _, _, k in planned)]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


#: Prefix of the entries of a ``--no-cache`` run (removed when the run ends).
UNSTORED = ".run."


def read_into_cache(
    path: Path,
    reader: Reader,
    key: str,
    ctx: ReadContext,
    out_dir: Path,
    focus: tuple[str, ...],
) -> tuple[str, ReadResult]:
    """Read ``path`` into its cache entry; return the entry's name and the result.

    The entry is written under a temporary name and renamed to ``key`` when complete,
    so a killed run leaves no half entry. Without a key (a ``--no-cache`` run) the
    entry keeps a temporary name starting with :data:`UNSTORED`, which the run removes
    once its outputs are written: nothing is stored, so the file is not hashed.
    """
    cache = out_dir / CACHE_DIR
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".entry." if key else UNSTORED, dir=cache))
    sink = PartSink(work, path.name)
    try:
        try:
            res = reader.read(path, dataclasses.replace(ctx, sink=sink))
        except BaseException:
            sink.abort()
            raise
        store_cached(work, res, path, reader, sink, focus)
        if not key:
            return work.name, res
        folder = cache / key
        shutil.rmtree(folder, ignore_errors=True)
        work.rename(folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return key, res
