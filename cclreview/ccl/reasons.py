"""Reason-for-control codes and Country Chart columns, read from CCL text.

The eCFR writes the reasons of an ECCN in a "Reason for Control:" line and again in the
rows of its License Requirements table ("NS applies to entire entry" | "NS Column 2").
These helpers turn such text into codes; they know nothing of XML.
"""

from __future__ import annotations

import re

#: Reason-for-control codes used on the CCL (15 CFR 738.2(d)(2)); order = display order.
REASON_CODES: tuple[str, ...] = (
    "NS",  # national security
    "MT",  # missile technology
    "NP",  # nuclear nonproliferation
    "CB",  # chemical and biological weapons
    "CW",  # chemical weapons convention
    "RS",  # regional stability
    "CC",  # crime control
    "FC",  # firearms convention
    "SL",  # surreptitious listening
    "SS",  # short supply
    "UN",  # United Nations sanctions
    "EI",  # encryption items
    "SI",  # significant items
    "AT",  # anti-terrorism
    "FP",  # foreign policy, written out in words (Russian industry-sector sanctions, 746.8)
)

_CODE_ALT = "|".join(REASON_CODES)
# A code on its own, optionally glued to a column digit ("CC1", "CC 1"), never part of a
# longer word ("NSG", "ATM").
_CODE_RE = re.compile(rf"(?<![A-Za-z])({_CODE_ALT})(?:\s?\d)?(?![A-Za-z])")
#: Label of the reasons line; "Reasons" is used in a few entries.
REASON_LABEL_RE = re.compile(r"Reasons?\s+for\s+Control\s*:?", re.IGNORECASE)
# "NS applies to ..." opening a control row written as a paragraph or a table cell.
# "SL and AT apply to entire entry" names two controls in one row.
APPLIES_RE = re.compile(
    rf"^\s*((?:{_CODE_ALT})(?:\s*(?:,|and|&)\s*(?:{_CODE_ALT}))*)\s+(?:only\s+)?appl(?:y|ies)\b",
    re.IGNORECASE,
)
# "NS Column 2", "NP column 1", "AT Column 1." in the chart cell of a control row.
_COLUMN_RE = re.compile(rf"(?<![A-Za-z])({_CODE_ALT})\s*Col(?:umn|\.)?\s*(\d)(?!\d)", re.IGNORECASE)


# "Foreign policy" is written in words, never as a code: it is read as FP.
_FP_WORDS_RE = re.compile(r"\bforeign\s+policy\b", re.IGNORECASE)
# A control row of the Russian industry-sector sanctions ("Russian industry sector
# sanctions apply to entire entry"), the only foreign-policy control written as a row.
_FP_ROW_RE = re.compile(r"^\s*Russian\s+industry\s+sector\s+sanctions?\s+appl(?:y|ies)\b", re.IGNORECASE)


def codes_in(text: str) -> list[str]:
    """Return the reason codes written in ``text``, in order of first appearance.

    Parameters
    ----------
    text
        The text after a "Reason for Control:" label, e.g. ``"NS, MT NP, AT"``.

    Returns
    -------
    list of str
        Unique codes, e.g. ``["NS", "MT", "NP", "AT"]``; "foreign policy" (in words)
        yields ``"FP"`` at its place; "N/A" yields nothing.
    """
    found = [(m.start(), m.group(1)) for m in _CODE_RE.finditer(text)]
    found += [(m.start(), "FP") for m in _FP_WORDS_RE.finditer(text)]
    seen: list[str] = []
    for _, code in sorted(found):
        if code not in seen:
            seen.append(code)
    return seen


def reasons_after_label(text: str) -> list[str] | None:
    """Return the codes after a "Reason for Control:" label in ``text``, else None.

    Only the clause right after the label is read (up to the first sentence end), so
    that a paragraph continuing with other prose does not add codes.
    """
    match = REASON_LABEL_RE.search(text)
    if match is None:
        return None
    rest = text[match.end() :]
    # Stop at the first period followed by a space and a capital (a new sentence).
    rest = re.split(r"\.\s+(?=[A-Z])", rest, maxsplit=1)[0]
    return codes_in(rest)


def chart_columns_in(text: str) -> list[str]:
    """Return Country Chart columns named in ``text`` ("NS Column 2" -> "NS2")."""
    cols: list[str] = []
    for match in _COLUMN_RE.finditer(text):
        col = f"{match.group(1).upper()}{match.group(2)}"
        if col not in cols:
            cols.append(col)
    return cols


def controls_of_row(text: str) -> list[str]:
    """Return the codes a control row applies ("SL and AT apply to ..." -> ["SL", "AT"])."""
    if _FP_ROW_RE.match(text):
        return ["FP"]
    match = APPLIES_RE.match(text)
    return codes_in(match.group(1).upper()) if match else []


def control_of_row(text: str) -> str | None:
    """Return the first code a control row applies ("NS applies to entire entry" -> "NS")."""
    codes = controls_of_row(text)
    return codes[0] if codes else None


_BARE_COLUMN_RE = re.compile(r"^\s*Col(?:umn|\.)?\s*(\d)\b", re.IGNORECASE)


def chart_columns_of_row(control: str, chart_text: str) -> list[str]:
    """Return the chart columns of one control row.

    "NS Column 2." -> ["NS2"]; a bare "Column 1." takes the row's own control code.
    """
    cols = chart_columns_in(chart_text)
    if not cols and control:
        bare = _BARE_COLUMN_RE.match(chart_text)
        if bare:
            cols = [f"{control}{bare.group(1)}"]
    return cols


def order_codes(codes: list[str]) -> list[str]:
    """Return ``codes`` de-duplicated, keeping first appearance order."""
    out: list[str] = []
    for code in codes:
        if code not in out:
            out.append(code)
    return out


def text_after_label(text: str) -> str:
    """Return the text after a "Reason for Control:" label (stripped), or ""."""
    match = REASON_LABEL_RE.search(text)
    return text[match.end() :].strip() if match else ""


def first_column_match(text: str) -> int | None:
    """Return the offset of the first "XX Column n" in ``text``, or None."""
    match = _COLUMN_RE.search(text)
    return match.start() if match else None


# "are subject to RS1 controls" (the 0x521 entries describe their control in prose).
_PROSE_RE = re.compile(rf"subject to\s+({_CODE_ALT})\s?(\d)?\s+controls?\b")


def prose_controls(text: str) -> list[tuple[str, str]]:
    """Return (code, chart column or "") pairs stated as "subject to RS1 controls"."""
    return [(m.group(1), f"{m.group(1)}{m.group(2)}" if m.group(2) else "") for m in _PROSE_RE.finditer(text)]
