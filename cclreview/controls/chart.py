"""The Commerce Country Chart (15 CFR 738 Supp. 1): which destinations each column covers.

The chart is read from a JSON parse of the eCFR table (the layout of the development
mirror's ``ear/country_chart_<date>.json``: ``columns``, ``countries`` with their
``marks`` and ``footnotes``, ``embargoed`` rows with a pointer instead of marks,
``footnotes``, ``aliases``). Every country name is mapped to ISO3 with
:class:`cclreview.trade.countries.CountryResolver`; a name it cannot map is an error
naming the file and the row, never a silent drop.

The four embargoed rows (Cuba, Iran, North Korea, Syria) carry no X at all: Part 746
(and 742.19) requires a licence to them for every item on the CCL. They are counted as
licence destinations of every chart column (:attr:`CountryChart.embargoed`), and they
are the destinations of the AT columns, which have no X anywhere else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from cclreview.errors import InputError
from cclreview.trade.countries import CountryResolver

#: Columns the regulation defines (738.2(d)(2)); a chart without all of them is truncated.
CHART_COLUMNS: tuple[str, ...] = (
    "CB1", "CB2", "CB3", "NP1", "NP2", "NS1", "NS2", "MT1", "RS1", "RS2",
    "FC1", "CC1", "CC2", "CC3", "AT1", "AT2",
)  # fmt: skip
#: The chart has ~196 rows; far fewer means a truncated or wrong file.
MIN_COUNTRIES = 150


@dataclass(frozen=True)
class CountryChart:
    """The chart as sets of ISO3 codes.

    Attributes
    ----------
    columns
        Column code (``"NS2"``) -> ISO3 codes with an X in that column.
    embargoed
        ISO3 of the embargoed rows (no marks; Part 746 applies).
    all_destinations
        ISO3 of every row of the chart (countries and embargoed rows).
    footnotes
        Footnote number -> ISO3 codes whose row carries it.
    names
        Normalised country name or alias -> ISO3, for reading names in CCL text.
    source
        The file read (for messages and provenance).
    date
        The eCFR issue date of the chart, if given.
    """

    columns: dict[str, frozenset[str]]
    embargoed: frozenset[str]
    all_destinations: frozenset[str]
    footnotes: dict[str, frozenset[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    source: str = ""
    date: str = ""

    def destinations(self, column: str) -> frozenset[str]:
        """ISO3 codes needing a licence under ``column`` (X marks plus embargoed rows)."""
        return self.columns.get(column, frozenset()) | self.embargoed


def _column_code(label: str) -> str:
    """``"NS 2"`` -> ``"NS2"``."""
    return re.sub(r"\s+", "", str(label)).upper()


def _resolve(resolver: CountryResolver, name: str, aliases: dict[str, str], path: Path) -> str:
    """ISO3 of a chart row name; an unknown name is an error naming the file and the row."""
    hit = resolver.match(name)
    if hit.iso3 is None:
        alias_of = aliases.get(name.lower())
        if alias_of:
            hit = resolver.match(alias_of)
    if hit.iso3 is None:
        raise InputError(
            f"{path}: country row {name!r} is not a known country ({hit.status}); add it as an alias "
            "in cclreview/reference/countries.csv or fix the chart file"
        )
    return hit.iso3


def load_country_chart(
    path: str | Path, resolver: CountryResolver | None = None, min_countries: int = MIN_COUNTRIES
) -> CountryChart:
    """Read the Country Chart: the JSON parse, or the eCFR XML of Part 738 (``*.xml``).

    Parameters
    ----------
    path
        The chart file (``data/raw/ear/country_chart_<date>.json``).
    resolver
        Maps country names to ISO3 (default: the shipped reference table).

    Raises
    ------
    InputError
        When the file is missing, is not JSON, lacks a column or most of its rows
        (truncated), or names a country the resolver does not know; the message names
        the file and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: Country Chart file not found; run `cclreview fetch all` "
            "(or put the chart JSON of 15 CFR 738 Supp. 1 there)"
        )
    if path.suffix.lower() == ".xml":
        from cclreview.controls.ecfr import chart_mapping_from_xml

        return chart_from_mapping(chart_mapping_from_xml(path), path, resolver, min_countries)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not valid JSON ({exc}); the file is truncated or damaged, re-fetch it"
        ) from None
    return chart_from_mapping(data, path, resolver, min_countries)


def chart_from_mapping(
    data: object, path: Path, resolver: CountryResolver | None = None, min_countries: int = MIN_COUNTRIES
) -> CountryChart:
    """Build the chart from its mapping form (``columns``, ``countries``, ``embargoed``, ...)."""
    if not isinstance(data, dict) or not isinstance(data.get("countries"), dict):
        raise InputError(
            f"{path}: no 'countries' table; is this the Country Chart JSON (15 CFR 738 Supp. 1)?"
        )
    columns = [_column_code(c) for c in data.get("columns", [])]
    missing = [c for c in CHART_COLUMNS if c not in columns]
    if missing:
        raise InputError(f"{path}: Country Chart lacks columns {', '.join(missing)}; re-fetch the chart")
    countries: dict[str, dict] = data["countries"]
    embargoed_rows: dict[str, dict] = data.get("embargoed") or {}
    # The JSON states its row count; without it, a chart of ~196 rows is expected.
    stated = data.get("countryCount")
    if isinstance(stated, int) and stated > 0:
        found, expected = len(countries), stated
    else:
        found, expected = len(countries) + len(embargoed_rows), min_countries
    if found < expected:
        raise InputError(
            f"{path}: only {found} country rows (expected {expected}); the chart is truncated, re-fetch it"
        )
    resolver = resolver or CountryResolver()
    aliases = {str(k).lower(): str(v) for k, v in (data.get("aliases") or {}).items()}
    cols: dict[str, set[str]] = {c: set() for c in columns}
    foot: dict[str, set[str]] = {}
    names: dict[str, str] = {}
    iso_of: dict[str, str] = {}
    for name, row in {**countries, **embargoed_rows}.items():
        iso = _resolve(resolver, name, aliases, path)
        iso_of[name] = iso
        names[name.lower()] = iso
        for note in (row or {}).get("footnotes", []) or []:
            foot.setdefault(str(note), set()).add(iso)
    for name, row in countries.items():
        for mark in (row or {}).get("marks", []) or []:
            code = _column_code(mark)
            if code not in cols:
                raise InputError(f"{path}: row {name!r} marks unknown column {mark!r}; re-fetch the chart")
            cols[code].add(iso_of[name])
    for alias, target in aliases.items():
        if target in iso_of:
            names[alias] = iso_of[target]
    # Territories the chart folds into another row (Hong Kong -> China).
    for territory, info in (data.get("territoryInheritance") or {}).items():
        target_row = str((info or {}).get("row") or "")
        if target_row in iso_of:
            names[str(territory).lower()] = iso_of[target_row]
    embargoed = frozenset(iso_of[n] for n in embargoed_rows)
    return CountryChart(
        columns={c: frozenset(v) for c, v in cols.items()},
        embargoed=embargoed,
        all_destinations=frozenset(iso_of.values()),
        footnotes={k: frozenset(v) for k, v in foot.items()},
        names=names,
        source=str(path),
        date=str(data.get("ecfrIssueDate") or ""),
    )
