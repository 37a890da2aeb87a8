"""Converting HS codes between revisions (HS1992 ... HS2022).

The package re-exports its public names (``from cclreview.trade import hsrev``,
``hsrev.Concordance``):

* :mod:`~cclreview.trade.hsrev.revisions`: the revisions, their names, code padding;
* :mod:`~cclreview.trade.hsrev.concordance`: the UN Comtrade concordance (6-digit
  conversion, HS4 heading maps);
* :mod:`~cclreview.trade.hsrev.weights`: the Growth Lab trade-weighted conversion.
"""

from __future__ import annotations

from cclreview.trade.hsrev.concordance import (
    CONCORDANCE_FILE,
    RESIDUAL_MIN_SOURCES,
    Concordance,
    ConversionReport,
    default_concordance_path,
    load_concordance,
)
from cclreview.trade.hsrev.revisions import DEFAULT_TARGET, REVISIONS, normalise_revision, pad_code
from cclreview.trade.hsrev.weights import (
    ATLAS_MIN_WEIGHT,
    ATLAS_NAMES,
    ATLAS_PATTERN,
    TradeWeights,
    load_trade_weights,
)

__all__ = [
    "ATLAS_MIN_WEIGHT",
    "ATLAS_NAMES",
    "ATLAS_PATTERN",
    "CONCORDANCE_FILE",
    "DEFAULT_TARGET",
    "RESIDUAL_MIN_SOURCES",
    "REVISIONS",
    "Concordance",
    "ConversionReport",
    "TradeWeights",
    "default_concordance_path",
    "load_concordance",
    "load_trade_weights",
    "normalise_revision",
    "pad_code",
]
