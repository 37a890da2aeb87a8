"""CEPII BACI readers: yearly CSV, release zip, and the mirror's BACI extracts.

BACI yearly files are ``t,i,j,k,v,q``: year, exporter and importer (BACI numeric codes,
mostly UN M49 with quirks: 490 Taiwan, 842 USA, 251 France, 699 India, 757 Switzerland,
579 Norway), HS6 product (leading zero dropped), value in thousand USD, quantity in
tonnes (quoted, space padded, ``NA`` when unknown). A full year is ~10 million rows.

The yearly reader streams the file in 2 MB blocks with Arrow's CSV reader (typed
columns) while a worker thread checks each block and adds it into dense per-year
``exporter x product`` grids (``np.bincount``), so memory does not grow with the file
(measured: ~0.5 GB peak for 10 and for 20 million rows). Exporter codes are decoded once per distinct
code through :class:`~cclreview.trade.countries.CountryResolver`; a release zip's own
``country_codes_*.csv`` is used as a fallback for codes the project table lacks.
Rows with an empty/negative value (or negative quantity) are rejected with their line;
a file with non-numeric cells is re-read in a slower validating mode that rejects only
the bad rows.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from cclreview.errors import InputError
from cclreview.progress import bar, is_enabled
from cclreview.trade.registry import Reader, register
from cclreview.trade.tidy import (
    REJECT_COLUMNS,
    ReadContext,
    ReadResult,
    clean_long,
    display_name,
    empty_rejected,
    empty_unmatched,
    finalize_exports,
    hs_in_force,
    hs_version_from_name,
    require_columns,
    validate_long,
    year_from_name,
)

log = logging.getLogger(__name__)

READER_VERSION = "1"
BACI_COLUMNS = ["t", "i", "j", "k", "v", "q"]
#: Arrow block size: big enough for speed, small enough to keep memory flat.
BLOCK_SIZE = 2 << 20
#: "NA" as BACI pads it (right-aligned in a fixed-width quoted field), and empty cells.
_NULLS = [""] + [" " * n + "NA" for n in range(0, 32)] + ["NA" + " " * n for n in range(1, 8)]
_ZIP_YEAR = re.compile(r"BACI_HS(\d{2})_Y(\d{4})_V(\d+)\.csv$", re.IGNORECASE)
_RELEASE = re.compile(r"V(\d{6})", re.IGNORECASE)
#: Raw blocks that may wait for the aggregation thread (bounds memory).
_IN_FLIGHT = 2


def _release(name: str) -> str:
    m = _RELEASE.search(name)
    return f"baci:V{m.group(1)}" if m else "baci"


# -- the streaming core -------------------------------------------------------------------
# Rows are keyed by one int64: year * 1e9 + exporter code * 1e6 + product code, which
# groups much faster than three key columns (exporter codes < 1000, products < 1e6).
_KT, _KI = 1_000_000_000, 1_000_000
_SUMS_SCHEMA = pa.schema(
    [("key", pa.int64()), ("v", pa.float64()), ("q", pa.float64()), ("qn", pa.int64()), ("n", pa.int64())]
)


def _combine(parts: list[pa.Table]) -> pa.Table:
    table = pa.concat_tables(parts)
    out = table.group_by("key", use_threads=False).aggregate(
        [("v", "sum"), ("q", "sum"), ("qn", "sum"), ("n", "sum")]
    )
    return out.rename_columns(["key", "v", "q", "qn", "n"]).cast(_SUMS_SCHEMA)


def _block_sums(t: pa.Array, i: pa.Array, k: pa.Array, v: pa.Array, q: pa.Array) -> pa.Table:
    """Sum one block by (t, i, k): value, known quantity, count of known q, row count."""
    key = pc.add(pc.add(pc.multiply(pc.cast(t, pa.int64()), _KT), pc.multiply(i, _KI)), k)
    tb = pa.table({"key": key, "v": v, "q": q})
    # v is never null here (null values were rejected), so count(v) is the row count.
    agg = tb.group_by("key", use_threads=False).aggregate(
        [("v", "sum"), ("q", "sum"), ("q", "count"), ("v", "count")]
    )
    return agg.rename_columns(["key", "v", "q", "qn", "n"]).cast(_SUMS_SCHEMA)


def _empty_sums() -> pa.Table:
    return _SUMS_SCHEMA.empty_table()


class _DenseSums:
    """Running sums by (year, exporter code, product code) in dense grids.

    A BACI year has < 300 exporter codes and ~5,400 products, so a per-year grid of
    exporters x products is small (a few MB per measure) and ``np.bincount`` fills it
    far faster than hashing each block and re-combining partial tables. Codes get dense
    ids on first sight; grids grow by doubling. Blocks are buffered and summed in
    batches of ~``flush_rows`` rows.
    """

    def __init__(self, flush_rows: int = 2_000_000) -> None:
        self.imap = np.full(1000, -1, np.int32)
        self.kmap = np.full(1_000_000, -1, np.int32)
        self.icodes: list[int] = []
        self.kcodes: list[int] = []
        self.ni, self.nk = 64, 1024  # grid capacity
        self.grids: dict[int, np.ndarray] = {}  # year -> (4, ni, nk): v, q, n with q, rows
        self.buf: list[tuple[np.ndarray, ...]] = []
        self.buffered = 0
        self.flush_rows = flush_rows

    @staticmethod
    def _ids(codes: np.ndarray, cmap: np.ndarray, known: list[int]) -> np.ndarray:
        ids = cmap[codes]
        if (ids < 0).any():
            for code in np.unique(codes[ids < 0]).tolist():
                cmap[code] = len(known)
                known.append(code)
            ids = cmap[codes]
        return ids

    def add(self, t: np.ndarray, i: np.ndarray, k: np.ndarray, v: np.ndarray, q: np.ndarray) -> None:
        self.buf.append((t, self._ids(i, self.imap, self.icodes), self._ids(k, self.kmap, self.kcodes), v, q))
        self.buffered += len(t)
        if self.buffered >= self.flush_rows:
            self.flush()

    def _grow(self) -> None:
        ni, nk = self.ni, self.nk
        while ni < len(self.icodes):
            ni *= 2
        while nk < len(self.kcodes):
            nk *= 2
        if (ni, nk) != (self.ni, self.nk):
            for year, grid in self.grids.items():
                bigger = np.zeros((4, ni, nk))
                bigger[:, : self.ni, : self.nk] = grid
                self.grids[year] = bigger
            self.ni, self.nk = ni, nk

    def flush(self) -> None:
        if not self.buf:
            return
        self._grow()
        t, ii, kk, v, q = (np.concatenate(cols) for cols in zip(*self.buf, strict=True))
        self.buf, self.buffered = [], 0
        has_q = ~np.isnan(q)
        q = np.where(has_q, q, 0.0)
        size, shape = self.ni * self.nk, (self.ni, self.nk)
        flat = ii.astype(np.int64) * self.nk + kk
        years = np.unique(t).tolist()
        for year in years:
            if len(years) == 1:  # the usual case: no per-year selection needed
                f, vv, qq, hq = flat, v, q, has_q
            else:
                sel = t == year
                f, vv, qq, hq = flat[sel], v[sel], q[sel], has_q[sel]
            grid = self.grids.setdefault(year, np.zeros((4, self.ni, self.nk)))
            grid[0] += np.bincount(f, weights=vv, minlength=size).reshape(shape)
            grid[1] += np.bincount(f, weights=qq, minlength=size).reshape(shape)
            grid[2] += np.bincount(f, weights=hq, minlength=size).reshape(shape)
            grid[3] += np.bincount(f, minlength=size).reshape(shape)

    def table(self) -> pa.Table:
        """The non-empty cells as a (key, v, q, qn, n) table (see ``_KT``/``_KI``)."""
        self.flush()
        icodes, kcodes = np.array(self.icodes, np.int64), np.array(self.kcodes, np.int64)
        parts = []
        for year, grid in sorted(self.grids.items()):
            ri, rk = np.nonzero(grid[3])
            key = year * _KT + icodes[ri] * _KI + kcodes[rk]
            parts.append(
                pa.table(
                    {
                        "key": key,
                        "v": grid[0, ri, rk],
                        "q": grid[1, ri, rk],
                        "qn": grid[2, ri, rk].astype(np.int64),
                        "n": grid[3, ri, rk].astype(np.int64),
                    }
                ).cast(_SUMS_SCHEMA)
            )
        return pa.concat_tables(parts) if parts else _empty_sums()


def _within(arr: pa.Array, lo: float, hi: float) -> bool:
    """True when every non-null value of ``arr`` lies in [lo, hi] (one min/max pass)."""
    mm = pc.min_max(arr)
    low, high = mm["min"].as_py(), mm["max"].as_py()
    return low is None or (low >= lo and high <= hi)


def _all_valid(t: pa.Array, i: pa.Array, k: pa.Array, v: pa.Array, q: pa.Array) -> bool:
    """Cheap whole-block check; the row-by-row mask is only built when it fails."""
    if t.null_count or i.null_count or k.null_count or v.null_count:
        return False
    return (
        _within(v, 0.0, np.inf) and _within(q, 0.0, np.inf) and _within(i, 0, 999) and _within(k, 0, 999_999)
    )


def _stream_fast(
    open_stream: Callable[[], IO[bytes]], file: str, years: frozenset[int] | None, size: int | None
) -> tuple[pa.Table, pd.DataFrame, int]:
    """Typed streaming pass. Raises ``pa.ArrowInvalid`` on a non-numeric cell.

    Parsing (Arrow's reader threads) and checking/summing blocks (one worker thread)
    overlap; at most ``_IN_FLIGHT`` parsed blocks wait, so memory stays flat.
    """
    types = {"t": pa.int32(), "i": pa.int64(), "k": pa.int64(), "v": pa.float64(), "q": pa.float64()}
    convert = pcsv.ConvertOptions(
        column_types=types,
        include_columns=["t", "i", "k", "v", "q"],
        null_values=_NULLS,
        quoted_strings_can_be_null=True,
        strings_can_be_null=True,
    )
    year_set = pa.array(sorted(years), pa.int32()) if years is not None else None
    sums = _DenseSums()
    pending: list[Future[None]] = []
    rejected: list[pd.DataFrame] = []
    seen = 0

    def work(batch: pa.RecordBatch, offset: int) -> None:
        t, i, k, v, q = (batch.column(c) for c in ("t", "i", "k", "v", "q"))
        if not _all_valid(t, i, k, v, q):
            t, i, k, v, q = _drop_invalid(batch, offset)
        if year_set is not None:
            keep = pc.is_in(t, year_set)
            t, i, k, v, q = (pc.filter(a, keep) for a in (t, i, k, v, q))
        if len(t):
            sums.add(
                t.to_numpy(),
                i.to_numpy(),
                k.to_numpy(),
                v.to_numpy(),
                q.to_numpy(zero_copy_only=False),  # nulls -> NaN
            )

    def _drop_invalid(batch: pa.RecordBatch, offset: int) -> tuple[pa.Array, ...]:
        t, i, k, v, q = (batch.column(c) for c in ("t", "i", "k", "v", "q"))
        # Codes must fit the packed key and the code maps: exporter 0-999, product 0-999999.
        out_of_range = pc.or_kleene(
            pc.or_kleene(pc.less(i, 0), pc.greater(i, 999)),
            pc.or_kleene(pc.less(k, 0), pc.greater(k, 999_999)),
        )
        bad = pc.or_kleene(
            pc.or_kleene(pc.or_kleene(pc.is_null(v), pc.less(v, 0.0)), out_of_range),
            pc.or_kleene(
                pc.less(q, 0.0), pc.or_kleene(pc.is_null(t), pc.or_kleene(pc.is_null(i), pc.is_null(k)))
            ),
        ).fill_null(False)
        rejected.append(_rejects_from_batch(batch, bad, offset, file))
        keep = pc.invert(bad)
        return tuple(pc.filter(a, keep) for a in (t, i, k, v, q))

    show = is_enabled() and size is not None
    with (
        open_stream() as fh,
        bar(total=size, unit="B", unit_scale=True, desc=file, leave=False) as pbar,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        reader = pcsv.open_csv(
            fh, read_options=pcsv.ReadOptions(block_size=BLOCK_SIZE), convert_options=convert
        )
        last_pos = 0
        for batch in reader:
            pending.append(pool.submit(work, batch, seen))
            seen += batch.num_rows
            if len(pending) > _IN_FLIGHT:
                pending.pop(0).result()  # also re-raises a worker error
            pos = _tell(fh) if show else None
            if pos is not None:
                pbar.update(max(0, pos - last_pos))
                last_pos = pos
        for f in pending:
            f.result()
    table = sums.table()
    sums.grids.clear()
    _free_memory()
    rej = pd.concat(rejected, ignore_index=True).sort_values("line") if rejected else empty_rejected()
    return table, rej, seen


def _free_memory() -> None:
    """Hand freed Arrow memory back to the OS (mimalloc keeps it otherwise), so peak
    RSS stays flat across blocks, years and files."""
    pa.default_memory_pool().release_unused()


def _tell(fh: object) -> int | None:
    """Bytes consumed so far, for the progress bar (None for unseekable streams)."""
    try:
        return int(fh.tell())  # type: ignore[attr-defined]
    except (OSError, AttributeError, ValueError):
        return None


def _rejects_from_batch(batch: pa.RecordBatch, bad: pa.Array, offset: int, file: str) -> pd.DataFrame:
    idx = np.flatnonzero(bad.to_numpy(zero_copy_only=False))
    rows = batch.take(pa.array(idx)).to_pandas()
    reason = np.where(
        rows["v"].isna(),
        "empty value",
        np.where(
            rows["v"] < 0,
            "negative value",
            np.where(
                rows["i"].isna() | rows["k"].isna() | rows["t"].isna(),
                "empty code",
                np.where(
                    (rows["i"] < 0) | (rows["i"] > 999) | (rows["k"] < 0) | (rows["k"] > 999_999),
                    "exporter or product code out of range",
                    "negative quantity",
                ),
            ),
        ),
    )
    raw = "t=" + rows["t"].astype("string").fillna("") + "; i=" + rows["i"].astype("string").fillna("")
    raw = (
        raw + "; k=" + rows["k"].astype("string").fillna("") + "; v=" + rows["v"].astype("string").fillna("")
    )
    raw = raw + "; q=" + rows["q"].astype("string").fillna("")
    # Line 1 is the header; data row r (0-based) is on line r + 2.
    return pd.DataFrame({"file": file, "line": idx + offset + 2, "reason": reason, "raw": raw})[
        REJECT_COLUMNS
    ]


def _stream_validating(
    open_stream: Callable[[], IO[bytes]], file: str, years: frozenset[int] | None
) -> tuple[pa.Table, pd.DataFrame, int]:
    """Slow pass for files with non-numeric cells: everything read as text, then checked."""
    convert = pcsv.ConvertOptions(
        column_types={c: pa.string() for c in BACI_COLUMNS}, include_columns=["t", "i", "k", "v", "q"]
    )
    parts: list[pa.Table] = []
    rejected: list[pd.DataFrame] = []
    seen = 0
    with open_stream() as fh:
        for batch in pcsv.open_csv(
            fh, read_options=pcsv.ReadOptions(block_size=BLOCK_SIZE), convert_options=convert
        ):
            df = batch.to_pandas()
            df = pd.DataFrame(
                {
                    "line": np.arange(seen + 2, seen + 2 + len(df)),
                    "year": df["t"],
                    "exporter": df["i"],
                    "hs6": df["k"],
                    "value": df["v"],
                    "qty": df["q"].str.strip(),
                }
            )
            seen += len(df)
            code = pd.to_numeric(df["exporter"], errors="coerce")
            product = pd.to_numeric(df["hs6"], errors="coerce")
            bad_code = code.isna() | (code < 0) | (code > 999) | (product > 999_999)
            good, rej = validate_long(df, file)
            extra = df[bad_code & ~df["line"].isin(rej["line"])]
            if len(extra):
                rej = pd.concat(
                    [
                        rej,
                        pd.DataFrame(
                            {
                                "file": file,
                                "line": extra["line"],
                                "reason": "exporter or product code not a BACI code",
                                "raw": "i=" + extra["exporter"].astype(str),
                            }
                        ),
                    ],
                    ignore_index=True,
                )
                good = good[~good["line"].isin(extra["line"])]
            rejected.append(rej)
            if years is not None:
                good = good[good["year"].isin(years)]
            if len(good):
                parts.append(
                    _block_sums(
                        pa.array(good["year"].to_numpy(), pa.int32()),
                        pa.array(good["exporter"].astype("int64").to_numpy()),
                        pa.array(good["hs6"].astype("int64").to_numpy()),
                        pa.array(good["value"].to_numpy()),
                        pa.array(good["qty"].to_numpy(), from_pandas=True),
                    )
                )
    table = _combine(parts) if parts else _empty_sums()
    rej = pd.concat(rejected, ignore_index=True) if rejected else empty_rejected()
    return table, rej, seen


def read_baci_stream(
    open_stream: Callable[[], IO[bytes]],
    *,
    file: str,
    ctx: ReadContext,
    hs_version: str | None,
    source: str,
    dictionary: dict[int, tuple[str, str]] | None = None,
    size: int | None = None,
) -> ReadResult:
    """Read one BACI yearly CSV from a stream factory and aggregate it to exporters.

    Parameters
    ----------
    open_stream
        Returns a fresh binary stream of the CSV (called twice if the file needs the
        validating pass).
    file
        Name for reports.
    ctx
        Run settings.
    hs_version
        HS revision of the file, or None to assume the revision in force each year.
    source
        ``source`` column value (``"baci:V202601"``).
    dictionary
        BACI ``country_code -> (iso3, name)`` from a release, used for codes the
        project table does not know.
    size
        Bytes, for the progress bar.
    """
    notes: list[str] = []
    try:
        table, rejected, seen = _stream_fast(open_stream, file, ctx.years, size)
    except pa.ArrowInvalid as exc:
        if "column" not in str(exc).lower() and "conversion" not in str(exc).lower():
            raise InputError(
                f"{file}: not a readable BACI CSV ({exc}); expected columns {BACI_COLUMNS}"
            ) from exc
        log.warning("%s: non-numeric cells (%s); re-reading in validating mode", file, str(exc)[:120])
        notes.append("validating mode (non-numeric cells)")
        table, rejected, seen = _stream_validating(open_stream, file, ctx.years)
    return _finish(
        table,
        file=file,
        ctx=ctx,
        hs_version=hs_version,
        source=source,
        dictionary=dictionary,
        rejected=rejected,
        seen=seen,
        notes=notes,
    )


def _resolve_codes(
    codes: np.ndarray, ctx: ReadContext, dictionary: dict[int, tuple[str, str]] | None
) -> dict[int, object]:
    """BACI exporter code -> Match (project table first, then the release dictionary)."""
    out = {}
    for code in codes.tolist():
        hit = ctx.resolver.match(int(code))
        if hit.iso3 is None and hit.status == "unmatched" and dictionary and int(code) in dictionary:
            d_iso, d_name = dictionary[int(code)]
            hit = ctx.resolver.match(d_iso) if d_iso else hit
            if hit.iso3 is None and hit.status == "unmatched":
                hit = ctx.resolver.match(d_name)
        out[int(code)] = hit
    return out


def _finish(
    table: pa.Table,
    *,
    file: str,
    ctx: ReadContext,
    hs_version: str | None,
    source: str,
    dictionary: dict[int, tuple[str, str]] | None,
    rejected: pd.DataFrame,
    seen: int,
    notes: list[str],
) -> ReadResult:
    """Decode the (year, exporter code, product) sums into the tidy exports table."""
    key = table.column("key").to_numpy()
    v = table.column("v").to_numpy() * 1000.0  # BACI values are in thousand USD
    q = table.column("q").to_numpy(zero_copy_only=False)
    qn = table.column("qn").to_numpy()
    n = table.column("n").to_numpy()
    t, i, k = key // _KT, (key % _KT) // _KI, key % _KI
    if len(k) and k.max() > 999_999:
        raise InputError(f"{file}: product codes longer than 6 digits in column k; a BACI file has HS6 codes")
    codes = np.unique(i)
    hits = _resolve_codes(codes, ctx, dictionary)
    # Countries numbered alphabetically, so sorting by the new key sorts by ISO3.
    isos = sorted({h.iso3 for h in hits.values() if h.iso3})
    idx_of = {iso: n_ for n_, iso in enumerate(isos)}
    code_to_idx = np.full(int(codes.max()) + 1 if len(codes) else 1, -1, dtype=np.int64)
    for code, hit in hits.items():
        if hit.iso3:
            code_to_idx[code] = idx_of[hit.iso3]
    cidx = code_to_idx[i] if len(i) else np.array([], dtype=np.int64)
    miss = cidx < 0
    if miss.any():
        um = (
            pd.DataFrame({"value": i[miss], "rows": n[miss], "value_usd": v[miss]})
            .groupby("value")
            .sum()
            .reset_index()
        )
        um["status"] = [hits[int(c)].status for c in um["value"]]
        um["candidates"] = [
            (dictionary or {}).get(int(c), ("", ""))[1] or ctx.resolver.candidates(c) for c in um["value"]
        ]
        um["value"] = um["value"].astype(str)
        um["source_file"] = file
        unmatched = um[["value", "source_file", "rows", "value_usd", "status", "candidates"]]
    else:
        unmatched = empty_unmatched()
    keep = ~miss
    key2 = t[keep] * _KT + cidx[keep] * _KI + k[keep]
    q = np.where(qn > 0, q, np.nan)[keep]  # quantity unknown when no row of the group had one
    v = v[keep]
    if len(np.unique(codes[[hits[int(c)].iso3 is not None for c in codes]])) > len(isos):
        # Two BACI codes of one country (58 and 56 -> BEL): sum them.
        summed = (
            pa.table({"key": key2, "v": v, "q": q, "qn": (~np.isnan(q)).astype(np.int64)})
            .group_by("key")
            .aggregate([("v", "sum"), ("q", "sum"), ("qn", "sum")])
        )
        key2 = summed.column("key").to_numpy()
        v = summed.column("v_sum").to_numpy()
        q = np.where(
            summed.column("qn_sum").to_numpy() > 0,
            summed.column("q_sum").to_numpy(zero_copy_only=False),
            np.nan,
        )
    order = np.argsort(key2, kind="stable")
    key2, v, q = key2[order], v[order], q[order]
    year = key2 // _KT
    exporter = pa.DictionaryArray.from_arrays(
        pa.array((key2 % _KT) // _KI, pa.int32()), pa.array(isos, pa.string())
    )
    hs6 = pc.utf8_lpad(pc.cast(pa.array(key2 % _KI), pa.string()), width=6, padding="0")
    if hs_version:
        versions = pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(len(key2), np.int32)), pa.array([hs_version])
        )
    else:
        notes.append("HS revision not stated; assumed the revision in force each year")
        versions = (
            pa.array([hs_in_force(int(y)) for y in year], pa.string())
            if len(year) < 100
            else pa.array(
                pd.Series(year).map({y: hs_in_force(int(y)) for y in np.unique(year)}).to_numpy(), pa.string()
            )
        )
    out = pa.table(
        {
            "year": pa.array(year, pa.int64()),
            "exporter_iso3": exporter.cast(pa.string()),
            "hs6": hs6,
            "hs_level": pa.array(np.full(len(key2), 6, np.int64)),
            "hs_version": versions.cast(pa.string())
            if isinstance(versions, pa.DictionaryArray)
            else versions,
            "value_usd": pa.array(v, pa.float64()),
            "qty": pa.array(q, pa.float64(), from_pandas=True),
        }
    ).to_pandas()
    out["source"] = source
    out["value_kind"] = "value"
    out["rank"] = pd.array(np.zeros(len(out), np.int64), dtype="Int64", copy=False)
    out["rank"] = out["rank"].mask(np.ones(len(out), bool))  # all null: BACI has no ranks
    del table, key, v, q
    _free_memory()
    return ReadResult(finalize_exports(out), rejected, unmatched, seen, notes=notes)


# -- yearly CSV ---------------------------------------------------------------------------
def _detect_csv(path: Path, columns: list[str]) -> bool:
    return [c.lower() for c in columns[:6]] == BACI_COLUMNS or {"t", "i", "k", "v"} <= set(columns)


def read_baci_csv(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a BACI yearly CSV (``t,i,j,k,v,q``) from disk (``.gz`` allowed)."""
    from cclreview.trade.registry import sniff_columns

    require_columns(sniff_columns(path), BACI_COLUMNS, path, "BACI yearly CSV")

    def opener() -> IO[bytes]:
        # Arrow's own file objects read without holding the GIL (a Python file would not).
        raw = pa.OSFile(str(path), "rb")
        return pa.CompressedInputStream(raw, "gzip") if path.name.lower().endswith(".gz") else raw

    version = ctx.hs_version or hs_version_from_name(path.name)
    return read_baci_stream(
        opener,
        file=display_name(path),
        ctx=ctx,
        hs_version=version,
        source=_release(path.name),
        size=path.stat().st_size,
    )


# -- release zip --------------------------------------------------------------------------
def _detect_zip(path: Path, columns: list[str]) -> bool:
    return path.name.lower().endswith(".zip") and any(_ZIP_YEAR.search(n) for n in columns)


def _zip_dictionary(zf: zipfile.ZipFile) -> dict[int, tuple[str, str]]:
    names = [n for n in zf.namelist() if re.search(r"country_codes.*\.csv$", n, re.IGNORECASE)]
    if not names:
        return {}
    with zf.open(names[0]) as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False, encoding="latin-1")
    require_columns(list(df.columns), ["country_code", "country_iso3"], names[0], "BACI country dictionary")
    name_col = "country_name" if "country_name" in df.columns else "country_iso3"
    return {
        int(r.country_code): (r.country_iso3, getattr(r, name_col))
        for r in df.itertuples()
        if r.country_code.isdigit()
    }


