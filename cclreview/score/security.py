"""Security relevance per ECCN, from each control's reason, column and scope.

Each control of an entry (a row of ``eccn_controls``: reason, chart column, destinations)
contributes its weight ``w`` (``[security.reasons]``: the column's weight, or the
family's strictest column when none is named) times a scope factor::

    scope(n) = floor + (1 - floor) x min(1, ln(1 + n) / ln(1 + full_destinations))

so a control covering one or two destinations ("to Iraq") weighs far less than a
column that covers 150 (``[security.scope]``; an unreadable scope counts as full, never
understated). Flags (600 series, 9x515, military end-use list, an unknown code) add
their own terms. The terms combine by a "noisy-or"::

    security = 1 - prod_g (1 - max_{k in g} w_k x scope_k)

over groups ``g``: one group per reason family (NS, RS, CC, AT, ...), ONE group for all
WMD reasons together (NP, MT, CB, CW: one WMD term, not NP1 plus a WMD flag), one per
flag. Each factor is in [0, 1] and a control only ever raises a cell of the matrix, so
adding a control, widening its scope, moving to a stricter column or raising a weight
never lowers the score.

``regimes_of`` lists the regimes that own an entry's controls (NS on x0xx -> Wassenaar,
NP column 1 -> NSG, MT -> MTCR, CB -> Australia Group, CW -> the CWC, mapped to
``[regimes].CW`` for the availability indicator); NS on x9xx and NP column 2 are U.S.-only.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from cclreview.score.weights import REASON_CODES, REASON_FAMILIES, SecurityScope, Weights

log = logging.getLogger(__name__)

#: Extra (non-reason) components of the security matrix, after the reason codes.
FLAG_COMPONENTS: tuple[str, ...] = ("series_600", "series_515", "meu_listed", "unknown_code")
#: All components, in matrix column order.
SECURITY_COMPONENTS: tuple[str, ...] = (*REASON_CODES, *FLAG_COMPONENTS)
#: Reason families sharing the one WMD term.
WMD_REASONS = frozenset({"NP", "MT", "CB", "CW"})

_COLUMN_RE = re.compile(r"^([A-Z]{2})\s*(?:COLUMN|COL\.?)?\s*(\d?)$")


def _codes(value: Any) -> list[str]:
    """A list of upper-case codes from a list/array/string cell."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    items = re.split(r"[;,]", value) if isinstance(value, str) else list(value)
    return [str(v).strip().upper() for v in items if str(v).strip()]


def normalise_code(code: str) -> str:
    """``"NS 1"``/``"NS Column 1"`` -> ``"NS1"``; other codes upper-cased."""
    m = _COLUMN_RE.match(code.strip().upper())
    return f"{m.group(1)}{m.group(2)}" if m else code.strip().upper()


def component_of(reason: str, column: str = "") -> str:
    """The matrix component of one control: its column, else the family's strictest."""
    col = normalise_code(column) if column else ""
    if col in REASON_CODES:
        return col
    fam = normalise_code(reason)[:2]
    if fam in REASON_FAMILIES:
        return REASON_FAMILIES[fam][0]
    return "unknown_code"


def scope_factor(n_destinations: float | None, scope: SecurityScope) -> float:
    """Weight multiplier of a control covering ``n_destinations`` (None/NaN: full)."""
    if n_destinations is None or (isinstance(n_destinations, float) and math.isnan(n_destinations)):
        return 1.0
    share = min(1.0, math.log1p(max(0.0, float(n_destinations))) / math.log1p(scope.full_destinations))
    return scope.floor + (1.0 - scope.floor) * share


