"""Evaluation of suggested links against a gold list of ECCN x HS6 pairs.

Level: 5-character ECCN x HS6. For each gold ECCN the suggestions of that ECCN (all
``suggested`` rows, entry and paragraph level, best score per HS6) are ranked and cut
at ``k``. Curated, imported and inherited rows are excluded from the scored set.

Metrics (macro means over gold ECCNs; an ECCN with no suggestion scores 0):
``recall@k`` = hits / |gold|, ``recall_capped@k`` = hits / min(k, |gold|) (reaches 1
when the list is full of gold codes even if the gold set is larger than k),
``hit@k`` = share of ECCNs with at least one hit, ``precision@k`` = hits / k,
``mrr`` = mean of 1 / rank of the first hit.

Noisy gold lists (the China catalogue) are also scored on their plausible pairs only
(``noise.plausible_only``: pairs whose HS chapter is usual for the ECCN's category and
group), to show how much of the gap is the gold's noise rather than the suggester's.
``links`` (:func:`link_precision`) scores the links themselves (primary rows, every
source): precision = share of the links of gold ECCNs that are gold pairs, recall =
share of gold pairs among the links.

Hand-judged gold (issue 12; ``tests/data/link_gold_judged.csv``): one row per link with
``judgement`` right / partly / wrong and a reason. :func:`judged_precision` matches the
primary links on (5-char ECCN, hs6) and reports, overall, by source family and for the
evidence set (``confirmed`` links), ``precision`` = right / judged links found,
``precision_lenient`` = (right + partly) / judged links found, and ``recall`` = share of
the gold's right pairs present (``recall_lenient``: right or partly).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cclreview.errors import InputError
from cclreview.link.sources import source_family, split_eccn
from cclreview.link.suggest import prior_vector


def read_gold(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a gold file into unique ``eccn, hs6`` pairs (5-char ECCN).

    Accepts the China catalogue pairs CSV (``control_base5``/``control_code`` and ``hs6``),
    the curated CSV or any CSV/TSV with ``eccn`` and ``hs6`` columns.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"gold file {path} not found; pass --gold with a CSV of eccn,hs6 pairs")
    sep = "\t" if path.suffix.lower() in {".tsv", ".tab"} else ","
    df = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep, comment=None, encoding="utf-8-sig")
    df.columns = [c.strip().lower() for c in df.columns]
    code_col = next((c for c in ("eccn", "control_code", "control_base5") if c in df.columns), None)
    if code_col is None or "hs6" not in df.columns:
        raise InputError(f"{path}: gold needs an eccn (or control_code) column and an hs6 column")
    pairs = []
    for code, hs6 in zip(df[code_col], df["hs6"], strict=False):
        parts = split_eccn(code)
        hs6 = hs6.strip()
        if parts is None or not (len(hs6) == 6 and hs6.isdigit()):
            continue  # junk codes and rows without a customs code are not gold
        pairs.append((parts[0], hs6))
    return pd.DataFrame(sorted(set(pairs)), columns=["eccn", "hs6"])


def ranked_suggestions(links: pd.DataFrame) -> dict[str, list[str]]:
    """Per 5-char ECCN, HS6 codes of the ``suggested`` rows ranked by best score."""
    also = links["also_in"].fillna("") if "also_in" in links.columns else pd.Series("", index=links.index)
    sug = links[(links["source"] == "suggested") | also.str.contains("suggested")]
    key = "score" if "score" in sug.columns else "confidence"
    sug = sug.sort_values(key, ascending=False).drop_duplicates(["eccn", "hs6"])
    return {e: g["hs6"].tolist() for e, g in sug.groupby("eccn", sort=False)}


def _metrics(ranked: dict[str, list[str]], gold: dict[str, set[str]], k: int) -> dict[str, float]:
    n = len(gold)
    if n == 0:
        return {"n_eccns": 0, "n_pairs": 0}
    rec = cap = hit = prec = mrr = 0.0
    for eccn, g in gold.items():
        top = ranked.get(eccn, [])[:k]
        hits = [i for i, h in enumerate(top) if h in g]
        rec += len(hits) / len(g)
        cap += len(hits) / min(k, len(g))
        hit += 1.0 if hits else 0.0
        prec += len(hits) / k
        mrr += 1.0 / (hits[0] + 1) if hits else 0.0
    return {
        "n_eccns": n,
        "n_pairs": sum(len(g) for g in gold.values()),
        f"recall@{k}": round(rec / n, 4),
        f"recall_capped@{k}": round(cap / n, 4),
        f"hit@{k}": round(hit / n, 4),
        f"precision@{k}": round(prec / n, 4),
        "mrr": round(mrr / n, 4),
    }


def evaluate_links(links: pd.DataFrame, gold: pd.DataFrame, k: int = 10) -> dict[str, Any]:
    """Score the suggestions in ``links`` against ``gold``.

    Parameters
    ----------
    links
        ``eccn_hs_links`` table (needs ``eccn, hs6, source`` and ``score`` or ``confidence``).
    gold
        ``eccn, hs6`` pairs (see :func:`read_gold`).
    k
        Cut-off.

    Returns
    -------
    dict
        ``overall`` metrics, ``by_category`` (first digit of the ECCN) and
        ``coverage`` (gold ECCNs that have at least one suggestion).
    """
    if k < 1:
        raise InputError(f"--k must be at least 1, got {k}")
    ranked = ranked_suggestions(links)
    # Only commodity entries (A/B/C) of the linked CCL can be suggested for; foreign-only
    # numbers and D/E entries in the gold are reported, not scored.
    universe = {e for e in links["eccn"].unique() if e[1] in "ABC"}
    gold_sets = {e: set(g["hs6"]) for e, g in gold.groupby("eccn") if e in universe}
    skipped = sorted(set(gold["eccn"]) - set(gold_sets))
    result: dict[str, Any] = {
        "k": k,
        "overall": _metrics(ranked, gold_sets, k),
        "by_category": {},
        "skipped_eccns": len(skipped),
        "skipped": skipped,
    }
    for cat in sorted({e[0] for e in gold_sets}):
        sub = {e: g for e, g in gold_sets.items() if e[0] == cat}
        result["by_category"][cat] = _metrics(ranked, sub, k)
    # Noise check: gold pairs in an HS chapter where the ECCN's category and group never
    # sit (e.g. hand tools for radiation windows) are likely transcription spill-over.
    implausible = {(e, h) for e, g in gold_sets.items() for h in g if prior_vector(e, np.array([h]))[0] == 0}
    plausible = {e: {h for h in g if (e, h) not in implausible} for e, g in gold_sets.items()}
    plausible = {e: g for e, g in plausible.items() if g}
    result["noise"] = {
        "pairs_outside_usual_chapters": len(implausible),
        "share_outside_usual_chapters": round(
            len(implausible) / max(result["overall"].get("n_pairs", 0), 1), 4
        ),
        "plausible_only": _metrics(ranked, plausible, k),
    }
    result["coverage"] = round(sum(1 for e in gold_sets if e in ranked) / max(len(gold_sets), 1), 4)
    result["links"] = link_precision(links, gold)
    return result


JUDGEMENTS = ("right", "partly", "wrong")


def read_judged_gold(path: str | os.PathLike[str]) -> pd.DataFrame | None:
    """Read a hand-judged gold file (``eccn, hs6, judgement, reason``), or None if not one.

    Returns
    -------
    pandas.DataFrame or None
        ``eccn`` (5-char), ``hs6``, ``judgement`` (right/partly/wrong), ``reason`` and any
        other columns; None when the file has no ``judgement`` column (a pair list).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"gold file {path} not found; pass --gold with a CSV of eccn,hs6 pairs")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.strip().lower() for c in df.columns]
    if "judgement" not in df.columns:
        return None
    missing = {"eccn", "hs6", "reason"} - set(df.columns)
    if missing:
        raise InputError(
            f"{path}: judged gold needs columns eccn,hs6,judgement,reason; missing {sorted(missing)}"
        )
    problems = []
    for i, (e, h, j, r) in enumerate(
        zip(df["eccn"], df["hs6"], df["judgement"], df["reason"], strict=True), 2
    ):
        if split_eccn(e) is None or not (len(h) == 6 and h.isdigit()):
            problems.append(f"line {i}: {e!r} -> {h!r} is not an ECCN and a 6-digit HS code")
        elif j.strip().lower() not in JUDGEMENTS:
            problems.append(f"line {i}: judgement {j!r} must be right, partly or wrong")
        elif not r.strip():
            problems.append(f"line {i}: give a one-line reason for the judgement")
    if problems:
        raise InputError(f"{path}: {len(problems)} invalid row(s): " + "; ".join(problems[:10]))
    df["eccn"] = df["eccn"].map(lambda c: split_eccn(c)[0])  # type: ignore[index]
    df["judgement"] = df["judgement"].str.strip().str.lower()
    dup = df.duplicated(["eccn", "hs6"])
    if dup.any():
        r = df[dup].iloc[0]
        raise InputError(f"{path}: {r['eccn']} -> {r['hs6']} is judged twice; keep one row per pair")
    return df.reset_index(drop=True)


