"""The scoring weights and thresholds, loaded from ``config/weights.toml``.

Every key of the file maps onto a field of a pydantic model with ``extra="forbid"``,
so a misspelt key, a negative weight or an unknown reason code fails with a
:class:`~cclreview.errors.ConfigError` whose one-line message names the file, the key
path, the value and the allowed range, e.g.::

    config/weights.toml: security.reasons.NSX: unknown reason code 'NSX' (allowed: NS1, NS2, ...)

The formula that uses these values is documented in :mod:`cclreview.score.engine`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from cclreview.errors import ConfigError
from cclreview.models import StrictModel
from cclreview.score.weights_errors import format_error

#: Regimes an ECCN's reasons can point to (``outside_regime`` and the unilateral flag).
REGIMES: tuple[str, ...] = ("wassenaar", "mtcr", "nsg", "australia_group")
#: Owners of a control a guardrail may require (``eccn_controls.regime``; CWC is a treaty).
CONTROL_REGIMES: tuple[str, ...] = (*REGIMES, "cwc")

AVAILABILITY_COMPONENTS: tuple[str, ...] = (
    "available_in_fact",
    "non_us_source",
    "sufficient_quantity",
    "comparable_quality",
    "inside_china",
    "outside_regime",
)

# One element per ECCN character: a digit/letter, `?`/`x` (any one), `[34]` (one of),
# and an optional trailing `*` (any rest).
_GUARDRAIL_TOKEN = re.compile(r"\[[0-9A-E]+\]|[0-9A-E?x]")


def _w(default: float, le: float | None = None, gt: bool = False, doc: str = "") -> Any:
    """A non-negative weight field (``ge=0``, or ``gt=0`` when zero is meaningless)."""
    if gt:
        return Field(default, gt=0, le=le, description=doc)
    return Field(default, ge=0, le=le, description=doc)


class Meta(StrictModel):
    """Free-text identification of a weighting (shown in the report)."""

    name: str = "default"
    note: str = ""


class AvailabilityWeights(StrictModel):
    """Relative weights of the six availability sub-scores (normalised to sum 1)."""

    available_in_fact: float = _w(0.25)
    non_us_source: float = _w(0.20)
    sufficient_quantity: float = _w(0.20)
    comparable_quality: float = _w(0.15)
    inside_china: float = _w(0.10)
    outside_regime: float = _w(0.10)

    @model_validator(mode="after")
    def _some_weight(self) -> AvailabilityWeights:
        if sum(self.as_dict().values()) <= 0:
            raise ValueError("all availability weights are 0: give at least one a positive weight")
        return self

    def as_dict(self) -> dict[str, float]:
        """The weights in :data:`AVAILABILITY_COMPONENTS` order."""
        return {k: float(getattr(self, k)) for k in AVAILABILITY_COMPONENTS}


class AvailabilityParams(StrictModel):
    """Saturation points that turn raw indicators into sub-scores in [0, 1]."""

    supplier_saturation: float = _w(8.0, gt=True)
    non_us_share_floor: float = Field(default=0.5, ge=0, lt=1)
    quantity_ratio_full: float = _w(50.0, gt=True)
    hhi_penalty: float = _w(0.5, le=1)
    china_share_full: float = _w(0.40, le=1, gt=True)
    outside_regime_share_full: float = _w(0.60, le=1, gt=True)
    unit_value_ratio_full: float = _w(0.8, gt=True)


class Suppliers(StrictModel):
    """Floors below which a supplier or an HS line does not count as evidence."""

    min_share: float = _w(0.02, le=1)
    min_value_usd: float = _w(1_000_000.0)
    min_world_exports_usd: float = _w(1_000_000.0)
    min_quantity_tonnes: float = _w(10.0)


class Evidence(StrictModel):
    """How evidence strength is discounted for weak links and coarse data."""

    hs4_factor: float = _w(0.6, le=1)
    bounded_factor: float = _w(0.8, le=1)
    missing_exporter_factor: float = _w(0.9, le=1)
    missing_exporter_floor: float = _w(0.5, le=1)
    recency_decay_per_year: float = _w(0.05, le=1)
    recency_floor: float = _w(0.5, le=1)
    reference_year: int = Field(default=0, ge=0, le=2100)
    inherited_factor: float = _w(0.8, le=1)
    supply_side_strength: float = _w(0.9, le=1)
    supply_side_min_link_confidence: float = _w(0.7, le=1)
    min_strength: float = _w(0.10, le=1)
    unconfirmed_links_count: bool = False
    unconfirmed_factor: float = _w(0.3, le=1)
    specificity_exponent: float = _w(0.5, le=4)
    hs4_only_caps_at_review: bool = True
    stale_after_years: int = Field(default=5, ge=0, le=100)
    stale_factor: float = _w(0.7, le=1)


class Sensitivity(StrictModel):
    """How ``sensitivity`` perturbs links, data and weights (see score/sensitivity.py)."""

    spread: float = _w(0.2, le=5)
    link_drop_probability: float = _w(0.5, le=1)
    confidence_concentration: float = _w(10.0, gt=True)
    data_swap_probability: float = _w(0.5, le=1)
    bootstrap_suppliers: bool = True
    top: int = Field(default=25, ge=1)


class SecurityReasons(StrictModel):
    """Security weight in [0, 1] of each reason code / Country Chart column."""

    NS1: float = _w(0.70, le=1)
    NS2: float = _w(0.45, le=1)
    MT1: float = _w(0.90, le=1)
    NP1: float = _w(0.85, le=1)
    NP2: float = _w(0.60, le=1)
    CB1: float = _w(0.90, le=1)
    CB2: float = _w(0.75, le=1)
    CB3: float = _w(0.60, le=1)
    CW: float = _w(0.80, le=1)
    RS1: float = _w(0.60, le=1)
    RS2: float = _w(0.35, le=1)
    CC1: float = _w(0.20, le=1)
    CC2: float = _w(0.15, le=1)
    CC3: float = _w(0.10, le=1)
    AT1: float = _w(0.05, le=1)
    AT2: float = _w(0.05, le=1)
    FC1: float = _w(0.30, le=1)
    SL: float = _w(0.30, le=1)
    SS: float = _w(0.25, le=1)
    UN: float = _w(0.30, le=1)
    EI: float = _w(0.35, le=1)
    SI: float = _w(0.60, le=1)
    FP: float = _w(0.30, le=1)

    @model_validator(mode="after")
    def _column_order(self) -> SecurityReasons:
        # Column 1 is the stricter control of a pair: a weighting that rates it lower
        # would let a stronger reason lower security relevance.
        for family, cols in REASON_FAMILIES.items():
            for stronger, weaker in itertools.pairwise(cols):
                if getattr(self, stronger) < getattr(self, weaker):
                    raise ValueError(
                        f"{weaker}: value {getattr(self, weaker)} exceeds {stronger} "
                        f"({getattr(self, stronger)}) (allowed: 0 to {getattr(self, stronger)}): "
                        f"{family} column {stronger[-1]} is the stricter control and must weigh at least as much"
                    )
        return self

    def as_dict(self) -> dict[str, float]:
        """Weights in :data:`REASON_CODES` order."""
        return {k: float(getattr(self, k)) for k in REASON_CODES}


#: Reason-for-control codes and Country Chart columns that carry a security weight (the
#: fields of :class:`SecurityReasons`; column 1 before column 2 within a reason).
REASON_CODES: tuple[str, ...] = tuple(SecurityReasons.model_fields)
#: Two-letter reasons and the chart columns that belong to each, strictest first.
REASON_FAMILIES: dict[str, tuple[str, ...]] = {
    code[:2]: tuple(c for c in REASON_CODES if c[:2] == code[:2]) for code in REASON_CODES
}


class SecurityFlags(StrictModel):
    """Extra security weights for entry status (combined by noisy-or with reasons)."""

    series_600: float = _w(0.80, le=1)
    series_515: float = _w(0.80, le=1)
    meu_listed: float = _w(0.30, le=1)
    unknown_code: float = _w(0.50, le=1)


class SecurityScope(StrictModel):
    """How a control's reach (number of destinations needing a licence) scales its weight."""

    floor: float = _w(0.30, le=1)
    full_destinations: float = _w(150.0, gt=True)
    meu_limited_factor: float = _w(0.60, le=1)


