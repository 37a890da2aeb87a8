"""What the workbook says about its own inputs: CCL edition, trade vintages, weights, sources.

Local folders never show: paths are made project-relative (or named by their file name).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from cclreview.report.inputs import ReportInputs


def _project_relative(value: str, roots: list[tuple[str, str]]) -> str:
    """Replace absolute local folders in ``value`` by their project-relative name."""
    for absolute, shown in roots:
        if absolute and absolute in value:
            value = value.replace(absolute + os.sep, shown).replace(absolute, shown.rstrip("/") or ".")
    return value


def _path_roots(processed: Path) -> list[tuple[str, str]]:
    """(absolute folder, shown as) pairs: mirror -> "mirror/", project root -> ""."""
    from cclreview.config import mirror_dir, project_paths

    roots: list[tuple[str, str]] = []
    try:
        m = mirror_dir(None)
    except Exception:
        m = None
    if m is not None:
        roots += [(str(Path(m).resolve()), "mirror/"), (str(Path(m)), "mirror/")]
    root = project_paths().root
    roots += [(str(root.resolve()), ""), (str(root), "")]
    roots += [(str(processed.resolve().parent), "data/"), (str(Path.home()), "~/")]
    # Longest first, so that a mirror inside the project is named "mirror".
    return sorted({r for r in roots if r[0] not in ("", "/", ".")}, key=lambda r: -len(r[0]))


def trade_vintages(inputs: ReportInputs) -> list[str]:
    """Summary lines: each trade/evidence file's vintage, and the years availability used."""
    lines = []
    for f in sorted((inputs.manifest or {}).get("files", []), key=lambda f: str(f.get("path", ""))):
        if f.get("kind") in ("trade", "baci", "comtrade", "evidence") or str(f.get("path", "")).startswith(
            ("trade/", "evidence/")
        ):
            lines.append(f"{f.get('path')}: {f.get('vintage') or 'vintage not recorded'}")
    av = inputs.availability
    if av is not None and {"source", "year"} <= set(av.columns) and len(av):
        used = av.groupby("source")["year"].agg(["min", "max", "count"]).sort_index()
        for src, r in used.iterrows():
            years = f"{int(r['min'])}" if r["min"] == r["max"] else f"{int(r['min'])}-{int(r['max'])}"
            lines.append(f"used by availability: {src}, {years} ({int(r['count'])} code-years)")
    return lines


def _parsed_ccl(inputs: ReportInputs) -> list[tuple[str, str]]:
    """(file name, sha256) of the CCL XML(s) ccl_entries.parquet was parsed from."""
    e = inputs.entries
    if not {"source_file", "source_sha256"} <= set(e.columns):
        return []
    pairs = e[["source_file", "source_sha256"]].dropna().drop_duplicates()
    return sorted((str(a), str(b)) for a, b in pairs.itertuples(index=False))


def ccl_edition(inputs: ReportInputs) -> str:
    """The edition of the CCL actually parsed (from ccl_entries.parquet, not the manifest)."""
    dates: list[str] = []
    if "ecfr_date" in inputs.entries.columns:
        dates = sorted({str(d) for d in inputs.entries["ecfr_date"].dropna()})
    parsed = _parsed_ccl(inputs)
    files = "; ".join(f"{name}, sha256 {sha[:12]}" for name, sha in parsed)
    if dates:
        return ", ".join(dates) + (f" (parsed from {files})" if files else "")
    if parsed:
        # No eCFR date inside the XML: the manifest's vintage counts only if it describes
        # the very bytes that were parsed; else the file name's date.
        by_sha = {
            f.get("sha256"): f for f in (inputs.manifest or {}).get("files", []) if f.get("kind") == "ccl"
        }
        labels = []
        for name, sha in parsed:
            f = by_sha.get(sha)
            m = re.search(r"(\d{4}-\d{2}(?:-\d{2})?)", name)
            labels.append(
                str(f["vintage"]) if f and f.get("vintage") else (m.group(1) if m else "date unknown")
            )
        return f"{', '.join(dict.fromkeys(labels))} (parsed from {files})"
    for f in (inputs.manifest or {}).get("files", []):
        if f.get("kind") == "ccl" and f.get("vintage"):
            return f"{f['vintage']} (vintage of {f.get('path')} in the manifest)"
    return "not recorded (ccl_entries.parquet has no ecfr_date, the manifest no ccl vintage)"


def weights_line(inputs: ReportInputs) -> tuple[str, str]:
    """(Summary line, Method note) about the weights file and its match with scores."""
    if inputs.weights is None or inputs.weights_path is None or inputs.weights_sha256 is None:
        return (
            "weights file not found",
            "Weights file not found: the values used by scoring cannot be shown.",
        )
    used = None
    if "weights_sha256" in inputs.scores.columns:
        shas = sorted({str(s) for s in inputs.scores["weights_sha256"].dropna()})
        used = shas[0] if len(shas) == 1 else None
    match = ""
    if used is not None:
        match = (
            " (the same file scoring used)"
            if used == inputs.weights_sha256
            else " -- WARNING: scores.parquet was computed with other weights (sha256 "
            f"{used[:12]}); re-run `cclreview score`"
        )
    line = f"{inputs.weights_path.name}, sha256 {inputs.weights_sha256[:12]}{match}"
    note = f"From {shown_path(inputs.weights_path)} (validated by the score stage){match}."
    return line, note


def shown_path(path: Path) -> str:
    """``path`` relative to the project root when inside it, else its name (no local paths)."""
    from cclreview.config import project_paths

    try:
        return str(path.resolve().relative_to(project_paths().root.resolve()))
    except ValueError:
        return path.name


