"""Long trade tables on DuckDB: the engine of the UN Comtrade and generic readers.

A reader loads its file into DuckDB with every cell as text
(:mod:`cclreview.trade.duckload`) and describes, in a :class:`Layout`, which columns
hold the year, exporter, importer, product, value and quantity. :func:`read_long` then,
in SQL over the whole table:

1. resolves country names and codes through a table of the file's distinct values,
   each resolved once by :class:`~cclreview.trade.countries.CountryResolver`; where a
   layout has an ISO column and a numeric code, the ISO code is used when it names a
   country, else the numeric code (Comtrade's "Other Asia, nes" has no ISO3 but is
   490, Taiwan);
2. keeps the rows the outputs use: every row of a generic table; for Comtrade the
   export rows to World (the exporter's declared total) and the export rows to a
   country partner that the bilateral outputs need (a focus importer, or the U.S. as
   reporter);
3. drops exact duplicates among them, counted (rows identical in every cell the reader
   uses; the first is kept), unless ``ctx.duplicates == "off"``;
4. rejects invalid rows with their line, column and reason (:data:`CHECKS`, in order:
   the first failing check is the reason);
5. for Comtrade (``Layout.one_total``), keeps one row per reporter, partner, product
   and year, the largest: the total, of which the other rows are breakdowns; counted;
6. sums exports to the world by ``year x exporter x HS6 x revision`` and the
   bilateral flows by ``year x exporter x importer x HS6 x revision``, reports names
   and codes that are not countries, with their rows and value, and writes the
   tables to the file's Parquet parts (``ctx.sink``) or returns them as frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import pandas as pd

from cclreview.trade.duck import sql_list, sql_str
from cclreview.trade.duckload import RAW_TABLE, Loaded, ident, number_sql, strip_sql
from cclreview.trade.tidy import (
    COMTRADE_HS,
    MAX_QTY_T,
    MAX_VALUE_USD,
    REJECT_COLUMNS,
    ReadContext,
    ReadResult,
    empty_bilateral,
    empty_exports,
    empty_rejected,
    empty_unmatched,
    finalize_bilateral,
    finalize_exports,
    hs_in_force_sql,
    unmatched_rows,
)

log = logging.getLogger(__name__)

#: Work tables of one read (dropped afterwards: the connection may be the run's).
_TABLES = ("lt_names", "lt_rows", "lt_kept", "lt_checked", "lt_good")


@dataclass(frozen=True)
class Country:
    """Where a country comes from: an optional ISO column preferred when it names a
    country, and the column used otherwise (a numeric code, or the only column)."""

    column: str
    iso_column: str | None = None


@dataclass(frozen=True)
class Layout:
    """How a file's columns map onto the long table (column names of the loaded table).

    Attributes
    ----------
    year
        SQL expression of the year as text (a :func:`column`, a slice of one, a literal).
    exporter, importer
        The exporter (reporter) and importer (partner) columns.
    hs6, value, qty
        Product code, value and quantity columns (``qty`` may be absent).
    classification
        Comtrade's classification column (``H5`` ...), giving the HS revision per row.
    flow_ok, world
        Comtrade only (``world`` None for a generic table): SQL conditions (over
        :func:`column` expressions) for an
        export row (of the totals, not a breakdown) and for a row to partner World.
        Then exports to the world come from the World rows only, and the bilateral
        outputs from the other export rows.
    one_total
        Comtrade only: a reporter declares one total per year, partner, product and
        flow. Several distinct valid rows of one such key are that total and its
        breakdowns (by customs procedure, mode of transport, second partner) in a file
        without the columns that tell them apart; summing them counts the flow two or
        three times. The largest row of the key is the total (a breakdown is part of
        it) and is kept; the others are set aside and counted.
    """

    year: str
    exporter: Country
    hs6: str
    value: str
    qty: str | None = None
    importer: Country | None = None
    classification: str | None = None
    flow_ok: str = "true"
    world: str | None = None
    one_total: bool = False


@dataclass(frozen=True)
class Settings:
    """What a read produces: names and units.

    Attributes
    ----------
    file
        Name for the reports.
    source
        The ``source`` column.
    hs_version
        HS revision of every row (an override, the column map, the file name), or None
        to take it from ``Layout.classification`` and then the year.
    name_version
        Revision from the file name, used after the classification column.
    value_scale, qty_scale
        Multipliers to USD and to tonnes (0.001 for kilograms).
    """

    file: str
    source: str
    hs_version: str | None = None
    name_version: str | None = None
    value_scale: float = 1.0
    qty_scale: float = 1.0


#: The row checks, in order: (column, reason, SQL condition over the cleaned row).
CHECKS: list[tuple[str, str, str]] = [
    ("value", "empty value", "value IS NULL OR sv IN ('', 'NA')"),
    # "nan" reads as a float: refused like any other non-number.
    ("value", "non-numeric value", "vd IS NULL OR isnan(vd)"),
    ("value", "infinite value", "isinf(vd)"),
    ("value", "negative value", "vd < 0"),
    ("value", "value above {max_value:.0e} USD (absurd)", "vd * {value_scale!r} > {max_value!r}"),
    (
        "year",
        "non-numeric or empty year",
        "yd IS NULL OR NOT isfinite(yd) OR yd <> floor(yd) OR TRY_CAST(yd AS BIGINT) IS NULL",
    ),
    ("exporter", "empty exporter", "exporter IS NULL OR " + strip_sql("exporter") + " = ''"),
    ("importer", "empty importer", "{importer_required} AND (importer IS NULL OR si = '')"),
    ("hs6", "product code is not an HS code of digits", "NOT hs_ok"),
    ("qty", "non-numeric quantity", "NOT q_missing AND (qd IS NULL OR isnan(qd))"),
    ("qty", "infinite quantity", "NOT q_missing AND isinf(qd)"),
    ("qty", "negative quantity", "NOT q_missing AND qd < 0"),
    ("qty", "quantity above {max_qty:.0e} t (absurd)", "NOT q_missing AND qd * {qty_scale!r} > {max_qty!r}"),
]


def _hs6_sql(expr: str) -> tuple[str, str, str]:
    """SQL of (cleaned text, 6-digit code, code readable) from product code text; the
    last two refer to the first as ``hc``.

    ``8486.20`` (heading.subheading) and ``848620.0`` (a float) read as ``848620``;
    leading zeros lost by spreadsheets are restored (``10121`` -> ``010121``); 8- and
    10-digit national codes are cut to their HS6 stem; 7 and 9 digits are refused.
    """
    text = strip_sql(expr)
    text = f"regexp_replace({text}, '^([0-9]{{4}})\\.([0-9]{{2}})(?:\\.([0-9]+))?$', '\\1\\2\\3')"
    text = f"regexp_replace({text}, '\\.0+$', '')"
    code = "CASE WHEN length(hc) > 6 THEN left(hc, 6) ELSE lpad(hc, 6, '0') END"
    ok = "coalesce(regexp_full_match(hc, '[0-9]{1,10}') AND length(hc) NOT IN (7, 9), false)"
    return text, code, ok


def _classification_sql(expr: str) -> str:
    whens = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in COMTRADE_HS.items())
    return f"CASE upper({strip_sql(expr)}) {whens} END"


def column(name: str | None) -> str:
    """SQL of a column of the loaded table (aliased ``r`` in the queries), or NULL."""
    return f"r.{ident(name)}" if name else "NULL::VARCHAR"


def _register_names(con: duckdb.DuckDBPyConnection, layout: Layout, ctx: ReadContext) -> None:
    """``lt_names(raw, iso3)``: every distinct country cell of the file, resolved once."""
    cols = [
        c
        for country in (layout.exporter, layout.importer)
        if country is not None
        for c in (country.column, country.iso_column)
        if c
    ]
    union = " UNION ".join(f"SELECT {ident(c)} AS raw FROM {RAW_TABLE}" for c in cols)
    values = [
        v for (v,) in con.execute(f"SELECT DISTINCT raw FROM ({union}) WHERE raw IS NOT NULL").fetchall()
    ]
    names = pd.DataFrame(
        {"raw": pd.Series(values, dtype="object"), "iso3": [ctx.resolver.match(v).iso3 for v in values]}
    )
    con.register("lt_names_df", names)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE lt_names AS SELECT raw::VARCHAR AS raw, iso3::VARCHAR AS iso3 FROM lt_names_df"
        )
    finally:
        con.unregister("lt_names_df")


def _country_sql(country: Country, alias: str) -> tuple[str, str, str]:
    """(joins, text, iso3) of a country: its ISO column where that names a country or
    where neither does but it is not empty (more readable), else the code column."""
    col, iso = column(country.column), column(country.iso_column)
    joins = f"LEFT JOIN lt_names {alias}i ON {iso} = {alias}i.raw LEFT JOIN lt_names {alias}c ON {col} = {alias}c.raw"
    use_iso = (
        f"({alias}i.iso3 IS NOT NULL OR ({alias}c.iso3 IS NULL AND coalesce({strip_sql(iso)} <> '', false)))"
    )
    return (
        joins,
        f"CASE WHEN {use_iso} THEN {iso} ELSE {col} END",
        f"CASE WHEN {use_iso} THEN {alias}i.iso3 ELSE {alias}c.iso3 END",
    )


def _select_rows(
    con: duckdb.DuckDBPyConnection, layout: Layout, ctx: ReadContext, file: str
) -> tuple[int, bool]:
    """``lt_rows``: every row in canonical text columns, ``used`` marking the rows the
    outputs use (see the module doc). Returns the number of Comtrade export rows to a
    country partner, and whether any used row's classification is a known HS revision."""
    ej, exporter, exp_iso = _country_sql(layout.exporter, "e")
    if layout.importer is not None:
        ij, importer, imp_iso = _country_sql(layout.importer, "m")
    else:
        ij, importer, imp_iso = "", "NULL::VARCHAR", "NULL::VARCHAR"
    if layout.world is None:  # a generic table: every row is an export, with its importer
        flow_ok, world = "true", "true"
        partner = "coalesce(partner, '')" if ij else "partner"
        partner_row, used = "false", "true"
    else:
        flow_ok, world, partner = layout.flow_ok, layout.world, "CASE WHEN partner_row THEN partner END"
        partner_row = f"coalesce(NOT wo AND {strip_sql('partner')} <> '', false) AND fo"
        used = f"to_world OR (partner_row AND (imp_iso IN {sql_list(list(ctx.focus))} OR exp_iso = 'USA'))"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE lt_rows AS WITH a AS ("
        f"SELECT r.rowid AS rn, {layout.year} AS year, {exporter} AS exporter, {exp_iso} AS exp_iso, "
        f"{importer} AS partner, {imp_iso} AS imp_iso, {column(layout.hs6)} AS hs6, "
        f"{column(layout.value)} AS value, {column(layout.qty)} AS qty, "
        f"{column(layout.classification)} AS cls, coalesce({flow_ok}, false) AS fo, coalesce({world}, false) AS wo "
        f"FROM {RAW_TABLE} r {ej} {ij}), "
        f"b AS (SELECT *, fo AND wo AS to_world, {partner_row} AS partner_row FROM a) "
        f"SELECT rn, year, exporter, exp_iso, {partner} AS importer, imp_iso, hs6, value, qty, cls, "
        f"to_world, partner_row, {used} AS used FROM b"
    )
    n_partner, n_world, known = con.execute(
        "SELECT count(*) FILTER (WHERE partner_row), count(*) FILTER (WHERE to_world), "
        f"coalesce(bool_or({_classification_sql('cls')} IS NOT NULL) FILTER (WHERE used), false) FROM lt_rows"
    ).fetchall()[0]
    if layout.world is not None and not n_world:
        log.warning("%s: no export rows to partner World (flow X, partner 0)", file)
    return int(n_partner), bool(known)


