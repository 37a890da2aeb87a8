"""Security relevance per ECCN and whether the U.S. can act alone.

Security relevance combines the weights of an entry's Country Chart columns and
reason codes, a WMD flag (NP, MT, CB, CW), and 600-series / 9x515 status by a
"noisy-or"::

    security = 1 - prod_f (1 - max_{c in f} w_c)

over the reason families ``f`` (NS, MT, ...; the strictest column present counts) and
the flags the entry has. Each factor is in [0, 1], so adding a component, moving to a
stricter column or raising a weight can never lower the score, and an entry
controlled only for AT (w = 0.05) stays at the bottom. A reason listed without
a chart column ("NS" alone) takes the weight of its strictest column.

``unilateral_action_possible`` is False when a multilateral regime lists the item
(NS on x0xx entries -> Wassenaar, MT -> MTCR, NP -> NSG, CB/CW -> Australia Group):
the U.S. could not decontrol it without the regime.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd

from cclreview.score.weights import REASON_CODES, REASON_FAMILIES, Weights

log = logging.getLogger(__name__)

#: Extra (non-reason) components of the security matrix, after the reason codes.
FLAG_COMPONENTS: tuple[str, ...] = ("wmd", "series_600", "series_515", "unknown_code")
#: All components, in matrix column order.
SECURITY_COMPONENTS: tuple[str, ...] = (*REASON_CODES, *FLAG_COMPONENTS)
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


def entry_components(reasons: Any, chart_columns: Any, eccn: str, is_600: bool, is_515: bool) -> set[str]:
    """The security components of one entry (codes of :data:`SECURITY_COMPONENTS`).

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
        if col in REASON_CODES:
            comps.add(col)
        elif col[:2] in REASON_FAMILIES:
            comps.add(REASON_FAMILIES[col[:2]][0])
        else:
            log.warning("%s: unknown chart column %r scored as unknown_code", eccn, col)
            comps.add("unknown_code")
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
    if (reason_set | {c[:2] for c in cols}) & WMD_REASONS:
        comps.add("wmd")
    if is_600:
        comps.add("series_600")
    if is_515:
        comps.add("series_515")
    return comps


def security_matrix(entries: pd.DataFrame) -> np.ndarray:
    """Boolean ``(n, K)`` matrix: entry i has component k of :data:`SECURITY_COMPONENTS`."""
    index = {c: k for k, c in enumerate(SECURITY_COMPONENTS)}
    mat = np.zeros((len(entries), len(SECURITY_COMPONENTS)), dtype=bool)
    reasons = entries["reasons"] if "reasons" in entries else pd.Series([[]] * len(entries))
    charts = entries["chart_columns"] if "chart_columns" in entries else pd.Series([[]] * len(entries))
    for i, (eccn, r, cc, s600, s515) in enumerate(
        zip(
            entries["eccn"],
            reasons,
            charts,
            _flag(entries, "is_600_series", 6),
            _flag(entries, "is_515"),
            strict=True,
        )
    ):
        for comp in entry_components(r, cc, eccn, s600, s515):
            mat[i, index[comp]] = True
    return mat


def _flag(entries: pd.DataFrame, col: str, series_digit: int | None = None) -> list[bool]:
    """A boolean entry flag, derived from the ECCN when the column is absent."""
    if col in entries.columns:
        return entries[col].fillna(False).astype(bool).tolist()
    eccns = entries["eccn"].astype(str)
    if series_digit is not None:
        return [len(e) == 5 and e[2] == str(series_digit) for e in eccns]
    return [bool(re.fullmatch(r"9[A-E]515", e)) for e in eccns]


def security_weight_vector(weights: Weights) -> np.ndarray:
    """``(K,)`` weights in :data:`SECURITY_COMPONENTS` order."""
    reasons = weights.security.reasons.as_dict()
    flags = weights.security.flags
    return np.array([*(reasons[c] for c in REASON_CODES), *(getattr(flags, f) for f in FLAG_COMPONENTS)])


def _component_groups() -> list[np.ndarray]:
    """Column indices of each reason family (NS1+NS2, ...) and of each flag."""
    groups: dict[str, list[int]] = {}
    for k, comp in enumerate(SECURITY_COMPONENTS):
        key = comp[:2] if comp in REASON_CODES else comp
        groups.setdefault(key, []).append(k)
    return [np.array(v) for v in groups.values()]


_GROUPS = _component_groups()


def security_scores(matrix: np.ndarray, sec_w: np.ndarray) -> np.ndarray:
    """Noisy-or security relevance over reason families and flags.

    Within a family (e.g. NS1 and NS2 on different paragraphs) the strictest column
    present counts; families and flags then combine as ``1 - prod(1 - w)``. Both steps
    are monotone: adding a code, moving to a stricter column or raising a weight never
    lowers the score.

    Parameters
    ----------
    matrix
        ``(n, K)`` component indicator matrix.
    sec_w
        ``(K,)`` or ``(d, K)`` weights in [0, 1].

    Returns
    -------
    numpy.ndarray
        ``(n,)`` or ``(n, d)`` scores in [0, 1].
    """
    w = np.clip(np.atleast_2d(sec_w), 0.0, 1.0)  # (d, K)
    m = matrix.astype(float)
    log_keep = np.zeros((m.shape[0], w.shape[0]))
    for cols in _GROUPS:  # a loop over ~18 families, never over draws or ECCNs
        best = (m[:, cols, None] * w.T[None, cols, :]).max(axis=1)  # (n, d)
        # log(1 - w) with w = 1 mapped to a large negative number keeps S = 1 exactly.
        log_keep += np.log(np.maximum(1.0 - best, 1e-300))
    s = np.clip(1.0 - np.exp(log_keep), 0.0, 1.0)
    return s[:, 0] if np.ndim(sec_w) == 1 else s


def regimes_of(entries: pd.DataFrame, weights: Weights) -> pd.Series:
    """Regime keys listing each entry (empty list: U.S.-only control).

    NS counts only for x0xx entries when ``regimes.ns_series0_only`` is set, since
    the NS controls on 9xx entries (e.g. 3B903) are U.S. additions, not Wassenaar's.
    """
    out: list[list[str]] = []
    reasons = entries["reasons"] if "reasons" in entries else pd.Series([[]] * len(entries))
    charts = entries["chart_columns"] if "chart_columns" in entries else pd.Series([[]] * len(entries))
    for eccn, r, cc in zip(entries["eccn"].astype(str), reasons, charts, strict=True):
        fams = {normalise_code(x)[:2] for x in _codes(r)} | {normalise_code(x)[:2] for x in _codes(cc)}
        regs: list[str] = []
        for fam in ("NS", "MT", "NP", "CB", "CW"):
            if fam not in fams:
                continue
            if fam == "NS" and weights.regimes.ns_series0_only and not (len(eccn) == 5 and eccn[2] == "0"):
                continue
            reg = weights.regimes.regime_of(fam)
            if reg and reg not in regs:
                regs.append(reg)
        out.append(regs)
    return pd.Series(out, index=entries["eccn"].astype(str).to_numpy(), dtype=object)
