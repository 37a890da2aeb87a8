"""Per-product foreign-availability indicators from exporter-level trade totals.

:func:`~cclreview.indicators.compute_availability` turns ``exports.parquet`` (one row per year x exporter x
HS code x source, exports to the world) into ``availability_hs.parquet``: one row per
``hs_code, hs_level, year``, its indicators taken from ONE source (never a sum across
sources).

Formulas (per product and year, within the chosen source; ``v_i`` = exports of
exporter ``i`` in USD, ``W`` = world exports, ``US`` = exports of the USA):

* ``world_exports_usd`` ``W`` = sum of ``v_i`` over all exporters; for truncated
  tables the published world total (the ``WLD``/``world_total`` row), which includes
  the exporters listed without a value.
* ``us_exports_usd`` = ``v_USA`` (0 when the USA is absent; in a truncated table a
  U.S. exporter ranked below the top N counts as 0, so non-U.S. totals are upper bounds).
* ``non_us_exports_usd`` ``NU = W - US``; ``non_us_share = NU / W``.
* ``n_non_us_suppliers`` = number of non-U.S. exporters with ``v_i >= T`` where
  ``T = max(min_share * NU, min_value_usd)`` (defaults 1 % and USD 1 million): a
  supplier must be both a meaningful share of non-U.S. supply and a meaningful value.
* ``hhi_non_us`` = sum over non-U.S. exporters of ``(v_i / NU)^2`` (0-1 scale; 1 = a
  single supplier; multiply by 10,000 for the antitrust scale).
* ``china_exports_usd`` = ``v_CHN``; ``china_share = v_CHN / W`` (share of world
  exports: availability inside China).
* ``share_outside_regime`` = sum of ``v_i`` of non-U.S. exporters that are not
  Wassenaar participants / ``NU``; ``share_outside_a1`` the same for EAR Country Group
  A:1; ``share_outside_mtcr``, ``share_outside_nsg``, ``share_outside_ag`` for the other
  regimes (membership from ``cclreview/reference/regimes.csv`` and
  ``country_groups.csv``), so scoring can pick the regime relevant to an ECCN.
* ``top_suppliers`` = the five largest non-U.S. exporters with their share of ``W``,
  ``"CHN 41%; DEU 12%; ..."``; ``top_suppliers_list`` their ISO3 codes.
* ``unit_value_ratio`` = non-U.S. unit value (sum of ``v_i`` over sum of ``qty_i``,
  exporters with ``qty > 0``) divided by the U.S. ``v / qty``; empty when either
  side has less than ``min_quantity_tonnes`` (default 10 t, weights
  ``suppliers.min_quantity_tonnes``): a few tonnes cannot make a ratio.
  ``unit_value_qty_tonnes`` = the smaller of the two quantities. A crude
  comparable-quality proxy (> 1: foreign goods dearer per tonne).
* ``entrepot_share`` = exports of HKG, SGP, NLD, BEL, ARE / ``W`` (re-exporters,
  flagged rather than discounted).
* ``n_exporters`` = exporters with a value or a rank (truncated tables: the larger of
  that and the published exporter count).
* ``years_covered`` = number of years the chosen source has for this code;
  ``non_us_share_trend`` = least-squares slope of ``non_us_share`` per year over those
  years (empty with one year).

Truncated (top-N) tables give values for the top N exporters only; the ``m`` others
have a rank, and each of them exported at most ``vN`` (the smallest listed value) and
together ``R = W - sum(listed)``. What stays valid: ``W``, the listed values and shares,
``n_exporters``. Bounds (``is_bounded = True``):

* ``n_non_us_suppliers_lo = k + max(0, ceil((R' - m' T) / (vN - T)))`` when
  ``vN > T`` (else ``k``), ``_hi = k + min(m', floor(R' / T))`` when ``vN >= T`` (else
  ``k``); ``k`` listed non-U.S. suppliers above ``T``, ``m'`` unlisted non-U.S.
  exporters, ``R'`` their total (``R`` minus at most ``vN`` if the USA is unlisted).
* ``hhi_non_us_lo`` spreads ``R'`` evenly over the ``m'`` exporters
  (``+ R'^2 / m'``); ``hhi_non_us_hi`` piles it up in blocks of ``vN``
  (``+ q vN^2 + r^2``); both divided by ``NU^2`` with the listed part.
* Point values are the cautious ends: ``n_non_us_suppliers = _lo``,
  ``hhi_non_us = _hi`` (fewest suppliers, most concentration).
* China: exact if listed; if ranked below the top N, ``china_share`` is empty and
  ``china_share_lo = 0``, ``china_share_hi = min(vN, R) / W``.
* Shares outside regimes count listed exporters only (lower bounds).
For untruncated rows every ``_lo``/``_hi`` equals the point value.

Source precedence (:data:`DEFAULT_PRECEDENCE`, configurable): BACI HS6 > Comtrade HS6 >
full HS4 table (``otstats``) > truncated HS4 (``oec_baci_top40``); a source matches by
prefix of its ``source`` label, unknown sources come last. When one source arrives in
several files (the same BACI flows as Parquet and CSV, told apart by
``source_file``), each file is a candidate and one is chosen (the one with more
exporters, then by name): files are never added up. A source file that covers fewer
than ``min_source_exporters`` (default 20) distinct exporters in a year over all its
products is a partial extract (``partial_source``; e.g. a two-exporter BACI sample): it
ranks after every complete source and :func:`indicators_for_links` ignores it, since
"two exporters" there says nothing about world supply. ``source_exporters`` records
the count. Rows that repeat an exporter within one source label and file (two files
with the same label and no ``source_file``) are reduced to one (the largest), with a
warning. Overlapping candidates whose world, U.S. or China totals differ by more than
``tolerance`` (default 5 %) go to ``source_conflicts.csv``.

Coverage warning: ``missing_major_exporters`` lists exporters that another source
shows among the top 5 for the same product (headings compared in HS2022 through the
concordance) but that have no row in the chosen source's data for this product and year
(e.g. Taiwan, absent from the 2017 Open Trade Statistics table, present in OEC 2023).
Absent there does not mean no supply. Partial sources do not define "major".

HS6 codes are converted to one revision (HS2022 by default) with
:mod:`cclreview.trade.hsrev` before anything is computed; HS4 headings keep their
revision (``hs_version``) and are matched to HS2022 codes by
:func:`indicators_for_links`.

Modules, in the order the stage runs them: :mod:`~cclreview.indicators.prepare`
(validation, categoricals, HS6 conversion) and :mod:`~cclreview.indicators.headings`
(HS4 conversion or refusal); :mod:`~cclreview.indicators.kernels` (per-source
indicators) with :mod:`~cclreview.indicators.bounds` (truncated tables);
:mod:`~cclreview.indicators.compute` (choosing one source per product and year), with
:mod:`~cclreview.indicators.trend`, :mod:`~cclreview.indicators.conflicts` and
:mod:`~cclreview.indicators.coverage`; :mod:`~cclreview.indicators.stage` (files in and
out); :mod:`~cclreview.indicators.links` (the row each ECCN-HS link uses, for scoring).
Names, defaults and columns: :mod:`~cclreview.indicators.schema`.
"""

from __future__ import annotations

from cclreview.indicators.compute import compute_availability
from cclreview.indicators.links import indicators_for_links
from cclreview.indicators.schema import (
    CONFLICT_COLUMNS,
    DEFAULT_PRECEDENCE,
    OUTPUT_COLUMNS,
    AvailabilityResult,
    source_rank,
)
from cclreview.indicators.stage import attach_evidence, run_availability

__all__ = [
    "CONFLICT_COLUMNS",
    "DEFAULT_PRECEDENCE",
    "OUTPUT_COLUMNS",
    "AvailabilityResult",
    "attach_evidence",
    "compute_availability",
    "indicators_for_links",
    "run_availability",
    "source_rank",
]