class Security(StrictModel):
    """Security relevance settings."""

    reasons: SecurityReasons = SecurityReasons()
    flags: SecurityFlags = SecurityFlags()
    scope: SecurityScope = SecurityScope()


class Regimes(StrictModel):
    """Which multilateral regime lists items controlled for each reason."""

    NS: str = "wassenaar"
    MT: str = "mtcr"
    NP: str = "nsg"
    CB: str = "australia_group"
    CW: str = "australia_group"
    ns_series0_only: bool = True

    @model_validator(mode="after")
    def _known(self) -> Regimes:
        for key in ("NS", "MT", "NP", "CB", "CW"):
            value = getattr(self, key)
            if value not in REGIMES and value != "none":
                raise ValueError(f"{key}: unknown regime {value!r} (allowed: {', '.join(REGIMES)}, none)")
        return self

    def regime_of(self, reason: str) -> str | None:
        """The regime listing items controlled for ``reason`` (two letters), if any."""
        value = getattr(self, reason, None) if reason in ("NS", "MT", "NP", "CB", "CW") else None
        return None if value in (None, "none") else value


class Decontrol(StrictModel):
    """Exponents and factors of the decontrol formula."""

    availability_exponent: float = _w(1.0, le=5, gt=True)
    security_exponent: float = _w(1.0, le=5, gt=True)
    evidence_floor: float = _w(0.5, le=1)
    multilateral_factor: float = _w(0.85, le=1)


