"""What removing an entry from the CCL would change for China, in plain words.

Three cases, in order (15 CFR 738 Supp. 1 for the Country Chart, 744.21 and Supp. No. 2
to Part 744 for the military end-use/user rule):

1. Some control of the entry needs a licence for China today (the Country Chart has an
   X for China in its column, or its text names China or all destinations):
   "removes a licence requirement for all Chinese end users (NS2, RS2)".
2. No control needs a licence for China, but the entry is on Supp. No. 2 to Part 744:
   "removes only the military end-use/user licence requirement (744 Supp. 2)".
   The rule applies to China for the listed items; taking the item off the CCL makes
   it EAR99 and so outside the rule: a security-relevant change in itself.
3. Neither: "no change for China (AT only, not on 744 Supp. 2)".

Inputs are the decision model's per-ECCN columns (``licence_to_china``,
``licence_to_china_reasons``, ``meu_listed``, ``meu_paragraphs``) and, when present,
its per-control table (``eccn_controls.parquet``: ``reason``, ``column``,
``destinations``, ``kind``), which names the columns that cover China. Without
``licence_to_china`` the effect is unknown and left empty (never guessed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

CHINA = "CHN"

#: ``kind`` value of controls that foreign availability cannot lift (decision model).
NOT_FA_KIND = "not a foreign-availability case"


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return value is pd.NA


def _as_list(value: Any) -> list[str]:
    if _is_missing(value):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    return [str(v).strip() for v in list(value) if str(v).strip()]


def _bool(value: Any) -> bool | None:
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "y")
    return bool(value)


def china_controls(controls: pd.DataFrame | None) -> dict[str, list[dict[str, Any]]]:
    """ECCN -> the control rows whose ``destinations`` include China."""
    if controls is None or controls.empty or "destinations" not in controls.columns:
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in controls.to_dict("records"):
        if CHINA in _as_list(rec.get("destinations")):
            out.setdefault(str(rec["eccn"]), []).append(rec)
    return out


def _label(rec: dict[str, Any]) -> str:
    """``NS2`` for a chart column, else the reason (``FP``, ``CC``)."""
    col = rec.get("column")
    return str(col) if not _is_missing(col) and str(col).strip() else str(rec.get("reason", "")).strip()


def _meu_text(value: Any) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, str):
        return value.strip()
    return "; ".join(str(v) for v in list(value))


def china_effect(
    eccn: str,
    reasons: list[str],
    licence_to_china: Any,
    licence_reasons: Any = None,
    meu_listed: Any = None,
    meu_paragraphs: Any = None,
    china_rows: list[dict[str, Any]] | None = None,
) -> str | None:
    """The plain-words effect for China of removing one entry from the CCL.

    Parameters
    ----------
    eccn
        The entry (a Supp. 2 listing of the whole ECCN needs no scope in the text).
    reasons
        The entry's reason codes (``["AT"]``, ``["NS", "AT"]``), for the "no change" text.
    licence_to_china
        Whether any control of the entry needs a licence for China today; missing
        means unknown and gives None.
    licence_reasons
        The decision model's ``licence_to_china_reasons`` (used when ``china_rows``
        is empty).
    meu_listed, meu_paragraphs
        Whether (and for which paragraphs) the entry is on Supp. No. 2 to Part 744.
    china_rows
        The entry's control rows that cover China (from :func:`china_controls`).

    Returns
    -------
    str or None
    """
    lic = _bool(licence_to_china)
    if lic is None:
        return None
    meu = bool(_bool(meu_listed))
    paras = [p for p in (_meu_text(meu_paragraphs).split("; ") if meu else []) if p]
    # The whole ECCN listed needs no scope; paragraphs or a "Limited to" entry do.
    meu_scope = f": {'; '.join(paras)}" if paras and paras != [eccn] else ""
    if lic:
        rows = china_rows or []
        labels: list[str] = []
        for rec in rows:
            label = _label(rec)
            if label and label not in labels:
                labels.append(label)
        # A bare reason ("RS" from prose) adds nothing beside its own column ("RS1").
        labels = [x for x in labels if not (len(x) == 2 and any(y != x and y.startswith(x) for y in labels))]
        if not labels:
            labels = _as_list(licence_reasons)
        text = "removes a licence requirement for all Chinese end users"
        text += f" ({', '.join(sorted(labels))})" if labels else ""
        if rows and not any(_bool(r.get("whole_entry")) is not False for r in rows):
            text += " for part of the entry (see its scope)"
        if rows and all(str(r.get("kind", "")) == NOT_FA_KIND for r in rows):
            text += "; but those controls are not a foreign-availability case"
        if meu:
            text += f"; also on 744 Supp. 2 (military end-use/user rule{meu_scope})"
        return text
    if meu:
        return f"removes only the military end-use/user licence requirement (744 Supp. 2{meu_scope})"
    codes = sorted(r for r in dict.fromkeys(str(x).strip() for x in reasons) if r)
    if not codes:
        return "no change for China (no licence requirement of its own)"
    return f"no change for China ({' + '.join(codes)} only, not on 744 Supp. 2)"


def effects_for(scores: pd.DataFrame, controls: pd.DataFrame | None = None) -> pd.Series:
    """``china_effect`` for every row of ``scores`` (index aligned).

    ``scores`` needs ``eccn`` and ``reasons``; the decision columns are read when
    present, otherwise every effect is None.
    """
    rows = china_controls(controls)

    def col(name: str) -> pd.Series:
        return scores[name] if name in scores.columns else pd.Series([None] * len(scores), index=scores.index)

    out = [
        china_effect(
            str(e),
            _as_list(r),
            lic,
            lr,
            meu,
            mp,
            rows.get(str(e)),
        )
        for e, r, lic, lr, meu, mp in zip(
            scores["eccn"],
            col("reasons"),
            col("licence_to_china"),
            col("licence_to_china_reasons"),
            col("meu_listed"),
            col("meu_paragraphs"),
            strict=True,
        )
    ]
    return pd.Series(out, index=scores.index, dtype=object)


def not_fa_labels(eccns: pd.Series, controls: pd.DataFrame | None) -> pd.Series:
    """Per ECCN: the China-licensing controls foreign availability cannot lift ("CC1, SL")."""
    rows = china_controls(controls)
    out = []
    for e in eccns.astype(str):
        labels = [_label(r) for r in rows.get(e, []) if str(r.get("kind", "")) == NOT_FA_KIND]
        out.append(", ".join(sorted(dict.fromkeys(x for x in labels if x))))
    return pd.Series(out, index=eccns.index, dtype=object)
