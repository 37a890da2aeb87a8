"""How much of an HS line a link's controlled item plausibly is, and whether a link is confirmed.

Specificity classes (``cclreview/reference/specificity_classes.csv`` holds the numbers):

* ``dedicated``: the HS6 subheading is essentially the controlled item;
* ``shared``: a specific subheading shared with uncontrolled goods of the same kind;
* ``residual``: an "other" / n.e.s. catch-all subheading;
* ``heading``: the link stands for a whole HS4 heading.

Curated rows carry their class (reviewed by hand). Other sources get one from the HS text
(:func:`auto_class`): "other"/n.e.s. residual lines are ``residual``, everything else is
``shared``; ``dedicated`` is never guessed. Inherited links keep their parent's class.

Confirmation: curated (shipped and analyst) links, imports from sources marked
``evidence = yes`` in ``link_sources.csv`` (EU correlation, generic CSVs) and links
inherited from confirmed ones are ``confirmed``. Text-similarity suggestions, the China
catalogue (``evidence = no``: transcription noise, 0 of 12 sampled pairs right) and
imported pairs flagged as conflicting with the control text are not: they never count
as evidence until an analyst confirms them in a ``data/raw/concordance/`` CSV.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

from cclreview.config import REFERENCE_DIR
from cclreview.errors import ConfigError
from cclreview.link.sources import source_is_evidence

CLASSES_FILE = REFERENCE_DIR / "specificity_classes.csv"
# Matched against the subheading's own words (after the heading's "Xxx; " prefix).
_RESIDUAL = re.compile(
    r"^\s*(?:other\b|articles\s+n\.e\.[cs]|n\.e\.[cs]|having individual functions|not elsewhere)",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def specificity_classes() -> dict[str, float]:
    """Return ``{class: specificity}`` from the reference table (validated: 0 < value <= 1)."""
    df = pd.read_csv(CLASSES_FILE, dtype=str, keep_default_na=False)
    if not {"specificity_class", "specificity"} <= set(df.columns):
        raise ConfigError(f"{CLASSES_FILE}: needs columns specificity_class,specificity,meaning")
    out: dict[str, float] = {}
    for i, (name, value) in enumerate(zip(df["specificity_class"], df["specificity"], strict=True), start=2):
        try:
            v = float(value)
        except ValueError:
            v = -1.0
        if not 0.0 < v <= 1.0:
            raise ConfigError(f"{CLASSES_FILE}: line {i}: specificity {value!r} must be a number in (0, 1]")
        out[name.strip()] = v
    return out


def auto_class(hs6: pd.Series, description: pd.Series) -> pd.Series:
    """Class of links nobody reviewed: ``residual`` for "other"/n.e.s. lines, else ``shared``.

    Parameters
    ----------
    hs6, description
        Aligned HS6 codes and their HS6 descriptions (missing descriptions give ``shared``).
    """
    desc = description.fillna("").astype(str)
    # "Tungsten; articles n.e.c. in heading 8101": the words after the first "; " are the
    # subheading's own; a description without "; " is judged whole.
    own = desc.str.split("; ", n=1).str[-1]
    residual = own.str.contains(_RESIDUAL)
    return pd.Series(["residual" if r else "shared" for r in residual], index=hs6.index, dtype=object)


def confirmed_source(source: pd.Series) -> pd.Series:
    """True for sources that are evidence by themselves (``evidence = yes`` in
    ``link_sources.csv``: curated, analyst, EU and generic imports); inherited rows get
    their parent's value in :func:`cclreview.link.inherit.inherit_links`."""
    cache = {s: source_is_evidence(s) for s in source.unique()}
    return source.map(cache).astype(bool)
