"""The Unlinked sheet previews the evidence a suggestion would bring once confirmed."""

from __future__ import annotations

import pandas as pd

from cclreview.report.frames import _latest_indicator_rows, evidence_preview


def test_preview_uses_hs6_then_the_heading_then_says_none() -> None:
    avail = pd.DataFrame(
        [
            # hs_code, level, year, world, non-US share, suppliers, top suppliers
            ("848620", 6, 2022, 9.0e9, 0.90, 12, "NLD 40%; JPN 30%; CHN 5%"),
            ("848620", 6, 2023, 12.3e9, 0.85, 14, "NLD 45%; JPN 25%"),  # latest year wins
            ("8479", 4, 2023, 450e6, 0.70, 30, "CHN 30%; DEU 20%"),
        ],
        columns=[
            "hs_code",
            "hs_level",
            "year",
            "world_exports_usd",
            "non_us_share",
            "n_non_us_suppliers",
            "top_suppliers",
        ],
    )
    by6, by4 = _latest_indicator_rows(avail)
    text = evidence_preview("848620 (0.62); 847989 (0.55); 999999 (0.40); 848690 (0.30)", by6, by4)
    assert text == (
        "848620: HS6 2023 world $12.3bn, non-US 85%, 14 suppliers (NLD 45%; JPN 25%)"
        " | 847989: HS4 8479 2023 world $450m, non-US 70%, 30 suppliers (CHN 30%; DEU 20%)"
        " | 999999: no trade data"
    )
    assert evidence_preview("", by6, by4) is None and evidence_preview(None, by6, by4) is None
