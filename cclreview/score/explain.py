"""Plain-words explanations: the two or three components that drove an ECCN's score."""

from __future__ import annotations

import math
from typing import Any

from cclreview.score.weights import AVAILABILITY_COMPONENTS, Weights

REGIME_LABELS = {
    "wassenaar": "Wassenaar",
    "mtcr": "MTCR",
    "nsg": "NSG",
    "australia_group": "Australia Group",
}
_FLAG_WORDS = {
    "series_600": "600-series munitions item",
    "series_515": "9x515 spacecraft item",
    "meu_listed": "on the military end-use list (744.21)",
    "unknown_code": "unrecognised control code",
}
_WMD_PREFIXES = ("NP", "MT", "CB", "CW")


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _evidence_words(granularity: str) -> str:
    """How the availability evidence was obtained, in words."""
    g = granularity or ""
    if g.startswith("supply-side"):
        return "supply-side market-share evidence"
    if g == "HS6":
        return "HS6 trade evidence"
    if g == "HS4":
        return "HS4 heading evidence"
    if "HS6" in g and "HS4" in g:
        return "HS6 and HS4 trade evidence"
    return "trade evidence"


def availability_phrase(component: str, row: dict[str, Any]) -> str | None:
    """A reviewer-readable phrase for one availability sub-score, or None if no data."""
    if _nan(row.get(component)):
        return None
    if component == "available_in_fact":
        n = row.get("n_non_us_suppliers")
        if _nan(n):
            return None
        return f"{n:.0f} significant non-U.S. suppliers ({_evidence_words(row.get('granularity', ''))})"
    if component == "non_us_source":
        return f"non-U.S. sources {row['non_us_share']:.0%} of world supply"
    if component == "sufficient_quantity":
        r = row.get("non_us_to_us_ratio")
        if r is None or _nan(r):
            return None
        if math.isinf(r):
            if str(row.get("granularity", "")).startswith("supply-side"):
                return "no U.S. share in the supply-side evidence"
            return "no U.S. exports recorded: all supply is non-U.S."
        return f"non-U.S. exports {r:.1f}x U.S. exports"
    if component == "comparable_quality":
        flag = row.get("quality_flag")
        if not _nan(flag):
            return f"supply-side evidence rates {flag:.0%} of sources of comparable quality"
        return f"non-U.S. unit values {row['unit_value_ratio']:.0%} of U.S. unit values"
    if component == "inside_china":
        return f"China {row['china_share']:.0%} of world supply"
    if component == "outside_regime":
        regs = row.get("regimes") or []
        if not regs:
            return f"{row['outside_regime_share']:.0%} of supply from countries that do not control it (U.S.-only control)"
        names = "/".join(REGIME_LABELS.get(r, r) for r in regs)
        return f"{row['outside_regime_share']:.0%} of supply from outside {names}"
    return None


def security_phrase(components: list[str]) -> str:
    """``controlled for NS2 only`` / ``controlled for NS1, MT1 (WMD-related)`` / AT only."""
    codes = [c for c in components if c not in ("AT1", "AT2") and c not in _FLAG_WORDS]
    flags = [_FLAG_WORDS[c] for c in components if c in _FLAG_WORDS]
    if not codes and not flags:
        if any(c in ("AT1", "AT2") for c in components):
            return "controlled for AT only (lowest security stakes)"
        return "no reason for control recorded"
    parts = []
    if codes:
        text = f"controlled for {', '.join(codes)}" + (" only" if len(codes) == 1 else "")
        if any(c.startswith(_WMD_PREFIXES) for c in codes):
            text += " (WMD-related)"
        parts.append(text)
    parts.extend(flags)
    return "; ".join(parts)


def unilateral_phrase(regimes: list[str], unilateral: bool | None = None) -> str:
    """Whether the U.S. can decontrol alone, naming the regimes that list the item."""
    if not regimes:
        if unilateral is False:
            return "U.S. cannot act alone (a treaty, UN sanctions or no control of its own)"
        return "U.S.-only control: U.S. can act alone"
    names = " and ".join(REGIME_LABELS.get(r, r) for r in regimes)
    return f"{names}-listed: U.S. cannot act alone"


