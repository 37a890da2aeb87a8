"""Executable contracts of the processed tables: names, columns, checks, tiers, stages.

One pandera :class:`~pandera.api.pandas.model.DataFrameModel` per table in
``data/processed/`` states the columns every consumer may rely on, their dtypes and the
checks their values pass. Models allow extra columns (a stage may add columns; it never
renames or drops one). Tables are validated lazily: every failure is collected and the
:class:`~cclreview.errors.ValidationError` holds a one-line summary followed by a table
of the failures.

The package re-exports its public names, so callers write ``from cclreview import
contracts`` and ``contracts.read(name, folder)``:

* :mod:`~cclreview.contracts.models`: file names, tier and stage order, the models and
  the registries (declarative);
* :mod:`~cclreview.contracts.validation`: validate, read, write, failure tables;
* :mod:`~cclreview.contracts.docs`: the Markdown that ``docs/CONTRACTS.md`` embeds (a
  test keeps them equal: regenerate with ``python -m cclreview.contracts --write-docs``).

Importing this package loads pandera (slow): command-line code imports it lazily.
"""

from __future__ import annotations

from cclreview.contracts.docs import (
    DOCS_BEGIN,
    DOCS_END,
    contracts_markdown,
    render_docs,
)
from cclreview.contracts.models import (
    AVAILABILITY_HS,
    CCL_ENTRIES,
    CCL_PARAGRAPHS,
    CHINA_HS,
    DIVERSION_HS,
    ECCN_CONTROLS,
    ECCN_HS_INDICATORS,
    ECCN_HS_LINK_CANDIDATES,
    ECCN_HS_LINKS,
    ECCN_LISTS,
    EVIDENCE,
    EXPORTS,
    FILES,
    FLOWS_FOCUS,
    MODELS,
    PRODUCER,
    REJECTED_ROWS,
    SCORES,
    SENSITIVITY,
    SOURCE_CONFLICTS,
    STAGE_ORDER,
    TIER_ORDER,
    UNLINKED_ECCNS,
    UNMATCHED_COUNTRIES,
    US_EXPORTS,
    WEIGHTS_COMPARISON,
    AvailabilityHs,
    CclEntries,
    CclParagraphs,
    ChinaHs,
    DiversionHs,
    EccnControls,
    EccnHsIndicators,
    EccnHsLinkCandidates,
    EccnHsLinks,
    EccnLists,
    Evidence,
    Exports,
    FlowsFocus,
    Scores,
    Sensitivity,
    Stage,
    UsExports,
)
from cclreview.contracts.validation import (
    empty,
    failure_message,
    failure_table,
    failures,
    read,
    validate,
    validate_file,
    write,
)

__all__ = [
    "AVAILABILITY_HS",
    "CCL_ENTRIES",
    "CCL_PARAGRAPHS",
    "CHINA_HS",
    "DIVERSION_HS",
    "DOCS_BEGIN",
    "DOCS_END",
    "ECCN_CONTROLS",
    "ECCN_HS_INDICATORS",
    "ECCN_HS_LINKS",
    "ECCN_HS_LINK_CANDIDATES",
    "ECCN_LISTS",
    "EVIDENCE",
    "EXPORTS",
    "FILES",
    "FLOWS_FOCUS",
    "MODELS",
    "PRODUCER",
    "REJECTED_ROWS",
    "SCORES",
    "SENSITIVITY",
    "SOURCE_CONFLICTS",
    "STAGE_ORDER",
    "TIER_ORDER",
    "UNLINKED_ECCNS",
    "UNMATCHED_COUNTRIES",
    "US_EXPORTS",
    "WEIGHTS_COMPARISON",
    "AvailabilityHs",
    "CclEntries",
    "CclParagraphs",
    "ChinaHs",
    "DiversionHs",
    "EccnControls",
    "EccnHsIndicators",
    "EccnHsLinkCandidates",
    "EccnHsLinks",
    "EccnLists",
    "Evidence",
    "Exports",
    "FlowsFocus",
    "Scores",
    "Sensitivity",
    "Stage",
    "UsExports",
    "contracts_markdown",
    "empty",
    "failure_message",
    "failure_table",
    "failures",
    "read",
    "render_docs",
    "validate",
    "validate_file",
    "write",
]
