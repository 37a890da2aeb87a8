"""Resolve messy country names and codes to ISO 3166 alpha-3.

Trade sources name countries in many ways: ISO3 in any case (``"kor"``), ISO2
(``"KR"``), UN M49 or BACI/Comtrade numeric codes (``410``, ``"410"``, ``842`` for the
USA, ``490`` "Other Asia, nes" for Taiwan), and names with their variants
(``"Korea, Rep."``, ``"Republic of Korea"``, ``"Korea, South"``). :class:`CountryResolver`
turns all of them into ISO3 with the project's own reviewable table
``cclreview/reference/countries.csv`` and, for names only, a rapidfuzz fallback above a
score threshold with a margin over the runner-up (so ``"Korea"`` alone stays unmatched).

Rows of kind ``aggregate`` (World, EU, "Areas, nes") and ``historical`` (USSR,
Czechoslovakia) are known but deliberately *not* countries: they resolve to ``None``
and are reported with their reason, never silently mapped.

Example
-------
>>> r = CountryResolver()
>>> r.resolve("Korea, Rep."), r.resolve(490), r.resolve("World")
('KOR', 'TWN', None)
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz, process

from cclreview.config import REFERENCE_DIR
from cclreview.errors import InputError

log = logging.getLogger(__name__)

COUNTRIES_CSV = REFERENCE_DIR / "countries.csv"
_REQUIRED = ("iso3", "iso2", "m49", "baci_code", "kind", "name", "aliases")
#: Minimum rapidfuzz ``ratio`` (0-100) for a fuzzy name match.
FUZZY_THRESHOLD = 90.0
#: The best fuzzy candidate must beat the best candidate of another country by this.
FUZZY_MARGIN = 4.0


@dataclass(frozen=True)
class Match:
    """Outcome of resolving one value.

    Attributes
    ----------
    iso3
        ISO3 code, or ``None`` when the value is not (or not clearly) a country.
    status
        ``"code"``, ``"name"``, ``"fuzzy"`` (matched) or ``"aggregate"``,
        ``"historical"``, ``"ambiguous"``, ``"unmatched"``, ``"empty"`` (not matched).
    entity
        The table row the value pointed at (pseudo code for aggregates), if any.
    score
        Fuzzy score (100 for exact matches, 0 when nothing was found).
    """

    iso3: str | None
    status: str
    entity: str | None = None
    score: float = 0.0


def normalize_name(value: str) -> str:
    """Return a comparison key: no accents, lower case, '&' as 'and', no punctuation."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    words = text.split()
    # "St. Lucia" and "Saint Lucia" are the same place; a leading article carries nothing.
    words = ["saint" if w == "st" else w for w in words]
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def _codes(cell: str) -> list[str]:
    return [c.strip() for c in str(cell).split("|") if c.strip()]