class Tiers(StrictModel):
    """Cut-offs between candidate, review and retain."""

    candidate_min_score: float = _w(0.35, le=1)
    review_min_score: float = _w(0.15, le=1)
    retain_min_security: float = _w(0.75, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Tiers:
        if self.review_min_score > self.candidate_min_score:
            raise ValueError(
                f"review_min_score: value {self.review_min_score} exceeds candidate_min_score "
                f"({self.candidate_min_score}) (allowed: 0 to {self.candidate_min_score}): "
                "the review band must lie below the candidate band"
            )
        return self


class ChinaRelief(StrictModel):
    """The China lens: available inside China, and the "China licence relief" ranking.

    ``relief = (inside x A_CN + outside_regime x O + security x (1 - S) + commercial_stake x K)
    / (sum of the four weights) x (evidence_floor + (1 - evidence_floor) x E_CN)`` over the
    eligible entries (see :mod:`cclreview.china.relief`).
    """

    inside_china: float = _w(0.35)
    outside_regime: float = _w(0.25)
    security: float = _w(0.20)
    commercial_stake: float = _w(0.20)
    china_share_full: float = _w(0.30, le=1, gt=True)
    china_rank_full: int = Field(default=1, ge=1, le=50)
    producer_score: float = _w(0.8, le=1)
    outside_regime_share_full: float = _w(0.30, le=1, gt=True)
    stake_floor_usd: float = _w(1_000_000.0, gt=True)
    stake_full_usd: float = _w(1_000_000_000.0, gt=True)
    share_gap_full: float = _w(0.20, le=1, gt=True)
    min_inside_china: float = _w(0.5, le=1)
    min_outside_regime_share: float = _w(0.05, le=1)
    min_evidence_strength: float = _w(0.10, le=1)
    evidence_floor: float = _w(0.5, le=1)
    include_meu_only: bool = False
    include_software_technology: bool = False

    @model_validator(mode="after")
    def _valid(self) -> ChinaRelief:
        if self.inside_china + self.outside_regime + self.security + self.commercial_stake <= 0:
            raise ValueError("all china_relief weights are 0: give at least one a positive weight")
        if self.stake_full_usd <= self.stake_floor_usd:
            raise ValueError(
                f"stake_full_usd: value {self.stake_full_usd} must exceed stake_floor_usd ({self.stake_floor_usd})"
            )
        return self


#: Entry flags (``ccl_entries`` boolean columns) a guardrail may require.
#: ``advanced_computing_z``: the entry has an RS control on ".z" paragraphs or 3A090/4A090 items
#: (set by the score stage from ``eccn_controls``).
GUARDRAIL_FLAGS: tuple[str, ...] = (
    "subject_to_itar",
    "is_600_series",
    "is_515",
    "no_reasons",
    "advanced_computing_z",
)


class Guardrail(StrictModel):
    """One guardrail: ECCNs matching ``pattern`` are never ranked as candidates."""

    pattern: str
    reason: str = Field(min_length=1)
    requires_any_reason: list[str] = Field(default_factory=list)
    requires_flag: str = ""
    requires_regime: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _valid(self) -> Guardrail:
        if _guardrail_tokens(self.pattern) is None:
            raise ValueError(
                f"pattern: value {self.pattern!r} is not an ECCN pattern (allowed: digit, letter A-E, "
                "three digits; '?' or 'x' for any one character, '[34]' for one of, '*' at the end for any rest)"
            )
        families = sorted(REASON_FAMILIES)
        for code in self.requires_any_reason:
            if code not in REASON_FAMILIES:
                raise ValueError(
                    f"requires_any_reason: unknown reason {code!r} (allowed: {', '.join(families)})"
                )
        for regime in self.requires_regime:
            if regime not in CONTROL_REGIMES:
                raise ValueError(
                    f"requires_regime: unknown regime {regime!r} (allowed: {', '.join(CONTROL_REGIMES)})"
                )
        if self.requires_flag and self.requires_flag not in GUARDRAIL_FLAGS:
            raise ValueError(
                f"requires_flag: unknown flag {self.requires_flag!r} (allowed: {', '.join(GUARDRAIL_FLAGS)})"
            )
        return self

    def regex(self) -> re.Pattern[str]:
        """The pattern as an anchored regular expression."""
        tokens = _guardrail_tokens(self.pattern) or []  # "*" alone: no tokens
        body = "".join("." if t in ("?", "x") else t for t in tokens)
        return re.compile(f"^{body}{'.*' if self.pattern.endswith('*') else ''}$")


def _guardrail_tokens(pattern: str) -> list[str] | None:
    """Split a guardrail pattern into per-character tokens; None when malformed."""
    core = pattern[:-1] if pattern.endswith("*") else pattern
    if pattern == "*":
        return []
    tokens = _GUARDRAIL_TOKEN.findall(core)
    if "".join(tokens) != core or not tokens or len(tokens) > 5:
        return None
    if len(tokens) < 5 and not pattern.endswith("*"):
        return None
    return tokens


class Weights(StrictModel):
    """All scoring settings; see ``config/weights.toml`` for the meaning of each key."""

    meta: Meta = Meta()
    availability: AvailabilityWeights = AvailabilityWeights()
    availability_params: AvailabilityParams = AvailabilityParams()
    suppliers: Suppliers = Suppliers()
    evidence: Evidence = Evidence()
    security: Security = Security()
    regimes: Regimes = Regimes()
    decontrol: Decontrol = Decontrol()
    tiers: Tiers = Tiers()
    sensitivity: Sensitivity = Sensitivity()
    guardrails: list[Guardrail] = Field(default_factory=list)
    china_relief: ChinaRelief = ChinaRelief()


def parse_weights(data: dict[str, Any], source: str = "<weights>") -> Weights:
    """Validate a weights mapping (parsed TOML) into :class:`Weights`.

    Raises
    ------
    ConfigError
        On the first invalid key, with the file, key path, value and allowed range.
    """
    try:
        return Weights.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = format_error(source, dict(errors[0]), Weights)
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(first + more) from None


def missing_keys(data: dict[str, Any], model: type[BaseModel] | None = None, prefix: str = "") -> list[str]:
    """Key paths of ``model`` (default :class:`Weights`) that ``data`` does not set.

    Tables are walked recursively; a list of tables (``guardrails``) must be present but
    its items may leave optional keys out. ``meta`` (a free-text label) may be omitted.
    """
    model = Weights if model is None else model
    missing: list[str] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        if key == "meta":
            continue
        if name not in data:
            missing.append(key)
            continue
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel) and isinstance(data[name], dict):
            missing += missing_keys(data[name], ann, f"{key}.")
    return missing


