"""Specificity classes and confirmation of links (issue 12)."""

from __future__ import annotations

import pandas as pd

from cclreview.link.curated import CURATED_FILE
from cclreview.link.specificity import auto_class, confirmed_source, specificity_classes


def test_class_table_is_ordered_and_in_range() -> None:
    c = specificity_classes()
    assert list(c) == ["dedicated", "shared", "residual", "heading"]
    assert c["dedicated"] == 1.0 and c["dedicated"] > c["shared"] > c["residual"] > c["heading"] > 0


def test_every_shipped_row_has_a_valid_class() -> None:
    df = pd.read_csv(CURATED_FILE, dtype=str, keep_default_na=False)
    assert df["specificity_class"].isin(list(specificity_classes())).all()


def test_auto_class_reads_the_subheading_words() -> None:
    hs6 = pd.Series(["848180", "810199", "681511", "930330", "845811", "999999"])
    desc = pd.Series(
        [
            "Taps, cocks, valves; other appliances",  # 'other' after the heading prefix
            "Tungsten (wolfram); articles n.e.c. in heading no. 8101",
            # "not elsewhere specified" belongs to the heading prefix, not the subheading
            "Stone or other mineral substances not elsewhere specified or included; carbon fibres",
            "Firearms; sporting, hunting or target-shooting rifles n.e.c. in heading no. 9303",
            "Lathes; for removing metal, horizontal, numerically controlled",
            None,
        ]
    )
    assert auto_class(hs6, desc).tolist() == ["residual", "residual", "shared", "shared", "shared", "shared"]


def test_confirmation_by_source() -> None:
    src = pd.Series(
        [
            "curated",
            "curated:analyst",
            "imported:eu_correlation",
            "imported:other",
            "imported:cn_catalogue",
            "suggested",
        ]
    )
    # Unknown imports follow imported:generic; the noisy China catalogue and the suggester
    # are not evidence until an analyst confirms a pair.
    assert confirmed_source(src).tolist() == [True, True, True, True, False, False]
