"""The link stage: combine curated, imported, suggested and inherited links.

Precedence (documented decision)
--------------------------------
For each ECCN the highest source family present wins: curated (analyst and shipped) >
imported > suggested (D/E entries: inherited). ``eccn_hs_links.parquet`` holds only the
rows of each ECCN's winning family (``primary``), so scoring never mixes a curated link
with weaker guesses. Every row, including the lower-precedence ones (suggestions for
ECCNs that have curated links, imported rows overridden by curated ones), is kept in
``eccn_hs_link_candidates.parquet`` with ``primary = False`` for review and for
``eval-links`` (the suggester is evaluated on every ECCN). A pair (eccn, paragraph, hs6)
found by several sources appears once, under the best source (analyst > shipped for the
same pair), with the others listed in ``also_in``.

Evidence (issue 12): every row carries ``confirmed`` (curated, analyst, imported, and
inherited from a confirmed link: True; text-similarity suggestions, imported pairs
flagged as conflicting with the control text, and what inherits from them: False), ``specificity_class`` and ``specificity`` (see
:mod:`cclreview.link.specificity`). Suggestions stay in the outputs so they can be
offered for confirmation (``link_suggestions.csv``); scoring must not count unconfirmed
links as evidence (ECCNs with only unconfirmed links: reason "unconfirmed links" in
``unlinked_eccns.csv``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cclreview import contracts
from cclreview.errors import InputError, SourceMissingError, ValidationError
from cclreview.io import write_csv
from cclreview.link.curated import CURATED_FILE, check_hs6, load_curated
from cclreview.link.hs import HS_VERSION, load_hs
from cclreview.link.imported import REJECT_COLUMNS, detect_layout, flag_conflicts, read_concordance
from cclreview.link.inherit import inherit_links
from cclreview.link.sources import LINK_ROW_COLUMNS, PRECEDENCE, source_confidence, source_family
from cclreview.link.specificity import auto_class, confirmed_source, specificity_classes
from cclreview.link.suggest import suggest_links

log = logging.getLogger(__name__)

LINKS_FILE = contracts.ECCN_HS_LINKS
CANDIDATES_FILE = contracts.ECCN_HS_LINK_CANDIDATES
UNLINKED_FILE = contracts.UNLINKED_ECCNS
SUGGESTIONS_FILE = "link_suggestions.csv"
REJECTED_FILE = "rejected_concordance_rows.csv"
OUTPUT_COLUMNS = [
    "eccn",
    "paragraph",
    "hs6",
    "hs_version",
    "source",
    "confidence",
    "rank",
    "rationale",
    "score",
    "why",
    "conflict",
    "conflict_reason",
    "primary",
    "also_in",
    "inherited_from",
    "origin",
    "confirmed",
    "specificity",
    "specificity_class",
]
_CONCORDANCE_SUFFIXES = {".csv", ".psv", ".xlsx", ".xlsm"}


@dataclass
class LinkResult:
    """Outputs of :func:`build_links`."""

    links: pd.DataFrame  # primary rows only (the stage output scoring uses)
    unlinked: pd.DataFrame
    rejected: pd.DataFrame
    summary: dict[str, object] = field(default_factory=dict)
    candidates: pd.DataFrame | None = None  # every row, primary or not
    suggestions: pd.DataFrame | None = None  # suggestions offered for confirmation


def concordance_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders into the concordance files they hold (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.iterdir()):
                if f.suffix.lower() not in _CONCORDANCE_SUFFIXES or f.name.startswith("."):
                    continue
                # In a folder, files of unknown layout (notes, templates) are skipped with
                # a warning; a file named explicitly must be readable.
                if detect_layout(f) == "unknown":
                    log.warning("%s: not a known concordance layout, skipped", f)
                    continue
                out.append(f)
        elif p.is_file():
            out.append(p)
        else:
            raise SourceMissingError(f"concordance path {p} does not exist; pass existing files or folders")
    return out


def _curated_rows(cur: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "eccn": cur["eccn"],
            "paragraph": cur["paragraph"],
            "hs6": cur["hs6"],
            "source": cur["source"],
            "confidence": cur["confidence"].astype(float),
            "rationale": cur["label"] + ": " + cur["rationale"],
            "origin": cur["origin"],
            "specificity_class": cur["specificity_class"],
        }
    )


def _rejected_curated(rows: pd.DataFrame, reason: str) -> pd.DataFrame:
    """Curated rows refused for ``reason``, in the rejected-concordance layout (origin = "file:row")."""
    origin = rows["origin"].str.rpartition(":")
    return pd.DataFrame(
        {
            "source_file": origin[0],
            "row": origin[2].astype(int),
            "control_code": rows["paragraph"].where(rows["paragraph"] != "", rows["eccn"]),
            "hs_code": rows["hs6"],
            "reason": reason,
        }
    )


def build_links(
    entries: pd.DataFrame,
    paragraphs: pd.DataFrame | None,
    hs: pd.DataFrame,
    concordances: Iterable[str | os.PathLike[str]] = (),
    curated_file: str | os.PathLike[str] | None = CURATED_FILE,
    top_k: int = 10,
) -> LinkResult:
    """Build every ECCN -> HS6 link with provenance and confidence.

    Parameters
    ----------
    entries, paragraphs
        Tables of the CCL stage.
    hs
        HS6 table from :func:`cclreview.link.hs.load_hs`.
    concordances
        Files or folders: imported concordances and analyst curated files (detected by
        their columns ``eccn,hs6,confidence,rationale``).
    curated_file
        The shipped curated table (None to leave it out, e.g. for evaluation).
    top_k
        Suggestions per ECCN.
    """
    if entries.empty:
        raise InputError("ccl_entries is empty; run `cclreview ingest-ccl` first")
    files = concordance_files(concordances)
    analyst = [f for f in files if detect_layout(f) == "curated"]
    imported_files = [f for f in files if f not in analyst]
    cur = load_curated(curated_file, analyst) if curated_file is not None or analyst else None
    rejected = [pd.DataFrame(columns=REJECT_COLUMNS)]
    if cur is not None:
        # Analysts' codes must be right (their typo is an error to fix); shipped rows whose
        # code is absent from the nomenclature given (e.g. a reduced one) are reported.
        check_hs6(cur[cur["source"] == "curated:analyst"], hs["hs6"], "analyst curated links")
        missing = (cur["source"] == "curated") & ~cur["hs6"].isin(set(hs["hs6"]))
        if missing.any():
            log.warning(
                "%d shipped curated link(s) use HS6 codes absent from the nomenclature", int(missing.sum())
            )
            rejected.append(
                _rejected_curated(cur[missing], f"hs6 not in the {HS_VERSION} nomenclature given")
            )
            cur = cur[~missing]
    if cur is not None:
        # Rows for ECCNs absent from this CCL edition (removed or renumbered) are reported.
        gone = ~cur["eccn"].isin(set(entries["eccn"]))
        if gone.any():
            log.info("%d curated link(s) name ECCNs absent from this CCL edition", int(gone.sum()))
            rejected.append(_rejected_curated(cur[gone], "ECCN not in this CCL edition"))
            cur = cur[~gone]
        cur, bad_para = _check_paragraphs(cur, paragraphs)
        if bad_para is not None:
            rejected.append(bad_para)
    frames = [_curated_rows(cur)] if cur is not None and not cur.empty else []

    sug = suggest_links(entries, paragraphs, hs, top_k=top_k)
    for f in imported_files:
        links, rej = read_concordance(f)
        # No suggester support: the U.S. text may mention the foreign item (3C001 names
        # gallium compounds), so only the heading decides; measured on the China catalogue,
        # this flags 7 % of pairs the curated table confirms and 63 % of the others.
        links, rej2 = flag_conflicts(links, entries, hs)
        rejected += [rej, rej2]
        log.info("%s: %d link(s), %d rejected row(s)", f.name, len(links), len(rej) + len(rej2))
        if links.empty:
            continue
        links = links.sort_values("confidence", ascending=False).drop_duplicates(
            ["eccn", "paragraph", "hs6", "source"]
        )
        rationale = (
            links["source"]
            + " lists "
            + links["raw_code"]
            + " with customs code in HS "
            + links["hs6"].str[:4]
            + np.where(links["conflict"], " (conflict: " + links["conflict_reason"] + ")", "")
        )
        frames.append(
            links.assign(rationale=rationale)[[*LINK_ROW_COLUMNS, "conflict", "conflict_reason", "origin"]]
        )
    sconf = source_confidence("suggested")
    frames.append(
        pd.DataFrame(
            {
                "eccn": sug["eccn"],
                "paragraph": sug["paragraph"],
                "hs6": sug["hs6"],
                "source": "suggested",
                "confidence": (sug["score"] * sconf).round(3),
                "score": sug["score"],
                "why": sug["why"],
                "rationale": "text similarity "
                + sug["score"].map("{:.2f}".format)
                + "; shared terms: "
                + sug["why"],
            }
        )
    )
    allrows = pd.concat(frames, ignore_index=True)
    allrows = _classify(allrows, hs)
    allrows = _dedupe(allrows)
    allrows = _mark_primary(allrows)
    inherited, de_report = inherit_links(entries, allrows)
    if not inherited.empty:
        allrows = _mark_primary(pd.concat([allrows, inherited], ignore_index=True))
    candidates = _finish(allrows)
    links = candidates[candidates["primary"]].copy()
    links["rank"] = links.groupby("eccn").cumcount() + 1
    unlinked = _unlinked(entries, candidates, de_report)
    rej = pd.concat(rejected, ignore_index=True).drop_duplicates()
    summary = summarise(candidates, unlinked, rej)
    to_confirm = suggestions_to_confirm(candidates, unlinked, hs)
    return LinkResult(links.reset_index(drop=True), unlinked, rej, summary, candidates, to_confirm)


def _classify(df: pd.DataFrame, hs: pd.DataFrame) -> pd.DataFrame:
    """Add ``confirmed`` (by source) and fill ``specificity_class`` where no reviewer gave one."""
    if "specificity_class" not in df.columns:
        df["specificity_class"] = ""
    spec = df["specificity_class"].fillna("").astype(str)
    desc = df["hs6"].map(dict(zip(hs["hs6"], hs["description"], strict=False)))
    df["specificity_class"] = spec.where(spec != "", auto_class(df["hs6"], desc))
    conflict = df["conflict"].fillna(False).astype(bool) if "conflict" in df.columns else False
    # An imported pair flagged as conflicting with the control text is not evidence either
    # (measured: 1A227 shielding windows -> hand tools); an analyst can confirm it.
    df["confirmed"] = confirmed_source(df["source"]) & ~conflict
    return df


def _check_paragraphs(
    cur: pd.DataFrame, paragraphs: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Curated rows naming a paragraph the ECCN does not have (``6A997.z``).

    An analyst's row is an error to fix (it would otherwise count as a second 6A997
    link); a shipped row is reported as rejected. ECCNs without paragraphs in the table
    are not checked.
    """
    if paragraphs is None or paragraphs.empty or not {"eccn", "paragraph_id"} <= set(paragraphs.columns):
        return cur, None
    known = set(paragraphs["paragraph_id"])
    has_paras = set(paragraphs["eccn"])
    bad = cur["paragraph"].fillna("").ne("") & cur["eccn"].isin(has_paras) & ~cur["paragraph"].isin(known)
    if not bad.any():
        return cur, None
    analyst = bad & (cur["source"] == "curated:analyst")
    if analyst.any():
        r = cur[analyst].iloc[0]
        raise ValidationError(
            f"{r['origin']}: paragraph {r['paragraph']!r} is not in ECCN {r['eccn']} of this CCL edition; "
            f"correct it (e.g. {r['eccn']} for the whole entry)"
        )
    return cur[~bad], _rejected_curated(cur[bad], "paragraph not in this CCL edition")