def weights_warnings(inputs: ReportInputs) -> list[str]:
    """Red Summary lines about the weights: a run without any guardrail."""
    if inputs.weights is None:
        return []
    if not any(k.startswith("guardrails[") for k in inputs.weights):
        return [
            "WARNING: no guardrails: the weights file sets `guardrails = []`, so no ECCN (not even "
            "3A090 or 600-series items) is held back from the candidate tier by a guardrail."
        ]
    return []


def link_sources(inputs: ReportInputs) -> pd.DataFrame | None:
    """Links, ECCNs and mean confidence per link source (None without eccn_hs_links)."""
    if inputs.links is None:
        return None
    df = inputs.links.copy()
    if "confidence" not in df.columns:
        df["confidence"] = float("nan")
    df["source"] = df["source"].fillna("(none)").astype(str)
    out = df.groupby("source", sort=True).agg(
        links=("eccn", "size"), eccns=("eccn", "nunique"), mean_confidence=("confidence", "mean")
    )
    return out.reset_index()


def _count(row: pd.Series, col: str) -> int:
    """A count of ``bilateral_coverage.csv`` (text; 0 when absent, from an older ingest)."""
    value = str(row.get(col, "") or "").strip()
    return int(float(value)) if value else 0


def _trade_input_rows(trade: pd.DataFrame | None) -> list[dict[str, Any]]:
    """One Sources row per trade input file: what the trade stage made of its rows and
    whether it has partner detail (HS4 and top-N tables have none, and say so)."""
    if trade is None or trade.empty:
        return []
    rows = []
    counted = "rows_read" in trade.columns  # an older trade stage wrote no counts
    for _, r in trade.iterrows():
        parts = (
            [f"{_count(r, 'rows_read'):,} rows read", f"{_count(r, 'rows_rejected'):,} rejected"]
            if counted
            else ["row counts not recorded: rerun `cclreview ingest-trade`"]
        )
        for col, what in (
            ("duplicates_dropped", "exact duplicate rows dropped"),
            ("breakdowns_set_aside", "Comtrade breakdown rows set aside (the total of each key kept)"),
            ("unmatched_values", "country values not matched (unmatched_countries.csv)"),
        ):
            if _count(r, col):
                parts.append(f"{_count(r, col):,} {what}")
        if str(r.get("bilateral", "")).strip().lower() == "true":
            detail = (
                f"partner detail: {_count(r, 'focus_rows'):,} rows to the focus importers, "
                f"{_count(r, 'us_rows'):,} U.S. export rows"
            )
        else:
            note = str(r.get("note", "") or "")
            detail = note if note.startswith("no partner detail") else f"no partner detail: {note}"
        rows.append(
            {
                "kind": "trade input",
                "path": str(r.get("source_file", "")),
                "vintage": str(r.get("source", "")),
                "rows": _count(r, "rows_read") if counted else None,
                "note": f"{'; '.join(parts)}; {detail} (reader {r.get('reader', '')})",
            }
        )
    return rows


def sources_frame(inputs: ReportInputs) -> pd.DataFrame:
    """The Sources sheet: manifest files, trade inputs (what the trade stage made of
    each), the CCL XML parsed, processed tables, weights."""
    rows: list[dict[str, Any]] = []
    parsed = _parsed_ccl(inputs)
    parsed_shas = {sha for _, sha in parsed}
    for f in sorted((inputs.manifest or {}).get("files", []), key=lambda f: str(f.get("path", ""))):
        row = {
            k: f.get(k) for k in ("kind", "path", "url", "vintage", "retrieved", "bytes", "sha256", "note")
        }
        row["licence"] = f.get("licence") or f.get("license")
        if f.get("kind") == "ccl" and parsed and f.get("sha256") not in parsed_shas:
            row["note"] = "NOT the file parsed for this workbook (see the 'ccl (parsed)' row)" + (
                f"; {row['note']}" if row.get("note") else ""
            )
        rows.append(row)
    rows.extend(_trade_input_rows(inputs.trade_inputs))
    for name, sha in parsed:
        rows.append({"kind": "ccl (parsed)", "path": f"ccl/{name}", "sha256": sha,
                     "note": "the CCL XML ccl_entries.parquet was parsed from"})  # fmt: skip
    for p in inputs.files:
        rows.append({"kind": "processed", "path": f"processed/{p.name}", "bytes": p.bytes, "rows": p.rows,
                     "sha256": p.sha256})  # fmt: skip
    if inputs.weights_path is not None:
        rows.append({"kind": "config", "path": shown_path(inputs.weights_path), "bytes": inputs.weights_path.stat().st_size,
                     "sha256": inputs.weights_sha256})  # fmt: skip
    df = pd.DataFrame(rows)
    roots = _path_roots(inputs.processed_dir)
    for col in ("url", "note", "path"):
        if col in df.columns:
            df[col] = [_scrub(v, roots, p) for v, p in zip(df[col], df.get("path", df[col]), strict=True)]
    return df


_ABS_PATH = re.compile(r"(?<![\w:/.])/(?:[^\s/;,'\"()]+/)+([^\s/;,'\"()]+)")


def _scrub(value: Any, roots: list[tuple[str, str]], rel: Any = None) -> Any:
    """A cell value without absolute local paths ("mirror:/x/y/hs/a.csv" -> "mirror:hs/a.csv")."""
    if not isinstance(value, str):
        return value
    if value.startswith("mirror:/"):
        parts = Path(value[len("mirror:") :]).parts
        depth = len(Path(str(rel)).parts) if isinstance(rel, str) and rel else 1
        return "mirror:" + "/".join(parts[-depth:])
    value = _project_relative(value, roots)
    # Anything still absolute (outside the project, the mirror and home): its name only.
    return _ABS_PATH.sub(lambda m: m.group(1), value)
