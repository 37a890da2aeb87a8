"""The tidy exporter-level table every trade reader produces, and shared helpers.

Every reader returns a :class:`ReadResult`: exports to the world per
``year x exporter x product`` (columns :data:`EXPORT_COLUMNS`, see docs/CONTRACTS.md),
the rows it rejected (file, line number, reason, raw values) and the exporter values it
could not resolve to a country (with their rows and trade value), so nothing is dropped
silently. Bilateral flows are summed over importers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from cclreview.errors import InputError
from cclreview.trade.countries import CountryResolver

EXPORT_COLUMNS = [
    "year",
    "exporter_iso3",
    "hs6",
    "hs_level",
    "hs_version",
    "value_usd",
    "qty",
    "source",
    "value_kind",
    "rank",
]
REJECT_COLUMNS = ["file", "line", "column", "value", "reason", "raw"]
UNMATCHED_COLUMNS = ["value", "source_file", "rows", "value_usd", "status", "candidates", "role"]
#: Bilateral flows (``flows_focus.parquet``, ``us_exports.parquet``); the China lens and
#: the report read these exact columns.
BILATERAL_COLUMNS = [
    "year",
    "exporter_iso3",
    "importer_iso3",
    "hs6",
    "hs_version",
    "value_usd",
    "qty",
    "source",
    "source_file",
]
#: Importers whose flows go to ``flows_focus.parquet`` unless config/sources.toml says otherwise.
DEFAULT_FOCUS = ("CHN", "HKG", "MAC", "RUS", "BLR")
#: How exact duplicate rows are looked for (see :class:`ReadContext`).
DuplicateCheck = Literal["sample", "full", "off"]
DUPLICATE_CHECKS: tuple[str, ...] = ("sample", "full", "off")
#: Largest plausible value of one row, in USD: 1e13 is ten trillion dollars, about half a
#: year of world merchandise trade (the largest single HS6 flow is ~1e11). Above it a row
#: is rejected as absurd, as are inf and NaN.
MAX_VALUE_USD = 1e13
#: Largest plausible quantity of one row, in tonnes (world iron-ore trade is ~1.6e9 t a year).
MAX_QTY_T = 1e11

#: Comtrade classification codes -> HS revision names.
COMTRADE_HS = {
    "H0": "HS1992",
    "H1": "HS1996",
    "H2": "HS2002",
    "H3": "HS2007",
    "H4": "HS2012",
    "H5": "HS2017",
    "H6": "HS2022",
}
#: HS revisions, newest first.
HS_REVISIONS = (2022, 2017, 2012, 2007, 2002, 1996, 1992)


def hs_in_force(year: int) -> str:
    """The HS revision in force in ``year`` (what 'as reported' data usually use)."""
    for rev in HS_REVISIONS:
        if year >= rev:
            return f"HS{rev}"
    return "HS1992"


def hs_in_force_sql(year: str) -> str:
    """SQL of :func:`hs_in_force` for the year expression ``year``."""
    whens = " ".join(f"WHEN {year} >= {r} THEN 'HS{r}'" for r in HS_REVISIONS[:-1])
    return f"CASE {whens} ELSE 'HS{HS_REVISIONS[-1]}' END"


def hs_version_from_name(name: str) -> str | None:
    """Guess the HS revision from a file name: ``BACI_HS22_...`` -> ``"HS2022"``."""
    m = re.search(r"(?i)(?:^|[^a-z])hs[_-]?(\d{2,4})(?![0-9])", name)
    if not m:
        return None
    digits = m.group(1)
    year = (
        int(digits) if len(digits) == 4 else (1900 + int(digits) if int(digits) >= 88 else 2000 + int(digits))
    )
    return f"HS{year}" if year in HS_REVISIONS else None


def year_from_name(name: str) -> int | None:
    """A single plausible year in a file name (``..._2024.csv`` -> 2024), else None."""
    years = {int(y) for y in re.findall(r"(?<!\d)(19[89]\d|20[0-4]\d)(?!\d)", name)}
    return years.pop() if len(years) == 1 else None


@dataclass
class ReadContext:
    """Settings shared by all readers of one ingest run.

    Attributes
    ----------
    resolver
        Country resolver (shared so the cache of names is reused).
    years
        Keep only these years (``None`` = all).
    column_map
        Canonical name -> column in the file, for the generic reader
        (``year, exporter, importer, hs6, value_usd, qty``).
    hs_version
        Override of the HS revision, when the file does not say.
    focus
        ISO3 importers whose bilateral flows are kept (``flows_focus.parquet``).
    duplicates
        Exact duplicate rows: ``"sample"`` (default: the BACI engine checks the rows it
        keeps per importer, the other readers every row), ``"full"`` (every row; costs a
        hash per BACI row) or ``"off"`` (summed as they come).
    temp_dir
        Where DuckDB spills (``out/.cache/duckdb_tmp`` in an ingest run).
    sink
        When set, a reader may write its big tables straight to the file's Parquet parts
        (:class:`~cclreview.trade.parts.PartSink`) instead of returning frames (the BACI
        readers do; ``ReadResult.exports`` is then empty).
    duck
        A DuckDB connection to share (one per ingest run), or None for a new one.
    """

    resolver: CountryResolver
    years: frozenset[int] | None = None
    column_map: dict[str, str] | None = None
    hs_version: str | None = None
    focus: tuple[str, ...] = DEFAULT_FOCUS
    duplicates: DuplicateCheck = "sample"
    temp_dir: Path | None = None
    sink: Any = None
    duck: Any = None


@dataclass
class ReadResult:
    """What a reader returns for one input file."""

    exports: pd.DataFrame
    rejected: pd.DataFrame
    unmatched: pd.DataFrame
    rows_read: int
    duplicates_dropped: int = 0
    notes: list[str] = field(default_factory=list)
    #: Flows with an importer: every row to a focus importer and every U.S. export row
    #: (``BILATERAL_COLUMNS`` without ``source_file``); None when the file has no
    #: partner detail.
    bilateral: pd.DataFrame | None = None
    #: Why a file has no bilateral rows (shown in ``bilateral_coverage.csv``).
    bilateral_note: str = ""
    #: Row counts (``exports``, ``focus``, ``us``) of the file's Parquet parts, set by
    #: the ingest once they are written.
    written: dict[str, int] | None = None
    #: Comtrade rows set aside as breakdowns of a total declared in another row.
    breakdowns_set_aside: int = 0


def empty_exports() -> pd.DataFrame:
    """An exports frame with no rows and the contract dtypes."""
    return finalize_exports(pd.DataFrame({c: [] for c in EXPORT_COLUMNS}))


def finalize_exports(df: pd.DataFrame) -> pd.DataFrame:
    """Order the contract columns first and give them their dtypes."""
    out = df.copy(deep=False)  # columns already of the right dtype are not copied
    for col in EXPORT_COLUMNS:
        if col not in out.columns:
            out[col] = pd.NA
    out["year"] = out["year"].astype("int64")
    out["hs_level"] = out["hs_level"].astype("int64")
    out["value_usd"] = out["value_usd"].astype("float64")
    out["qty"] = pd.to_numeric(out["qty"], errors="coerce").astype("float64")
    out["rank"] = out["rank"].astype("Int64")
    for col in ("exporter_iso3", "hs6", "hs_version", "source", "value_kind"):
        out[col] = out[col].astype("string")
    extra = [c for c in out.columns if c not in EXPORT_COLUMNS]
    return out[EXPORT_COLUMNS + extra].reset_index(drop=True)


def finalize_bilateral(df: pd.DataFrame) -> pd.DataFrame:
    """Bilateral columns in contract order and dtypes (``source_file`` may be absent)."""
    out = df.copy(deep=False)
    for col in BILATERAL_COLUMNS:
        if col not in out.columns:
            out[col] = pd.NA
    out["year"] = out["year"].astype("int64")
    out["value_usd"] = out["value_usd"].astype("float64")
    out["qty"] = pd.to_numeric(out["qty"], errors="coerce").astype("float64")
    for col in ("exporter_iso3", "importer_iso3", "hs6", "hs_version", "source", "source_file"):
        out[col] = out[col].astype("string")
    return out[BILATERAL_COLUMNS].reset_index(drop=True)


def empty_bilateral() -> pd.DataFrame:
    """A bilateral frame with no rows and the contract dtypes."""
    return finalize_bilateral(pd.DataFrame({c: [] for c in BILATERAL_COLUMNS}))


def empty_rejected() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in REJECT_COLUMNS})


def empty_unmatched() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in UNMATCHED_COLUMNS})


def raw_text(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """``"col=value; col=value"`` per row, for the ``raw`` column of rejected rows."""
    parts = [col + "=" + df[col].astype("string").fillna("") for col in columns]
    out = parts[0]
    for p in parts[1:]:
        out = out + "; " + p
    return out


def clean_hs6(codes: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Normalise product codes to 6-digit strings.

    Leading zeros lost by spreadsheets are restored (``10121`` -> ``"010121"``); 8- and
    10-digit national codes are cut to their HS6 stem.

    Returns
    -------
    (hs6, ok)
        Cleaned codes and a boolean mask of codes that could be read.
    """
    text = codes.astype("string").str.strip()
    # "8486.20" (dotted heading.subheading) -> "848620"; "848620.0" (a float) -> "848620".
    text = text.str.replace(r"^(\d{4})\.(\d{2})(?:\.(\d+))?$", r"\1\2\3", regex=True)
    text = text.str.replace(r"\.0+$", "", regex=True)
    ok = text.str.fullmatch(r"\d{1,10}").fillna(False) & ~text.str.len().isin([7, 9])
    hs6 = text.where(text.str.len() > 6, text.str.zfill(6)).str.slice(0, 6)
    return hs6.where(ok), ok.astype(bool)


