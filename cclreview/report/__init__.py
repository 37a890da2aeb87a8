"""The review workbook: a ranked, annotated Excel workbook for policy staff.

Public API: :func:`build_report` (write the workbook), :func:`read_previous` (reviewer
annotations of an earlier workbook), :func:`ecfr_url` (link of an ECCN).
"""

from cclreview.report.carryover import PreviousWorkbook, read_previous
from cclreview.report.ecfr import ecfr_url
from cclreview.report.workbook import ReportResult, build_report, resolve_run_date

__all__ = [
    "PreviousWorkbook",
    "ReportResult",
    "build_report",
    "ecfr_url",
    "read_previous",
    "resolve_run_date",
]