def entry_components(reasons: Any, chart_columns: Any, eccn: str, is_600: bool, is_515: bool) -> set[str]:
    """The security components of one entry from its reason codes and chart columns.

    Used when no ``eccn_controls`` table is given (every scope counts as full).

    Parameters
    ----------
    reasons, chart_columns
        The entry's reason codes (``["NS", "AT"]``) and chart columns (``["NS2", "AT1"]``).
    eccn
        The ECCN (for logging).
    is_600, is_515
        600-series and 9x515 status.
    """
    comps: set[str] = set()
    cols = {normalise_code(c) for c in _codes(chart_columns)}
    families_with_column = {c[:2] for c in cols if c in REASON_CODES}
    for col in cols:
        comp = component_of(col[:2], col)
        if comp == "unknown_code":
            log.warning("%s: unknown chart column %r scored as unknown_code", eccn, col)
        comps.add(comp)
    reason_set = {normalise_code(r)[:2] for r in _codes(reasons)}
    for reason in reason_set | {c[:2] for c in cols}:
        if reason not in REASON_FAMILIES:
            log.warning("%s: unknown reason %r scored as unknown_code", eccn, reason)
            comps.add("unknown_code")
        elif reason not in families_with_column:
            comps.add(REASON_FAMILIES[reason][0])  # strictest column: never understate
    if not reason_set and not cols and not is_600 and not is_515:
        # No reason recorded (parse gap or pointer entry): do not let it look harmless.
        comps.add("unknown_code")
    if is_600:
        comps.add("series_600")
    if is_515:
        comps.add("series_515")
    return comps


def _flag(entries: pd.DataFrame, col: str, series_digit: int | None = None) -> list[bool]:
    """A boolean entry flag, derived from the ECCN when the column is absent."""
    if col in entries.columns:
        flags: list[bool] = entries[col].fillna(False).astype(bool).tolist()
        return flags
    eccns = entries["eccn"].astype(str)
    if series_digit is not None:
        return [len(e) == 5 and e[2] == str(series_digit) for e in eccns]
    return [bool(re.fullmatch(r"9[A-E]515", e)) for e in eccns]


def security_matrix(
    entries: pd.DataFrame,
    controls: pd.DataFrame | None = None,
    scope: SecurityScope | None = None,
    meu: dict[str, float] | None = None,
) -> np.ndarray:
    """``(n, K)`` matrix in [0, 1]: the scope factor of entry i's component k (0 = absent).

    Parameters
    ----------
    entries
        One row per ECCN (``eccn``, ``reasons``, ``chart_columns``, flags).
    controls
        ``eccn_controls`` rows (``eccn``, ``reason``, ``column``, ``n_destinations``).
        When None, components come from the reasons and columns (scope 1).
    scope
        Scope-factor settings (default: :class:`SecurityScope` defaults).
    meu
        ECCN -> factor of its military end-use listing (1 whole entry, less when
        limited); absent ECCNs are not listed.
    """
    scope = scope or SecurityScope()
    index = {c: k for k, c in enumerate(SECURITY_COMPONENTS)}
    eccns = entries["eccn"].astype(str).tolist()
    row_of = {e: i for i, e in enumerate(eccns)}
    mat = np.zeros((len(entries), len(SECURITY_COMPONENTS)), dtype=float)
    reasons = entries["reasons"] if "reasons" in entries else pd.Series([[]] * len(entries))
    charts = entries["chart_columns"] if "chart_columns" in entries else pd.Series([[]] * len(entries))
    s600 = _flag(entries, "is_600_series", 6)
    s515 = _flag(entries, "is_515")
    with_controls: set[str] = set()
    if controls is not None and len(controls):
        for eccn, reason, column, n in zip(
            controls["eccn"].astype(str),
            controls["reason"].astype(str),
            controls["column"].fillna("").astype(str),
            controls["n_destinations"],
            strict=True,
        ):
            i = row_of.get(eccn)
            if i is None:
                continue
            with_controls.add(eccn)
            k = index[component_of(reason, column)]
            mat[i, k] = max(mat[i, k], scope_factor(n, scope))
    for i, (eccn, r, cc) in enumerate(zip(eccns, reasons, charts, strict=True)):
        if controls is not None:
            comps = {c for c, flag in (("series_600", s600[i]), ("series_515", s515[i])) if flag}
            if eccn not in with_controls and _codes(r):
                # Reasons recorded but no control row read: a parse gap, not harmless.
                comps.add("unknown_code")
        else:
            comps = entry_components(r, cc, eccn, s600[i], s515[i])
        for comp in comps:
            mat[i, index[comp]] = 1.0
        if meu and eccn in meu:
            mat[i, index["meu_listed"]] = max(mat[i, index["meu_listed"]], float(meu[eccn]))
    return mat


def security_weight_vector(weights: Weights) -> np.ndarray:
    """``(K,)`` weights in :data:`SECURITY_COMPONENTS` order."""
    reasons = weights.security.reasons.as_dict()
    flags = weights.security.flags
    return np.array([*(reasons[c] for c in REASON_CODES), *(getattr(flags, f) for f in FLAG_COMPONENTS)])


