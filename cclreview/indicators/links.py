"""The indicator row each ECCN-HS link uses: HS6 data if any, else its HS4 heading's."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cclreview.errors import InputError, SourceMissingError
from cclreview.indicators.schema import DEFAULT_PRECEDENCE, source_rank
from cclreview.trade import hsrev

log = logging.getLogger(__name__)

_AUTO = "auto"


def indicators_for_links(
    links_df: pd.DataFrame,
    availability_df: pd.DataFrame,
    concordance: hsrev.Concordance | str | None = _AUTO,
    year: int | None = None,
    precedence: Sequence[str] = DEFAULT_PRECEDENCE,
) -> pd.DataFrame:
    """One indicator row per ECCN-HS link: HS6 data if any, else the HS4 heading's.

    For each link (``eccn``, optional ``paragraph``, ``hs6`` in HS2022) the HS6 row of
    ``availability_df`` for that code is used when one exists: latest year (or
    ``year`` if given), then source precedence; ``granularity = "HS6"``. Otherwise the
    link's heading is looked up in each HS4 table: the HS2022 code is mapped to the
    table's revision with :meth:`~cclreview.trade.hsrev.Concordance.hs6_to_heading`
    (``hs4_table``, ``heading_status`` tells whether the heading changed between the
    revisions), the latest year wins, then precedence; ``granularity = "HS4"`` (an
    HS4 heading holds far more than the controlled item: weaker evidence). Rows from
    partial sources (``partial_source``, e.g. a two-exporter sample) are never used.
    Links with neither get ``granularity = None`` and empty indicators.

    Parameters
    ----------
    links_df
        ``eccn``, ``hs6`` and any other link columns (kept as they are).
    availability_df
        ``availability_hs`` as written by :func:`~cclreview.indicators.compute.compute_availability`.
    concordance
        HS concordance for heading look-ups; ``"auto"`` loads the project's default
        file if present; ``None`` uses the code's first four digits (status
        ``"unchecked (no concordance)"``).

    Returns
    -------
    pandas.DataFrame
        One row per input link, same order: the link columns, then every
        availability column (names the links already use get the suffix ``_avail``),
        plus ``indicator_source`` and ``indicator_year`` (copies of the availability
        ``source`` and ``year``), ``granularity``, ``hs4_table``, ``heading_status``.
    """
    if "hs6" not in links_df.columns:
        raise InputError(f"links table lacks column hs6; found {list(links_df.columns)}")
    four_revs = set(availability_df.loc[availability_df["hs_level"] == 4, "hs_version"].astype(str))
    if isinstance(concordance, str) and four_revs <= {hsrev.DEFAULT_TARGET}:
        # Every heading table is already in HS2022 (converted by the availability stage).
        concordance = hsrev.Concordance(
            pd.DataFrame(columns=["after", "before", "relationship", "to_rev", "from_rev"])
        )
    if isinstance(concordance, str):
        try:
            concordance = hsrev.load_concordance()
        except SourceMissingError:
            log.info("no HS concordance at the default path: headings matched on their first 4 digits")
            concordance = None
    links = links_df.copy()
    links["hs6"] = hsrev.pad_code(links["hs6"])
    links["_lid"] = np.arange(len(links))
    av = availability_df.copy()
    if "partial_source" in av.columns:
        av = av[~av["partial_source"].astype(bool)]
    if year is not None:
        av = av[av["year"] == year]
    av["_prec"] = source_rank(av["source"], precedence)
    av = av.sort_values(["year", "_prec"], ascending=[False, True])
    av["indicator_source"], av["indicator_year"] = av["source"], av["year"]
    av_cols = [c for c in av.columns if c not in ("hs6", "_prec")]

    six = av[av["hs_level"] == 6].drop_duplicates("hs_code")
    m6 = links[["_lid", "hs6"]].merge(six, left_on="hs6", right_on="hs_code", how="inner")
    m6["granularity"] = "HS6"
    m6["hs4_table"] = None
    m6["heading_status"] = None

    rest = links[~links["_lid"].isin(m6["_lid"])]
    four = av[av["hs_level"] == 4]
    parts = []
    for rev in four["hs_version"].unique():
        if concordance is not None:
            hmap = concordance.hs6_to_heading(rest["hs6"], rev)
        else:
            hmap = pd.DataFrame({"hs6": rest["hs6"].unique()})
            hmap["hs4_table"] = hmap["hs6"].str[:4]
            hmap["heading_status"] = "unchecked (no concordance)"
        lk = rest[["_lid", "hs6"]].merge(hmap, on="hs6", how="left")
        sub = four[four["hs_version"] == rev]
        parts.append(lk.merge(sub, left_on="hs4_table", right_on="hs_code", how="inner"))
    keep = ["_lid", *av_cols, "granularity", "hs4_table", "heading_status"]
    chosen = [m6[keep]]
    if parts:
        m4 = pd.concat(parts, ignore_index=True)
        m4 = m4.sort_values(["_lid", "year", "_prec"], ascending=[True, False, True]).drop_duplicates("_lid")
        m4["granularity"] = "HS4"
        chosen.append(m4[keep])
    both = (
        pd.concat([c for c in chosen if len(c)], ignore_index=True)
        if any(len(c) for c in chosen)
        else m6[keep]
    )
    out = links.merge(both, on="_lid", how="left", suffixes=("", "_avail"))
    out["granularity"] = out["granularity"].astype(object).where(out["granularity"].notna(), None)
    return out.sort_values("_lid").drop(columns="_lid").reset_index(drop=True)