def _dedupe(con: duckdb.DuckDBPyConnection, ctx: ReadContext) -> int:
    """``lt_kept``: ``lt_rows`` without exact duplicates (the first row kept); their number."""
    if ctx.duplicates == "off":
        con.execute("CREATE OR REPLACE TEMP TABLE lt_kept AS SELECT * FROM lt_rows WHERE used")
        return 0
    # Country ISO codes follow from the text, so they do not split a group.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE lt_kept AS SELECT min(rn) AS rn, year, exporter, "
        "any_value(exp_iso) AS exp_iso, importer, any_value(imp_iso) AS imp_iso, hs6, value, qty, "
        "arg_min(cls, rn) AS cls, to_world, partner_row FROM lt_rows WHERE used "
        "GROUP BY year, exporter, importer, hs6, value, qty, to_world, partner_row"
    )
    (n,) = con.execute(
        "SELECT (SELECT count(*) FROM lt_rows WHERE used) - (SELECT count(*) FROM lt_kept)"
    ).fetchall()[0]
    return int(n)


def _check(con: duckdb.DuckDBPyConnection, layout: Layout, settings: Settings) -> None:
    """``lt_checked``: ``lt_kept`` with the parsed cells and ``bad``, the index in
    :data:`CHECKS` of the first failing check (NULL for a valid row)."""
    fmt = {
        "max_value": MAX_VALUE_USD,
        "max_qty": MAX_QTY_T,
        "value_scale": float(settings.value_scale),
        "qty_scale": float(settings.qty_scale),
        "importer_required": "true" if layout.importer is not None and layout.world is None else "false",
    }
    cases = " ".join(
        f"WHEN coalesce({cond.format(**fmt)}, false) THEN {i}" for i, (_, _, cond) in enumerate(CHECKS)
    )
    clean, code, ok = _hs6_sql("hs6")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE lt_checked AS WITH c AS ("
        f"SELECT *, {strip_sql('value')} AS sv, {number_sql('value')} AS vd, {number_sql('year')} AS yd, "
        f"{strip_sql('importer')} AS si, {number_sql('qty')} AS qd, "
        f"(qty IS NULL OR {strip_sql('qty')} IN ('', 'NA')) AS q_missing, {clean} AS hc FROM lt_kept), "
        f"h AS (SELECT *, {code} AS hs6c, {ok} AS hs_ok FROM c) "
        f"SELECT *, CASE {cases} END AS bad FROM h"
    )


