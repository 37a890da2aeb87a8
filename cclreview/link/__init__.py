"""Linking ECCNs to HS codes: curated, imported, suggested and inherited links.

Public API
----------
* :func:`cclreview.link.pipeline.run_link` / :func:`build_links`: the stage.
* :func:`cclreview.link.hs.load_hs`: HS nomenclature -> HS6 rows with parent text.
* :func:`cclreview.link.curated.load_curated`: shipped table + analyst overrides.
* :func:`cclreview.link.imported.read_concordance` (China catalogue, EU xlsx, generic CSV)
  and :func:`flag_conflicts`.
* :func:`cclreview.link.suggest.suggest_links`: TF-IDF + rapidfuzz suggestions.
* :func:`cclreview.link.inherit.inherit_links`: D/E entries inherit commodity links.
* :func:`cclreview.link.evaluate.evaluate_links`: recall@k, precision@k, MRR.
"""

from __future__ import annotations

from cclreview.link.curated import load_curated
from cclreview.link.evaluate import evaluate_links, read_gold
from cclreview.link.hs import load_hs
from cclreview.link.imported import flag_conflicts, read_concordance
from cclreview.link.inherit import find_references, inherit_links
from cclreview.link.pipeline import CANDIDATES_FILE, LINKS_FILE, UNLINKED_FILE, build_links, run_link
from cclreview.link.suggest import suggest_links

__all__ = [
    "CANDIDATES_FILE",
    "LINKS_FILE",
    "UNLINKED_FILE",
    "build_links",
    "evaluate_links",
    "find_references",
    "flag_conflicts",
    "inherit_links",
    "load_curated",
    "load_hs",
    "read_concordance",
    "read_gold",
    "run_link",
    "suggest_links",
]
