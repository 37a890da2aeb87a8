"""The China lens: supply inside China, what a decontrol changes for China, the U.S. stake.

Modules
-------
lists
    Diversion lists (Common High Priority List, Part 746 HS lists) read from ``data/raw``.
indicators
    Per HS code and year: China's imports, the U.S. share of them, U.S. exports
    (``china_hs.parquet``; bilateral where ``flows_focus``/``us_exports`` exist).
eccn
    Aggregation to the ECCN by link confidence x specificity.
effect
    ``china_effect``: what removing the entry would change for China, in plain words.
relief
    The "China licence relief" ranking (weights in ``[china_relief]``).
stage
    The small hooks called by the availability and score stages.
"""