def _dedupe(df: pd.DataFrame) -> pd.DataFrame:
    df = df.assign(_prec=df["source"].map(lambda s: PRECEDENCE[source_family(s)]))
    df = df.sort_values(["_prec", "confidence"], ascending=[True, False], kind="stable")
    key = ["eccn", "paragraph", "hs6"]
    dup = df.duplicated(key)
    # Only the (few) repeated pairs need grouping: other sources listing the same pair.
    later = df[dup].groupby(key, sort=False)
    also = later["source"].agg(lambda s: ";".join(dict.fromkeys(s)))
    # Keep the suggester's score and terms on pairs another source also gives, so the
    # suggestions can still be evaluated and reviewed.
    extra = {c: later[c].first() for c in ("score", "why") if c in df.columns}
    df = df[~dup].set_index(key)
    df["also_in"] = also.reindex(df.index).fillna("")
    for c, v in extra.items():
        df[c] = df[c].fillna(v.reindex(df.index)) if c in df.columns else v
    return df.reset_index()


def _mark_primary(df: pd.DataFrame) -> pd.DataFrame:
    prec = df["source"].map(lambda s: PRECEDENCE[source_family(s)])
    # Analyst and shipped curated rows form one tier: both are primary together.
    tier = prec.where(prec > PRECEDENCE["curated"], 0)
    best = tier.groupby(df["eccn"]).transform("min")
    return df.assign(primary=(tier == best).to_numpy(), _prec=prec)


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    for col, default in (
        ("score", np.nan),
        ("why", ""),
        ("conflict", False),
        ("conflict_reason", ""),
        ("also_in", ""),
        ("inherited_from", ""),
        ("origin", ""),
    ):
        if col not in df.columns:
            df[col] = default
        df[col] = df[col].fillna(default) if default is not np.nan else df[col].astype(float)
    df["conflict"] = df["conflict"].astype(bool)
    df["confirmed"] = df["confirmed"].fillna(False).astype(bool)
    df["specificity"] = df["specificity_class"].map(specificity_classes()).astype(float)
    df["hs_version"] = HS_VERSION
    df = df.sort_values(
        ["eccn", "_prec", "confidence", "score"], ascending=[True, True, False, False], kind="stable"
    )
    df["rank"] = df.groupby("eccn").cumcount() + 1
    df["confidence"] = df["confidence"].astype(float).round(3)
    return df[OUTPUT_COLUMNS].reset_index(drop=True)