def unmatched_frame(
    values: pd.Series, iso3: pd.Series, value_usd: pd.Series, resolver: CountryResolver, source_file: str
) -> pd.DataFrame:
    """Summarise rows whose exporter did not resolve: one row per distinct value."""
    miss = iso3.isna() & values.notna() & (values.astype("string").str.strip() != "")
    if not miss.any():
        return empty_unmatched()
    grp = pd.DataFrame({"value": values[miss].astype("string").str.strip(), "v": value_usd[miss]})
    agg = grp.groupby("value", sort=True).agg(rows=("v", "size"), value_usd=("v", "sum")).reset_index()
    return unmatched_rows(agg, resolver, source_file, "exporter")


def unmatched_rows(
    counts: pd.DataFrame, resolver: CountryResolver, source_file: str, role: str
) -> pd.DataFrame:
    """The ``unmatched_countries.csv`` rows of values that are not countries.

    Parameters
    ----------
    counts
        One row per distinct value (stripped): ``value``, ``rows``, ``value_usd``.
    resolver
        Says why each value did not match (``status``) and what it is close to.
    source_file, role
        The file, and the value's role (``exporter``, ``importer``).
    """
    if counts.empty:
        return empty_unmatched()
    out = pd.DataFrame(
        {
            "value": counts["value"].astype(str).to_numpy(),
            "source_file": source_file,
            "rows": counts["rows"].astype("int64").to_numpy(),
            "value_usd": counts["value_usd"].astype("float64").to_numpy(),
        }
    )
    out["status"] = [resolver.match(_num_or_str(v)).status for v in out["value"]]
    out["candidates"] = [resolver.candidates(v) for v in out["value"]]
    out["role"] = role
    return out[UNMATCHED_COLUMNS]