def _judged_counts(judgements: pd.Series) -> dict[str, float]:
    n = len(judgements)
    right = int((judgements == "right").sum())
    partly = int((judgements == "partly").sum())
    return {
        "n": n,
        "right": right,
        "partly": partly,
        "wrong": n - right - partly,
        "precision": round(right / n, 4) if n else float("nan"),
        "precision_lenient": round((right + partly) / n, 4) if n else float("nan"),
    }


def judged_precision(links: pd.DataFrame, gold: pd.DataFrame) -> dict[str, Any]:
    """Precision and recall of the links against a hand-judged gold (see module docstring).

    Parameters
    ----------
    links
        ``eccn_hs_links`` or the candidates table (``eccn, hs6, source``; when ``primary``
        exists only primary rows are scored: the others are not the stage's links).
    gold
        From :func:`read_judged_gold`.

    Returns
    -------
    dict
        ``overall``, ``by_source`` ({family: counts}), ``evidence`` (confirmed links
        only; all links when the file has no ``confirmed`` column), ``recall``,
        ``recall_lenient``, ``evidence_recall``, ``n_gold``.
    """
    df = links[links["primary"].astype(bool)] if "primary" in links.columns else links
    sort = [c for c in ("eccn", "rank") if c in df.columns]
    df = df.sort_values(sort, kind="stable").drop_duplicates(["eccn", "hs6"])
    confirmed = df["confirmed"].astype(bool) if "confirmed" in df.columns else pd.Series(True, index=df.index)
    df = df.assign(_family=df["source"].map(source_family).str.replace("curated:analyst", "curated"))
    df = df.assign(_confirmed=confirmed.to_numpy())
    m = gold.merge(df[["eccn", "hs6", "_family", "_confirmed"]], on=["eccn", "hs6"], how="left")
    found = m[m["_family"].notna()]
    ev = found[found["_confirmed"].astype(bool)]

    def recall(sub: pd.DataFrame, kinds: tuple[str, ...]) -> float:
        want = gold["judgement"].isin(kinds).sum()
        return round(int(sub["judgement"].isin(kinds).sum()) / want, 4) if want else float("nan")

    return {
        "n_gold": len(gold),
        "overall": _judged_counts(found["judgement"]),
        "by_source": {f: _judged_counts(g["judgement"]) for f, g in found.groupby("_family")},
        "evidence": _judged_counts(ev["judgement"]),
        "recall": recall(found, ("right",)),
        "recall_lenient": recall(found, ("right", "partly")),
        "evidence_recall": recall(ev, ("right",)),
    }


