"""Suggested ECCN -> HS6 links by text similarity, for review.

Method
------
1. CCL documents: one per ECCN (heading + list of items) and one per paragraph
   (paragraph text + the entry heading). HS documents: the HS6 description, twice, with
   its parent HS4 heading and HS2 chapter text (so "Other" rows inherit meaning).
2. Two TF-IDF spaces fitted on both corpora: words (uni- and bi-grams, domain stop-words
   such as "specially designed", "other", "n.e.s.", "parts", "equipment") and character
   n-grams within words (catch plural/singular and compound variants). Cosine
   similarity is their weighted mean (sparse products, chunked, top-N kept per row).
3. Chapter priors: each CCL category and product group has HS chapters (or headings)
   where its items usually sit (2B -> ch. 84, 3A -> ch. 85, 1C -> ch. 28-29/38/72-81,
   9A -> ch. 84/88 ...). Similarity is multiplied by ``0.35 + 0.65 * prior``.
4. Re-ranking of the top-N with rapidfuzz ``token_set_ratio`` between the CCL heading
   and the HS text, then the top-k. ``score`` in [0, 1]; ``why`` lists the shared terms.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import scipy.sparse as sp
from rapidfuzz import fuzz
from sklearn.feature_extraction.text import (
    ENGLISH_STOP_WORDS,
    CountVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
)

from cclreview.config import REFERENCE_DIR
from cclreview.errors import ConfigError
from cclreview.progress import progress

log = logging.getLogger(__name__)

#: Reviewable domain tables (cclreview/reference/link_*.csv; issue 13): general knowledge
#: of CCL and HS wording, not fitted to any gold list.
_REF = REFERENCE_DIR


def _read_table(name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    path = _REF / name
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path} is missing; restore it from the repository") from exc
    missing = set(columns) - set(df.columns)
    if missing:
        raise ConfigError(f"{path}: missing column(s) {sorted(missing)}; expected {','.join(columns)}")
    return df


def _chapter_priors() -> dict[str, dict[str, float]]:
    df = _read_table("link_chapter_priors.csv", ("ccl_group", "hs_prefix", "weight"))
    out: dict[str, dict[str, float]] = {}
    for i, (g, prefix, w) in enumerate(zip(df["ccl_group"], df["hs_prefix"], df["weight"], strict=True), 2):
        try:
            weight = float(w)
        except ValueError:
            weight = -1.0
        if not (0.0 <= weight <= 1.0 and prefix.isdigit() and len(g) == 2):
            raise ConfigError(
                f"{_REF / 'link_chapter_priors.csv'}: line {i}: need a group like 2B, digits and a weight 0-1"
            )
        out.setdefault(g, {})[prefix] = weight
    return out


#: Words that say nothing about what a product is (in the CCL or in HS texts).
DOMAIN_STOP_WORDS = frozenset(_read_table("link_stop_words.csv", ("word",))["word"].str.strip())
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | DOMAIN_STOP_WORDS

_TOKEN = re.compile(r"[a-z][a-z\-]+[a-z]")
_DIGITS = re.compile(r"[\d.,%°µ]+")

#: (category, product group) -> {HS chapter or heading prefix: prior weight 0-1}.
#: General domain knowledge of where CCL items sit in the HS, not fitted to any gold list.
CHAPTER_PRIORS: dict[str, dict[str, float]] = _chapter_priors()
#: CCL wording -> the HS wording for the same goods, appended to CCL documents that
#: contain the key (query expansion). General nomenclature knowledge, not a concordance.
GLOSSARY: dict[str, str] = dict(
    _read_table("link_glossary.csv", ("ccl_term", "hs_wording"))[["ccl_term", "hs_wording"]].itertuples(
        index=False, name=None
    )
)
_GLOSSARY_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, GLOSSARY), key=len, reverse=True)) + r")s?\b"
)


def expand(text: str) -> str:
    """Append the HS wording of every glossary term found in ``text`` (once each)."""
    found = dict.fromkeys(m.group(1) for m in _GLOSSARY_RE.finditer(text.lower()))
    return text + " " + " ".join(GLOSSARY[f] for f in found) if found else text


#: Floor of the prior multiplier: a chapter outside the priors keeps 35 % of its similarity.
PRIOR_FLOOR = 0.35
#: Characters of the list of items used in the entry document.
MAX_ITEMS_CHARS = 1500
#: Weight of a paragraph's score when merged into its ECCN's list.
PARAGRAPH_FACTOR = 0.92
#: Codes of one HS4 heading allowed in an ECCN's list before other headings are tried.
MAX_PER_HS4 = 8
#: Multipliers of HS "parts" rows for documents that do / do not open with parts or components.
PARTS_BOOST = 1.2
PARTS_DAMP = 0.9
_PARTS_WORDS = re.compile(r"\b(parts?|components?|assemblies|subassemblies)\b", re.IGNORECASE)
WORD_WEIGHT = 0.6
FUZZ_WEIGHT = 0.2


#: U.S. spellings of the CCL -> the British spellings of the HS nomenclature.
_SPELLING = dict(
    _read_table("link_spellings.csv", ("us", "british"))[["us", "british"]].itertuples(index=False, name=None)
)
_SPELLING_RE = re.compile(r"\b(" + "|".join(_SPELLING) + r")\b")


def normalise_for_matching(text: str) -> str:
    """Lower-case, drop numbers/units and quotes, British spelling; keep words and hyphens."""
    text = text.lower().replace("\u201c", " ").replace("\u201d", " ").replace("\u2019", "'")
    text = _SPELLING_RE.sub(lambda m: _SPELLING[m.group(1)], _DIGITS.sub(" ", text))
    return re.sub(r"[^a-z\- ]+", " ", text)


def content_words(text: str) -> set[str]:
    """Content words of ``text`` (stop-words removed), crudely singularised."""
    return {
        _singular(w)
        for w in _TOKEN.findall(normalise_for_matching(text))
        if w not in STOP_WORDS and len(w) > 2
    }


@lru_cache(maxsize=200_000)
def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _tokens(text: str) -> list[str]:
    """Content tokens of ``text`` in order (stop-words removed, singularised)."""
    return [
        _singular(w)
        for w in _TOKEN.findall(normalise_for_matching(text))
        if w not in STOP_WORDS and len(w) > 2
    ]


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def prior_vector(eccn: str, hs6: np.ndarray) -> np.ndarray:
    """Prior weight (0-1) of every HS6 code for ``eccn``, from :data:`CHAPTER_PRIORS`."""
    table = CHAPTER_PRIORS.get(eccn[:2], {})
    out = np.zeros(len(hs6), dtype=np.float32)
    if not table:
        return out + 0.5  # no knowledge: neutral
    for prefix, weight in sorted(table.items(), key=lambda kv: len(kv[0])):
        sel = np.char.startswith(hs6.astype(str), prefix)
        out[sel] = weight  # longer prefixes (headings) are applied last and win
    return out


@dataclass
class CclDocs:
    """The CCL side: one document per ECCN (two: heading, heading + items) and per paragraph."""

    eccn: np.ndarray  # base ECCN of each document
    paragraph: np.ndarray  # "" for entry documents
    tokens: list[list[str]]  # content tokens (glossary-expanded)
    head: list[set[str]]  # words of the heading (entry) or paragraph text, for re-ranking
    wants_parts: list[bool]  # the opening phrase names parts or components


_HEAD_CUT = re.compile(
    r"\s(?:having|for|with|as follows|other than|usable|designed|specially|capable|that|which|"
    r"containing|consisting|in the form|not|except|according|of a kind|n\.e\.s)\b|[(;:]",
    re.IGNORECASE,
)


def head_phrase(heading: str) -> str:
    """The product noun phrase that opens a CCL heading ("Pulse jet engines, usable in ..."
    -> "Pulse jet engines"): text before the first qualifier such as "having" or "for"."""
    m = _HEAD_CUT.search(heading)
    return (heading[: m.start()] if m else heading).strip(" ,.")


@lru_cache(maxsize=4096)
def _heading_tokens(heading: str) -> tuple[str, ...]:
    return tuple(_tokens(expand(heading)))


def build_ccl_docs(
    entries: pd.DataFrame, paragraphs: pd.DataFrame | None, max_items_chars: int | None = None
) -> CclDocs:
    """Build entry and paragraph documents from the CCL stage tables (A, B, C entries only)."""
    max_items_chars = max_items_chars or MAX_ITEMS_CHARS
    ent = entries[entries["product_group"].isin(["A", "B", "C"])]
    if "reserved" in ent.columns:
        ent = ent[~ent["reserved"].fillna(False).astype(bool)]
    ent = ent.drop_duplicates("eccn")
    headings = dict(zip(ent["eccn"], ent["heading"].fillna(""), strict=False))
    items = ent["items_text"].fillna("") if "items_text" in ent.columns else pd.Series("", index=ent.index)
    eccn: list[str] = []
    para: list[str] = []
    tokens: list[list[str]] = []
    head: list[set[str]] = []
    wants: list[bool] = []
    for e, h, it in zip(ent["eccn"], ent["heading"].fillna(""), items, strict=False):
        # Two entry documents: the heading alone (it names the product) and the heading
        # with the list of items; the entry keeps the better of the two per HS6.
        ht = list(_heading_tokens(h))
        words = set(_tokens(h))
        docs_e = [ht, ht + _tokens(expand(it[:max_items_chars]))]
        # A third document with the opening noun phrase only, when it is shorter.
        hp = _tokens(expand(head_phrase(h)))
        if hp and len(hp) < len(ht):
            docs_e.append(hp)
        parts = bool(_PARTS_WORDS.search(head_phrase(h)))
        for t in docs_e:
            eccn.append(e)
            para.append("")
            tokens.append(t)
            head.append(words)
            wants.append(parts)
    if paragraphs is not None and not paragraphs.empty:
        par = paragraphs[paragraphs["eccn"].isin(headings)]
        for e, pid, t in zip(par["eccn"], par["paragraph_id"], par["text"].fillna(""), strict=False):
            if len(t) < 3:
                continue
            pt = _tokens(expand(t))
            eccn.append(e)
            para.append(pid)
            tokens.append(pt + list(_heading_tokens(headings[e])))
            head.append(set(_tokens(t[:300])))
            wants.append(bool(_PARTS_WORDS.search(head_phrase(t))))
    return CclDocs(np.array(eccn), np.array(para), tokens, head, wants)


def build_hs_docs(hs: pd.DataFrame) -> tuple[list[list[str]], list[set[str]]]:
    """HS6 documents as tokens (description twice, parent heading and chapter text), and
    the word sets of description + heading used for re-ranking and explanations."""
    cache: dict[str, list[str]] = {}

    def tok(text: str) -> list[str]:
        if text not in cache:
            cache[text] = _tokens(text)
        return cache[text]

    docs, words = [], []
    for d, h4, h2 in zip(hs["description"], hs["hs4_text"], hs["hs2_text"], strict=False):
        dt = _tokens(d)
        docs.append(dt + dt + tok(h4) + tok(h2))
        words.append(set(dt) | set(tok(h4)))
    return docs, words


def _char_tfidf(tokens: list[list[str]]) -> sp.csr_matrix:
    """TF-IDF of character 4-5-grams within words, computed through the word vocabulary.

    Equivalent to ``TfidfVectorizer(analyzer="char_wb")`` on each document's distinct
    words, but n-grams are extracted once per distinct word instead of once per
    occurrence (documents x words binary matrix times words x n-grams counts).
    """
    words = CountVectorizer(analyzer=_identity, binary=True, dtype=np.float32)
    doc_word = words.fit_transform(tokens)
    grams = CountVectorizer(analyzer="char_wb", ngram_range=(4, 5), dtype=np.float32)
    word_gram = grams.fit_transform(words.get_feature_names_out())
    counts = sp.csr_matrix(doc_word @ word_gram)
    keep = np.flatnonzero(np.asarray((counts > 0).sum(axis=0)).ravel() >= 2)  # min_df=2
    return TfidfTransformer(sublinear_tf=True).fit_transform(counts[:, keep]).astype(np.float32)


def _top_n(sim: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the n largest values per row, sorted descending."""
    n = min(n, sim.shape[1])
    idx = np.argpartition(-sim, n - 1, axis=1)[:, :n]
    vals = np.take_along_axis(sim, idx, axis=1)
    order = np.argsort(-vals, axis=1)
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(vals, order, axis=1)


