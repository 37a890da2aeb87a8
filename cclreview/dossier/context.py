"""Per-ECCN page context: plain dicts and lists the templates format.

Nothing here scores or ranks: numbers come from the stage outputs as written. A
section whose input table or columns are absent gets ``None``, and the template says
"not yet available" (naming the table or columns that would fill it).

:class:`ContextBuilder` groups the inputs once (:mod:`cclreview.dossier.indexes`) and
builds each page from its scores row: the entry, criteria, flags and gaps here, the
sections drawn from trade data in :mod:`cclreview.dossier.trade_sections`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from cclreview.dossier.data import (
    DossierInputs,
    as_list,
    availability_index,
    clean,
    exports_index,
    is_missing,
    records_by_eccn,
)
from cclreview.dossier.indexes import focus_flows, link_indicators, sorted_links, supply_side
from cclreview.dossier.trade_sections import focus_section, supplier_section, years_section
from cclreview.report.ecfr import ecfr_url
from cclreview.report.frames import category_label

log = logging.getLogger(__name__)

#: Per-ECCN columns the decision-model stage adds to ``scores.parquet``.
DECISION_COLUMNS = (
    "route", "licence_to_china", "licence_to_china_reasons", "licence_destinations", "meu_listed",
    "meu_paragraphs", "sensitive_list", "very_sensitive_list",
)  # fmt: skip
#: Per-ECCN columns the China-lens stage adds to ``scores.parquet``.
CHINA_COLUMNS = (
    "available_inside_china", "china_share", "china_rank", "china_effect", "china_imports_usd",
    "us_share_china_imports", "us_share_world", "diversion_flags",
)  # fmt: skip
#: Columns of ``eccn_controls.parquet`` shown, in order.
CONTROL_COLUMNS = (
    "reason", "column", "scope_text", "destinations", "n_destinations", "legal_basis", "regime", "kind", "route",
    "scope_note",
)  # fmt: skip
#: Link columns shown (those present), in order; the evidence stage adds the last three.
LINK_COLUMNS = (
    "hs6", "paragraph", "source", "confidence", "rank", "confirmed", "specificity", "specificity_class",
    "rationale",
)  # fmt: skip
#: Sensitivity columns the base table has; any other numeric column is a perturbation kind.
SENSITIVITY_BASE = ("eccn", "median_rank", "rank_p05", "rank_p95", "p_top25", "base_rank", "rank_spread")

_FILE_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def page_name(eccn: str) -> str:
    """File name of an ECCN's page (``2B001.html``); unsafe characters become ``_``."""
    return _FILE_SAFE.sub("_", str(eccn)) + ".html"


def _present(row: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any] | None:
    """The named columns of ``row`` that the table has (None when it has none of them)."""
    got = {c: row.get(c) for c in columns if c in row}
    return got or None


def _fmt_pct(value: Any) -> str:
    return "n/a" if is_missing(value) else f"{float(value) * 100:.1f}%"


def _fmt_num(value: Any, digits: int = 2) -> str:
    return "n/a" if is_missing(value) else f"{float(value):.{digits}f}"


