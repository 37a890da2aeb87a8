"""Supply-side evidence: market-share tables and analyst producer lists.

Two input kinds, one output table (``evidence.parquet``, docs/CONTRACTS.md):

* **CSET layout** (a folder with ``provision.csv`` and ``providers.csv``, like the
  Emerging Technology Observatory's chip supply-chain tables): ``provision.csv`` says
  that a provider supplies a share (percent) of an item in a year, with a source
  text; ``providers.csv`` says whether a provider is a country (``provider_type =
  country``, its name an ISO3 code) or a firm (``organization``, with its home
  country). Country rows become ``producer = None`` with the country's share; firm
  rows keep the firm and its country. Items are tied to ECCNs/HS codes only through
  the shipped, reviewable table ``cclreview/reference/cset_item_links.csv`` (item id ->
  ECCN, HS6, a rationale); items without a link keep ``eccn``/``hs6`` empty.
  ``evidence_kind = "market_share"``, ``comparable_quality = "unknown"`` (a market
  share says nothing about parameters).
* **Analyst template** (CSV or XLSX, ``data/raw/templates/producer_evidence_template.csv``):
  ``eccn`` or ``hs6``, ``country`` and/or ``producer``, ``product_model``,
  ``key_parameters``, ``comparable_quality`` (yes/no/unknown), ``source_url``,
  ``date``. ``evidence_kind = "producer"``.

Countries resolve through :class:`~cclreview.trade.countries.CountryResolver`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from cclreview import contracts
from cclreview.config import REFERENCE_DIR, project_paths
from cclreview.errors import InputError, SourceMissingError
from cclreview.io import check_table_file, write_csv
from cclreview.trade.countries import CountryResolver

log = logging.getLogger(__name__)

CSET_LINKS = REFERENCE_DIR / "cset_item_links.csv"
EVIDENCE_COLUMNS = [
    "eccn",
    "hs6",
    "item",
    "item_id",
    "country_iso3",
    "producer",
    "provider_type",
    "share",
    "year",
    "comparable_quality",
    "product_model",
    "key_parameters",
    "evidence_kind",
    "source",
    "source_url",
    "source_file",
    "source_row",
    "link_rationale",
]
TEMPLATE_COLUMNS = (
    "eccn",
    "hs6",
    "country",
    "producer",
    "product_model",
    "key_parameters",
    "comparable_quality",
    "source_url",
    "date",
)
QUALITY = ("yes", "no", "unknown")
#: Largest evidence file read (bytes): the real CSET tables are ~0.2 MB and an analyst
#: sheet a few thousand rows; anything far larger is a wrong file (a dump, a binary).
MAX_EVIDENCE_BYTES = 50 * 1024 * 1024
#: Shares of one item, year and provider type may add up to a little over 100% (the
#: published percentages are rounded; the real CSET tables reach 102%), not more.
MAX_SHARE_SUM_PERCENT = 105.0
_PROVISION = ("provider_id", "provided_name", "provided_id", "share_provided", "year", "source")
_PROVIDERS = ("provider_name", "provider_id", "provider_type", "country")


def _check_size(path: Path) -> None:
    check_table_file(
        path, MAX_EVIDENCE_BYTES, "an evidence file", "Split it or remove it from the evidence folder"
    )


def _read(path: Path, required: Iterable[str]) -> pd.DataFrame:
    if not path.is_file():
        raise SourceMissingError(f"{path} not found; check the evidence folder")
    _check_size(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        df = pd.read_excel(path, dtype=str, keep_default_na=False)
    else:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", index_col=False)
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(
            f"{path}: missing columns {missing}; found {list(df.columns)}; expected {list(required)}"
        )
    return df.apply(lambda s: s.str.strip())


def load_cset_links(path: str | os.PathLike[str] = CSET_LINKS) -> pd.DataFrame:
    """The shipped CSET item -> ECCN/HS6 table (``item_id, item_name, eccn, hs6, rationale``)."""
    df = _read(Path(path), ("item_id", "eccn", "hs6", "rationale"))
    bad = df["hs6"].ne("") & ~df["hs6"].str.fullmatch(r"\d{6}")
    if bad.any():
        i = int(bad.idxmax())
        raise InputError(f"{path} line {i + 2}: hs6 {df['hs6'].iloc[i]!r} is not 6 digits")
    return df


def read_cset(folder: str | os.PathLike[str], resolver: CountryResolver | None = None) -> pd.DataFrame:
    """Read a CSET-layout folder into evidence rows (see the module docstring).

    Shares are converted from percent to 0-1. Providers that are not one country
    ("Various countries", an EU aggregate) keep ``country_iso3`` empty.
    """
    folder = Path(folder)
    prov = _read(folder / "provision.csv", _PROVISION)
    providers = _read(folder / "providers.csv", _PROVIDERS).drop_duplicates("provider_id")
    if prov.empty:
        raise InputError(f"{folder / 'provision.csv'} has no rows")
    resolver = resolver or CountryResolver()
    df = prov.merge(providers, on="provider_id", how="left", suffixes=("", "_p"), indicator=True)
    orphan = df["_merge"] == "left_only"
    if orphan.any():
        i = int(orphan.idxmax())
        raise InputError(
            f"{folder / 'provision.csv'} line {i + 2}: provider {df['provider_id'].iloc[i]!r} "
            f"is not in providers.csv; add it there"
        )
    is_country = df["provider_type"].str.lower().eq("country")
    name_col = "provider_name_p" if "provider_name_p" in df.columns else "provider_name"
    country_raw = df[name_col].where(is_country, df["country"])
    iso = resolver.resolve_many(country_raw.replace("", None), record=True)
    share = pd.to_numeric(df["share_provided"].replace("", None), errors="coerce")
    bad = df["share_provided"].ne("") & (share.isna() | (share < 0) | (share > 100))
    if bad.any():
        i = int(bad.idxmax())
        raise InputError(
            f"{folder / 'provision.csv'} line {i + 2}: share_provided {df['share_provided'].iloc[i]!r} "
            "is not a percentage between 0 and 100"
        )
    _check_share_sums(folder / "provision.csv", df, share, is_country)
    links = load_cset_links().set_index("item_id")
    out = pd.DataFrame(
        {
            "eccn": df["provided_id"].map(links["eccn"]).replace("", None),
            "hs6": df["provided_id"].map(links["hs6"]).replace("", None),
            "item": df["provided_name"],
            "item_id": df["provided_id"],
            "country_iso3": iso,
            "producer": df[name_col].where(~is_country, None),
            "provider_type": is_country.map({True: "country", False: "firm"}),
            "share": share / 100.0,
            "year": pd.to_numeric(df["year"], errors="coerce").astype("Int64"),
            "comparable_quality": "unknown",
            "product_model": None,
            "key_parameters": None,
            "evidence_kind": "market_share",
            "source": "cset_eto: " + df["source"],
            "source_url": None,
            "source_file": str(folder / "provision.csv"),
            "source_row": (df.index + 2).astype("int64"),
            "link_rationale": df["provided_id"].map(links["rationale"]),
        }
    )
    log.info(
        "%s: %d provision rows, %d linked to an ECCN or HS code",
        folder,
        len(out),
        int(out["hs6"].notna().sum()),
    )
    return out[EVIDENCE_COLUMNS]


def _check_share_sums(path: Path, df: pd.DataFrame, share: pd.Series, is_country: pd.Series) -> None:
    """Shares of one item, year and provider type cannot add up to (much) more than 100%."""
    key = pd.DataFrame({"item": df["provided_id"], "year": df["year"], "country": is_country, "share": share})
    sums = key.groupby(["item", "year", "country"], sort=True)["share"].sum()
    over = sums[sums > MAX_SHARE_SUM_PERCENT]
    if len(over):
        (item, year, country), total = next(iter(over.items()))
        lines = (
            key.index[(key["item"] == item) & (key["year"] == year) & (key["country"] == country)] + 2
        ).tolist()
        shown = ", ".join(map(str, lines[:8])) + (" ..." if len(lines) > 8 else "")
        raise InputError(
            f"{path} lines {shown}: the {'country' if country else 'firm'} shares of item {item!r} in {year} "
            f"add up to {total:g}% (more than {MAX_SHARE_SUM_PERCENT:g}%); fix the shares or the item/year"
        )


def read_template(path: str | os.PathLike[str], resolver: CountryResolver | None = None) -> pd.DataFrame:
    """Read an analyst producer-evidence file (CSV/XLSX, template columns).

    Raises
    ------
    InputError
        A row lacks both ``eccn`` and ``hs6`` or both ``country`` and ``producer``,
        has an ``hs6`` that is not 6 digits, an unknown ``comparable_quality`` word,
        a country that does not resolve, or a date without a year.
    """
    path = Path(path)
    df = _read(path, TEMPLATE_COLUMNS)
    resolver = resolver or CountryResolver()

    def fail(i: int, msg: str) -> None:
        raise InputError(f"{path} line {i + 2}: {msg}")

    df["hs6"] = df["hs6"].str.replace(r"\.0$", "", regex=True).str.replace(".", "", regex=False)
    df["hs6"] = df["hs6"].where(df["hs6"].eq("") | (df["hs6"].str.len() != 5), df["hs6"].str.zfill(6))
    quality = df["comparable_quality"].str.lower().replace("", "unknown")
    for i, row in df.iterrows():
        if not row["eccn"] and not row["hs6"]:
            fail(int(i), "needs an eccn or an hs6 code")
        if not row["country"] and not row["producer"]:
            fail(int(i), "needs a country or a producer")
        if (row["hs6"] and not row["hs6"].isdigit()) or len(row["hs6"]) not in (0, 6):
            fail(int(i), f"hs6 {row['hs6']!r} must be 6 digits, e.g. 848620")
        if quality[i] not in QUALITY:
            fail(int(i), f"comparable_quality {row['comparable_quality']!r}; use yes, no or unknown")
    iso = resolver.resolve_many(df["country"].replace("", None), record=False)
    bad = df["country"].ne("") & iso.isna()
    if bad.any():
        i = int(bad.idxmax())
        fail(i, f"country {df['country'].iloc[i]!r} is not recognised; use an ISO3 code such as DEU")
    year = pd.to_numeric(df["date"].str.extract(r"(?<!\d)(\d{4})(?!\d)")[0], errors="coerce").astype("Int64")
    bad = df["date"].ne("") & year.isna()
    if bad.any():
        fail(int(bad.idxmax()), f"date {df['date'][bad].iloc[0]!r} has no year; write YYYY-MM-DD")
    import datetime as dt

    latest = dt.date.today().year + 1
    bad = year.notna() & ((year < 1900) | (year > latest))
    if bad.any():
        i = int(bad.idxmax())
        fail(i, f"date {df['date'].iloc[i]!r}: year {int(year.iloc[i])} is not between 1900 and {latest}; "
                "write the date the evidence was published, YYYY-MM-DD")  # fmt: skip
    out = pd.DataFrame(
        {
            "eccn": df["eccn"].str.upper().replace("", None),
            "hs6": df["hs6"].replace("", None),
            "item": df["product_model"].replace("", None),
            "item_id": None,
            "country_iso3": iso,
            "producer": df["producer"].replace("", None),
            "provider_type": "firm",
            "share": float("nan"),
            "year": year,
            "comparable_quality": quality,
            "product_model": df["product_model"].replace("", None),
            "key_parameters": df["key_parameters"].replace("", None),
            "evidence_kind": "producer",
            "source": "analyst: " + path.name,
            "source_url": df["source_url"].replace("", None),
            "source_file": str(path),
            "source_row": (df.index + 2).astype("int64"),
            "link_rationale": None,
        }
    )
    out.loc[out["producer"].isna(), "provider_type"] = "country"
    return out[EVIDENCE_COLUMNS]


def discover(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[str, Path]]:
    """Classify inputs: CSET folders and analyst files; folders are searched one level deep."""
    found: list[tuple[str, Path]] = []
    for p in map(Path, paths):
        if p.is_dir():
            if (p / "provision.csv").is_file() and (p / "providers.csv").is_file():
                found.append(("cset", p))
                continue
            for child in sorted(p.iterdir()):
                if child.is_dir() and (child / "provision.csv").is_file():
                    found.append(("cset", child))
                elif child.suffix.lower() in (".csv", ".xlsx") and _looks_like_template(child):
                    found.append(("template", child))
        elif p.is_file():
            found.append(("template", p))
        else:
            raise SourceMissingError(f"evidence input {p} does not exist; check the path")
    return found


def _looks_like_template(path: Path) -> bool:
    try:
        _check_size(path)
    except InputError:
        return True  # read_template then says what is wrong with it
    try:
        if path.suffix.lower() == ".xlsx":
            cols = pd.read_excel(path, nrows=0).columns
        else:
            cols = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
    except Exception:
        return False
    return {"comparable_quality", "producer", "country"} <= {str(c).strip().lower() for c in cols}


def ingest_evidence(
    paths: Iterable[str | os.PathLike[str]] | None, out_dir: str | os.PathLike[str]
) -> dict[str, object]:
    """Read every evidence input and write ``evidence.parquet`` (+ ``unmatched_evidence_countries.csv``).

    Parameters
    ----------
    paths
        CSET folders, analyst CSV/XLSX files, or folders holding them; default
        ``data/raw/evidence``.
    out_dir
        Output folder.

    Returns
    -------
    dict
        Row counts per input and the paths written.
    """
    defaulted = not paths
    folders = [Path(p) for p in paths] if paths else [project_paths().raw_evidence]
    if defaulted and not folders[0].exists():
        # Supply-side evidence is optional: no folder means "none yet", not an error.
        folders = []
    inputs = discover(folders)
    if not inputs and defaulted:
        log.info(
            "no supply-side evidence in %s; writing an empty evidence.parquet", project_paths().raw_evidence
        )
        out_dir = Path(out_dir)
        written = [contracts.write("evidence", contracts.empty("evidence", EVIDENCE_COLUMNS), out_dir)]
        written.append(
            write_csv(pd.DataFrame(columns=["value", "count"]), out_dir / "unmatched_evidence_countries.csv")
        )
        return {"rows": 0, "inputs": {}, "unmatched_countries": 0, "written": [str(w) for w in written]}
    if not inputs:
        raise SourceMissingError(
            f"no evidence found in {', '.join(map(str, folders))}; put a CSET folder (provision.csv, providers.csv) "
            "or a filled copy of data/raw/templates/producer_evidence_template.csv there"
        )
    resolver = CountryResolver()
    frames, counts = [], {}
    for kind, p in inputs:
        df = read_cset(p, resolver) if kind == "cset" else read_template(p, resolver)
        counts[str(p)] = len(df)
        frames.append(df)
    ev = pd.concat(frames, ignore_index=True)
    out_dir = Path(out_dir)
    written = [contracts.write("evidence", ev, out_dir)]
    unmatched = resolver.unmatched_report()
    written.append(write_csv(unmatched, out_dir / "unmatched_evidence_countries.csv"))
    return {
        "rows": len(ev),
        "inputs": counts,
        "unmatched_countries": len(unmatched),
        "written": [str(w) for w in written],
    }
