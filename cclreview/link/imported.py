"""Readers for external concordances, and the cross-list conflict check.

Supported layouts
-----------------
* China's dual-use catalogue, pairs CSV: ``row,list,seq,control_code,control_base5,
  code_well_formed,hs10,hs8,hs6`` (one row per catalogue row x customs code).
* China's dual-use catalogue, pipe-separated with Chinese headers
  ``目录类型|序号|管制编码|推荐产品名称|参考HS编码|行业叫法`` (comma-separated 10-digit codes).
* The EU dual-use correlation table (xlsx): a header row with a CN code column (CN8, with
  or without spaces) and a dual-use number column (several numbers per cell allowed);
  an optional description column is used for the conflict check.
* A generic CSV with ``eccn`` and ``hs6`` columns (extra columns are ignored).

Every reader returns ``(links, rejected)``: rows with a junk control code, no customs code
or a code that is not a valid HS6 are never dropped silently; they go to ``rejected``
(``source_file, row, control_code, hs_code, reason``).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz

from cclreview.errors import InputError
from cclreview.io import check_table_file
from cclreview.link.sources import source_confidence, split_eccn
from cclreview.link.suggest import content_words, expand, prior_vector

log = logging.getLogger(__name__)

LINK_COLUMNS = ["eccn", "paragraph", "hs6", "source", "confidence", "raw_code", "product_name", "origin"]
REJECT_COLUMNS = ["source_file", "row", "control_code", "hs_code", "reason"]
_CN_PSV_HEADER = ["目录类型", "序号", "管制编码", "推荐产品名称", "参考HS编码", "行业叫法"]
_LATIN = re.compile(r"[A-Za-z]{3,}")


def _empty() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.DataFrame(columns=LINK_COLUMNS), pd.DataFrame(columns=REJECT_COLUMNS)


def _collect(
    records: list[tuple[int, str, str, str]], source: str, path: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn ``(row, control_code, hs_code, product_name)`` records into links and rejects."""
    conf = source_confidence(source)
    links, rejected = [], []
    for row, code, hs_code, name in records:
        parts = split_eccn(code) if code else None
        digits = re.sub(r"\D", "", hs_code or "")
        if parts is None:
            reason = "empty control code" if not code.strip() else "control code is not an ECCN-style number"
            rejected.append((path.name, row, code, hs_code, reason))
            continue
        if not digits:
            rejected.append((path.name, row, code, hs_code, "no customs code for this control code"))
            continue
        if len(digits) < 6:
            rejected.append((path.name, row, code, hs_code, "customs code shorter than 6 digits"))
            continue
        links.append((parts[0], parts[1], digits[:6], source, conf, code, name, f"{path.name}:{row}"))
    out = pd.DataFrame(links, columns=LINK_COLUMNS).drop_duplicates(["eccn", "paragraph", "hs6", "origin"])
    return out.reset_index(drop=True), pd.DataFrame(rejected, columns=REJECT_COLUMNS)


