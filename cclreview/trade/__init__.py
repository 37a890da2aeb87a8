"""Trade stage: foreign-availability evidence from trade data.

Modules
-------
countries
    :class:`~cclreview.trade.countries.CountryResolver`: names and codes -> ISO3.
groups
    EAR Country Groups and regime memberships (``load_country_groups``, ``load_regimes``).
registry
    Reader registry (``Reader``, ``register``, ``detect_reader``): how files are read.
tidy
    The exporter-level table every reader returns and shared validation helpers.
baci, baci_sql, baci_rejects, baci_extracts
    The BACI engine on DuckDB (yearly CSV, release zip) and the mirror's extracts.
comtrade, generic, longtable, duckload
    UN Comtrade and long tables with a column map, read and checked with DuckDB.
hs4
    Heading-level (HS4) and top-N tables.
ingest, cache, parts, duck
    ``ingest_trade(paths, out_dir)`` (the ``cclreview ingest-trade`` stage), its cache
    of per-file results, the Parquet parts and the DuckDB connection.
hsrev, evidence
    HS revision conversion and supply-side evidence.

Nothing is imported here so that ``import cclreview.trade.countries`` stays light.
"""
