"""The SQL of the BACI engine: the CSV reader call, row validity, the one-pass grouping
and the queries from the grouped table to the outputs (see :mod:`cclreview.trade.baci`)."""

from __future__ import annotations

from cclreview.trade.duck import sql_enum, sql_list, sql_str
from cclreview.trade.tidy import HS_REVISIONS, MAX_QTY_T, MAX_VALUE_USD, hs_in_force_sql

BACI_COLUMNS = ["t", "i", "j", "k", "v", "q"]
CSV_TYPES = {"t": "INTEGER", "i": "INTEGER", "j": "INTEGER", "k": "INTEGER", "v": "DOUBLE", "q": "VARCHAR"}
#: BACI values are thousand USD: the per-row bound in those units.
MAX_V = MAX_VALUE_USD / 1000.0

#: How BACI writes an unknown quantity: ``NA`` right-aligned in the 13-character field.
PADDED_NA = " " * 11 + "NA"


def read_csv_sql(path: str, delim: str, compression: str, rejects: bool) -> str:
    """The ``read_csv`` call: the fast, strict one or the one that keeps rejects.

    The fast reader parses ``q`` as a number itself (BACI pads it with spaces, which the
    parser accepts) with ``""``, ``NA`` and BACI's padded ``NA`` as nulls; any cell it
    cannot parse stops it. Collecting rejects costs time on every row, so only a file
    that fails the fast reader is read again with ``q`` as text and the reject table on.
    """
    types = {**CSV_TYPES, "q": "VARCHAR" if rejects else "DOUBLE"}
    columns = "{" + ", ".join(f"{sql_str(c)}: {sql_str(t)}" for c, t in types.items()) + "}"
    if rejects:
        tail = "nullstr = '', store_rejects = true, rejects_table = 'rej_errors', rejects_scan = 'rej_scans'"
    else:
        tail = f"nullstr = ['', 'NA', {sql_str(PADDED_NA)}]"
    return (
        f"read_csv({sql_str(path)}, header = true, delim = {sql_str(delim)}, quote = '\"', "
        f"escape = '\"', auto_detect = false, columns = {columns}, "
        f"compression = {sql_str(compression)}, {tail})"
    )


def valid_sql(q_is_text: bool) -> str:
    """The row is valid (see the module doc); ``qd`` is the quantity as a number."""
    if q_is_text:
        # TRY_CAST gave NULL: fine for "" and "NA" (padded or not), not for other text.
        q_ok = f"(qd >= 0 AND qd <= {MAX_QTY_T!r}) OR q IS NULL OR (qd IS NULL AND trim(q) IN ('', 'NA'))"
    else:
        q_ok = f"qd IS NULL OR (qd >= 0 AND qd <= {MAX_QTY_T!r})"
    # NaN compares greater than every number in DuckDB, so the upper bounds refuse it too.
    return (
        f"coalesce(v >= 0 AND v <= {MAX_V!r} AND t IS NOT NULL "
        "AND i BETWEEN 0 AND 999 AND j BETWEEN 0 AND 999 AND k BETWEEN 0 AND 999999 "
        f"AND ({q_ok}), false)"
    )


def group_sql(
    source: str,
    focus_codes: list[int],
    us_codes: list[int],
    years: frozenset[int] | None,
    distinct: bool,
    count_distinct: bool,
    q_is_text: bool,
) -> str:
    """The one-pass query: sums by year x exporter x product x jj (see the module doc).

    ``jj`` is -1 for invalid rows, -2 for rows outside the year filter, the importer
    code for rows the bilateral outputs need, NULL otherwise.
    """
    year_case = f"WHEN t NOT IN {sql_list(sorted(years))} THEN -2 " if years is not None else ""
    rows = f"(SELECT DISTINCT * FROM {source})" if distinct else source
    nd = ", count(DISTINCT hash(j, v, q)) AS nd" if count_distinct else ""
    jcol = ", j, q" if count_distinct else ""
    # q stays in the projection as text: DuckDB would otherwise push the TRY_CAST into
    # the CSV reader as a strict cast.
    qd = "TRY_CAST(q AS DOUBLE)" if q_is_text else "q"
    return (
        "CREATE OR REPLACE TEMP TABLE agg AS "
        f"WITH r AS (SELECT t, i, j, k, v, q, {qd} AS qd FROM {rows}), "
        f"s AS (SELECT t, i, k, v, qd{jcol}, CASE WHEN NOT {valid_sql(q_is_text)} THEN -1 {year_case}"
        f"WHEN j IN {sql_list(focus_codes)} OR i IN {sql_list(us_codes)} THEN j END AS jj FROM r) "
        f"SELECT t, i, k, jj, sum(v) AS v, sum(qd) AS q, count(qd) AS qn, count(*) AS n{nd} "
        "FROM s GROUP BY t, i, k, jj"
    )