def read_cn_pairs(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the China catalogue pairs CSV (10-digit customs codes reduced to HS6)."""
    path = Path(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    need = {"row", "control_code", "hs10"}
    if not need <= set(df.columns):
        raise InputError(f"{path}: not the China catalogue pairs layout; needs columns {sorted(need)}")
    hs = df["hs10"].where(df["hs10"] != "", df.get("hs6", df["hs10"]))
    # The pairs file repeats a catalogue row once per customs code: report junk once per row+code.
    records = [(int(r), c, h, "") for r, c, h in zip(df["row"], df["control_code"], hs, strict=False)]
    return _collect(records, "imported:cn_catalogue", path)


def read_cn_psv(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the China catalogue pipe-separated layout (one row per catalogue entry)."""
    path = Path(path)
    df = pd.read_csv(path, sep="|", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if list(df.columns[:6]) != _CN_PSV_HEADER:
        raise InputError(f"{path}: expected header {'|'.join(_CN_PSV_HEADER)}; got {'|'.join(df.columns)}")
    records: list[tuple[int, str, str, str]] = []
    for i, (code, name, codes) in enumerate(
        zip(df["管制编码"], df["推荐产品名称"], df["参考HS编码"], strict=False), start=2
    ):
        items = [c.strip() for c in re.split(r"[,，;；\s]+", codes) if c.strip()] or [""]
        records.extend((i, code.strip(), c, name.strip()) for c in items)
    return _collect(records, "imported:cn_catalogue", path)


def _find_header(ws_rows: list[tuple[Any, ...]], path: Path) -> tuple[int, int, int, int | None]:
    """Locate header row and the CN, dual-use and description columns in the first rows."""
    for r, row in enumerate(ws_rows[:30]):
        cells = [str(c).strip().lower() if c is not None else "" for c in row]
        cn = next(
            (j for j, c in enumerate(cells) if re.search(r"\bcn\b|cn ?code|cn8|combined nomenclature", c)),
            None,
        )
        du = next(
            (
                j
                for j, c in enumerate(cells)
                if re.search(r"dual|annex|du ?(no|number|item|code)", c) and j != cn
            ),
            None,
        )
        if cn is not None and du is not None:
            desc = next((j for j, c in enumerate(cells) if "description" in c and j not in (cn, du)), None)
            return r, cn, du, desc
    raise InputError(
        f"{path}: no header row with a CN code column and a dual-use number column in the first 30 rows; "
        "the EU correlation table needs headers like 'CN code' and 'Dual-use item'"
    )


def read_eu_correlation(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the EU CN8 <-> dual-use correlation table (xlsx, first sheet with a header)."""
    from openpyxl import load_workbook

    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for non-xlsx files
        raise InputError(f"{path}: cannot open as xlsx ({exc}); save the correlation table as .xlsx") from exc
    records: list[tuple[int, str, str, str]] = []
    found = False
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        try:
            h, cn_col, du_col, desc_col = _find_header(rows, path)
        except InputError:
            continue
        found = True
        for i, row in enumerate(rows[h + 1 :], start=h + 2):
            cn = row[cn_col] if cn_col < len(row) else None
            du = row[du_col] if du_col < len(row) else None
            if cn is None and du is None:
                continue
            cn_s = str(cn if cn is not None else "").strip()
            if isinstance(cn, (int, float)) and not isinstance(cn, bool):
                cn_s = f"{int(cn):08d}"  # numeric cells lose the leading zero
            desc = (
                str(row[desc_col]).strip()
                if desc_col is not None and desc_col < len(row) and row[desc_col]
                else ""
            )
            codes = [c for c in re.split(r"[,;\n/]+|\s{2,}", str(du or "")) if c.strip()] or [""]
            records.extend((i, c.strip(), cn_s, desc) for c in codes)
    wb.close()
    if not found:
        _find_header([], path)
    return _collect(records, "imported:eu_correlation", path)


def read_generic_links(
    path: str | os.PathLike[str], name: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a generic ``eccn,hs6`` CSV; the source is ``imported:<name or file stem>``."""
    path = Path(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.strip().lower() for c in df.columns]
    if not {"eccn", "hs6"} <= set(df.columns):
        raise InputError(f"{path}: a generic concordance needs columns eccn,hs6 (got {','.join(df.columns)})")
    src = f"imported:{name or re.sub(r'[^a-z0-9_]+', '_', path.stem.lower())}"
    names = df["product_name"] if "product_name" in df.columns else pd.Series("", index=df.index)
    records = [
        (i, e, h.zfill(6) if h.strip().isdigit() and len(h.strip()) == 5 else h, n)
        for i, (e, h, n) in enumerate(zip(df["eccn"], df["hs6"], names, strict=False), start=2)
    ]
    return _collect(records, src, path)


#: Largest concordance file read (bytes): the real ones are under 0.1 MB; the EU
#: correlation workbook a few MB.
MAX_CONCORDANCE_BYTES = 50 * 1024 * 1024


def _check_size(path: Path) -> None:
    check_table_file(path, MAX_CONCORDANCE_BYTES, "a concordance", "Remove it from the concordance folder")


def detect_layout(path: str | os.PathLike[str]) -> str:
    """Name the layout of a concordance file: ``cn_pairs``, ``cn_psv``, ``eu_xlsx``,
    ``curated`` (analyst override), ``generic`` or ``unknown``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm", ".psv"}:
        _check_size(path)
        return "eu_xlsx" if suffix != ".psv" else "cn_psv"
    if suffix not in {".csv", ".txt"}:
        return "unknown"
    _check_size(path)
    cols = {c.strip().lower() for c in pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns}
    if {"control_code", "hs10"} <= cols:
        return "cn_pairs"
    if {"eccn", "hs6", "confidence", "rationale"} <= cols:
        return "curated"
    if {"eccn", "hs6", "rationale"} <= cols:  # an analyst file without its confidence column
        raise InputError(
            f"{path}: an analyst concordance (eccn, hs6, rationale) needs a confidence column "
            "(high, medium, low or none) on every row; add it, or drop rationale to import it as a generic table"
        )
    if {"eccn", "hs6"} <= cols:
        return "generic"
    return "unknown"


READERS = {
    "cn_pairs": read_cn_pairs,
    "cn_psv": read_cn_psv,
    "eu_xlsx": read_eu_correlation,
    "generic": read_generic_links,
}


def read_concordance(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read any supported concordance file (layout detected from suffix and header)."""
    layout = detect_layout(path)
    if layout not in READERS:
        raise InputError(
            f"{path}: unknown concordance layout; expected the China catalogue (.csv pairs or .psv), "
            "the EU correlation table (.xlsx) or a CSV with eccn,hs6 columns"
        )
    return READERS[layout](path)


def flag_conflicts(
    links: pd.DataFrame,
    entries: pd.DataFrame,
    hs: pd.DataFrame,
    candidates: pd.DataFrame | None = None,
    penalty: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare imported links with the U.S. CCL before trusting them.

    The same number can mean another item in a foreign list (China's 3C001 is gallium,
    the U.S. 3C001 is hetero-epitaxial wafers). A link is flagged when its HS chapter is
    outside the usual chapters of the ECCN's category and group, when the CCL heading and
    the HS text share no term and the suggester did not propose the HS6 either, or when a
    Latin-script product name does not resemble the CCL heading.

    Parameters
    ----------
    links
        Imported links (``LINK_COLUMNS``).
    entries
        ``ccl_entries`` (``eccn, heading``; ``items_text`` used when present).
    hs
        HS6 table of :func:`cclreview.link.hs.load_hs`.
    candidates
        Optional wide list of suggestions (``eccn, hs6``) counting as support.
    penalty
        Confidence multiplier of flagged links.

    Returns
    -------
    (links, rejected)
        Links with ``conflict`` (bool), ``conflict_reason`` and lowered ``confidence``;
        rows whose ECCN is not in the U.S. CCL or whose HS6 is not in the nomenclature
        move to ``rejected``.
    """
    if links.empty:
        return links.assign(conflict=pd.Series(dtype=bool), conflict_reason=pd.Series(dtype=str)), _empty()[1]
    heading = dict(zip(entries["eccn"], entries["heading"].fillna(""), strict=False))
    hs_text = {h: f"{d} {h4}" for h, d, h4 in zip(hs["hs6"], hs["description"], hs["hs4_text"], strict=False)}
    rej = []
    in_ccl = links["eccn"].isin(heading)
    in_hs = links["hs6"].isin(hs_text)
    for r in links[~in_ccl | ~in_hs].itertuples(index=False):
        reason = "control number not in the U.S. CCL" if r.eccn not in heading else "hs6 not in HS2022"
        file, _, row = r.origin.rpartition(":")
        rej.append((file, int(row), r.raw_code, r.hs6, reason))
    out = links[in_ccl & in_hs].copy()
    support = (
        set(zip(candidates["eccn"], candidates["hs6"], strict=False)) if candidates is not None else set()
    )
    head_words = {e: content_words(expand(h)) for e, h in heading.items()}
    hs_words = {h: content_words(t) for h, t in hs_text.items()}
    flags, reasons = [], []
    for e, h, name in zip(out["eccn"], out["hs6"], out["product_name"].fillna(""), strict=False):
        why = []
        if prior_vector(e, np.array([h]))[0] == 0:
            why.append(f"HS chapter {h[:2]} unusual for {e[:2]} items")
        if not (head_words.get(e, set()) & hs_words[h]) and (e, h) not in support:
            why.append("CCL heading and HS text share no term")
        if _LATIN.search(name) and fuzz.token_set_ratio(name.lower(), heading[e].lower()) < 40:
            why.append("product name differs from the CCL heading")
        flags.append(bool(why))
        reasons.append("; ".join(why))
    out["conflict"] = flags
    out["conflict_reason"] = reasons
    out["confidence"] = np.where(out["conflict"], out["confidence"] * penalty, out["confidence"]).round(3)
    return out.reset_index(drop=True), pd.DataFrame(rej, columns=REJECT_COLUMNS)
