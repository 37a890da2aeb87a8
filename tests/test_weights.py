"""Weights file: the shipped default loads; every config error is one exact line."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from cclreview.errors import ConfigError
from cclreview.score.weights import (
    AVAILABILITY_COMPONENTS,
    REASON_CODES,
    format_weights,
    load_weights,
    parse_weights,
    weights_sha256,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config" / "weights.toml"
ALLOWED_CODES = ", ".join(REASON_CODES)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "w.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text, f"shipped weights no longer contain {old!r}"
    return _write(tmp_path, text.replace(old, new, 1))


def test_shipped_weights_load_and_cover_every_reason_code() -> None:
    w = load_weights(SHIPPED)
    raw = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    # Every reason code is written out in the shipped file (nothing left to defaults).
    assert set(raw["security"]["reasons"]) == set(REASON_CODES)
    assert w.security.reasons.NS1 >= w.security.reasons.NS2
    assert w.security.reasons.AT1 < w.security.reasons.CC1 < w.security.reasons.NS2
    patterns = [g.pattern for g in w.guardrails]
    for needed in (
        "3A090",
        "4A090",
        "4x090",
        "4E091",
        "3B001",
        "3B90?",
        "3B99[34]",
        "9?515",
        "??6??",
        "0?50?",
    ):
        assert needed in patterns
    # No catch-all: 3B611 (military electronics equipment) is not chip-making equipment.
    assert "3B*" not in patterns and "??5??" not in patterns
    assert all(g.reason for g in w.guardrails)


def test_guardrail_patterns_match_intended_eccns() -> None:
    w = load_weights(SHIPPED)
    by_pattern = {g.pattern: g.regex() for g in w.guardrails}
    assert by_pattern["3A090"].match("3A090") and not by_pattern["3A090"].match("3A001")
    assert by_pattern["4x090"].match("4D090") and not by_pattern["4x090"].match("4A003")
    assert by_pattern["3B99[34]"].match("3B993") and not by_pattern["3B99[34]"].match("3B991")
    assert by_pattern["9?515"].match("9E515") and not by_pattern["9?515"].match("9A610")
    assert by_pattern["0?50?"].match("0A501") and not by_pattern["0?50?"].match("0A521")
    assert by_pattern["*"].match("0A002")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "NS1 = 0.70",
            "NSX = 0.70",
            "security.reasons.NSX: unknown reason code 'NSX' (allowed: " + ALLOWED_CODES + ")",
        ),
        (
            "inside_china = 0.10",
            "inside_china = -0.1",
            "availability.inside_china: value -0.1 out of range (allowed: >= 0)",
        ),
        ("AT1 = 0.05", "AT1 = 1.5", "security.reasons.AT1: value 1.5 out of range (allowed: 0 to 1)"),
        (
            "hs4_factor = 0.6",
            "hs4_facter = 0.6",
            "evidence.hs4_facter: unknown key 'hs4_facter' (allowed: hs4_factor, bounded_factor, "
            "missing_exporter_factor, missing_exporter_floor, recency_decay_per_year, recency_floor, "
            "reference_year, inherited_factor, supply_side_strength, supply_side_min_link_confidence, "
            "min_strength, unconfirmed_links_count, unconfirmed_factor, specificity_exponent, "
            "hs4_only_caps_at_review, stale_after_years, stale_factor)",
        ),
        (
            "NS2 = 0.45",
            "NS2 = 0.9",
            "security.reasons.NS2: value 0.9 exceeds NS1 (0.7) (allowed: 0 to 0.7): "
            "NS column 1 is the stricter control and must weigh at least as much",
        ),
        (
            'MT = "mtcr"',
            'MT = "mtrc"',
            "regimes.MT: unknown regime 'mtrc' (allowed: wassenaar, mtcr, nsg, australia_group, none)",
        ),
        (
            "review_min_score = 0.15",
            "review_min_score = 0.5",
            "tiers.review_min_score: value 0.5 exceeds candidate_min_score (0.35) (allowed: 0 to 0.35): "
            "the review band must lie below the candidate band",
        ),
        (
            "supplier_saturation = 8.0",
            "supplier_saturation = 0",
            "availability_params.supplier_saturation: value 0 out of range (allowed: > 0)",
        ),
    ],
)
def test_config_errors_name_key_value_and_range(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = _edited(tmp_path, old, new)
    with pytest.raises(ConfigError) as info:
        load_weights(path)
    assert str(info.value) == f"{path}: {message}"
    assert "\n" not in str(info.value)


def test_bad_guardrail_pattern_and_flag(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[guardrails]]\npattern = "3Z0"\nreason = "r"\n')
    with pytest.raises(ConfigError, match=r"guardrails\.0\.pattern: value '3Z0' is not an ECCN pattern"):
        load_weights(path)
    path = _write(tmp_path, '[[guardrails]]\npattern = "*"\nreason = "r"\nrequires_flag = "itar"\n')
    with pytest.raises(ConfigError) as info:
        load_weights(path)
    assert str(info.value) == (
        f"{path}: guardrails.0.requires_flag: unknown flag 'itar' "
        "(allowed: subject_to_itar, is_600_series, is_515, no_reasons, advanced_computing_z)"
    )


def test_unknown_section_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_weights({"extras": {"a": 1}}, "w.toml")
    assert str(info.value).startswith("w.toml: extras: unknown key 'extras' (allowed: meta, availability,")
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="weights file not found"):
        load_weights(missing)
    bad = _write(tmp_path, "[availability]\nnon_us_source = \n")
    with pytest.raises(ConfigError, match=r"not valid TOML .*line 2"):
        load_weights(bad)


def test_all_zero_availability_weights_rejected() -> None:
    zeros = dict.fromkeys(AVAILABILITY_COMPONENTS, 0)
    with pytest.raises(ConfigError, match="all availability weights are 0"):
        parse_weights({"availability": zeros})


def test_sha_and_show_round_trip(tmp_path: Path) -> None:
    w = load_weights(SHIPPED)
    sha = weights_sha256(SHIPPED)
    assert len(sha) == 64 and sha == weights_sha256(SHIPPED)
    # The effective-values text is itself a valid weights file with the same values.
    shown = format_weights(w)
    again = load_weights(_write(tmp_path, shown))
    assert again == w
    assert weights_sha256(weights=again) == weights_sha256(weights=w)
    changed = _edited(tmp_path, "AT1 = 0.05", "AT1 = 0.06")
    assert weights_sha256(changed) != sha


# --- issue 16: empty/partial files, guardrails that vanish, non-finite and wrong types ---


@pytest.mark.parametrize("text", ["", '[meta]\nname = "mine"\n'])
def test_empty_or_meta_only_file_is_refused(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_weights(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: guardrails: required key is missing;") and "guardrails = []" in msg
    assert "\n" not in msg


def test_partial_file_is_refused_naming_the_first_missing_key(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    path = _write(tmp_path, text.replace("inside_china = 0.10\n", "", 1))
    with pytest.raises(ConfigError) as info:
        load_weights(path)
    assert str(info.value).startswith(f"{path}: availability.inside_china: required key is missing;")
    start = text.index("[decontrol]")
    end = text.index("\n[", start + 1)
    path = _write(tmp_path, text[:start] + text[end + 1 :])
    with pytest.raises(ConfigError, match=r": decontrol: required key is missing"):
        load_weights(path)


def test_explicit_empty_guardrails_is_accepted(tmp_path: Path) -> None:
    w = load_weights(SHIPPED)
    w.guardrails = []
    again = load_weights(_write(tmp_path, format_weights(w)))
    assert again.guardrails == [] and again == w


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "available_in_fact = 0.25",
            "available_in_fact = inf",
            "availability.available_in_fact: value inf is not a finite number",
        ),
        (
            "available_in_fact = 0.25",
            "available_in_fact = nan",
            "availability.available_in_fact: value nan is not a finite number",
        ),
        (
            "available_in_fact = 0.25",
            "available_in_fact = true",
            "availability.available_in_fact: value True is not a number",
        ),
        (
            "available_in_fact = 0.25",
            'available_in_fact = "0.25"',
            "availability.available_in_fact: value '0.25' is not a number",
        ),
        ("AT1 = 0.05", "AT1 = false", "security.reasons.AT1: value False is not a number"),
    ],
)
def test_non_finite_and_wrongly_typed_values_are_refused(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = _edited(tmp_path, old, new)
    with pytest.raises(ConfigError) as info:
        load_weights(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_integer_values_still_count_as_numbers(tmp_path: Path) -> None:
    w = load_weights(_edited(tmp_path, "supplier_saturation = 8.0", "supplier_saturation = 8"))
    assert w.availability_params.supplier_saturation == 8.0
