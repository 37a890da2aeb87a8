"""One-line messages for invalid weights files: file, key path, value, what is allowed.

pydantic reports an error as a location (``("security", "reasons", "NSX")``), a type
(``extra_forbidden``) and context; :func:`format_error` turns it into
``config/weights.toml: security.reasons.NSX: unknown reason code 'NSX' (allowed: NS1, ...)``,
looking the allowed keys and bounds up in the model tree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

#: pydantic type errors -> the TOML value the key expects, in words.
_EXPECTED = {
    "float_type": "number",
    "int_type": "whole number",
    "bool_type": "true/false",
    "string_type": "quoted text",
    "list_type": "list",
    "model_type": "table",
    "dict_type": "table",
}
_RANGE_ERRORS = ("greater_than_equal", "greater_than", "less_than_equal", "less_than")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``list[Guardrail]``: ``Guardrail``), or None for a value."""
    args = getattr(annotation, "__args__", None)
    if args:
        annotation = args[0]
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _follow(model: type[BaseModel], keys: Sequence[Any]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model reached by following ``keys`` down from ``model``, and the last key's field.

    List indices (the position of a ``[[guardrails]]`` table) are skipped; ``(None, None)``
    where a key is unknown or leads below a plain value.
    """
    current: type[BaseModel] | None = model
    info: FieldInfo | None = None
    for part in keys:
        if isinstance(part, int):
            continue
        if current is None:
            return None, None
        info = current.model_fields.get(str(part))
        if info is None:
            return None, None
        current = _model_of(info.annotation)
    return current, info


def _bounds(info: FieldInfo | None) -> tuple[str, str]:
    """Human bounds of a numeric field, e.g. ``('0', '1')`` or ``('> 0', 'any')``."""
    lo, hi = "0", "any"
    for m in info.metadata if info is not None else []:
        if getattr(m, "ge", None) is not None:
            lo = f"{m.ge:g}"
        if getattr(m, "gt", None) is not None:
            lo = f"> {m.gt:g}"
        if getattr(m, "le", None) is not None:
            hi = f"{m.le:g}"
    return lo, hi


def format_error(path: str, err: dict[str, Any], model: type[BaseModel]) -> str:
    """Turn one pydantic error of ``model`` into ``file: key.path: what is wrong (allowed: ...)``."""
    loc = tuple(err.get("loc", ()))
    key = ".".join(str(p) for p in loc) if loc else "(top level)"
    kind = err.get("type", "")
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        table, _ = _follow(model, loc[:-1])
        keys = ", ".join(table.model_fields) if table is not None else ""
        if loc[-2:-1] == ("reasons",):
            return f"{path}: {key}: unknown reason code {loc[-1]!r} (allowed: {keys})"
        return f"{path}: {key}: unknown key {loc[-1]!r} (allowed: {keys})"
    if kind in _RANGE_ERRORS:
        lo, hi = _bounds(_follow(model, loc)[1])
        allowed = f"{lo} to {hi}" if hi != "any" else (lo if lo.startswith(">") else f">= {lo}")
        return f"{path}: {key}: value {value!r} out of range (allowed: {allowed})"
    if kind == "missing":
        return f"{path}: {key}: required key is missing"
    if kind == "finite_number":
        return f"{path}: {key}: value {value!r} is not a finite number (inf and nan are not allowed)"
    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
        shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{path}: {key}: value {shown} is not a {expected} (write a plain {expected}, e.g. without quotes)"
    if kind == "value_error":
        msg = str(ctx.get("error", err.get("msg", "")))
        sub = re.match(r"^([A-Za-z_][A-Za-z0-9_]*): (.*)$", msg, re.S)
        if sub:  # validator messages start with the offending field: extend the key path
            key, msg = (f"{key}.{sub.group(1)}" if loc else sub.group(1)), sub.group(2)
        return f"{path}: {key}: {msg}"
    expected = kind.replace("_parsing", "").replace("_type", "")
    return f"{path}: {key}: value {value!r} is not a valid {expected} ({err.get('msg', '')})"