class ContextBuilder:
    """Builds the page context of every ECCN from the loaded inputs (grouped once)."""

    def __init__(self, inputs: DossierInputs) -> None:
        self.inputs = inputs
        self.entries = {
            r["eccn"]: r
            for rs in records_by_eccn(inputs.entries.drop_duplicates("eccn")).values()
            for r in rs
        }
        self.score_cols = set(inputs.scores.columns)
        self.paragraphs = records_by_eccn(inputs.paragraphs)
        self.controls = records_by_eccn(inputs.controls) if inputs.controls is not None else None
        self.links = records_by_eccn(sorted_links(inputs.links))
        self.sens = (
            {k: v[0] for k, v in records_by_eccn(inputs.sensitivity).items()}
            if inputs.sensitivity is not None
            else None
        )
        self.supply = records_by_eccn(supply_side(inputs.evidence, inputs.links))
        self.avail = availability_index(inputs.availability)
        self.exports = exports_index(inputs.exports)
        self.link_ind = records_by_eccn(link_indicators(inputs.indicators, inputs.links, self.avail))
        self.indicators = records_by_eccn(inputs.indicators) if inputs.indicators is not None else None
        self.us_focus = focus_flows(inputs.us_exports)

    # ------------------------------------------------------------------ sections
    def entry_section(self, eccn: str, entry: dict[str, Any], heading: str | None) -> dict[str, Any]:
        items: list[dict[str, Any]] = [
            {
                "id": p.get("paragraph_id"),
                "depth": int(p.get("depth") or 1),
                "label": p.get("label"),
                "text": p.get("text") or "",
            }
            for p in self.paragraphs.get(eccn, [])
        ]
        # Print shows the top-level items only (the full list is on screen and on the eCFR).
        top = [i for i in items if i["depth"] <= 1]
        rows = entry.get("control_rows")
        if isinstance(rows, str):
            import json

            try:
                rows = json.loads(rows)
            except ValueError:
                rows = [{"control": "", "applies_to": rows, "chart_or_requirement": ""}]
        return {
            "category": category_label(entry.get("category"), entry.get("category_title"), eccn),
            "group": entry.get("group_title"),
            "reasons": as_list(entry.get("reasons")),
            "chart_columns": as_list(entry.get("chart_columns")),
            "control_rows": [clean(r) if not isinstance(r, dict) else r for r in as_list(rows)],
            "lvs": entry.get("lvs"),
            "gbs": entry.get("gbs"),
            "sta": entry.get("sta"),
            "other_exceptions": entry.get("other_license_exceptions"),
            "related_controls": entry.get("related_controls"),
            "related_definitions": entry.get("related_definitions"),
            "item_list": items,
            "item_top": top[:6],
            "item_more": max(0, len(top) - 6),
            "item_text": entry.get("items_text") if not items else None,
            "notes": [n for n in str(entry.get("notes_text") or "").split("\n") if n.strip()],
            "ecfr_url": ecfr_url(eccn, heading if isinstance(heading, str) else None),
            "ecfr_date": entry.get("ecfr_date"),
            "subject_to_itar": bool(entry.get("subject_to_itar")),
            "reserved": bool(entry.get("reserved")),
            "no_reasons_why": entry.get("no_reasons_why"),
        }

    def criteria_section(self, s: dict[str, Any]) -> list[dict[str, Any]]:
        """The four 15 CFR 768.6 criteria, plus the two lenses, with the number behind each."""
        gran = s.get("granularity") or "n/a"
        raw_year = s.get("latest_year")
        year = None if raw_year is None or is_missing(raw_year) else int(raw_year)
        src = s.get("evidence_source") or "n/a"
        n = s.get("n_non_us_suppliers")
        ratio, hhi = s.get("non_us_to_us_ratio"), s.get("hhi_non_us")
        out = [
            ("Available in fact", "768.6(a)", "available_in_fact",
             f"{_fmt_num(n, 1)} significant non-U.S. supplier countries"),
            ("Non-U.S. source", "768.6(b)", "non_us_source",
             f"non-U.S. share of world exports {_fmt_pct(s.get('non_us_share'))}"),
            ("Sufficient quantity", "768.6(c)", "sufficient_quantity",
             f"non-U.S. / U.S. exports {_fmt_num(ratio, 1)}x; HHI of non-U.S. supply {_fmt_num(hhi, 2)}"),
            ("Comparable quality", "768.6(d)", "comparable_quality",
             f"unit value non-U.S. / U.S. {_fmt_num(s.get('unit_value_ratio'), 2)}"),
            ("Inside China", "lens", "inside_china", f"China's share of world exports {_fmt_pct(s.get('china_share'))}"),
            ("Outside the regime", "lens", "outside_regime",
             f"share of non-U.S. supply from outside the regime {_fmt_pct(s.get('outside_regime_share'))}"),
        ]  # fmt: skip
        return [
            {
                "name": name,
                "cfr": cfr,
                "score": s.get(key),
                "number": number,
                "source": src,
                "year": year,
                "granularity": gran,
                "present": key in self.score_cols,
            }
            for name, cfr, key, number in out
        ]

    def link_rows(self, eccn: str) -> list[dict[str, Any]]:
        out = []
        for r in self.links.get(eccn, []):
            row = {c: r.get(c) for c in LINK_COLUMNS if c in r}
            code = str(r.get("hs6") or "")
            row["description"] = self.inputs.hs_descriptions.get(code) or self.inputs.hs_descriptions.get(
                code[:4]
            )
            out.append(row)
        return out

    def flags_section(self, s: dict[str, Any], entry: dict[str, Any]) -> list[dict[str, Any]]:
        """Regulatory and data flags: None value = the column is not yet available."""

        def flag(label: str, cols: tuple[str, ...], detail_col: str | None = None) -> dict[str, Any]:
            col = next((c for c in cols if c in self.score_cols), None)
            if col is None:
                return {"label": label, "value": None, "detail": None, "missing": ", ".join(cols)}
            value = s.get(col)
            detail = s.get(detail_col) if detail_col and detail_col in self.score_cols else None
            if isinstance(detail, list):
                detail = ", ".join(str(d) for d in detail)
            return {"label": label, "value": _yes_no(value), "detail": detail, "missing": None}

        def diversion(label: str, prefix: str) -> dict[str, Any] | None:
            # The China lens writes one text column, "CHPL Tier 2: 851762; 746 Supp. No. 4: ...".
            if "diversion_flags" not in self.score_cols:
                return None
            raw = s.get("diversion_flags")
            items = raw if isinstance(raw, list | tuple) else str(raw or "").split(";")
            parts = [str(p).strip() for p in items if str(p).strip()]
            hits = [p for p in parts if p.startswith(prefix)]
            return {
                "label": label,
                "value": _yes_no(bool(hits)),
                "detail": "; ".join(hits) or None,
                "missing": None,
            }

        chpl = diversion("Common High Priority List (HS6 of a link)", "CHPL")
        p746 = diversion("Part 746 sanctions lists (HS6 of a link)", "746 ")
        return [
            flag("Military end-use/user list (744 Supp. 2)", ("meu_listed",), "meu_paragraphs"),
            flag("Wassenaar Sensitive List (774 Supp. 6)", ("sensitive_list",)),
            flag("Wassenaar Very Sensitive List (774 Supp. 7)", ("very_sensitive_list",)),
            chpl or flag("Common High Priority List (HS6 of a link)", ("chpl_listed", "chpl", "on_chpl"), "chpl_hs6"),
            p746 or flag("Part 746 sanctions lists (HS6 of a link)", ("part746_listed", "part746", "russia_hts_listed"), "part746_hs6"),
            {"label": "Subject to the ITAR (pointer)", "value": _yes_no(entry.get("subject_to_itar")), "detail": None, "missing": None},
            {"label": "600 series / 9x515", "value": _yes_no(bool(entry.get("is_600_series")) or bool(entry.get("is_515"))), "detail": None, "missing": None},
            {"label": "Reasons read inconsistently (reason line vs table)", "value": _yes_no(entry.get("reasons_conflict")), "detail": None, "missing": None},
        ]  # fmt: skip

    def missing_section(
        self, eccn: str, s: dict[str, Any], suppliers: dict[str, Any] | None, years: dict[str, Any] | None
    ) -> list[str]:
        """What the tool does not know about this ECCN, in plain words."""
        out: list[str] = []
        links = self.links.get(eccn, [])
        if self.inputs.links is None:
            out.append("no HS links table (eccn_hs_links.parquet absent)")
        elif not links:
            out.append("no HS link: no trade evidence can be attached")
        if s.get("granularity") == "HS4" or (suppliers and suppliers["level"] == "HS4"):
            out.append("no HS6 data: evidence is the whole HS4 heading, far wider than the controlled item")
        for r in self.link_ind.get(eccn, []):
            if is_missing(r.get("hs_code")):
                out.append(f"no trade data for linked HS code {r['hs6']}")
        seen_missing: set[str] = set()
        for r in self.link_ind.get(eccn, []):
            if is_missing(r.get("hs_code")):
                continue
            for av in self.avail.get((str(r["hs_code"]), int(r["hs_level"])), []):
                if av.get("year") != r.get("_year") or av.get("source") != r.get("_source"):
                    continue
                for iso in as_list(av.get("missing_major_exporters")):
                    msg = (
                        f"{self.inputs.country_names.get(iso, iso)} absent from the {av['year']} "
                        f"table ({av['source']})"
                    )
                    if msg not in seen_missing:
                        seen_missing.add(msg)
                        out.append(msg)
                if av.get("is_bounded"):
                    msg = f"{av['source']} {av['year']}: top-N table, supplier counts are bounds"
                    if msg not in seen_missing:
                        seen_missing.add(msg)
                        out.append(msg)
        if "comparable_quality" in self.score_cols and is_missing(s.get("comparable_quality")):
            out.append("no unit values or quality evidence: comparable quality (768.6(d)) not measured")
        if not self.supply.get(eccn):
            out.append("no supply-side evidence (market shares, producer lists)")
        if years is None or len({r["year"] for r in years["rows"]}) < 2:
            out.append("fewer than two years of trade data: no trend")
        if is_missing(s.get("availability_score")):
            out.append("no availability evidence at all: tier 'insufficient evidence' or unscored")
        return list(dict.fromkeys(out))

    # ------------------------------------------------------------------ the page
    def build(self, s: dict[str, Any]) -> dict[str, Any]:
        """Context of one ECCN page from its scores row."""
        eccn = str(s["eccn"])
        entry = self.entries.get(eccn, {})
        heading = s.get("heading") if not is_missing(s.get("heading")) else entry.get("heading")
        regimes = [str(r) for r in as_list(s.get("regimes"))]
        suppliers = supplier_section(
            self.link_ind.get(eccn, []), self.exports, self.avail, self.inputs, regimes
        )
        years = years_section(self.links.get(eccn, []), self.avail)
        sens = None
        if self.sens is not None:
            row = self.sens.get(eccn)
            if row is not None:
                extra = {
                    k: v
                    for k, v in row.items()
                    if k not in SENSITIVITY_BASE and isinstance(v, int | float) and not isinstance(v, bool)
                }
                sens = {**{k: row.get(k) for k in SENSITIVITY_BASE}, "extra": extra}
        controls = None
        if self.controls is not None:
            controls = [{c: r.get(c) for c in CONTROL_COLUMNS if c in r} for r in self.controls.get(eccn, [])]
        return {
            "eccn": eccn,
            "file": page_name(eccn),
            "heading": heading or "",
            "s": s,
            "entry": self.entry_section(eccn, entry, heading),
            "decision": _present(s, DECISION_COLUMNS),
            "china": _present(s, CHINA_COLUMNS[:1] + CHINA_COLUMNS[2:]),
            "controls": controls,
            "criteria": self.criteria_section(s),
            "suppliers": suppliers,
            "years": years,
            "focus": focus_section(self.links.get(eccn, []), self.us_focus),
            "links": self.link_rows(eccn),
            "links_table": self.inputs.links is not None,
            "link_columns": [
                c for c in LINK_COLUMNS if self.inputs.links is not None and c in self.inputs.links.columns
            ],
            "indicators": (None if self.indicators is None else self.indicators.get(eccn, [])),
            "supply": self.supply.get(eccn, [])[:15],
            "sensitivity": sens,
            "flags": self.flags_section(s, entry),
            "missing": self.missing_section(eccn, s, suppliers, years),
            "review": self.inputs.annotations.get(eccn),
            "has_workbook": self.inputs.workbook is not None,
        }


def _yes_no(value: Any) -> str | None:
    if is_missing(value):
        return "no"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return "yes" if value else "no"
    return str(value)