def _rejected(con: duckdb.DuckDBPyConnection, layout: Layout, loaded: Loaded, file: str) -> pd.DataFrame:
    """The rejected rows: line, column, cell, reason and the cells read."""
    # The failing cell as read (the check's column is the canonical column of the same name).
    whens = " ".join(f"WHEN {i} THEN left(coalesce({col}, ''), 80)" for i, (col, _, _) in enumerate(CHECKS))
    cell = f"CASE bad {whens} END"
    parts = ["'year=' || coalesce(year, '')", "'exporter=' || coalesce(exporter, '')"]
    if layout.importer is not None:
        # Comtrade's World rows have no importer: their raw text leaves it out.
        parts.append("'importer=' || importer")
    parts += ["'hs6=' || coalesce(hs6, '')", "'value=' || coalesce(value, '')", "'qty=' || coalesce(qty, '')"]
    df = con.execute(
        f"SELECT rn, bad, {cell} AS cell, concat_ws('; ', {', '.join(parts)}) AS raw "
        "FROM lt_checked WHERE bad IS NOT NULL ORDER BY rn"
    ).df()
    if df.empty:
        return empty_rejected()
    fmt = {"max_value": MAX_VALUE_USD, "max_qty": MAX_QTY_T}
    return pd.DataFrame(
        {
            "file": file,
            "line": pd.Series(loaded.lines(df["rn"]), dtype="int64"),
            "column": [CHECKS[int(b)][0] for b in df["bad"]],
            "value": df["cell"].astype(object),
            "reason": [CHECKS[int(b)][1].format(**fmt) for b in df["bad"]],
            "raw": df["raw"].astype(object),
        }
    )[REJECT_COLUMNS]