def decision_phrases(row: dict[str, Any]) -> list[str]:
    """What a decontrol would change (licence for China today, MEU listing) and the D/E cap."""
    out: list[str] = []
    meu = ", and the military end-use licence requirement (744.21)" if row.get("meu_listed") else ""
    if row.get("licence_to_china"):
        out.append(f"licence needed for China today ({row.get('licence_to_china_reasons') or ''}){meu}")
    elif row.get("route"):
        out.append(f"no licence for China today under the CCL controls{meu}")
    if row.get("capped_by"):
        out.append(f"capped by the hardware it serves ({row['capped_by']}): never ranked above it")
    return out


def not_fa_phrase(row: dict[str, Any]) -> str:
    """Why an entry is not a foreign-availability case, naming the programme and section."""
    if row.get("pointer_entry"):
        return (
            "not a foreign-availability case: pointer entry with no licence requirement of its own "
            f"({row.get('legal_basis') or '738.4(a)(1)'}); not ranked"
        )
    return (
        f"not a foreign-availability case: {str(row.get('route') or 'no route').replace('; ', ' + ')} "
        f"(legal basis {str(row.get('legal_basis') or 'unknown').replace('; ', ', ')}), "
        "foreign availability cannot lift it"
    )


def explain(row: dict[str, Any], weights: Weights) -> str:
    """The explanation text of one scored ECCN.

    Parameters
    ----------
    row
        The ECCN's scores, indicators, ``tier``, ``regimes``, ``security_components``,
        ``guardrail_reason``, ``evidence_strength`` and ``n_links``.
    weights
        The weighting used (to find which availability sub-scores contributed most).

    Returns
    -------
    str
        Two to four phrases joined by ``"; "``.
    """
    sec = security_phrase(list(row.get("security_components") or []))
    uni_flag = row.get("unilateral_action_possible")
    uni = unilateral_phrase(list(row.get("regimes") or []), None if _nan(uni_flag) else bool(uni_flag))
    tier = row.get("tier")
    if row.get("reserved"):
        return "[Reserved] entry: nothing is controlled under it"
    if tier == "guardrail":
        return f"guardrail: {row.get('guardrail_reason')}; {sec}; {uni}"
    if tier == "not a foreign-availability case":
        return "; ".join([not_fa_phrase(row), sec])
    if tier == "insufficient evidence":
        if not row.get("has_evidence"):
            why = (
                "no HS link or supply-side evidence for this entry"
                if not row.get("n_links")
                else f"{row['n_links']} linked HS line(s) but no usable trade data"
            )
        else:
            why = (
                f"evidence too weak to score (strength {row['evidence_strength']:.3f} < "
                f"{weights.evidence.min_strength:g}; {_evidence_words(row.get('granularity', ''))})"
            )
        return "; ".join([why, sec, *decision_phrases(row)])
    w = weights.availability.as_dict()
    contrib = []
    for comp in AVAILABILITY_COMPONENTS:
        val = row.get(comp)
        if val is not None and not _nan(val) and w[comp] > 0:
            contrib.append((w[comp] * val, w[comp] * (1 - val), comp))
    parts: list[str] = []
    if tier == "retain" and row.get("security_score", 0) >= weights.tiers.retain_min_security:
        parts = [sec, uni]
        top = sorted(contrib, key=lambda t: (-t[0], t[2]))[:1]
        parts += [p for p in (availability_phrase(c, row) for _, _, c in top) if p]
        if not row.get("has_evidence"):
            parts.append("no usable availability evidence (retained on security alone)")
    elif tier == "retain":
        weak = sorted(contrib, key=lambda t: (-t[1], t[2]))[:2]
        words = [p for p in (availability_phrase(c, row) for _, _, c in weak) if p]
        parts = [f"low availability ({'; '.join(words)})"] if words else ["low availability"]
        parts += [sec]
    else:
        top = sorted(contrib, key=lambda t: (-t[0], t[2]))[:2]
        parts = [p for p in (availability_phrase(c, row) for _, _, c in top) if p]
        parts += [sec, uni]
    if row.get("has_evidence") and not _nan(row.get("evidence_strength")) and row["evidence_strength"] < 0.4:
        parts.append(f"weak evidence (strength {row['evidence_strength']:.2f})")
    parts += decision_phrases(row)
    return "; ".join(parts)
