"""Formatting helpers the templates call (plain functions: far faster than Jinja macros).

Every helper returns plain text, which the autoescaping templates escape; only
:func:`tier` returns markup, built from escaped text.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2
from markupsafe import Markup, escape

from cclreview.dossier.data import is_missing


def _none(value: Any) -> bool:
    return isinstance(value, jinja2.Undefined) or is_missing(value)


def num(value: Any, digits: int = 3) -> str:
    """``0.123`` with ``digits`` decimals; ``n/a`` when missing or not a number."""
    if _none(value) or isinstance(value, bool):
        return "n/a"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def pct(value: Any) -> str:
    """A 0-1 share as ``12.3%``; ``n/a`` when missing."""
    if _none(value) or isinstance(value, bool):
        return "n/a"
    try:
        return f"{float(value) * 100:.1f}%"
    except (TypeError, ValueError):
        return str(value)


def val(value: Any) -> str:
    """Any cell as text: lists joined, booleans as yes/no, missing as ``n/a``."""
    if isinstance(value, jinja2.Undefined) or value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "n/a"
    if is_missing(value):
        return "n/a"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def tier(name: Any) -> Markup:
    """The tier as a coloured badge."""
    text = "not scored" if _none(name) else str(name)
    cls = text.replace(" ", "-")
    return Markup(f'<span class="tier tier-{escape(cls)}">{escape(text)}</span>')


#: Characters HTML forbids in text (C0 controls but tab/newline/CR, DEL, C1, noncharacters).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")


def finalize(value: Any) -> Any:
    """Drop characters an HTML page may not contain (a bell in a heading stays out)."""
    if isinstance(value, Markup):
        return Markup(_FORBIDDEN.sub("", str(value)))
    if isinstance(value, str):
        return _FORBIDDEN.sub("", value)
    return value


FUNCTIONS = {"num": num, "pct": pct, "val": val, "tier": tier}