def load_weights(path: str | os.PathLike[str]) -> Weights:
    """Load and validate a weights TOML file.

    A file must set every key (an empty or partial file is refused, so that a missing
    table can never fall back silently to values nobody reviewed), and ``guardrails``
    must be there: ``[[guardrails]]`` tables, or ``guardrails = []`` to run without any.

    Parameters
    ----------
    path
        The TOML file (usually ``config/weights.toml``).

    Returns
    -------
    Weights
        The validated settings.

    Raises
    ------
    ConfigError
        When the file is missing, is not valid TOML, or a key is unknown/out of range.
    """
    path = Path(path)
    shown = str(path)
    if not path.is_file():
        raise ConfigError(
            f"{shown}: weights file not found; pass --weights FILE or copy config/weights.toml there"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: not valid TOML ({exc}); fix the syntax at that line") from None
    weights = parse_weights(data, shown)
    missing = missing_keys(data)
    if "guardrails" in missing:
        raise ConfigError(
            f"{shown}: guardrails: required key is missing; add the [[guardrails]] tables of "
            "config/weights.toml, or write `guardrails = []` at the top to run without any"
        )
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ConfigError(
            f"{shown}: {missing[0]}: required key is missing{more}; a weights file must set every key: "
            "copy the missing ones from config/weights.toml (`cclreview weights --show` prints a complete file)"
        )
    return weights


def weights_sha256(path: str | os.PathLike[str] | None = None, weights: Weights | None = None) -> str:
    """Return the sha256 of a weights file, or of the canonical JSON of ``weights``.

    The file hash identifies exactly what the analyst edited; the JSON hash is used
    for in-memory weightings (tests, sensitivity baselines).
    """
    if path is not None:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if weights is None:
        raise ValueError("weights_sha256 needs a path or a Weights object")
    blob = json.dumps(weights.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def format_weights(weights: Weights) -> str:
    """Render the effective values as TOML-like text (for ``cclreview weights --show``)."""
    data = weights.model_dump(mode="json")
    lines: list[str] = []

    def emit(prefix: str, obj: dict[str, Any]) -> None:
        scalars = {k: v for k, v in obj.items() if not isinstance(v, dict | list)}
        if scalars:
            lines.append(f"[{prefix}]")
            for k, v in scalars.items():
                lines.append(f"{k} = {json.dumps(v)}")
            lines.append("")
        for k, v in obj.items():
            if isinstance(v, dict):
                emit(f"{prefix}.{k}" if prefix else k, v)

    if not data["guardrails"]:  # a top-level key must come before the first table
        lines += ["guardrails = []", ""]
    emit("", {k: v for k, v in data.items() if k != "guardrails"})
    for g in data["guardrails"]:
        lines.append("[[guardrails]]")
        lines.append(f"pattern = {json.dumps(g['pattern'])}")
        lines.append(f"reason = {json.dumps(g['reason'])}")
        if g["requires_any_reason"]:
            lines.append(f"requires_any_reason = {json.dumps(g['requires_any_reason'])}")
        if g["requires_flag"]:
            lines.append(f"requires_flag = {json.dumps(g['requires_flag'])}")
        if g["requires_regime"]:
            lines.append(f"requires_regime = {json.dumps(g['requires_regime'])}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