def _component_groups() -> list[np.ndarray]:
    """Column indices of each noisy-or group: reason families, ONE WMD group, each flag."""
    groups: dict[str, list[int]] = {}
    for k, comp in enumerate(SECURITY_COMPONENTS):
        family = "WMD" if comp[:2] in WMD_REASONS else comp[:2]
        key = family if comp in REASON_CODES else comp
        groups.setdefault(key, []).append(k)
    return [np.array(v) for v in groups.values()]


_GROUPS = _component_groups()


def security_scores(matrix: np.ndarray, sec_w: np.ndarray) -> np.ndarray:
    """Noisy-or security relevance over reason families, the WMD term and flags.

    Within a group the strongest ``scope x weight`` counts; groups then combine as
    ``1 - prod(1 - w)``. Both steps are monotone: adding a control, widening its scope,
    moving to a stricter column or raising a weight never lowers the score.

    Parameters
    ----------
    matrix
        ``(n, K)`` component matrix (booleans, or scope factors in [0, 1]).
    sec_w
        ``(K,)`` or ``(d, K)`` weights in [0, 1].

    Returns
    -------
    numpy.ndarray
        ``(n,)`` or ``(n, d)`` scores in [0, 1].
    """
    w = np.clip(np.atleast_2d(sec_w), 0.0, 1.0)  # (d, K)
    m = np.clip(matrix.astype(float), 0.0, 1.0)
    log_keep = np.zeros((m.shape[0], w.shape[0]))
    for cols in _GROUPS:  # a loop over ~15 groups, never over draws or ECCNs
        best = (m[:, cols, None] * w.T[None, cols, :]).max(axis=1)  # (n, d)
        # log(1 - w) with w = 1 mapped to a large negative number keeps S = 1 exactly.
        log_keep += np.log(np.maximum(1.0 - best, 1e-300))
    s = np.clip(1.0 - np.exp(log_keep), 0.0, 1.0)
    return s[:, 0] if np.ndim(sec_w) == 1 else s


def regimes_of(entries: pd.DataFrame, weights: Weights, controls: pd.DataFrame | None = None) -> pd.Series:
    """Regime keys owning each entry's controls (empty list: U.S.-only controls).

    With ``controls`` the regime of each control row is used (NP column 2 and NS on x9xx
    are U.S.-only; CW maps to ``[regimes].CW``). Without it, the reasons: NS counts only
    for x0xx entries when ``regimes.ns_series0_only`` is set.
    """
    eccns = entries["eccn"].astype(str)
    if controls is not None:
        listed: dict[str, list[str]] = {}
        for eccn, reg in zip(controls["eccn"].astype(str), controls["regime"].astype(str), strict=True):
            key = weights.regimes.regime_of("CW") if reg == "cwc" else (None if reg == "none" else reg)
            if key and key not in listed.setdefault(eccn, []):
                listed[eccn].append(key)
        return pd.Series([listed.get(e, []) for e in eccns], index=eccns.to_numpy(), dtype=object)
    out: list[list[str]] = []
    reasons = entries["reasons"] if "reasons" in entries else pd.Series([[]] * len(entries))
    charts = entries["chart_columns"] if "chart_columns" in entries else pd.Series([[]] * len(entries))
    for eccn, r, cc in zip(eccns, reasons, charts, strict=True):
        cols = {normalise_code(x) for x in _codes(cc)}
        fams = {normalise_code(x)[:2] for x in _codes(r)} | {c[:2] for c in cols}
        regs: list[str] = []
        for fam in ("NS", "MT", "NP", "CB", "CW"):
            if fam not in fams:
                continue
            if fam == "NS" and weights.regimes.ns_series0_only and not (len(eccn) == 5 and eccn[2] == "0"):
                continue
            if fam == "NP" and "NP2" in cols and "NP1" not in cols:
                continue  # NP column 2 is a U.S.-only control (742.3(a)(2))
            reg = weights.regimes.regime_of(fam)
            if reg and reg not in regs:
                regs.append(reg)
        out.append(regs)
    return pd.Series(out, index=eccns.to_numpy(), dtype=object)