def _unlinked(entries: pd.DataFrame, links: pd.DataFrame, de_report: pd.DataFrame) -> pd.DataFrame:
    """ECCNs without a confirmed link, with the reason and their best suggestions.

    Reasons: ``no link`` (nothing at all), ``unconfirmed links`` (suggestions only: not
    evidence until an analyst confirms one), ``unconfirmed links (inherited from
    suggestions)`` for D/E entries, and the D/E report's reasons (naming no commodity...).
    """
    ent = entries.drop_duplicates("eccn")
    if "reserved" in ent.columns:
        ent = ent[~ent["reserved"].fillna(False).astype(bool)]
    prim = links[links["primary"]]
    has_confirmed = prim.groupby("eccn")["confirmed"].any()
    sug = links[links["score"].notna()].sort_values("score", ascending=False).drop_duplicates(["eccn", "hs6"])
    best = sug.groupby("eccn").head(5)
    text = (
        (best["hs6"] + " (" + best["score"].map("{:.2f}".format) + ")").groupby(best["eccn"]).agg("; ".join)
    )
    de_reason = dict(zip(de_report["eccn"], de_report["reason"], strict=False))
    rows = []
    for e, h, grp in zip(ent["eccn"], ent["heading"].fillna(""), ent["product_group"], strict=False):
        confirmed = bool(has_confirmed.get(e, False))
        if grp in ("D", "E"):
            reason = de_reason.get(e, "")
            if not reason and not confirmed:
                reason = "unconfirmed links (inherited)"
        elif confirmed:
            reason = ""
        else:
            reason = "unconfirmed links" if e in has_confirmed.index or e in text.index else "no link"
        if reason:
            rows.append({"eccn": e, "heading": h, "reason": reason, "suggestions": text.get(e, "")})
    return pd.DataFrame(rows, columns=["eccn", "heading", "reason", "suggestions"])


