"""Trade-weighted HS6 conversion between revisions, from the Growth Lab tables.

Where the UN concordance (:mod:`cclreview.trade.hsrev.concordance`) splits an old code
over several new ones without weights, the Growth Lab's
``atlas_conversion_weights_<a>_to_<b>.csv.gz`` give the share of the old code's trade
in each new code (:class:`TradeWeights`, :func:`load_trade_weights`).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pandas as pd

from cclreview.config import project_paths
from cclreview.errors import InputError
from cclreview.trade.hsrev.revisions import REVISIONS, normalise_revision, pad_code

#: Growth Lab short names of the revisions (``H5`` = HS2017).
ATLAS_NAMES: dict[str, str] = {f"H{i}": rev for i, rev in enumerate(REVISIONS)}
ATLAS_PATTERN = "atlas_conversion_weights_{a}_to_{b}.csv.gz"
#: Weights below this are estimation noise (the mirror README's advice): dropped, and
#: each source code's remaining weights renormalised to sum 1.
ATLAS_MIN_WEIGHT = 0.01


class TradeWeights:
    """Trade-weighted HS6 conversion between adjacent revisions (Growth Lab tables).

    Each file ``atlas_conversion_weights_H5_to_H6.csv.gz`` (columns ``H5, H6, weight,
    group_id``) gives, per source code, the share of its trade in each target code.
    Weights below ``min_weight`` are dropped and the rest renormalised. Conversions over
    several steps chain the adjacent tables (shares multiply).
    """

    def __init__(self, steps: dict[tuple[str, str], pd.DataFrame]) -> None:
        self.steps = steps

    @classmethod
    def from_dir(cls, folder: str | os.PathLike[str], min_weight: float = ATLAS_MIN_WEIGHT) -> TradeWeights:
        """Read every weights file present in ``folder`` (none: an empty object)."""
        steps: dict[tuple[str, str], pd.DataFrame] = {}
        for a, b in itertools.pairwise(REVISIONS):
            for x, y in ((a, b), (b, a)):
                ia, ib = REVISIONS.index(x), REVISIONS.index(y)
                path = Path(folder) / ATLAS_PATTERN.format(a=f"H{ia}", b=f"H{ib}")
                if path.is_file():
                    steps[(x, y)] = _read_weights(path, f"H{ia}", f"H{ib}", min_weight)
        return cls(steps)

    def has_path(self, from_rev: str, to_rev: str) -> bool:
        """True when every adjacent step from ``from_rev`` to ``to_rev`` has a table."""
        return all(s in self.steps for s in _steps(from_rev, to_rev)) and from_rev != to_rev

    def code_map(self, from_rev: str, to_rev: str) -> pd.DataFrame:
        """Chained ``code_from, code_to, share`` (shares of one ``code_from`` sum to 1)."""
        path = _steps(normalise_revision(from_rev), normalise_revision(to_rev))
        cur = self.steps[path[0]].rename(columns={"src": "code_from", "dst": "code_to"})
        for step in path[1:]:
            nxt = self.steps[step].rename(columns={"share": "share_n"})
            cur = cur.merge(nxt, left_on="code_to", right_on="src")
            cur["share"] = cur["share"] * cur["share_n"]
            cur = cur.groupby(["code_from", "dst"], as_index=False)["share"].sum()
            cur = cur.rename(columns={"dst": "code_to"})
        return cur[["code_from", "code_to", "share"]]

    def convert(
        self,
        df: pd.DataFrame,
        from_rev: str,
        to_rev: str,
        code_col: str = "hs6",
        value_cols: tuple[str, ...] = ("value_usd",),
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Spread each row's values over the target codes by trade weight.

        Returns ``(converted, unconverted)``: ``unconverted`` lists codes absent from
        the weights (``code, n_rows, value, from_rev, to_rev, reason``); their rows are
        not in ``converted``.
        """
        cmap = self.code_map(from_rev, to_rev)
        work = df.copy()
        work[code_col] = pad_code(work[code_col]).astype(str)
        merged = work.merge(cmap, left_on=code_col, right_on="code_from", how="left")
        bad = merged["code_to"].isna()
        unconv = pd.DataFrame(columns=["code", "n_rows", "value", "from_rev", "to_rev", "reason"])
        if bad.any():
            b = merged[bad]
            first = value_cols[0] if value_cols and value_cols[0] in b.columns else None
            agg = b.groupby(code_col).agg(n_rows=(code_col, "size"))
            agg["value"] = b.groupby(code_col)[first].sum() if first else float("nan")
            unconv = agg.reset_index().rename(columns={code_col: "code"})
            unconv = unconv.assign(
                from_rev=from_rev, to_rev=to_rev, reason="HS6 code not in the trade-weighted conversion table"
            )
        out = merged[~bad].copy()
        for c in value_cols:
            if c in out.columns:
                out[c] = out[c] * out["share"]
        out[f"{code_col}_from"] = out[code_col]
        out[code_col] = out["code_to"]
        return out.drop(columns=["code_from", "code_to", "share"]).reset_index(drop=True), unconv


def _steps(from_rev: str, to_rev: str) -> list[tuple[str, str]]:
    a, b = REVISIONS.index(from_rev), REVISIONS.index(to_rev)
    if a <= b:
        return [(REVISIONS[i], REVISIONS[i + 1]) for i in range(a, b)]
    return [(REVISIONS[i], REVISIONS[i - 1]) for i in range(a, b, -1)]


def _read_weights(path: Path, a: str, b: str, min_weight: float) -> pd.DataFrame:
    """One weights file: drop tiny weights, renormalise per source code."""
    with path.open("rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"  # a plain CSV downloaded under the .gz name also reads
    raw = pd.read_csv(path, dtype=str, compression="gzip" if gz else None, keep_default_na=False)
    missing = [c for c in (a, b, "weight") if c not in raw.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing}; found {list(raw.columns)}")
    w = pd.to_numeric(raw["weight"], errors="coerce")
    t = pd.DataFrame({"src": pad_code(raw[a]).astype(str), "dst": pad_code(raw[b]).astype(str), "share": w})
    t = t[t["share"] >= min_weight]
    t["share"] = t["share"] / t.groupby("src")["share"].transform("sum")
    return t.reset_index(drop=True)


def load_trade_weights(folder: str | os.PathLike[str] | None = None) -> TradeWeights:
    """The Growth Lab weights in ``folder`` (default ``data/raw/hs``); empty if absent."""
    return TradeWeights.from_dir(folder if folder is not None else project_paths().raw_hs)