def _good(
    con: duckdb.DuckDBPyConnection, layout: Layout, settings: Settings, ctx: ReadContext, known: bool
) -> int:
    """``lt_good``: valid rows within the year filter, as numbers, with their HS revision;
    with ``layout.one_total``, the largest row of each key only. Returns the number of
    rows set aside as breakdowns of a total."""
    if settings.hs_version:
        version = sql_str(settings.hs_version)
    elif layout.classification is not None and known:
        version = f"coalesce({_classification_sql('cls')}, {hs_in_force_sql('y')})"
    elif settings.name_version:
        version = sql_str(settings.name_version)
    else:
        version = hs_in_force_sql("y")
    years = f" WHERE y IN {sql_list(sorted(ctx.years))}" if ctx.years is not None else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE lt_good AS SELECT *, {version} AS hs_version FROM ("
        f"SELECT rn, CAST(yd AS BIGINT) AS y, exporter, exp_iso, importer, imp_iso, hs6c AS hs6, "
        f"vd * {float(settings.value_scale)!r} AS value_usd, qd * {float(settings.qty_scale)!r} AS qty, "
        f"cls, to_world FROM lt_checked WHERE bad IS NULL){years}"
    )
    if not layout.one_total:
        return 0
    (before,) = con.execute("SELECT count(*) FROM lt_good").fetchall()[0]
    # The total and its quantity come from one row: the largest (the first on a tie).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE lt_good AS SELECT * FROM lt_good QUALIFY row_number() OVER "
        "(PARTITION BY y, exporter, importer, hs6, to_world, hs_version ORDER BY value_usd DESC, rn) = 1"
    )
    (after,) = con.execute("SELECT count(*) FROM lt_good").fetchall()[0]
    return int(before) - int(after)


