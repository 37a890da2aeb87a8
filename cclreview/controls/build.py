"""Every control of every ECCN as a row: reason, column, scope, destinations, route.

:func:`build_controls` turns the ``control_rows`` and reasons of ``ccl_entries`` into
``eccn_controls`` (one row per ECCN x reason x chart column or other requirement) with,
for each control, the destinations needing a licence, its legal basis, the regime that
owns it, whether foreign availability can lift it (``kind``) and how it could be lifted
(``route``). The rules of the regulation, in the project's reference table
``cclreview/reference/control_reasons.csv`` and here:

* NS on x0xx entries implements the Wassenaar Dual-Use List; on 600-series, 9x515 and
  0x5xx entries the Wassenaar Munitions List; NS on x9xx entries is a U.S. addition.
* NP column 1 implements the NSG lists; NP column 2 is U.S.-only (742.3(a)(2)).
* MT -> MTCR, CB -> Australia Group, CW -> the CWC (a treaty obligation).
* RS, AT, EI, SI: U.S. unilateral (no regime; 600-series / 9x515 RS controls follow the
  Wassenaar Munitions List, said in ``scope_note``).
* CC (742.7), SS (Part 754), UN (746.1), SL (742.13), FC (742.17), CW (treaty) and FP
  (foreign-policy sanctions, 746.8): not a foreign-availability case.

Destinations: a chart column's X marks plus the four embargoed rows (Part 746 requires
a licence to them for every CCL item); otherwise what the requirement text says ("to
Iraq", "Country Groups D:1, D:4, and D:5 ... excluding ... A:5 or A:6", "worldwide",
"ALL destinations, except Canada"); otherwise the reason's default scope from the
reference table. When none applies ``n_destinations`` is empty and
``destinations_basis`` says why (never a guess).

:func:`summarise` gives the per-ECCN columns the scores and the workbook carry
(``route``, ``licence_to_china``, ``meu_listed``, ``sensitive_list``, ...).
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cclreview.config import REFERENCE_DIR
from cclreview.controls.chart import CountryChart
from cclreview.errors import InputError

log = logging.getLogger(__name__)

REASONS_CSV = REFERENCE_DIR / "control_reasons.csv"
KIND_FA = "foreign-availability case"
KIND_NOT_FA = "not a foreign-availability case"
ROUTE_US = "U.S. unilateral rule"
ROUTE_REGIME = {
    "wassenaar": "regime proposal: Wassenaar",
    "nsg": "regime proposal: NSG",
    "mtcr": "regime proposal: MTCR",
    "australia_group": "regime proposal: Australia Group",
}
REGIMES = ("wassenaar", "nsg", "mtcr", "australia_group", "cwc", "none")

#: Columns of ``eccn_controls.parquet``, in order.
CONTROL_COLUMNS: tuple[str, ...] = (
    "eccn", "reason", "column", "scope_text", "whole_entry", "requirement_text", "destinations",
    "n_destinations", "destinations_basis", "legal_basis", "regime", "kind", "route", "us_can_lift_alone",
    "scope_note", "source",
)  # fmt: skip

# Routes the U.S. cannot take alone although no dual-use regime owns them.
_NOT_ALONE_PREFIXES = ("treaty:", "UN Security Council")
_SECTION_RE = re.compile(r"§+\s*(7\d\d(?:\.\d+)?(?:\([A-Za-z0-9]+\))*)")
_GROUP_RE = re.compile(r"\b([A-E]):\s?(\d)\b")
_WORLD_RE = re.compile(r"\b(worldwide|any destination|all destinations)\b", re.IGNORECASE)
_EXCEPT_CANADA_RE = re.compile(r"except(?:\s+to)?\s+Canada", re.IGNORECASE)
_EXCLUDE_RE = re.compile(r"\b(exclud\w*|except\w*)\b", re.IGNORECASE)
_REF_RE = re.compile(r"\b[0-9][A-E][0-9]{3}(?:\.[a-z0-9]{1,3})*|(?<=[ ,])\.[a-z](?:\.[a-z0-9]{1,3})*")


@dataclass(frozen=True)
class ReasonRule:
    """One row of ``control_reasons.csv``."""

    reason: str
    legal_basis: str
    kind: str
    regime: str
    route: str
    default_scope: str
    scope_note: str


def load_reason_rules(path: str | Path = REASONS_CSV) -> dict[str, ReasonRule]:
    """Read the reason rules; an unknown kind or regime is an error naming the row."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: reason rules table not found; restore cclreview/reference/control_reasons.csv"
        )
    out: dict[str, ReasonRule] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            rule = ReasonRule(**{k: (row.get(k) or "").strip() for k in ReasonRule.__dataclass_fields__})
            if rule.kind not in (KIND_FA, KIND_NOT_FA):
                raise InputError(f"{path}: line {i}: kind {rule.kind!r} (allowed: {KIND_FA}, {KIND_NOT_FA})")
            if rule.regime not in REGIMES:
                raise InputError(f"{path}: line {i}: regime {rule.regime!r} (allowed: {', '.join(REGIMES)})")
            out[rule.reason] = rule
    return out