def suggest_links(
    entries: pd.DataFrame,
    paragraphs: pd.DataFrame | None,
    hs: pd.DataFrame,
    top_k: int = 10,
    paragraph_top_k: int = 3,
    candidates: int = 40,
    chunk: int = 512,
    min_score: float = 0.1,
) -> pd.DataFrame:
    """Suggest HS6 codes for every A/B/C ECCN and paragraph.

    Parameters
    ----------
    entries, paragraphs
        Tables of the CCL stage (``ccl_entries``, ``ccl_paragraphs``).
    hs
        Output of :func:`cclreview.link.hs.load_hs`.
    top_k
        Suggestions kept per ECCN (entry level, merging the ECCN's paragraphs).
    paragraph_top_k
        Suggestions kept per paragraph.
    candidates
        Candidates per document re-ranked with rapidfuzz.
    chunk
        Rows of the similarity matrix computed at once (bounds memory).
    min_score
        Suggestions scoring below this are not worth a reviewer's time and are dropped.

    Returns
    -------
    pandas.DataFrame
        ``eccn, paragraph, hs6, score (0-1), rank (within eccn+paragraph), why``.
    """
    t0 = time.perf_counter()
    docs = build_ccl_docs(entries, paragraphs)
    if not docs.tokens:
        return pd.DataFrame(columns=["eccn", "paragraph", "hs6", "score", "rank", "why"])
    hs_docs, hs_sets = build_hs_docs(hs)
    hs_codes = hs["hs6"].to_numpy().astype(str)
    # Tokenised once; both vector spaces reuse the tokens.
    tokens = hs_docs + docs.tokens
    word_docs = [t + [f"{a} {b}" for a, b in itertools.pairwise(t)] for t in tokens]
    word = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, dtype=np.float32)
    w_all = word.fit_transform(word_docs)
    c_all = _char_tfidf(tokens)
    m = len(hs_docs)
    hw, hc, qw, qc = w_all[:m], c_all[:m], w_all[m:], c_all[m:]
    hw_t, hc_t = sp.csr_matrix(hw.T), sp.csr_matrix(hc.T)

    # Prior multipliers per (category, group) key, computed once per key.
    keys = np.array([e[:2] for e in docs.eccn])
    # Rows of waste and scrap only are rarely the controlled good: halve them everywhere.
    desc = hs["description"].str.lower()
    scrap_only = desc.str.contains("waste|scrap") & ~desc.str.contains("unwrought|powder|articles")
    base = np.where(scrap_only.to_numpy(), 0.5, 1.0).astype(np.float32)
    prior_rows = {
        k: (PRIOR_FLOOR + (1 - PRIOR_FLOOR) * prior_vector(k + "000", hs_codes)) * base
        for k in np.unique(keys)
    }
    # Parts rows ("Parts of ...", "Engines; parts, ...") fit ECCNs whose opening phrase
    # names parts or components, and fit other ECCNs a little less.
    is_parts = desc.str.contains(r"\bparts\b").to_numpy()
    parts_boost = np.where(is_parts, PARTS_BOOST, 1.0).astype(np.float32)
    parts_damp = np.where(is_parts, PARTS_DAMP, 1.0).astype(np.float32)

    n = len(docs.tokens)
    candidates = min(candidates, len(hs_codes))
    cand_idx = np.zeros((n, candidates), dtype=np.int64)
    cand_sim = np.zeros((n, candidates), dtype=np.float32)
    cand_prior = np.zeros((n, candidates), dtype=np.float32)
    for start in progress(range(0, n, chunk), desc="suggest", unit="chunk"):
        stop = min(start + chunk, n)
        sim = (qw[start:stop] @ hw_t).toarray() * WORD_WEIGHT + (qc[start:stop] @ hc_t).toarray() * (
            1 - WORD_WEIGHT
        )
        mult = np.stack(
            [
                prior_rows[k] * (parts_boost if wp else parts_damp)
                for k, wp in zip(keys[start:stop], docs.wants_parts[start:stop], strict=False)
            ]
        )
        idx, vals = _top_n(sim * mult, candidates)
        cand_idx[start:stop] = idx
        cand_sim[start:stop] = vals
        cand_prior[start:stop] = np.take_along_axis(mult, idx, axis=1)

    # Rapidfuzz re-rank on the candidates: fuzzy overlap of content words.
    hs_words = [" ".join(sorted(w)) for w in hs_sets]
    q_words = [" ".join(sorted(w)) for w in docs.head]
    fz = np.zeros_like(cand_sim)
    for i in range(n):
        q = q_words[i]
        if not q:
            continue
        for j, h in enumerate(cand_idx[i]):
            fz[i, j] = fuzz.token_set_ratio(q, hs_words[h]) / 100.0
    # Cosines rarely exceed 0.5: a saturating, strictly increasing map spreads them on [0, 1).
    sim_scaled = cand_sim / (cand_sim + 0.15)
    score = np.clip((1 - FUZZ_WEIGHT) * sim_scaled + FUZZ_WEIGHT * fz * cand_prior, 0, 1)

    rows = pd.DataFrame(
        {
            "doc": np.repeat(np.arange(n), candidates),
            "eccn": np.repeat(docs.eccn, candidates),
            "paragraph": np.repeat(docs.paragraph, candidates),
            "hs_idx": cand_idx.ravel(),
            "score": score.ravel(),
        }
    )
    rows = rows[rows["score"] >= min_score]
    # Entry level: merge the entry document with its paragraphs (max score per hs6);
    # paragraphs count slightly less because they lack the heading's framing.
    is_para = rows["paragraph"] != ""
    merged = rows.assign(score=np.where(is_para, rows["score"] * PARAGRAPH_FACTOR, rows["score"]))
    merged = merged.sort_values("score", ascending=False).drop_duplicates(["eccn", "hs_idx"])
    # Diversity: at most MAX_PER_HS4 codes of one heading before other headings get a
    # turn (ten "other" subheadings of one heading tell a reviewer little).
    hs4 = pd.Series(hs_codes[merged["hs_idx"].to_numpy()]).str[:4].to_numpy()
    over = merged.assign(_h4=hs4).groupby(["eccn", "_h4"]).cumcount().to_numpy() >= MAX_PER_HS4
    merged = merged.assign(_over=over).sort_values(["_over", "score"], ascending=[True, False], kind="stable")
    merged = merged.groupby("eccn", sort=False).head(top_k).drop(columns="_over").assign(paragraph="")
    para = (
        rows[is_para].sort_values("score", ascending=False).groupby("doc", sort=False).head(paragraph_top_k)
    )
    out = pd.concat([merged, para], ignore_index=True)
    out["hs6"] = hs_codes[out["hs_idx"].to_numpy()]
    out = out.sort_values(["eccn", "paragraph", "score"], ascending=[True, True, False])
    out["rank"] = out.groupby(["eccn", "paragraph"]).cumcount() + 1
    # "why": shared content words between the document and the HS text.
    why = []
    for d, h in zip(out["doc"], out["hs_idx"], strict=False):
        shared = sorted(set(docs.tokens[d]) & hs_sets[h])[:6]
        why.append(", ".join(shared) if shared else "char n-gram similarity")
    out["why"] = why
    out["score"] = out["score"].round(4).astype(float)
    log.info("suggested %d links for %d documents in %.1f s", len(out), n, time.perf_counter() - t0)
    return out[["eccn", "paragraph", "hs6", "score", "rank", "why"]].reset_index(drop=True)
