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

import importlib
from typing import Any

# Submodule of each public name: loaded on first use, so importing one part of the
# package (e.g. ``cclreview.link.curated``) does not load scikit-learn.
_WHERE = {
    "load_curated": "curated",
    "evaluate_links": "evaluate",
    "read_gold": "evaluate",
    "load_hs": "hs",
    "flag_conflicts": "imported",
    "read_concordance": "imported",
    "find_references": "inherit",
    "inherit_links": "inherit",
    "CANDIDATES_FILE": "pipeline",
    "LINKS_FILE": "pipeline",
    "UNLINKED_FILE": "pipeline",
    "build_links": "pipeline",
    "run_link": "pipeline",
    "suggest_links": "suggest",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