def _exports_sql(source: str) -> str:
    return (
        "SELECT y AS year, exp_iso AS exporter_iso3, hs6, 6::BIGINT AS hs_level, hs_version, "
        f"sum(value_usd) AS value_usd, sum(qty) AS qty, {sql_str(source)} AS source, "
        "'value' AS value_kind, NULL::BIGINT AS rank FROM lt_good "
        "WHERE to_world AND exp_iso IS NOT NULL GROUP BY y, exp_iso, hs6, hs_version"
    )


def _bilateral_sql(source: str, focus: tuple[str, ...]) -> str:
    return (
        "SELECT y AS year, exp_iso AS exporter_iso3, imp_iso AS importer_iso3, hs6, hs_version, "
        f"sum(value_usd) AS value_usd, sum(qty) AS qty, {sql_str(source)} AS source FROM lt_good "
        "WHERE importer IS NOT NULL AND exp_iso IS NOT NULL AND imp_iso IS NOT NULL "
        f"AND (imp_iso IN {sql_list(list(focus))} OR exp_iso = 'USA') "
        "GROUP BY y, exp_iso, imp_iso, hs6, hs_version"
    )


#: Rows of values that are not countries, by role: exporters of the exports to the
#: world, importers of U.S. exports, exporters of Comtrade partner rows to a focus importer.
_UNMATCHED = {
    "exporter": "to_world AND exp_iso IS NULL AND {s} <> ''".format(s=strip_sql("exporter")),
    "importer": "importer IS NOT NULL AND exp_iso = 'USA' AND imp_iso IS NULL AND {s} <> ''".format(
        s=strip_sql("importer")
    ),
    "exporter (partner rows)": "NOT to_world AND importer IS NOT NULL AND exp_iso IS NULL AND {s} <> ''".format(
        s=strip_sql("exporter")
    ),
}