def _num_or_str(value: str) -> object:
    return int(value) if re.fullmatch(r"\d+", value) else value


def require_columns(columns: list[str], needed: list[str], path: object, what: str) -> None:
    """Raise InputError naming the columns found and expected when some are missing."""
    missing = [c for c in needed if c not in columns]
    if missing:
        raise InputError(
            f"{path}: missing required column(s) {missing} for a {what} file; "
            f"found {list(columns)}; expected at least {needed}"
        )


def _validate(
    df: pd.DataFrame, file: str, value_scale: float, qty_scale: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a long table (see :func:`clean_long`) into numeric good rows and rejected
    rows (:data:`REJECT_COLUMNS`); ``good`` has numeric ``year``, ``value``, ``qty`` and
    6-digit ``hs6``. The checks and reasons are those of
    :data:`cclreview.trade.longtable.CHECKS`, in the same order."""
    raw_cols = [c for c in ("year", "exporter", "importer", "hs6", "value", "qty") if c in df.columns]
    year = pd.to_numeric(df["year"], errors="coerce")
    value = pd.to_numeric(df["value"], errors="coerce")
    qty_raw = df["qty"] if "qty" in df.columns else pd.Series(np.nan, index=df.index)
    qty_text = qty_raw.astype("string").str.strip()
    qty_missing = (qty_raw.isna() | qty_text.isin(["", "NA"])).fillna(True).astype(bool)
    qty = pd.to_numeric(qty_raw.where(~qty_missing), errors="coerce")
    hs6, hs_ok = clean_hs6(df["hs6"])
    reasons = pd.Series("", index=df.index, dtype="object")
    columns = pd.Series("", index=df.index, dtype="object")

    def flag(mask: pd.Series, column: str, text: str) -> None:
        mask = mask.fillna(False).astype(bool) & (reasons == "")
        reasons[mask] = text
        columns[mask] = column

    value_text = df["value"].astype("string").str.strip()
    flag(df["value"].isna() | (value_text == "") | (value_text == "NA"), "value", "empty value")
    # "nan" parses as a float: it is refused like any other non-number.
    flag(value.isna(), "value", "non-numeric value")
    flag(np.isinf(value), "value", "infinite value")
    flag(value < 0, "value", "negative value")
    flag(value * value_scale > MAX_VALUE_USD, "value", f"value above {MAX_VALUE_USD:.0e} USD (absurd)")
    flag(year.isna() | (year % 1 != 0), "year", "non-numeric or empty year")
    exporter_text = df["exporter"].astype("string").str.strip()
    flag(df["exporter"].isna() | (exporter_text == ""), "exporter", "empty exporter")
    if "importer" in df.columns:
        importer_text = df["importer"].astype("string").str.strip()
        flag(df["importer"].isna() | (importer_text == ""), "importer", "empty importer")
    flag(~hs_ok, "hs6", "product code is not an HS code of digits")
    flag(~qty_missing & qty.isna(), "qty", "non-numeric quantity")
    flag(np.isinf(qty), "qty", "infinite quantity")
    flag(qty < 0, "qty", "negative quantity")
    flag(qty * qty_scale > MAX_QTY_T, "qty", f"quantity above {MAX_QTY_T:.0e} t (absurd)")
    bad = reasons != ""
    cell = pd.Series(
        [str(df.at[i, c])[:80] if c in df.columns else "" for i, c in columns[bad].items()],
        index=columns[bad].index,
        dtype="object",
    )
    rejected = pd.DataFrame(
        {
            "file": file,
            "line": df.loc[bad, "line"],
            "column": columns[bad],
            "value": cell,
            "reason": reasons[bad],
            "raw": raw_text(df[bad], raw_cols),
        }
    ).reset_index(drop=True)
    good = df[~bad].copy()
    good["year"] = year[~bad].astype("int64")
    good["value"] = value[~bad].astype("float64")
    good["qty"] = qty[~bad].astype("float64")
    good["hs6"] = hs6[~bad]
    return good, rejected


def drop_exact_duplicates(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop rows identical in every column but ``line`` (kept: the first); return the count."""
    cols = [c for c in df.columns if c != "line"]
    dup = df.duplicated(subset=cols, keep="first")
    return df[~dup], int(dup.sum())


def clean_long(
    df: pd.DataFrame,
    *,
    file: str,
    ctx: ReadContext,
    source: str,
    hs_version: str | pd.Series,
    value_scale: float = 1.0,
    qty_scale: float = 1.0,
    dedupe: bool = True,
) -> ReadResult:
    """Validate, resolve and aggregate a long table in pandas (the BACI extract readers;
    the Comtrade and generic readers do the same in DuckDB, :mod:`cclreview.trade.longtable`).

    Parameters
    ----------
    df
        Columns ``line`` (line number in the file), ``year``, ``exporter``, ``hs6``,
        ``value`` and optionally ``importer``, ``qty``, as read (strings or numbers);
        with an ``importer`` column the flows to focus importers and the U.S. exports
        are also returned as ``bilateral`` rows.
    file
        Name used in rejected/unmatched reports.
    ctx
        Run settings (resolver, year filter, focus importers).
    source
        Value of the ``source`` column.
    hs_version
        Revision for every row, or a Series per row (same index as ``df``).
    value_scale, qty_scale
        Multipliers to USD (1000 for thousand USD) and to tonnes (0.001 for kg).
    dedupe
        Drop exact duplicate rows (same cells in every column) and count them.
    """
    n_rows = len(df)
    n_dup = 0
    if dedupe and ctx.duplicates != "off":
        df, n_dup = drop_exact_duplicates(df)
    good, rejected = _validate(df, file, value_scale, qty_scale)
    versions = hs_version.loc[good.index] if isinstance(hs_version, pd.Series) else hs_version
    tidy = pd.DataFrame(
        {
            "year": good["year"],
            "exporter": good["exporter"],
            "hs6": good["hs6"],
            "value_usd": good["value"] * value_scale,
            "qty": good["qty"] * qty_scale,
            "hs_version": versions,
        }
    )
    has_importer = "importer" in good.columns
    if has_importer:
        tidy["importer"] = good["importer"]
    if ctx.years is not None:
        tidy = tidy[tidy["year"].isin(ctx.years)]
    iso3 = ctx.resolver.resolve_many(tidy["exporter"], record=False)
    unmatched = unmatched_frame(tidy["exporter"], iso3, tidy["value_usd"], ctx.resolver, file)
    tidy = tidy.assign(exporter_iso3=iso3)[iso3.notna()]
    bilateral = None
    if has_importer:
        bilateral, um_imp = _bilateral_long(tidy, ctx, source, file)
        if len(um_imp):
            unmatched = pd.concat([unmatched, um_imp], ignore_index=True)
    return ReadResult(
        aggregate(tidy, source), rejected, unmatched, n_rows, duplicates_dropped=n_dup, bilateral=bilateral
    )


def _bilateral_long(
    tidy: pd.DataFrame, ctx: ReadContext, source: str, file: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flows to focus importers and U.S. exports of a resolved long table, summed by key."""
    imp = ctx.resolver.resolve_many(tidy["importer"], record=False)
    keep = imp.isin(list(ctx.focus)).fillna(False) | (tidy["exporter_iso3"] == "USA").fillna(False)
    sub = tidy[keep].assign(importer_iso3=imp[keep])
    # A U.S. export to a partner that is not a country (World, "Areas, nes") is reported.
    um = unmatched_frame(sub["importer"], sub["importer_iso3"], sub["value_usd"], ctx.resolver, file)
    um["role"] = "importer"
    sub = sub[sub["importer_iso3"].notna()]
    if sub.empty:
        return empty_bilateral(), um
    out = (
        sub.groupby(["year", "exporter_iso3", "importer_iso3", "hs6", "hs_version"], sort=True, observed=True)
        .agg(value_usd=("value_usd", "sum"), qty=("qty", lambda s: s.sum(min_count=1)))
        .reset_index()
    )
    out["source"] = source
    return finalize_bilateral(out), um


def aggregate(tidy: pd.DataFrame, source: str, hs_level: int = 6) -> pd.DataFrame:
    """Sum flows to ``year x exporter x hs6 x hs_version``; qty stays null if all missing."""
    if tidy.empty:
        return empty_exports()
    out = (
        tidy.groupby(["year", "exporter_iso3", "hs6", "hs_version"], sort=True, observed=True)
        .agg(value_usd=("value_usd", "sum"), qty=("qty", lambda s: s.sum(min_count=1)))
        .reset_index()
    )
    out["hs_level"] = hs_level
    out["source"] = source
    out["value_kind"] = "value"
    out["rank"] = pd.NA
    return finalize_exports(out)


def display_name(path: Path | str) -> str:
    """The name used for a file in reports (its base name)."""
    return Path(str(path)).name
