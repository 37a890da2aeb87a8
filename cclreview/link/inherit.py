"""Software (D) and technology (E) entries inherit the links of the commodities they name.

"Software specially designed for ... equipment controlled by 3B001" has no HS code, but its
availability follows 3B001's. References are read from the heading (then the list of
items when the heading names nothing): ECCNs (``3B001``), paragraphs (``3A001.a``),
whole groups (``controlled by 7A``) and software entries, which are followed one hop to
their commodities. ECCNs named after "except" are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cclreview.link.sources import LINK_ROW_COLUMNS, PRECEDENCE, source_family

INHERIT_FACTOR = 0.6
GROUP_FACTOR = 0.5  # a whole-group reference ("controlled by 7A") is vaguer
_REF = re.compile(r"\b([0-9][A-E][0-9]{3})((?:\.[a-z0-9]{1,4})*)")
_GROUP = re.compile(r"(?<![0-9A-Za-z.])([0-9][A-C])(?![0-9A-Za-z])")
_EXCEPT = re.compile(r"(?:except(?:ing)?|other than)\b([^;:)]*)", re.IGNORECASE)


@dataclass
class References:
    """ECCN references found in one entry's text."""

    eccns: list[str] = field(default_factory=list)  # "3B001" or "3A001.a"
    groups: list[str] = field(default_factory=list)  # "7A"
    excluded: set[str] = field(default_factory=set)


def find_references(text: str, self_eccn: str = "") -> References:
    """Find the ECCNs, paragraphs and groups named in ``text``.

    Examples
    --------
    >>> find_references("equipment controlled by 3B001 or 3A001.a").eccns
    ['3B001', '3A001.a']
    >>> find_references("equipment controlled by 7A (except 7A994)").groups
    ['7A']
    """
    text = text.replace("\u201d", '"').replace("\u201c", '"')
    excluded: set[str] = set()
    for m in _EXCEPT.finditer(text):
        excluded |= {a + b for a, b in _REF.findall(m.group(1))}
    refs: list[str] = []
    for base, para in _REF.findall(text):
        code = (base + para).rstrip(".")
        if base == self_eccn or code in excluded or code in refs:
            continue
        refs.append(code)
    groups = list(dict.fromkeys(_GROUP.findall(text)))
    return References(refs, groups, excluded)


def serves(link_paragraph: str, named: str) -> bool:
    """True when a link at ``link_paragraph`` serves the named paragraph ``named``.

    A link serves the paragraph it is recorded for, its sub-paragraphs (a link for
    ``3A001.a.1`` serves a reference to ``3A001.a``) and, when recorded for a parent
    paragraph, the named child (a link for ``3A001.a`` serves ``3A001.a.1``). Sibling
    paragraphs never do (``3A001.b`` does not serve ``3A001.a``); entry-level links
    (``""``) are handled by :func:`follow_paragraph`.

    Examples
    --------
    >>> serves("3A001.a.1", "3A001.a"), serves("3A001.a", "3A001.a.1"), serves("3A001.ab", "3A001.a")
    (True, True, False)
    """
    if not link_paragraph:
        return False
    return (
        link_paragraph == named
        or link_paragraph.startswith(named + ".")
        or named.startswith(link_paragraph + ".")
    )


#: One link of a commodity as :func:`inherit_links` carries it: ``LINK_ROW_COLUMNS`` after
#: ``eccn``, then ``confirmed`` and ``specificity_class``.
LinkTuple = tuple[Any, ...]


def follow_paragraph(named: str, links: list[LinkTuple]) -> list[LinkTuple]:
    """The links (tuples starting with their paragraph) a reference to ``named`` inherits.

    The paragraph-level links that serve it (:func:`serves`); when the commodity has none
    for that paragraph, its entry-level links, which serve the entry as a whole. Links
    recorded for other paragraphs are never inherited: "software for 3A001.a" does not
    take the microwave links of 3A001.b.
    """
    own = [x for x in links if serves(x[0], named)]
    return own or [x for x in links if x[0] == ""]