class CountryResolver:
    """Map names and codes to ISO3, remembering what could not be matched.

    Parameters
    ----------
    table
        Path of a countries CSV (default: the shipped ``reference/countries.csv``).
    fuzzy_threshold, fuzzy_margin
        Fuzzy fallback settings (rapidfuzz ``ratio`` on normalised names).
    """

    def __init__(
        self,
        table: str | Path | None = None,
        fuzzy_threshold: float = FUZZY_THRESHOLD,
        fuzzy_margin: float = FUZZY_MARGIN,
    ) -> None:
        path = Path(table) if table is not None else COUNTRIES_CSV
        self.table = load_countries(path)
        self.fuzzy_threshold = fuzzy_threshold
        self.fuzzy_margin = fuzzy_margin
        self._kind: dict[str, str] = dict(zip(self.table["iso3"], self.table["kind"], strict=True))
        self._name_of: dict[str, str] = dict(zip(self.table["iso3"], self.table["name"], strict=True))
        self._by_alpha3: dict[str, str] = {}
        self._by_alpha2: dict[str, str] = {}
        self._by_number: dict[int, str] = {}
        self._by_name: dict[str, str] = {}
        for row in self.table.itertuples(index=False):
            self._by_alpha3[row.iso3.upper()] = row.iso3
            if row.iso2:
                self._by_alpha2[row.iso2.upper()] = row.iso3
            numbers = [row.m49, row.baci_code, *_codes(row.extra_codes)]
            for num in {int(n) for n in numbers if str(n).strip()}:
                other = self._by_number.setdefault(num, row.iso3)
                if other != row.iso3:
                    raise InputError(
                        f"{path}: numeric code {num} is given to both {other} and {row.iso3}; "
                        "keep each code on one row"
                    )
            for name in [row.name, *_codes(row.aliases)]:
                key = normalize_name(name)
                if not key:
                    continue
                other = self._by_name.setdefault(key, row.iso3)
                if other != row.iso3:
                    raise InputError(
                        f"{path}: name/alias {name!r} is given to both {other} and {row.iso3}; "
                        "an alias must name one entity"
                    )
        self._choices = list(self._by_name)
        self._cache: dict[object, Match] = {}
        self._unmatched: Counter[str] = Counter()
        self._unmatched_match: dict[str, Match] = {}

    # -- single values -----------------------------------------------------------------
    def match(self, value: object) -> Match:
        """Resolve ``value`` and return the full :class:`Match` (cached, not counted)."""
        key = value if isinstance(value, int | str) else repr(value)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._match(value)
            self._cache[key] = hit
        return hit

    def resolve(self, value: object) -> str | None:
        """Return the ISO3 code of ``value`` or ``None``; misses go to the unmatched report."""
        hit = self.match(value)
        if hit.iso3 is None and hit.status != "empty":
            self._note_unmatched(str(value).strip(), hit, 1)
        return hit.iso3

    def _entity(self, iso3: str, status: str, score: float = 100.0) -> Match:
        kind = self._kind.get(iso3, "country")
        if kind == "country":
            return Match(iso3, status, iso3, score)
        return Match(None, kind, iso3, score)

    def _match(self, value: object) -> Match:
        if value is None or (isinstance(value, float) and value != value):
            return Match(None, "empty")
        if isinstance(value, bool):
            return Match(None, "unmatched")
        if isinstance(value, int | float):
            if float(value).is_integer():
                iso3 = self._by_number.get(int(value))
                return self._entity(iso3, "code") if iso3 else Match(None, "unmatched")
            return Match(None, "unmatched")
        text = str(value).strip()
        if not text:
            return Match(None, "empty")
        if re.fullmatch(r"\d+(\.0+)?", text):
            iso3 = self._by_number.get(int(float(text)))
            return self._entity(iso3, "code") if iso3 else Match(None, "unmatched")
        upper = text.upper()
        # Codes are only trusted when written as codes: "KOR", "kor", "KR" (not "Kor.").
        if re.fullmatch(r"[A-Za-z_]{2,4}\d{0,3}", text):
            if len(text) == 3 or text.startswith("_"):
                iso3 = self._by_alpha3.get(upper)
                if iso3:
                    return self._entity(iso3, "code")
            if len(text) == 2:
                iso3 = self._by_alpha2.get(upper)
                if iso3:
                    return self._entity(iso3, "code")
        key = normalize_name(text)
        if not key:
            return Match(None, "unmatched")
        iso3 = self._by_name.get(key)
        if iso3:
            return self._entity(iso3, "name")
        return self._fuzzy(key)

    def _fuzzy(self, key: str) -> Match:
        best_by_entity = self._candidates(key, limit=8)
        if not best_by_entity:
            return Match(None, "unmatched")
        (top_iso, top_score), *rest = best_by_entity
        runner = rest[0][1] if rest else 0.0
        if top_score < self.fuzzy_threshold:
            return Match(None, "unmatched", top_iso, top_score)
        if top_score - runner < self.fuzzy_margin:
            return Match(None, "ambiguous", top_iso, top_score)
        hit = self._entity(top_iso, "fuzzy", top_score)
        if hit.iso3 is not None:
            log.debug("fuzzy country match %r -> %s (%.1f)", key, top_iso, top_score)
        return hit

    def _candidates(self, key: str, limit: int = 3) -> list[tuple[str, float]]:
        """Best distinct entities for a normalised name, best first."""
        found = process.extract(key, self._choices, scorer=fuzz.ratio, limit=limit * 4)
        best: dict[str, float] = {}
        for choice, score, _ in found:
            iso3 = self._by_name[choice]
            best[iso3] = max(best.get(iso3, 0.0), float(score))
        return sorted(best.items(), key=lambda kv: -kv[1])[:limit]

    def candidates(self, value: object, limit: int = 3) -> str:
        """Return ``"KOR South Korea (86); PRK North Korea (80)"`` for a report."""
        key = normalize_name(str(value))
        if not key:
            return ""
        return "; ".join(
            f"{iso} {self._name_of.get(iso, '')} ({score:.0f})" for iso, score in self._candidates(key, limit)
        )

    # -- vectorised ----------------------------------------------------------------------
    def resolve_many(self, values: pd.Series, record: bool = True) -> pd.Series:
        """Resolve a Series; each distinct value is resolved once.

        Parameters
        ----------
        values
            Names or codes (any dtype).
        record
            Count the misses in :meth:`unmatched_report` (set False when the caller
            reports them itself, e.g. with trade values attached).

        Returns
        -------
        pandas.Series
            ISO3 strings (``None``/NA where unmatched), same index as ``values``.
        """
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        mapped = [self.match(_plain(u)).iso3 for u in uniques]
        if record:
            counts = pd.Series(codes).value_counts()
            for idx, iso3 in enumerate(mapped):
                if iso3 is None and idx in counts.index:
                    raw = str(_plain(uniques[idx])).strip()
                    self._note_unmatched(raw, self.match(_plain(uniques[idx])), int(counts[idx]))
        lookup = pd.array([*mapped, None], dtype="string")
        return pd.Series(lookup[codes], index=values.index, dtype="string")

    def _note_unmatched(self, raw: str, hit: Match, count: int) -> None:
        if hit.status == "empty":
            return
        self._unmatched[raw] += count
        self._unmatched_match[raw] = hit

    def unmatched_report(self) -> pd.DataFrame:
        """Values that did not resolve: ``value, count, status, entity, candidates``."""
        rows = [
            {
                "value": raw,
                "count": count,
                "status": self._unmatched_match[raw].status,
                "entity": self._unmatched_match[raw].entity,
                "candidates": self.candidates(raw),
            }
            for raw, count in self._unmatched.most_common()
        ]
        return pd.DataFrame(rows, columns=["value", "count", "status", "entity", "candidates"])

    def name(self, iso3: str) -> str | None:
        """Return the display name of an ISO3 code from the table."""
        return self._name_of.get(iso3)


def _plain(value: object) -> object:
    """numpy scalars -> Python scalars, so codes like np.int64(842) hit the cache."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def load_countries(path: str | Path = COUNTRIES_CSV) -> pd.DataFrame:
    """Read a countries CSV (all columns as strings, empty cells as "").

    Raises
    ------
    InputError
        When the file lacks a required column or repeats an ISO3 code.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise InputError(f"country table {path} not found; reinstall cclreview or pass table=") from exc
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            f"{path}: missing columns {missing}; found {list(df.columns)}; expected {list(_REQUIRED)}"
        )
    if "extra_codes" not in df.columns:
        df["extra_codes"] = ""
    dup = df["iso3"][df["iso3"].duplicated()].tolist()
    if dup:
        raise InputError(f"{path}: ISO3 codes repeated: {dup}; keep one row per code")
    return df
