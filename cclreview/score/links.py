"""The links scoring counts: one per (ECCN, HS6), with the availability rows it draws on.

Each link gets the best indicator row of ``availability_hs`` (HS6 if present, else the
HS4 heading; :func:`cclreview.indicators.indicators_for_links`) and the next-best one
(``alt_*``), which the data perturbation of ``sensitivity`` swaps in. Links tables that
predate the link-quality columns get defaults (:func:`link_defaults`).
"""

from __future__ import annotations

import pandas as pd

from cclreview.indicators import indicators_for_links

#: Default specificity when the links table has no ``specificity`` column.
DEFAULT_SPECIFICITY = 0.5


def link_defaults(df: pd.DataFrame) -> pd.DataFrame:
    """Add the link-quality columns a links or indicator frame lacks (in place; returned).

    ``eccn`` is cut to its five characters; ``link_source`` defaults to ``source``
    (``"unknown"`` without it), ``confidence`` to 1, ``confirmed`` to ``link_source``
    not being a suggestion, ``specificity`` to :data:`DEFAULT_SPECIFICITY`.
    """
    df["eccn"] = df["eccn"].astype(str).str[:5]
    if "link_source" not in df.columns:
        df["link_source"] = df["source"].astype(str) if "source" in df.columns else "unknown"
    if "confidence" not in df.columns:
        df["confidence"] = 1.0
    if "confirmed" not in df.columns:
        df["confirmed"] = ~df["link_source"].astype(str).str.startswith("suggested")
    if "specificity" not in df.columns:
        df["specificity"] = DEFAULT_SPECIFICITY
    return df


def link_indicators(links: pd.DataFrame, availability: pd.DataFrame) -> pd.DataFrame:
    """Attach the best availability row, and the next-best one, to each (eccn, hs6) link.

    The best row comes from :func:`cclreview.indicators.indicators_for_links`
    (HS6 if present, else the HS4 heading; latest year, then source precedence). The
    alternative (``alt_*`` columns) is what the same selector picks once the chosen
    rows are set aside: another year or source of the same code, or the heading; it
    is what the data perturbation of ``sensitivity`` swaps in.

    Parameters
    ----------
    links
        ``eccn_hs_links`` (``eccn, hs6, confidence, source`` at least; ``confirmed``,
        ``specificity``, ``specificity_class``, ``paragraph`` when present).
    availability
        ``availability_hs`` rows.

    Returns
    -------
    pandas.DataFrame
        One row per (eccn, hs6): link columns, indicator columns, ``granularity``,
        ``alt_*`` indicator columns.
    """
    links = dedupe_links(links)
    base = links[["eccn", "hs6"]]
    best = indicators_for_links(base, availability)
    out = links.merge(best, on=["eccn", "hs6"], how="left", suffixes=("", "_indicator"))
    chosen = best.dropna(subset=["hs_code"])[["hs_code", "hs_level", "year"]].drop_duplicates()
    if len(availability) and len(chosen):
        key = ["hs_code", "hs_level", "year"]
        av = availability.merge(chosen.assign(_chosen=True), on=key, how="left")
        rest = av[av["_chosen"].isna()].drop(columns="_chosen")
        alt = indicators_for_links(base, rest) if len(rest) else best.iloc[0:0]
    else:
        alt = best.iloc[0:0]
    keep = [c for c in alt.columns if c not in ("eccn", "hs6")]
    alt = alt[["eccn", "hs6", *keep]].rename(columns={c: f"alt_{c}" for c in keep})
    return out.merge(alt, on=["eccn", "hs6"], how="left")


def dedupe_links(links: pd.DataFrame) -> pd.DataFrame:
    """One row per (eccn, hs6): the highest-confidence link (paragraphs joined).

    Adds the link-quality columns with defaults when the links table predates them
    (:func:`link_defaults`; ``specificity_class`` ``"unknown"``).
    """
    need = {"eccn", "hs6"}
    if not need <= set(links.columns):
        missing = sorted(need - set(links.columns))
        raise KeyError(f"links lack columns {missing}")
    df = link_defaults(links.copy())
    df["hs6"] = df["hs6"].astype(str)
    df["confidence"] = pd.to_numeric(df["confidence"], errors="coerce").fillna(0.0).clip(0, 1)
    df["confirmed"] = df["confirmed"].fillna(False).astype(bool)
    df["specificity"] = (
        pd.to_numeric(df["specificity"], errors="coerce").fillna(DEFAULT_SPECIFICITY).clip(0, 1)
    )
    if "specificity_class" not in df.columns:
        df["specificity_class"] = "unknown"
    if "paragraph" not in df.columns:
        df["paragraph"] = ""
    df["paragraph"] = df["paragraph"].fillna("").astype(str)
    paragraphs = df.groupby(["eccn", "hs6"])["paragraph"].agg(
        lambda s: ", ".join(sorted({p for p in s if p}))
    )
    # A confirmed link outranks an unconfirmed one; then confidence.
    df = df.sort_values(
        ["eccn", "hs6", "confirmed", "confidence"], ascending=[True, True, False, False], kind="stable"
    )
    cols = ["eccn", "hs6", "confidence", "link_source", "confirmed", "specificity", "specificity_class"]
    out = df.drop_duplicates(["eccn", "hs6"])[cols].reset_index(drop=True)
    out["paragraph"] = [paragraphs.get((e, h), "") for e, h in zip(out["eccn"], out["hs6"], strict=True)]
    return out


def ensure_link_columns(ind: pd.DataFrame) -> pd.DataFrame:
    """Defaults for a ready-made indicator frame lacking the link-quality columns."""
    ind = link_defaults(ind.copy())
    if "granularity" not in ind.columns:
        ind["granularity"] = None
    return ind