def link_precision(links: pd.DataFrame, gold: pd.DataFrame) -> dict[str, Any]:
    """Precision and recall of the links themselves against a pair gold (``eccn, hs6``).

    Only ECCNs present in both are scored (the gold says nothing about the others):
    precision = share of their primary links that are gold pairs; recall = share of
    their gold pairs among the links. Reported overall and by source family.
    """
    df = links[links["primary"].astype(bool)] if "primary" in links.columns else links
    df = df.drop_duplicates(["eccn", "hs6"])
    common = set(df["eccn"]) & set(gold["eccn"])
    df = df[df["eccn"].isin(common)]
    g = gold[gold["eccn"].isin(common)]
    pairs = set(zip(g["eccn"], g["hs6"], strict=True))
    hit = pd.Series([p in pairs for p in zip(df["eccn"], df["hs6"], strict=True)], index=df.index, dtype=bool)
    fam = df["source"].map(source_family)
    out: dict[str, Any] = {
        "n_eccns": len(common),
        "n_links": len(df),
        "precision": round(float(hit.mean()), 4) if len(df) else float("nan"),
        "recall": round(int(hit.sum()) / len(pairs), 4) if pairs else float("nan"),
        "precision_by_source": {f: round(float(h.mean()), 4) for f, h in hit.groupby(fam)},
    }
    return out
