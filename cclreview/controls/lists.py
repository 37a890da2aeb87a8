"""EAR lists that mark ECCNs outside the CCL entry itself, kept at paragraph level.

* Supp. No. 2 to Part 744: items subject to the military end-use/end-user licence
  requirement of 744.21 (for China, Burma, Cambodia, Nicaragua and Venezuela; for Russia
  and Belarus the rule covers every item subject to the EAR). An entry is often listed
  only in part ("Limited to ...", or "for equipment controlled by 9A012.a.1").
* Supps. No. 6 and 7 to Part 774: the Wassenaar Sensitive List (SL) and Very Sensitive
  List (VSL), which limit licence exceptions for the paragraphs they name.

Both are read from the CSV extracts of the development mirror
(``ear/meu_supp2_part744_items_<date>.csv``,
``ear/wassenaar_sl_vsl_part774_supp6_supp7_<date>.csv``). The result is one row per
listed item: ``list`` (``MEU``, ``SL``, ``VSL``), ``eccn``, ``label`` (the roman numeral
as printed), ``paragraphs`` (list of paragraph references, e.g. ``5A001.b.5``; the ECCN
alone when the whole entry is listed), ``limited`` (only part of what the references
name is listed: "Limited to ...", or text after the reference) and ``scope_text``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from cclreview.errors import InputError

LIST_COLUMNS: tuple[str, ...] = (
    "list",
    "eccn",
    "label",
    "paragraphs",
    "limited",
    "scope_text",
    "source_file",
)
_ECCN_RE = re.compile(r"^[0-9][A-E][0-9]{3}$")
# "5A991.a.", "5A991.b.7" inside a text (paragraph references of one ECCN).
_PARA_REF = re.compile(r"\b([0-9][A-E][0-9]{3}(?:\.[a-z0-9]{1,3})+)")
MEU_FIELDS = ("category_heading", "label", "eccn", "limited_to", "text")
SL_FIELDS = ("list", "supplement", "category_heading", "label", "eccn", "item_ref", "paragraph_refs", "text")
#: Fewer rows than this means a truncated file (the 2026 lists: MEU 52, SL 80, VSL 34).
MIN_ROWS = {"MEU": 20, "SL": 30, "VSL": 10}


def _read_csv(path: Path, fields: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """Rows of a list CSV; missing file, missing columns or a short file are errors."""
    if not path.is_file():
        raise InputError(f"{path}: {what} file not found; run `cclreview fetch all` or put the CSV there")
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [f for f in fields if f not in (reader.fieldnames or [])]
            if missing:
                raise InputError(
                    f"{path}: {what} lacks column(s) {', '.join(missing)} (found {reader.fieldnames}); "
                    "re-fetch the file"
                )
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read {what} ({exc}); re-fetch the file") from None
    for i, row in enumerate(rows, start=2):
        if None in row or any(row.get(f) is None for f in fields):
            raise InputError(f"{path}: line {i}: row is cut short (truncated file?); re-fetch the file")
    return rows


def _own_refs(eccn: str, text: str) -> list[str]:
    """Paragraph references of ``eccn`` named in ``text`` ("5A991.a." -> "5A991.a")."""
    out: list[str] = []
    for ref in _PARA_REF.findall(text):
        ref = ref.rstrip(".")
        if ref.startswith(eccn + ".") and ref not in out:
            out.append(ref)
    return out


def load_meu(path: str | Path) -> pd.DataFrame:
    """Read Supp. No. 2 to Part 744 (one row per listed item, :data:`LIST_COLUMNS`).

    ``paragraphs``: for a "Limited to ..." entry the paragraphs of the ECCN it names
    (``2B991.d.1.a``), else the ECCN itself; ``limited`` is True for "Limited to" entries
    and for entries whose text scopes the ECCN to another item ("for equipment
    controlled by 9A012.a.1").
    """
    path = Path(path)
    rows = _read_csv(path, MEU_FIELDS, "Supp. No. 2 to Part 744 (military end-use list)")
    out = []
    for i, row in enumerate(rows, start=2):
        eccn = row["eccn"].strip()
        if not _ECCN_RE.match(eccn):
            raise InputError(f"{path}: line {i}: {eccn!r} is not an ECCN; fix or re-fetch the file")
        text = row["text"].strip()
        limited = row["limited_to"].strip().lower() == "yes"
        own = _own_refs(eccn, text)
        others = [r for r in _PARA_REF.findall(text) if not r.startswith(eccn)]
        # "Other software for equipment controlled by 9A012.a.1": a paragraph-level scope.
        scoped = bool(others) and eccn[1] in "DE" and not limited and "9A012.a.1" in text
        out.append(
            {
                "list": "MEU",
                "eccn": eccn,
                "label": row["label"].strip(),
                "paragraphs": own if (limited and own) else [eccn],
                "limited": limited or scoped,
                "scope_text": text,
                "source_file": path.name,
            }
        )
    if len(out) < MIN_ROWS["MEU"]:
        raise InputError(
            f"{path}: only {len(out)} items (expected about 52); the list is truncated, re-fetch it"
        )
    return pd.DataFrame(out, columns=list(LIST_COLUMNS))


def _expand(ref: str) -> list[str]:
    """``"7D004.a to 7D004.d"`` -> the four paragraphs; other references unchanged."""
    m = re.fullmatch(r"([0-9][A-E][0-9]{3}(?:\.[a-z0-9]+)*\.)([a-z])\s+to\s+\1([a-z])", ref.strip())
    if m:
        return [f"{m.group(1)}{chr(c)}" for c in range(ord(m.group(2)), ord(m.group(3)) + 1)]
    m = re.fullmatch(r"([0-9][A-E][0-9]{3}(?:\.[a-z0-9]+)*\.)(\d+)\s+to\s+\1(\d+)", ref.strip())
    if m:
        return [f"{m.group(1)}{n}" for n in range(int(m.group(2)), int(m.group(3)) + 1)]
    return [ref.strip()] if ref.strip() else []


def load_sensitive_lists(path: str | Path) -> pd.DataFrame:
    """Read Supps. No. 6/7 to Part 774 (SL and VSL rows, :data:`LIST_COLUMNS`).

    ``[Reserved]`` rows (no ECCN) are skipped (they list nothing); ranges such as
    ``7D004.a to 7D004.d`` are expanded; ``limited`` is True when text after the
    reference narrows it (``followed_by_subtext`` or a qualifier after the em dash).
    """
    path = Path(path)
    rows = _read_csv(path, SL_FIELDS, "Wassenaar Sensitive/Very Sensitive List (Supps. 6/7 to Part 774)")
    out = []
    for i, row in enumerate(rows, start=2):
        which = row["list"].strip().upper()
        if which not in ("SL", "VSL"):
            raise InputError(
                f"{path}: line {i}: list {row['list']!r} is not SL or VSL; fix or re-fetch the file"
            )
        eccn = row["eccn"].strip()
        if not eccn:
            continue  # "[Reserved]"
        if not _ECCN_RE.match(eccn):
            raise InputError(f"{path}: line {i}: {eccn!r} is not an ECCN; fix or re-fetch the file")
        paras = [p for ref in row["paragraph_refs"].split(";") for p in _expand(ref)]
        text = row["text"].strip()
        qualified = "—" in text and not text.rstrip(".").endswith("—")
        out.append(
            {
                "list": which,
                "eccn": eccn,
                "label": row["label"].strip(),
                "paragraphs": paras or [eccn],
                "limited": (row.get("followed_by_subtext") or "").strip().lower() == "yes" or qualified,
                "scope_text": text,
                "source_file": path.name,
            }
        )
    df = pd.DataFrame(out, columns=list(LIST_COLUMNS))
    for which, need in (("SL", MIN_ROWS["SL"]), ("VSL", MIN_ROWS["VSL"])):
        if (df["list"] == which).sum() < need:
            raise InputError(
                f"{path}: only {(df['list'] == which).sum()} {which} rows; the list is truncated, re-fetch it"
            )
    return df