def read_baci_zip(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a BACI release zip straight from the archive (no unpacking to disk).

    Only members for ``ctx.years`` are read when a year filter is set.
    """
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{path} is not a valid zip ({exc}); re-download the BACI release") from exc
    with zf:
        members = [(m, _ZIP_YEAR.search(m)) for m in zf.namelist()]
        members = [(m, mt) for m, mt in members if mt]
        if not members:
            raise InputError(f"{path}: no BACI_HSxx_Yyyyy_Vxxxxxx.csv member; is this a BACI release zip?")
        dictionary = _zip_dictionary(zf)
        results = []
        for member, mt in sorted(members):
            year = int(mt.group(2))
            if ctx.years is not None and year not in ctx.years:
                continue
            version = ctx.hs_version or hs_version_from_name(f"HS{mt.group(1)}")
            info = zf.getinfo(member)
            results.append(
                read_baci_stream(
                    lambda member=member: zf.open(member),
                    file=f"{display_name(path)}:{member}",
                    ctx=ctx,
                    hs_version=version,
                    source=f"baci:V{mt.group(3)}",
                    dictionary=dictionary,
                    size=info.file_size,
                )
            )
    if not results:
        found = sorted(int(mt.group(2)) for _, mt in members)
        raise InputError(f"{path}: no member for years {sorted(ctx.years or [])}; the zip has years {found}")
    return ReadResult(
        finalize_exports(pd.concat([r.exports for r in results], ignore_index=True)),
        pd.concat([r.rejected for r in results], ignore_index=True),
        pd.concat([r.unmatched for r in results], ignore_index=True),
        sum(r.rows_read for r in results),
        notes=[n for r in results for n in r.notes],
    )


# -- the mirror's BACI extracts ----------------------------------------------------------
_EXTRACT_PARQUET = ["year", "exporter", "hs6", "value_kusd"]


def _detect_extract_parquet(path: Path, columns: list[str]) -> bool:
    return {"exporter", "hs6", "value_kusd"} <= set(columns)


def read_baci_extract_parquet(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a BACI bilateral extract in Parquet (``year, exporter, importer, hs6,
    value_kusd, qty_t``, ISO3 exporters, thousand USD, tonnes)."""
    df = pd.read_parquet(path)
    require_columns(list(df.columns), _EXTRACT_PARQUET, path, "BACI extract (parquet)")
    long = pd.DataFrame(
        {
            "line": np.arange(1, len(df) + 1),  # row number (Parquet has no lines)
            "year": df["year"],
            "exporter": df["exporter"],
            "hs6": df["hs6"],
            "value": df["value_kusd"],
            "qty": df["qty_t"] if "qty_t" in df.columns else np.nan,
        }
    )
    version = ctx.hs_version or hs_version_from_name(path.name) or "HS2017"
    return clean_long(
        long,
        file=display_name(path),
        ctx=ctx,
        source=_release(path.name),
        hs_version=version,
        value_scale=1000.0,
    )


def _detect_extract_usd(path: Path, columns: list[str]) -> bool:
    return [c.lower() for c in columns] == ["i", "j", "cmd", "value"]


def read_baci_extract_usd(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a BACI extract ``i,j,cmd,value`` (ISO3 codes, value in USD, year in the name)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(list(df.columns), ["i", "j", "cmd", "value"], path, "BACI extract (i,j,cmd,value)")
    year = year_from_name(path.name)
    if year is None:
        raise InputError(
            f"{path}: an i,j,cmd,value file has no year column and its name has no single year; "
            "rename it with the year (e.g. ..._2024_usd.csv)"
        )
    long = pd.DataFrame(
        {
            "line": np.arange(2, len(df) + 2),
            "year": year,
            "exporter": df["i"],
            "hs6": df["cmd"],
            "value": df["value"],
        }
    )
    version = ctx.hs_version or hs_version_from_name(path.name) or hs_in_force(year)
    return clean_long(long, file=display_name(path), ctx=ctx, source=_release(path.name), hs_version=version)


register(Reader("baci_zip", _detect_zip, read_baci_zip, READER_VERSION, 10, "CEPII BACI release zip"))
register(
    Reader("baci_csv", _detect_csv, read_baci_csv, READER_VERSION, 20, "CEPII BACI yearly CSV t,i,j,k,v,q")
)
register(
    Reader(
        "baci_extract_parquet",
        _detect_extract_parquet,
        read_baci_extract_parquet,
        READER_VERSION,
        30,
        "BACI bilateral extract (parquet, ISO3, thousand USD)",
    )
)
register(
    Reader(
        "baci_extract_usd",
        _detect_extract_usd,
        read_baci_extract_usd,
        READER_VERSION,
        30,
        "BACI extract i,j,cmd,value (ISO3, USD)",
    )
)