def _unmatched(con: duckdb.DuckDBPyConnection, ctx: ReadContext, file: str) -> pd.DataFrame:
    frames = []
    for role, where in _UNMATCHED.items():
        col = "importer" if role == "importer" else "exporter"
        df = con.execute(
            f"SELECT {strip_sql(col)} AS value, count(*) AS rows, sum(value_usd) AS value_usd "
            f"FROM lt_good WHERE {where} GROUP BY 1"
        ).df()
        if len(df):
            frames.append(unmatched_rows(df.sort_values("value"), ctx.resolver, file, role))
    return pd.concat(frames, ignore_index=True) if frames else empty_unmatched()


def read_long(
    con: duckdb.DuckDBPyConnection,
    loaded: Loaded,
    layout: Layout,
    settings: Settings,
    ctx: ReadContext,
    use_sink: bool,
) -> ReadResult:
    """Validate, resolve and sum a loaded table (see the module doc).

    Parameters
    ----------
    con
        The connection holding the loaded table (:data:`~cclreview.trade.duckload.RAW_TABLE`).
    loaded
        What was loaded (row count, how rows map to lines).
    layout, settings
        The file's columns; names and units of the output.
    ctx
        Run settings (resolver, years, focus importers, duplicate check, sink).
    use_sink
        Write the exports and bilateral flows to ``ctx.sink`` (then the result's frames
        are empty) instead of returning them.

    Returns
    -------
    ReadResult
        ``bilateral`` is None for a table without importers (or a Comtrade file
        without a single export row to a country partner).
    """
    try:
        _register_names(con, layout, ctx)
        n_partner, known = _select_rows(con, layout, ctx, settings.file)
        n_dup = _dedupe(con, ctx)
        if n_dup:
            log.info("%s: dropped %d exact duplicate rows", settings.file, n_dup)
        _check(con, layout, settings)
        rejected = _rejected(con, layout, loaded, settings.file)
        n_parts = _good(con, layout, settings, ctx, known)
        unmatched = _unmatched(con, ctx, settings.file)
        has_partners = layout.importer is not None and (layout.world is None or n_partner > 0)
        result = ReadResult(
            empty_exports(),
            rejected,
            unmatched,
            loaded.rows,
            duplicates_dropped=n_dup,
            bilateral=empty_bilateral() if has_partners else None,
            breakdowns_set_aside=n_parts,
        )
        if n_parts:
            result.notes.append(
                f"{n_parts} breakdown rows set aside: a reporter, partner, product and year had several "
                "distinct export rows (totals and breakdowns by customs procedure or transport mode, "
                "without the columns that tell them apart); the largest, the total, kept"
            )
        exports = _exports_sql(settings.source)
        bilateral = _bilateral_sql(settings.source, ctx.focus)
        if use_sink:
            ctx.sink.append_query("exports", con, exports)
            if has_partners:
                focus = sql_list(list(ctx.focus))
                ctx.sink.append_query(
                    "focus", con, f"SELECT * FROM ({bilateral}) WHERE importer_iso3 IN {focus}"
                )
                ctx.sink.append_query("us", con, f"SELECT * FROM ({bilateral}) WHERE exporter_iso3 = 'USA'")
        else:
            result.exports = finalize_exports(con.execute(f"{exports} ORDER BY 1, 2, 3, 5").df())
            if has_partners:
                flows = con.execute(f"{bilateral} ORDER BY 1, 2, 3, 4, 5").df()
                result.bilateral = finalize_bilateral(flows) if len(flows) else empty_bilateral()
        return result
    finally:
        for table in _TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