def _list(value: Any) -> list[Any]:
    """A list from a list/array cell (Parquet gives numpy arrays), [] for missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


class _Scoper:
    """Destinations of one control: chart column, text, or the reason's default."""

    def __init__(self, chart: CountryChart | None, groups: dict[str, frozenset[str]]) -> None:
        self.chart = chart
        self.groups = groups
        names = sorted((chart.names if chart else {}), key=len, reverse=True)
        self._name_re = (
            re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b", re.IGNORECASE)
            if names
            else None
        )

    def all(self) -> frozenset[str]:
        return self.chart.all_destinations if self.chart else frozenset()

    def named(self, text: str) -> list[str]:
        """ISO3 of the countries named in ``text`` (chart names and aliases)."""
        if not self._name_re or not self.chart:
            return []
        out: list[str] = []
        for m in self._name_re.finditer(text):
            iso = self.chart.names[m.group(1).lower()]
            if iso not in out:
                out.append(iso)
        return out

    def from_groups(self, text: str) -> frozenset[str] | None:
        """Country Groups named in ``text``, minus those after "excluding"."""
        if not _GROUP_RE.search(text):
            return None
        parts = _EXCLUDE_RE.split(text, maxsplit=1)
        head, tail = parts[0], (parts[-1] if len(parts) > 1 else "")
        keep: set[str] = set()
        for letter, digit in _GROUP_RE.findall(head):
            keep |= self.groups.get(f"{letter}:{digit}", frozenset())
        for letter, digit in _GROUP_RE.findall(tail):
            keep -= self.groups.get(f"{letter}:{digit}", frozenset())
        keep |= set(self.named(head))  # "Macau or a destination specified in D:5"
        return frozenset(keep)

    def scope(self, rule: ReasonRule, column: str, text: str) -> tuple[frozenset[str] | None, str]:
        """(destinations or None when not determinable, the basis in words)."""
        chart = self.chart
        if chart is None:
            return None, "Country Chart not loaded"
        if column:
            if column in chart.columns:
                return chart.destinations(
                    column
                ), f"Country Chart column {column} (X marks and embargoed rows)"
            return None, f"column {column} is not on the Country Chart"
        if rule.reason == "CW" and "non-States Parties" in text:
            return None, "CWC non-States Parties (Supp. No. 2 to Part 745 is not read)"
        groups = self.from_groups(text)
        if groups is not None:
            return groups, "Country Groups named in the requirement (740 Supp. 1)"
        if _WORLD_RE.search(text):
            dest = self.all()
            if _EXCEPT_CANADA_RE.search(text):
                return dest - {"CAN"}, "all destinations except Canada (requirement text)"
            return dest, "all destinations (requirement text)"
        named = self.named(text)
        if named:
            return frozenset(named), "countries named in the requirement text"
        default = rule.default_scope
        if default == "embargoed":
            return chart.embargoed, "AT without a column: the embargoed, terrorism-supporting destinations"
        if default == "all":
            return self.all(), f"all destinations ({rule.legal_basis})"
        if default == "all_except_canada":
            return self.all() - {"CAN"}, f"all destinations except Canada ({rule.legal_basis})"
        if default == "russia_belarus":
            return frozenset({"RUS", "BLR"}), f"Russia and Belarus ({rule.legal_basis})"
        if default == "footnote":
            return (
                chart.footnotes.get("1", frozenset()),
                "Country Chart rows whose footnote points to 746.1(b) (UN sanctions)",
            )
        return None, f"not stated in the entry; see {rule.legal_basis}"


