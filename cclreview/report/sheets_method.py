"""The Method sheet: how the scores are built (in words), every weight used, link sources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from xlsxwriter import Workbook

from cclreview.report import styles
from cclreview.report.sheets_summary import Block, Cell
from cclreview.report.tables import Dictionary, columns
from cclreview.report.xlsx import Formats, Sheet

SHEET = "Method"

METHOD_TEXT = (
    ("Availability score A", "Weighted mean of six sub-scores in [0, 1]: the four foreign-availability "
     "criteria of 15 CFR 768.6 (available-in-fact: effective number of non-U.S. suppliers, 1/HHI; non-U.S. source: "
     "non-U.S. share of world exports; sufficient quantity: non-U.S. supply relative to U.S. exports, "
     "discounted for concentration; comparable quality: unit value ratio non-U.S./U.S. or analyst quality "
     "flags), availability inside China, and supply from outside the regime that lists the item. Weights of "
     "[availability], renormalised over the sub-scores that have data. Each indicator is the mean over the "
     "ECCN's confirmed links weighted by link confidence x specificity (x the HS4 factor for heading data), "
     "never by trade value; text-similarity suggestions are not evidence until confirmed."),
    ("Security score S", "Each control of the entry (eccn_controls.parquet) weighs w x scope, w from "
     "[security.reasons] (its Country Chart column, else the reason's strictest column) and scope = floor + "
     "(1 - floor) x min(1, ln(1 + n) / ln(1 + full_destinations)) with n the destinations needing a licence "
     "under it ([security.scope]): a control naming one country weighs far less than a column covering 150. "
     "Terms combine by noisy-or over groups: one per reason family, ONE for all WMD reasons (NP, MT, CB, CW), "
     "one per flag (600 series, 9x515, military end-use list, unknown code). Adding a control never lowers S."),
    ("Evidence strength E", "Link confidence x specificity^e x coverage x factors for HS4-only data, bounded "
     "data, missing major exporters, data age (and data older than five years) and inherited links "
     "([evidence]); supply-side evidence sets a floor. Old data and missing exporters are named in the "
     "explanation."),
    ("Decontrol score", "A^availability_exponent x (1 - S)^security_exponent x (evidence_floor + (1 - "
     "evidence_floor) x E) x multilateral_factor when a regime lists the item ([decontrol])."),
    ("Tiers (first rule wins)", "guardrail: the ECCN matches a [[guardrails]] entry, whatever the scores, or "
     "is software/technology serving guardrailed hardware; not a foreign-availability case: every control is "
     "crime control (742.7), short supply (754), UN sanctions (746.1), surreptitious listening (742.13), "
     "firearms convention (742.17), CWC (742.18) or foreign-policy sanctions (746.8), or the entry is a "
     "pointer with no licence requirement of its own; insufficient evidence: no linked trade or supply-side "
     "data, or E below evidence.min_strength; retain: S >= tiers.retain_min_security or decontrol score < "
     "tiers.review_min_score; candidate: decontrol score >= tiers.candidate_min_score, with HS6-level trade "
     "or supply-side evidence (HS4 headings only: review); review: everything else. A software (D) or technology (E) entry never gets a better tier than the hardware it serves."),
    ("Ranking", "Scored entries (candidate, review, retain) first by decontrol score, then insufficient "
     "evidence, then guardrail, then not a foreign-availability case; ties broken by decontrol score, then "
     "ECCN. A D/E entry is ranked just after the hardware it serves when it would otherwise rank above it "
     "('Capped by' names the hardware)."),
    ("Route", "How each control could be lifted, by the rules of the regulation: NS on x0xx entries is "
     "Wassenaar (600 series, 9x515 and 0x5xx: the Wassenaar Munitions List), NS on x9xx a U.S. addition; NP "
     "column 1 the NSG, NP column 2 U.S.-only (742.3(a)(2)); MT the MTCR; CB the Australia Group; CW the "
     "CWC (a treaty); RS, AT, EI and SI have no regime (U.S. unilateral rule; 600-series/9x515 RS follows "
     "the Wassenaar Munitions List); CC, SS, UN, SL, FC and foreign-policy sanctions name their programme."),
    ("U.S. can act alone", "yes when every control's route is a U.S. rule or a U.S. programme; no when a "
     "regime list, a treaty or UN sanctions owns one, and for entries with no control of their own."),
    ("Legal basis", "The EAR section of each control: the section its text cites, else the reason's "
     "section (742.4 NS, 742.3(a)(1)/(a)(2) NP, 742.5 MT, 742.2 CB, 742.18 CW, 742.6 RS, 742.7 CC, 754 SS, "
     "746.1(b) UN, 742.13 SL, 742.17 FC, 742.15 EI, 742.14 SI, 746.8 FP)."),
    ("Licence destinations / China", "A Country Chart column needs a licence for the countries with an X in "
     "it (15 CFR 738 Supp. 1) plus the four embargoed destinations (Part 746); a control without a column "
     "covers the countries its text names ('to Iraq'), the Country Groups it names (740 Supp. 1), all "
     "destinations ('worldwide'), or the reason's default (AT: the embargoed destinations; EI, SI: all but "
     "Canada; FP: Russia and Belarus; UN: the rows pointing to 746.1(b)). 'Licence needed for China today' "
     "is yes when any control covers China."),
    ("MEU, Sensitive Lists, LVS/GBS/STA", "MEU: Supp. No. 2 to Part 744 (the military end-use/user rule of "
     "744.21 applies these items to China, Burma, Cambodia, Nicaragua and Venezuela); removing the entry "
     "from the CCL removes that requirement too. SL/VSL: the paragraphs on the Wassenaar Sensitive and Very "
     "Sensitive Lists (Supps. No. 6/7 to Part 774), which limit licence exceptions. LVS, GBS and STA: the "
     "entry's list-based licence exceptions as written."),
    ("Sensitivity", "Draws of each kind: links (one link left out, confidences drawn), data (another year or "
     "source of the HS line, suppliers bootstrapped), weights, and all together ([sensitivity]); per ECCN the "
     "probability of a top-25 place and of candidate, the rank interval, and the kind that moves it most."),
    ("Evidence sheet", "The links and indicator rows scoring used (eccn_hs_indicators.parquet): per link its "
     "share of the ECCN's weight, whether it counted and why not, and the HS code, level, revision and year "
     "of its data (all aligned to HS2022 first). Suppliers are the largest non-U.S. exporters of "
     "that code, year and source in exports.parquet (share = exports / world exports; unit value ratio = "
     "supplier USD per tonne / U.S. USD per tonne); without exports.parquet, the shares listed by "
     "availability_hs. Supply-side market shares from evidence.parquet follow."),
    ("eCFR links", "The whole CCL is one eCFR page (Supplement No. 1 to Part 774, the path the eCFR XML "
     "declares). Links carry a text fragment (#:~:text=ECCN first-word-of-heading) so that browsers that "
     "support it jump to the entry's header line; others open the top of the page (use Ctrl+F)."),
    ("This workbook", "Formats what the score stage decided and decides nothing: scores, tiers and ranks are "
     "copied from scores.parquet as written."),
)  # fmt: skip

LINK_SOURCE_MEANINGS: dict[str, str] = {
    "curated": "analyst-written link with a rationale (reference table of the project)",
    "imported": "from an external concordance (EU correlation table, China's dual-use catalogue)",
    "suggested": "text-similarity suggestion between CCL item text and HS descriptions",
    "inherited": "software/technology entry inheriting the HS codes of the commodities it supports",
}


def write_method(
    wb: Workbook,
    formats: Formats,
    weights: dict[str, Any] | None,
    weights_note: str,
    link_sources: pd.DataFrame | None,
    method_text: Sequence[tuple[str, str]],
    dic: Dictionary,
) -> Sheet:
    """Write the Method sheet: formulas in words, every weight, link sources."""
    sheet = Sheet(wb, formats, SHEET)
    sheet.set_widths([34, 100, 10, 10, 12])
    sheet.page_setup()
    b = Block(sheet)
    b.title("Method")
    b.section("How the scores are built")
    for label, text in method_text:
        b.cells([Cell(label, {**styles.LABEL_FONT, **styles.LEFT_ALIGN}), Cell(text, styles.WRAP_ALIGN)])
    b.section("Weights used (every key of the weights file)")
    b.line(weights_note, style=styles.NOTE_FONT)
    b.header(["Weights key", "Value"])
    for key, value in (weights or {}).items():
        if isinstance(value, list | tuple):
            value = "; ".join(str(v) for v in value)
        elif not isinstance(value, bool | int | float | str) and value is not None:
            value = str(value)
        b.cells([key, Cell(value, styles.LEFT_ALIGN)])
    b.section("ECCN-HS link sources")
    b.header(["Link source", "Meaning", "Links", "ECCNs", "Mean confidence"])
    if link_sources is not None:
        for rec in link_sources.to_dict("records"):
            kind = str(rec["source"]).split(":", 1)[0]
            b.cells(
                [
                    rec["source"],
                    LINK_SOURCE_MEANINGS.get(kind, ""),
                    int(rec["links"]),
                    int(rec["eccns"]),
                    Cell(rec["mean_confidence"], styles.number("0.00")),
                ]
            )
    else:
        b.line("(eccn_hs_links.parquet not found)", style=styles.NOTE_FONT)
    dic.add(SHEET, columns("method_dictionary"))
    return sheet
