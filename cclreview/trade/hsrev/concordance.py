"""HS revision conversion with the UN Comtrade concordances (:class:`Concordance`).

The concordance file (``hs_concordances_comtrade.csv`` layout) has one row per link
between an HS6 code of a newer revision (``code.after``) and an older one
(``code.before``), with the UN relationship label (``1:1``, ``n:1``, ``1:n``, ``n:n``)
and the step (``adjustment``, e.g. ``"2022 to 2017"``). Leading zeros are stripped in
the file (``10121`` is ``010121``); we pad back to 6 digits. Conversions across several
revisions are chained through the adjacent steps (HS1992 -> HS1996 -> HS2002 ->
HS2007 -> HS2012 -> HS2017 -> HS2022).

How trade moves from an old code to new codes (one step):

* **Unchanged / 1:1 rename**: the old code has one target; all its trade goes there.
* **n:1 merge**: several old codes share one target; their trade is summed.
* **Carved-out residuals are ignored**: a target that lists at least
  ``residual_min_sources`` (default 20) old codes is a residual heading carved out of
  many old ones (HS2022 8549xx e-waste lists ~1,000 sources, among them 850511
  permanent magnets; HS2022 8524xx display modules ~480). If the old code has any
  other target, the link to the residual is dropped, so magnet trade stays on 850511
  instead of being spread over 8549xx.
* **1:n split** (several targets remain): by trade weights of the target codes when
  the caller passes them (``weights``: code -> weight, e.g. trade in the new revision
  from a later year), else all trade goes to the target that keeps the old code's
  number, else to the first target in code order. Splits are counted in the report.
* **Not convertible**: codes absent from the step's ``code.before`` column (national
  codes, typos, codes of another revision) are not converted; their rows and values
  are returned in the report, never silently dropped.

HS4 headings across revisions (:func:`heading_map`): the 6-digit conversion above
(no weights) is rolled up to 4 digits. Each old heading's HS6 subheadings are followed
to their new heading; ``share`` is the fraction of the old heading's subheadings that
land in each new heading. Status per old heading: ``unchanged`` (all subheadings stay in
the same-numbered heading and nothing else flows in), ``renamed`` (all go to one other
heading that receives nothing else), ``merged`` (all go to one heading that also
receives other old headings), ``split`` (subheadings go to several headings). Trade
values at HS4 level are never converted (no subheading weights exist): HS4 tables keep
their revision, and an HS2022 code is matched to the table's heading through the
reverse map (:func:`hs6_to_heading`), with the heading status carried along so staff
can see when a heading changed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from cclreview.config import project_paths
from cclreview.errors import InputError, SourceMissingError
from cclreview.trade.hsrev.revisions import DEFAULT_TARGET, REVISIONS, normalise_revision, pad_code

log = logging.getLogger(__name__)

CONCORDANCE_FILE = "hs_concordances_comtrade.csv"
#: A target with at least this many source codes in one step is a carved-out residual.
RESIDUAL_MIN_SOURCES = 20

_REQUIRED = ("code.after", "code.before", "Relationship", "adjustment")


def default_concordance_path() -> Path:
    """Return ``data/raw/hs/hs_concordances_comtrade.csv`` of the project."""
    return project_paths().raw_hs / CONCORDANCE_FILE


@dataclass
class ConversionReport:
    """What a conversion did: counts and the codes it could not convert."""

    n_codes: int = 0
    n_unchanged: int = 0
    n_renamed: int = 0
    n_split: int = 0
    n_split_weighted: int = 0
    n_residual_links_dropped: int = 0
    n_unconverted_codes: int = 0
    unconverted_value: float = 0.0
    unconverted: pd.DataFrame = field(default_factory=pd.DataFrame)

    def as_dict(self) -> dict[str, float | int]:
        """Counts only (for logs and JSON summaries)."""
        return {k: v for k, v in self.__dict__.items() if k != "unconverted"}


class Concordance:
    """The UN HS concordance table, with per-step link tables.

    Parameters
    ----------
    table
        DataFrame with columns ``after, before, relationship, to_rev, from_rev``
        (as built by :meth:`from_csv`).
    residual_min_sources
        A target with at least this many sources in one step is a carved-out residual.
    """

    def __init__(self, table: pd.DataFrame, residual_min_sources: int = RESIDUAL_MIN_SOURCES) -> None:
        self.table = table
        self.residual_min_sources = residual_min_sources
        # Memo of unweighted chained maps: they are reused per heading lookup.
        self._memo: dict[tuple[str, ...], pd.DataFrame] = {}

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str] | None = None, **kwargs: int) -> Concordance:
        """Read the concordance CSV (default: :func:`default_concordance_path`).

        Raises
        ------
        SourceMissingError
            The file does not exist.
        InputError
            Required columns are missing or a step label cannot be read.
        """
        path = Path(path) if path is not None else default_concordance_path()
        if not path.is_file():
            raise SourceMissingError(
                f"HS concordance {path} not found; put the UN Comtrade concordance CSV "
                f"({CONCORDANCE_FILE}) there or pass its path"
            )
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = [c for c in _REQUIRED if c not in raw.columns]
        if missing:
            raise InputError(
                f"{path}: missing columns {missing}; found {list(raw.columns)}; expected {list(_REQUIRED)}"
            )
        steps = raw["adjustment"].str.extract(r"^\s*(\d{4})\s+to\s+(\d{4})\s*$")
        bad = steps[0].isna()
        if bad.any():
            line = int(bad.idxmax()) + 2
            raise InputError(
                f"{path} line {line}: adjustment {raw.loc[bad.idxmax(), 'adjustment']!r} "
                "is not of the form 'YYYY to YYYY'"
            )
        table = pd.DataFrame(
            {
                "after": pad_code(raw["code.after"]),
                "before": pad_code(raw["code.before"]),
                "relationship": raw["Relationship"].str.strip(),
                "to_rev": "HS" + steps[0],
                "from_rev": "HS" + steps[1],
            }
        )
        return cls(table, **kwargs)

    # ------------------------------------------------------------------ steps
    def step_links(self, from_rev: str, to_rev: str) -> pd.DataFrame:
        """Links of one adjacent step, with residual flags.

        Returns ``before, after, relationship, n_sources, n_targets, residual``
        where ``residual`` marks links to carved-out residual targets that are dropped.
        """
        t = self.table[(self.table["from_rev"] == from_rev) & (self.table["to_rev"] == to_rev)]
        if t.empty:
            raise InputError(f"the HS concordance has no step {to_rev[2:]} to {from_rev[2:]}")
        t = t.drop_duplicates(["before", "after"]).copy()
        t["n_sources"] = t.groupby("after")["before"].transform("nunique")
        is_res_target = t["n_sources"] >= self.residual_min_sources
        # Drop the residual link only where the old code has somewhere else to go.
        non_res_count = (~is_res_target).groupby(t["before"]).transform("sum")
        t["residual"] = is_res_target & (non_res_count > 0)
        t["n_targets"] = (~t["residual"]).groupby(t["before"]).transform("sum")
        return t.reset_index(drop=True)

    def _path(self, from_rev: str, to_rev: str) -> list[tuple[str, str]]:
        a, b = REVISIONS.index(from_rev), REVISIONS.index(to_rev)
        if a > b:
            raise InputError(
                f"cannot convert {from_rev} back to the older {to_rev}; convert old codes forward instead"
            )
        return [(REVISIONS[i], REVISIONS[i + 1]) for i in range(a, b)]

    def step_shares(
        self, from_rev: str, to_rev: str, weights: Mapping[str, float] | None = None
    ) -> pd.DataFrame:
        """Shares of each old code going to each new code for one adjacent step.

        Returns ``before, after, share, kind`` (kind: ``unchanged|renamed|split|
        split_weighted``); shares of one ``before`` sum to 1.
        """
        t = self.step_links(from_rev, to_rev)
        t = t[~t["residual"]].copy()
        single = t["n_targets"] == 1
        out_single = t[single].assign(share=1.0)
        out_single["kind"] = (out_single["before"] == out_single["after"]).map(
            {True: "unchanged", False: "renamed"}
        )
        multi = t[~single].copy()
        parts = [out_single]
        if not multi.empty:
            w = multi["after"].map(weights or {}).astype("float64").fillna(0.0).clip(lower=0)
            wsum = w.groupby(multi["before"]).transform("sum")
            weighted = wsum > 0
            mw = multi[weighted].assign(share=(w / wsum)[weighted], kind="split_weighted")
            rest = multi[~weighted].copy()
            # No weights: the target keeping the old number, else the first target.
            rest["keeps"] = rest["before"] == rest["after"]
            rest = rest.sort_values(["before", "keeps", "after"], ascending=[True, False, True])
            rest = rest.drop_duplicates("before").assign(share=1.0, kind="split")
            parts += [mw, rest.drop(columns="keeps")]
        return pd.concat(parts, ignore_index=True)[["before", "after", "share", "kind"]]

    def code_map(
        self, from_rev: str, to_rev: str = DEFAULT_TARGET, weights: Mapping[str, float] | None = None
    ) -> pd.DataFrame:
        """Chained map ``code_from -> code_to`` with ``share`` and the worst ``kind`` met.

        Codes unknown at some step vanish from the map (see :meth:`convert`).
        """
        from_rev, to_rev = normalise_revision(from_rev), normalise_revision(to_rev)
        if weights is None and (from_rev, to_rev) in self._memo:
            return self._memo[(from_rev, to_rev)]
        steps = self._path(from_rev, to_rev)
        if not steps:
            return pd.DataFrame(columns=["code_from", "code_to", "share", "kind"])
        first = self.step_shares(*steps[0], weights=weights).rename(
            columns={"before": "code_from", "after": "code_to"}
        )
        cur = first
        for a, b in steps[1:]:
            nxt = self.step_shares(a, b, weights=weights)
            cur = cur.merge(nxt, left_on="code_to", right_on="before", how="inner", suffixes=("", "_n"))
            cur["share"] = cur["share"] * cur["share_n"]
            cur["kind"] = _worse(cur["kind"], cur["kind_n"])
            cur = cur[["code_from", "after", "share", "kind"]].rename(columns={"after": "code_to"})
            cur["rank"] = cur["kind"].map(_KIND_ORDER)
            cur = cur.groupby(["code_from", "code_to"], as_index=False).agg(
                share=("share", "sum"), rank=("rank", "max")
            )
            cur["kind"] = cur["rank"].map(_KIND_NAME)
            cur = cur.drop(columns="rank")
        cur = cur.reset_index(drop=True)
        if weights is None:
            self._memo[(from_rev, to_rev)] = cur
        return cur

    def convert(
        self,
        df: pd.DataFrame,
        from_rev: str,
        to_rev: str = DEFAULT_TARGET,
        code_col: str = "hs6",
        value_cols: tuple[str, ...] = ("value_usd",),
        weights: Mapping[str, float] | None = None,
    ) -> tuple[pd.DataFrame, ConversionReport]:
        """Convert the HS6 codes of ``df`` from ``from_rev`` to ``to_rev``.

        Values in ``value_cols`` are multiplied by the link share (splits) and rows
        that land on the same new code are *not* summed here (callers group as they
        need); every other column is carried over.

        Returns
        -------
        (converted, report)
            ``converted`` has the new code in ``code_col`` and the old one in
            ``<code_col>_from``; ``report.unconverted`` lists codes that could not be
            converted with their row counts and value sums (they are not in
            ``converted``).
        """
        from_rev, to_rev = normalise_revision(from_rev), normalise_revision(to_rev)
        report = ConversionReport()
        codes = pad_code(df[code_col])
        report.n_codes = int(codes.nunique())
        if from_rev == to_rev:
            out = df.copy()
            out[code_col] = codes
            out[f"{code_col}_from"] = codes
            report.n_unchanged = report.n_codes
            return out, report
        cmap = self.code_map(from_rev, to_rev, weights=weights)
        steps = self._path(from_rev, to_rev)
        report.n_residual_links_dropped = int(
            sum(int(self.step_links(a, b)["residual"].sum()) for a, b in steps)
        )
        work = df.copy()
        work[code_col] = codes
        merged = work.merge(cmap, left_on=code_col, right_on="code_from", how="left")
        unconv = merged["code_to"].isna()
        if unconv.any():
            bad = merged[unconv]
            first_val = value_cols[0] if value_cols and value_cols[0] in bad.columns else None
            agg = bad.groupby(code_col).size().rename("n_rows").to_frame()
            agg["value"] = bad.groupby(code_col)[first_val].sum() if first_val else float("nan")
            report.unconverted = (
                agg.reset_index().rename(columns={code_col: "code"}).assign(from_rev=from_rev, to_rev=to_rev)
            )
            report.n_unconverted_codes = len(agg)
            report.unconverted_value = float(agg["value"].sum()) if first_val else 0.0
            log.warning(
                "%d HS codes (%s) could not be converted %s -> %s",
                report.n_unconverted_codes,
                ", ".join(agg.index[:5]),
                from_rev,
                to_rev,
            )
        merged = merged[~unconv].copy()
        for c in value_cols:
            if c in merged.columns:
                merged[c] = merged[c] * merged["share"]
        used = cmap[cmap["code_from"].isin(set(codes))]
        per_code = used["kind"].map(_KIND_ORDER).groupby(used["code_from"]).max().map(_KIND_NAME)
        report.n_unchanged = int((per_code == "unchanged").sum())
        report.n_renamed = int((per_code == "renamed").sum())
        report.n_split = int((per_code == "split").sum())
        report.n_split_weighted = int((per_code == "split_weighted").sum())
        merged[f"{code_col}_from"] = merged[code_col]
        merged[code_col] = merged["code_to"]
        merged = merged.drop(columns=["code_from", "code_to", "share", "kind"])
        return merged.reset_index(drop=True), report

    # --------------------------------------------------------------- headings
    def heading_map(self, from_rev: str, to_rev: str = DEFAULT_TARGET) -> pd.DataFrame:
        """Old HS4 heading -> new HS4 heading, from the 6-digit map rolled up.

        Returns ``hs4_from, hs4_to, n_subheadings, share, status, is_main`` where
        ``share`` is the fraction of the old heading's subheadings landing in
        ``hs4_to``, ``is_main`` marks the new heading receiving the largest share
        (ties: the same number, then the lowest), and ``status`` is the old heading's
        status (see the module docstring).
        """
        from_rev, to_rev = normalise_revision(from_rev), normalise_revision(to_rev)
        memo_key = ("heading", from_rev, to_rev)
        if memo_key in self._memo:
            return self._memo[memo_key]  # type: ignore[index]
        self._memo[memo_key] = out = self._heading_map(from_rev, to_rev)  # type: ignore[index]
        return out

    def _heading_map(self, from_rev: str, to_rev: str) -> pd.DataFrame:
        if from_rev == to_rev:
            codes = self._codes_of(from_rev)
            h = sorted({c[:4] for c in codes})
            return pd.DataFrame(
                {
                    "hs4_from": h,
                    "hs4_to": h,
                    "n_subheadings": 1,
                    "share": 1.0,
                    "status": "unchanged",
                    "is_main": True,
                }
            )
        cmap = self.code_map(from_rev, to_rev)
        cmap = cmap.assign(hs4_from=cmap["code_from"].str[:4], hs4_to=cmap["code_to"].str[:4])
        n_sub = cmap.groupby("hs4_from")["code_from"].nunique()
        g = cmap.groupby(["hs4_from", "hs4_to"]).agg(
            n_subheadings=("code_from", "nunique"), w=("share", "sum")
        )
        g = g.reset_index()
        g["share"] = g["w"] / g["hs4_from"].map(n_sub)
        n_to = g.groupby("hs4_from")["hs4_to"].transform("nunique")
        main_to = g.assign(same=g["hs4_from"] == g["hs4_to"]).sort_values(
            ["hs4_from", "share", "same", "hs4_to"], ascending=[True, False, False, True]
        )
        main_to = main_to.drop_duplicates("hs4_from").set_index("hs4_from")["hs4_to"]
        g["is_main"] = g["hs4_to"] == g["hs4_from"].map(main_to)
        # Status of the old heading, from where its subheadings go and what else flows in.
        status = pd.Series("split", index=g.index)
        one = n_to == 1
        inflow = g["hs4_to"].map(g.groupby("hs4_to")["hs4_from"].nunique())
        status[one & (inflow == 1) & (g["hs4_from"] == g["hs4_to"])] = "unchanged"
        status[one & (inflow == 1) & (g["hs4_from"] != g["hs4_to"])] = "renamed"
        status[one & (inflow > 1)] = "merged"
        g["status"] = status
        return g[["hs4_from", "hs4_to", "n_subheadings", "share", "status", "is_main"]]

    def hs6_to_heading(
        self, to_codes: pd.Series, table_rev: str, to_rev: str = DEFAULT_TARGET
    ) -> pd.DataFrame:
        """Heading of an older-revision table for each new-revision HS6 code.

        For each code of ``to_rev`` the old subheadings feeding it are found (residual
        links excluded); the heading of the old subheading with the largest share wins
        (ties: the same number). Returns ``hs6, hs4_table, heading_status`` where
        ``heading_status`` is the old heading's status from :meth:`heading_map`
        (``"unchanged"`` when the revisions are equal). Codes no old subheading feeds
        fall back to their own first four digits with status ``"not in concordance"``.
        """
        table_rev, to_rev = normalise_revision(table_rev), normalise_revision(to_rev)
        codes = pd.Series(pad_code(pd.Series(to_codes, dtype="string")).unique(), dtype="string")
        if table_rev == to_rev:
            return pd.DataFrame({"hs6": codes, "hs4_table": codes.str[:4], "heading_status": "unchanged"})
        cmap = self.code_map(table_rev, to_rev)
        cmap = cmap[cmap["code_to"].isin(set(codes))].copy()
        cmap["same"] = cmap["code_from"].str[:4] == cmap["code_to"].str[:4]
        cmap = cmap.sort_values(
            ["code_to", "share", "same", "code_from"], ascending=[True, False, False, True]
        )
        best = cmap.drop_duplicates("code_to").set_index("code_to")["code_from"].str[:4]
        hm = self.heading_map(table_rev, to_rev).drop_duplicates("hs4_from").set_index("hs4_from")["status"]
        hs4 = codes.map(best)
        status = hs4.map(hm)
        missing = hs4.isna()
        hs4 = hs4.where(~missing, codes.str[:4])
        status = status.where(~missing, "not in concordance")
        return pd.DataFrame({"hs6": codes, "hs4_table": hs4, "heading_status": status})

    def _codes_of(self, rev: str) -> set[str]:
        t = self.table
        return set(t.loc[t["from_rev"] == rev, "before"]) | set(t.loc[t["to_rev"] == rev, "after"])


_KIND_ORDER = {"unchanged": 0, "renamed": 1, "split_weighted": 2, "split": 3}
_KIND_NAME = {v: k for k, v in _KIND_ORDER.items()}


def _worse(a: pd.Series, b: pd.Series) -> pd.Series:
    """Per row, the less clean of two kinds (unchanged < renamed < split)."""
    ra, rb = a.map(_KIND_ORDER), b.map(_KIND_ORDER)
    return a.where(ra >= rb, b)


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> Concordance:
    return Concordance.from_csv(path)


def load_concordance(path: str | os.PathLike[str] | None = None) -> Concordance:
    """Return the (cached) :class:`Concordance` read from ``path`` (default raw/hs)."""
    p = Path(path) if path is not None else default_concordance_path()
    if not p.is_file():
        return Concordance.from_csv(p)  # raises SourceMissingError with the fix
    return _cached(str(p.resolve()), p.stat().st_mtime)