def _regime(rule: ReasonRule, eccn: str, column: str) -> tuple[str, str]:
    """(regime, scope note) of one control under the rules of the regulation."""
    series = eccn[2]
    munitions = series == "6" or eccn[2:] == "515" or (eccn[2] == "5" and eccn[0] == "0")
    if rule.reason == "NS":
        if series == "9":
            return "none", "NS on an x9xx entry: a U.S. addition, no regime lists it"
        if munitions:
            return "wassenaar", "Wassenaar Munitions List (600 series, 9x515, 0x5xx)"
        return "wassenaar", "Wassenaar Dual-Use List"
    if rule.reason == "NP":
        if column == "NP2":
            return "none", "NP column 2: U.S.-only nuclear control (742.3(a)(2), Country Group D:2)"
        return "nsg", "NP column 1: Nuclear Suppliers Group lists (742.3(a)(1))"
    if rule.reason == "RS" and munitions:
        return "none", "RS has no regime; 600-series and 9x515 items follow the Wassenaar Munitions List"
    return rule.regime, rule.scope_note


def _route(rule: ReasonRule, regime: str) -> str:
    if rule.kind == KIND_NOT_FA:
        return rule.route
    return ROUTE_REGIME.get(regime, ROUTE_US)


def _legal_basis(rule: ReasonRule, column: str, text: str) -> str:
    """The EAR section of a control: NP by column, else the section the text cites."""
    if rule.reason == "NP":
        return "742.3(a)(2)" if column == "NP2" else "742.3(a)(1)"
    m = _SECTION_RE.search(text)
    if m and rule.reason in ("RS", "NS", "FP", "UN", "CW", "SS"):
        return m.group(1)
    return rule.legal_basis


def _columns_of(reason: str, text: str) -> list[str]:
    """Chart columns named in a requirement cell ("NS Column 2" -> NS2; "Column 1." -> AT1)."""
    from cclreview.ccl.reasons import chart_columns_of_row

    return [c for c in chart_columns_of_row(reason, text) if c[:2] == reason] if text else []