HS6_SQL = "lpad(k::VARCHAR, 6, '0')"
QTY_SQL = "CASE WHEN sum(qn) > 0 THEN sum(q) END"
IN_FORCE_SQL = hs_in_force_sql("t")
#: The text columns of the outputs are ENUMs (small integers to group, sort and write;
#: Parquet stores them as dictionaries): every HS revision label, in sorted order.
HS_VERSION_ENUM = sql_enum([f"HS{r}" for r in sorted(HS_REVISIONS)])
#: Work tables of the outputs: country codes -> ISO3 and products -> HS6, as ENUMs.
ISO3_TABLE = "baci_iso3"
HS6_TABLE = "baci_hs6"


def enum_sql(label: str) -> str:
    """A constant text column as a one-value ENUM."""
    return f"{sql_str(label)}::{sql_enum([label])}"


#: The products of the valid rows (a few thousand per file).
PRODUCTS_SQL = "SELECT DISTINCT k FROM agg WHERE coalesce(jj, 0) >= 0 ORDER BY k"


def lookup_tables_sql(iso3: list[str], products: list[int]) -> list[str]:
    """The statements that build the lookup tables: ``codes`` -> ISO3, ``k`` -> HS6.

    ``iso3`` is the sorted list of the ISO3 codes in ``codes``, ``products`` the result
    of :data:`PRODUCTS_SQL` (sorted numbers, so their 6-digit text is sorted too).
    """
    hs6 = [f"{k:06d}" for k in products]
    return [
        f"CREATE OR REPLACE TEMP TABLE {ISO3_TABLE} AS "
        f"SELECT code, iso3::{sql_enum(iso3)} AS iso3 FROM codes WHERE iso3 IS NOT NULL",
        f"CREATE OR REPLACE TEMP TABLE {HS6_TABLE} AS "
        f"SELECT k, {HS6_SQL}::{sql_enum(hs6)} AS hs6 FROM ({PRODUCTS_SQL})",
    ]


def exports_sql(version_sql: str, source: str) -> str:
    """The query of exports to the world by exporter ISO3 (codes of one country summed:
    58 and 56 -> BEL), in the contract's columns (unsorted: the part is sorted as written)."""
    return (
        f"SELECT t::BIGINT AS year, c.iso3 AS exporter_iso3, h.hs6, 6::BIGINT AS hs_level, "
        f"({version_sql})::{HS_VERSION_ENUM} AS hs_version, sum(v) * 1000.0 AS value_usd, {QTY_SQL} AS qty, "
        f"{enum_sql(source)} AS source, {enum_sql('value')} AS value_kind, NULL::BIGINT AS rank "
        f"FROM agg JOIN {ISO3_TABLE} c ON agg.i = c.code JOIN {HS6_TABLE} h ON agg.k = h.k "
        "WHERE coalesce(jj, 0) >= 0 GROUP BY t, c.iso3, h.hs6"
    )


def bilateral_sql(version_sql: str, source: str, focus: tuple[str, ...]) -> str:
    """The query of flows to focus importers and U.S. exports to every importer."""
    return (
        f"SELECT t::BIGINT AS year, ce.iso3 AS exporter_iso3, ci.iso3 AS importer_iso3, h.hs6, "
        f"({version_sql})::{HS_VERSION_ENUM} AS hs_version, sum(v) * 1000.0 AS value_usd, {QTY_SQL} AS qty, "
        f"{enum_sql(source)} AS source FROM agg "
        f"JOIN {ISO3_TABLE} ce ON agg.i = ce.code JOIN {ISO3_TABLE} ci ON agg.jj = ci.code "
        f"JOIN {HS6_TABLE} h ON agg.k = h.k "
        f"WHERE jj >= 0 AND (ci.iso3::VARCHAR IN {sql_list(list(focus))} OR ce.iso3::VARCHAR = 'USA') "
        "GROUP BY t, ce.iso3, ci.iso3, h.hs6"
    )


UM_EXPORTERS = (
    "SELECT i AS code, sum(n)::BIGINT AS rows, sum(v) * 1000.0 AS value_usd FROM agg "
    "LEFT JOIN codes c ON agg.i = c.code WHERE coalesce(jj, 0) >= 0 AND c.iso3 IS NULL GROUP BY i ORDER BY i"
)
# U.S. exports to a code that is not a country (an aggregate, an unknown code).
UM_IMPORTERS = (
    "SELECT jj AS code, sum(n)::BIGINT AS rows, sum(v) * 1000.0 AS value_usd FROM agg "
    "JOIN codes ce ON agg.i = ce.code LEFT JOIN codes ci ON agg.jj = ci.code "
    "WHERE jj >= 0 AND ce.iso3 = 'USA' AND ci.iso3 IS NULL GROUP BY jj ORDER BY jj"
)