def inherit_links(
    entries: pd.DataFrame, links: pd.DataFrame, max_suggested: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give D and E entries the links of the commodities they name.

    Parameters
    ----------
    entries
        ``ccl_entries`` (``eccn, product_group, heading``, optional ``items_text``, ``reserved``).
    links
        Links of A/B/C entries with ``eccn, paragraph, hs6, source, confidence, rationale``
        and ``primary`` (only primary links are inherited; at most ``max_suggested``
        suggestions per named commodity).

    Returns
    -------
    (inherited, report)
        ``inherited``: ``eccn, paragraph (""), hs6, source ("inherited"), confidence,
        rationale, inherited_from``. ``report``: one row per D/E entry with ``eccn,
        heading, references`` (";"-joined) and ``reason`` ("" when linked, else why not).
    """
    de = entries[entries["product_group"].isin(["D", "E"])].drop_duplicates("eccn")
    if "reserved" in de.columns:
        de = de[~de["reserved"].fillna(False).astype(bool)]
    abc = set(entries.loc[entries["product_group"].isin(["A", "B", "C"]), "eccn"])
    texts = {
        e: (h if isinstance(h, str) else "", it if isinstance(it, str) else "")
        for e, h, it in zip(
            de["eccn"],
            de["heading"],
            de["items_text"] if "items_text" in de.columns else [""] * len(de),
            strict=False,
        )
    }
    prim = links[links["primary"]].copy() if "primary" in links.columns else links.copy()
    prim["_prec"] = prim["source"].map(lambda s: PRECEDENCE[source_family(s)])
    prim = prim.sort_values(["_prec", "confidence"], ascending=[True, False])
    sug = prim["source"] == "suggested"
    prim = pd.concat([prim[~sug], prim[sug].groupby("eccn").head(max_suggested)])
    for col, default in (("confirmed", False), ("specificity_class", "shared")):
        if col not in prim.columns:
            prim[col] = default
    cols = [*LINK_ROW_COLUMNS, "confirmed", "specificity_class"]
    by_eccn: dict[str, list[LinkTuple]] = {}
    for rec in zip(*(prim[c] for c in cols), strict=True):
        by_eccn.setdefault(rec[0], []).append(rec[1:])

    def refs_of(eccn: str) -> References:
        head, items = texts.get(eccn, ("", ""))
        r = find_references(head, eccn)
        if not r.eccns and not r.groups:
            r = find_references(items[:3000], eccn)
        return r

    rows, report = [], []
    for eccn in texts:
        r = refs_of(eccn)
        targets: list[tuple[str, float]] = []
        for code in r.eccns:
            base = code[:5]
            if base in abc:
                targets.append((code, INHERIT_FACTOR))
            elif base in texts and base[1] == "D":  # technology for software: follow one hop
                targets.extend((c, INHERIT_FACTOR) for c in refs_of(base).eccns if c[:5] in abc)
        for g in r.groups:
            targets.extend(
                (e, INHERIT_FACTOR * GROUP_FACTOR)
                for e in sorted(abc)
                if e.startswith(g) and e not in r.excluded
            )
        found = 0
        for code, factor in dict(targets).items():
            served = by_eccn.get(code[:5])
            if served is None:
                continue
            if len(code) > 5:
                served = follow_paragraph(code, served)
            for _para, hs6, source, conf, rationale, confirmed, spec in served:
                found += 1
                rows.append(
                    {
                        "eccn": eccn,
                        "paragraph": "",
                        "hs6": hs6,
                        "source": "inherited",
                        "confidence": round(float(conf) * factor, 3),
                        "rationale": f"inherits {code} ({source}): {rationale}",
                        "inherited_from": code,
                        # Evidence only when the commodity link is (suggestions stay unconfirmed).
                        "confirmed": bool(confirmed),
                        "specificity_class": spec,
                    }
                )
        named = [*r.eccns, *r.groups]
        reason = ""
        if not named:
            reason = "software/technology naming no commodity"
        elif not found:
            reason = "named commodities have no link"
        report.append(
            {"eccn": eccn, "heading": texts[eccn][0], "references": "; ".join(named), "reason": reason}
        )
    inherited = pd.DataFrame(
        rows, columns=[*LINK_ROW_COLUMNS, "inherited_from", "confirmed", "specificity_class"]
    )
    if not inherited.empty:
        inherited = inherited.sort_values("confidence", ascending=False).drop_duplicates(["eccn", "hs6"])
    return inherited.reset_index(drop=True), pd.DataFrame(
        report, columns=["eccn", "heading", "references", "reason"]
    )