def _control_rows(entry: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(reason, column, scope_text, requirement_text, source) of one entry's controls."""
    out: list[tuple[str, str, str, str]] = []
    for row in _list(entry.get("control_rows")):
        reason = str(row.get("control") or "").strip()
        applies = str(row.get("applies_to") or "").strip()
        req = str(row.get("chart_or_requirement") or "").strip()
        if not reason:
            if re.match(r"^\s*Russian industry sector sanctions? appl", applies, re.IGNORECASE):
                reason = "FP"  # tables parsed before FP was read as a code
            else:
                continue  # ITAR pointer text of 0D001/0E001: not a Commerce control
        cols = _columns_of(reason, req) or [""]
        out.extend((reason, col, applies, req) for col in cols)
    return out


def build_controls(
    entries: pd.DataFrame,
    chart: CountryChart | None,
    groups: dict[str, frozenset[str]] | None = None,
    rules: dict[str, ReasonRule] | None = None,
) -> pd.DataFrame:
    """One row per ECCN x reason x chart column/requirement (:data:`CONTROL_COLUMNS`).

    Parameters
    ----------
    entries
        ``ccl_entries`` (``eccn``, ``reasons``, ``chart_columns``, ``control_rows``,
        ``reasons_text``).
    chart
        The Country Chart; without it ``destinations`` stay empty (basis says so).
    groups
        EAR Country Group -> ISO3 (default: ``reference/country_groups.csv``).
    rules
        Reason rules (default: ``reference/control_reasons.csv``).

    Notes
    -----
    A reason named in the entry's "Reason for Control" line or prose ("AT, foreign
    policy") but in no control row still gets a row (``source`` = ``reason_line``), with
    its chart column when ``chart_columns`` has one of its family.
    """
    rules = rules or load_reason_rules()
    if groups is None:
        from cclreview.trade.groups import load_country_groups

        cg = load_country_groups()
        groups = {str(g): frozenset(rows["iso3"]) for g, rows in cg.groupby("group")}
    scoper = _Scoper(chart, groups)
    rows: list[dict[str, Any]] = []
    unknown: set[str] = set()
    for entry in entries.to_dict("records"):
        eccn = str(entry["eccn"])
        found = [(r, c, a, q, "control_row") for r, c, a, q in _control_rows(entry)]
        have = {r for r, *_ in found}
        declared = [str(r).strip().upper() for r in _list(entry.get("reasons"))]
        text = str(entry.get("reasons_text") or "")
        if re.search(r"foreign\s+policy", text, re.IGNORECASE) and "FP" not in declared:
            declared.append("FP")
        charts = [str(c) for c in _list(entry.get("chart_columns"))]
        for reason in declared:
            if reason in have:
                continue
            cols = [c for c in charts if c[:2] == reason] or [""]
            src = "prose" if entry.get("reasons_source") == "prose" else "reason_line"
            found.extend((reason, col, "named in the Reason for Control line", "", src) for col in cols)
        for reason, column, applies, req, source in found:
            rule = rules.get(reason)
            if rule is None:
                unknown.add(reason)
                continue
            regime, note = _regime(rule, eccn, column)
            dest, basis = scoper.scope(rule, column, req)
            route = _route(rule, regime)
            rows.append(
                {
                    "eccn": eccn,
                    "reason": reason,
                    "column": column,
                    "scope_text": applies,
                    "whole_entry": bool(
                        re.search(r"entire entry|named in the Reason", applies, re.IGNORECASE)
                    ),
                    "requirement_text": req,
                    "destinations": sorted(dest) if dest is not None else [],
                    "n_destinations": float(len(dest)) if dest is not None else np.nan,
                    "destinations_basis": basis,
                    "legal_basis": _legal_basis(rule, column, req),
                    "regime": regime,
                    "kind": rule.kind,
                    "route": route,
                    "us_can_lift_alone": regime in ("none",) and not route.startswith(_NOT_ALONE_PREFIXES),
                    "scope_note": note,
                    "source": source,
                }
            )
    if unknown:
        raise InputError(
            f"{REASONS_CSV}: no rule for reason code(s) {', '.join(sorted(unknown))}; add a row for each"
        )
    df = pd.DataFrame(rows, columns=list(CONTROL_COLUMNS))
    df["n_destinations"] = df["n_destinations"].astype("float64")
    return df.sort_values(["eccn", "reason", "column"], kind="stable").reset_index(drop=True)


def _paragraph_scope(eccn: str, applies: str) -> str:
    """Short paragraph scope of a partial control ("2B001.a-.d"), "" for whole entries."""
    if re.search(r"entire entry|named in the Reason", applies, re.IGNORECASE):
        return ""
    head = re.split(r"\bEXCEPT\b|\bexcept\b", applies, maxsplit=1)[0]
    refs = [r for r in _REF_RE.findall(head) if r != eccn]
    if not refs:
        return "part of the entry"
    short = ", ".join(refs[:6]) + (", ..." if len(refs) > 6 else "")
    return short


def _text(value: Any) -> str:
    """A text cell as str, "" for missing (never the string "nan")."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def summarise(
    controls: pd.DataFrame, entries: pd.DataFrame, lists: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per-ECCN decision columns (indexed by ECCN, one row per entry).

    Columns: ``route``, ``legal_basis``, ``controls_kind``, ``licence_to_china``,
    ``licence_to_china_reasons``, ``licence_destinations``,
    ``licence_destinations_unknown`` (reasons whose destinations could not be read),
    ``meu_listed``, ``meu_paragraphs``, ``sensitive_list``, ``very_sensitive_list``,
    ``lvs``, ``gbs``, ``sta``, ``unilateral_action_possible``, ``pointer_entry``.
    """
    lists = lists if lists is not None else pd.DataFrame(columns=["list", "eccn", "paragraphs", "limited"])
    by_eccn = {e: g for e, g in controls.groupby("eccn", sort=False)}
    listed: dict[tuple[str, str], list[str]] = {}
    for row in lists.itertuples(index=False):
        paras = [str(p) for p in _list(row.paragraphs)]
        label = "; ".join(paras) + (" (limited)" if bool(row.limited) else "")
        listed.setdefault((str(row.list), str(row.eccn)), []).append(label)
    out = []
    for entry in entries.to_dict("records"):
        eccn = str(entry["eccn"])
        g = by_eccn.get(eccn)
        meu = listed.get(("MEU", eccn), [])
        base = {
            "eccn": eccn,
            "meu_listed": bool(meu),
            "meu_paragraphs": "; ".join(meu),
            "sensitive_list": "; ".join(listed.get(("SL", eccn), [])),
            "very_sensitive_list": "; ".join(listed.get(("VSL", eccn), [])),
            "lvs": _text(entry.get("lvs")),
            "gbs": _text(entry.get("gbs")),
            "sta": _text(entry.get("sta")),
        }
        if g is None or not len(g):
            itar = bool(entry.get("subject_to_itar"))
            reserved = bool(entry.get("reserved"))
            base.update(
                route="ITAR (State Department)"
                if itar
                else ("" if reserved else "no licence requirement of its own"),
                legal_basis="22 CFR 120-130" if itar else ("" if reserved else "738.4(a)(1): pointer entry"),
                controls_kind="none",
                licence_to_china=False,
                licence_to_china_reasons="",
                licence_destinations=0,
                licence_destinations_unknown="",
                unilateral_action_possible=False,
                pointer_entry=not itar and not reserved,
            )
            out.append(base)
            continue
        parts: dict[str, list[str]] = {}
        for row in g.itertuples(index=False):
            label = f"{row.reason}{row.column[2:] if row.column else ''}"
            scope = _paragraph_scope(eccn, row.scope_text)
            item = f"{label} [{scope}]" if scope else label
            parts.setdefault(row.route, [])
            if item not in parts[row.route]:
                parts[row.route].append(item)
        china = [
            f"{r.reason}{r.column[2:] if r.column else ''}"
            for r in g.itertuples(index=False)
            if "CHN" in _list(r.destinations)
        ]
        dest: set[str] = set()
        for d in g["destinations"]:
            dest |= set(_list(d))
        unknown = sorted({r.reason for r in g.itertuples(index=False) if pd.isna(r.n_destinations)})
        kinds = set(g["kind"])
        base.update(
            route="; ".join(f"{route} ({', '.join(items)})" for route, items in parts.items()),
            legal_basis="; ".join(dict.fromkeys(g["legal_basis"])),
            controls_kind=KIND_NOT_FA if kinds == {KIND_NOT_FA} else KIND_FA,
            licence_to_china=bool(china),
            licence_to_china_reasons="; ".join(dict.fromkeys(china)),
            licence_destinations=len(dest),
            licence_destinations_unknown=", ".join(unknown),
            unilateral_action_possible=bool(g["us_can_lift_alone"].all()),
            pointer_entry=False,
        )
        out.append(base)
    return pd.DataFrame(out).set_index("eccn")