SUGGESTION_COLUMNS = [
    "eccn",
    "paragraph",
    "hs6",
    "description",
    "hs4",
    "hs4_description",
    "score",
    "suggestion_rank",
    "specificity_class",
    "why",
    "reason",
    "confirm_row",
]


def suggestions_to_confirm(
    candidates: pd.DataFrame, unlinked: pd.DataFrame, hs: pd.DataFrame, per_eccn: int = 5
) -> pd.DataFrame:
    """The best suggestions of every ECCN without a confirmed link, ready for an analyst.

    One row per (eccn, hs6), best score first, at most ``per_eccn`` per ECCN, with the
    HS6 and HS4 texts (so a reviewer sees what product the code is) and ``confirm_row``:
    the line to paste into a ``data/raw/concordance/`` analyst CSV (columns
    ``eccn,hs6,confidence,rationale,added,specificity_class``) to confirm it. The report
    joins ``hs6`` to ``availability_hs`` to preview the evidence a confirmation would bring.
    """
    todo = unlinked[unlinked["reason"].str.startswith("unconfirmed") | (unlinked["reason"] == "no link")]
    sug = candidates[candidates["score"].notna() & candidates["eccn"].isin(set(todo["eccn"]))]
    sug = sug.sort_values(["eccn", "score"], ascending=[True, False], kind="stable").drop_duplicates(
        ["eccn", "hs6"]
    )
    sug = sug.groupby("eccn", sort=False).head(per_eccn).copy()
    if sug.empty:
        return pd.DataFrame(columns=SUGGESTION_COLUMNS)
    desc = dict(zip(hs["hs6"], hs["description"], strict=False))
    h4 = dict(zip(hs["hs4"], hs["hs4_text"], strict=False))
    sug["description"] = sug["hs6"].map(desc).fillna("")
    sug["hs4"] = sug["hs6"].str[:4]
    sug["hs4_description"] = sug["hs4"].map(h4).fillna("")
    sug["suggestion_rank"] = sug.groupby("eccn").cumcount() + 1
    sug["reason"] = sug["eccn"].map(dict(zip(todo["eccn"], todo["reason"], strict=False)))
    code = sug["paragraph"].where(sug["paragraph"] != "", sug["eccn"])
    sug["confirm_row"] = (
        code
        + ","
        + sug["hs6"]
        + ',medium,"HS '
        + sug["hs6"].str[:4]
        + "."
        + sug["hs6"].str[4:]
        + ' ... (say why the controlled item is entered here)",,'
        + sug["specificity_class"]
    )
    return sug[SUGGESTION_COLUMNS].reset_index(drop=True)


