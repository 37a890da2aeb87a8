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
baci, comtrade, generic, hs4
    Readers (BACI CSV/zip/extracts; UN Comtrade; long tables with a column map; HS4).
ingest
    ``ingest_trade(paths, out_dir)``: the ``cclreview ingest-trade`` stage.
hsrev, evidence
    HS revision conversion and supply-side evidence.

Nothing is imported here so that ``import cclreview.trade.countries`` stays light.
"""