def summarise(links: pd.DataFrame, unlinked: pd.DataFrame, rejected: pd.DataFrame) -> dict[str, object]:
    """Counts for the CLI: ECCNs by primary source, link rows by source, unlinked, rejected."""
    prim = links[links["primary"]]
    by_primary = prim.groupby("eccn")["source"].first().value_counts().to_dict()
    confirmed = prim.groupby("eccn")["confirmed"].any()
    return {
        "eccns_by_primary_source": {k: int(v) for k, v in sorted(by_primary.items())},
        "eccns_confirmed": int(confirmed.sum()),
        "eccns_unconfirmed_only": int((~confirmed).sum()),
        "eccns_with_any_source": {k: int(v) for k, v in links.groupby("source")["eccn"].nunique().items()},
        "rows_by_source": {k: int(v) for k, v in links["source"].value_counts().items()},
        "conflicts": int(links["conflict"].sum()),
        "unlinked": len(unlinked),
        "unlinked_by_reason": {k: int(v) for k, v in unlinked["reason"].value_counts().items()},
        "rejected_rows": len(rejected),
    }


def run_link(
    entries_path: str | os.PathLike[str],
    paragraphs_path: str | os.PathLike[str] | None,
    hs_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    concordances: Iterable[str | os.PathLike[str]] = (),
    curated_file: str | os.PathLike[str] | None = CURATED_FILE,
    top_k: int = 10,
) -> LinkResult:
    """Read the inputs, :func:`build_links`, and write the outputs into ``out_dir``:
    ``eccn_hs_links.parquet``, ``eccn_hs_link_candidates.parquet``, ``unlinked_eccns.csv``,
    ``link_suggestions.csv``, ``rejected_concordance_rows.csv``."""
    entries_path = Path(entries_path)
    if not entries_path.is_file():
        raise SourceMissingError(
            f"{entries_path} not found: run `cclreview ingest-ccl` first or pass --entries FILE"
        )
    entries = pd.read_parquet(entries_path)
    paragraphs = None
    if paragraphs_path is not None:
        if not Path(paragraphs_path).is_file():
            raise SourceMissingError(
                f"{paragraphs_path} not found: run `cclreview ingest-ccl` or pass --paragraphs FILE"
            )
        paragraphs = pd.read_parquet(paragraphs_path)
    for col in ("eccn", "heading", "product_group"):
        if col not in entries.columns:
            raise InputError(
                f"{entries_path}: column {col!r} missing; regenerate it with `cclreview ingest-ccl`"
            )
    hs = load_hs(hs_path)
    result = build_links(entries, paragraphs, hs, concordances, curated_file, top_k)
    out = Path(out_dir)
    # Validated against cclreview.contracts on the way out (confirmed, specificity, ...).
    contracts.write("eccn_hs_links", result.links, out)
    if result.candidates is not None:
        contracts.write("eccn_hs_link_candidates", result.candidates, out)
    write_csv(result.unlinked, out / UNLINKED_FILE)
    if result.suggestions is not None:
        write_csv(result.suggestions, out / SUGGESTIONS_FILE)
    write_csv(result.rejected, out / REJECTED_FILE)
    return result
