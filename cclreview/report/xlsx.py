"""Low-level writing of the review workbook with xlsxwriter (public API only).

:func:`open_workbook` creates the workbook with every automatic conversion off, so text
is always written as text: never a formula, a URL or a number. :class:`Sheet` writes
single values safely (:mod:`cclreview.report.safe`: clean text, text that could be read
as a formula stored as a quoted string) with shared, cached formats (:class:`Formats`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xlsxwriter import Workbook
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from cclreview.report.safe import clean_text, needs_text_guard, normalise_value
from cclreview.report.styles import Style

log = logging.getLogger(__name__)

#: Float values are rounded to this many decimals so that float noise never shows.
FLOAT_DECIMALS = 6

#: Number format of date-time cells (the one openpyxl gives them).
DATETIME_FORMAT = "yyyy-mm-dd h:mm:ss"

#: Workbook options: text stays text (the formula-injection guarantee), rows go to disk
#: as they are written (every sheet is written top to bottom), no NaN reaches a cell, and
#: date-times are written as their local time.
WORKBOOK_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "constant_memory": True,
    "nan_inf_to_errors": False,
    "remove_timezone": True,
}

#: Excel's limits on links: characters of a link, links in a sheet.
_MAX_URL = 2080
_MAX_LINKS = 65530

#: Pixels per unit of column width (Calibri 11, the workbook's default font).
_PIXELS_PER_WIDTH = 7


def open_workbook(path: Path, run_date: dt.date, scratch: Path) -> Workbook:
    """Create the workbook at ``path`` (written by :func:`close_workbook`).

    Parameters
    ----------
    path
        The file to write (a temp file beside the target).
    run_date
        Fixes the document dates: the same inputs give the same workbook.
    scratch
        Folder for xlsxwriter's temp files (removed by the caller, also on failure).
    """
    wb = Workbook(str(path), {**WORKBOOK_OPTIONS, "tmpdir": str(scratch)})
    wb.set_properties(
        {
            "title": "CCL decontrol review",
            "author": "cclreview",
            "created": dt.datetime.combine(run_date, dt.time()),
        }
    )
    return wb


def close_workbook(wb: Workbook) -> None:
    """Write the workbook file.

    Raises
    ------
    OSError
        The file cannot be written (xlsxwriter's wrapper removed, so that the caller
        names the output and the fix, e.g. a full disk).
    """
    try:
        wb.close()
    except FileCreateError as exc:
        cause = exc.args[0] if exc.args else None
        if isinstance(cause, OSError):
            raise cause from exc
        raise


class Formats:
    """One shared xlsxwriter format per distinct style of a workbook."""

    def __init__(self, wb: Workbook) -> None:
        self.wb = wb
        self._cache: dict[tuple[Any, ...], Format] = {}

    def get(self, style: Style | None, quoted: bool = False) -> Format | None:
        """The format of ``style`` (None: the default format), with a quote prefix if ``quoted``.

        A quoted format is what Excel stores when a user types a leading apostrophe: the
        cell shows its text as typed and is never evaluated.
        """
        if not style and not quoted:
            return None
        props = dict(style or {})
        if quoted:
            props["quote_prefix"] = True
        key = tuple(sorted(props.items()))
        fmt = self._cache.get(key)
        if fmt is None:
            fmt = self.wb.add_format(props)
            self._cache[key] = fmt
        return fmt


def url_of(target: str) -> str:
    """xlsxwriter's form of a link: web links as they are, ``#Sheet!A1`` inside the
    workbook, anything else a file path relative to the workbook."""
    if "://" in target or target.startswith("mailto:"):
        return target
    if target.startswith("#"):
        return "internal:" + target[1:]
    # Relative file link; Excel (and so xlsxwriter) stores it with backslashes.
    return "external:" + target


class Sheet:
    """A worksheet with its workbook's formats; rows must be written top to bottom."""

    def __init__(self, wb: Workbook, formats: Formats, title: str) -> None:
        self.ws: Worksheet = wb.add_worksheet(title)
        self.title = title
        self.formats = formats
        self._links = 0

    def put(
        self, row: int, col: int, value: Any, style: Style | None = None, link: str | None = None
    ) -> None:
        """Write one value safely (0-based ``row``/``col``) with ``style``.

        Missing values write nothing (a styled empty cell when ``style`` is given);
        floats are rounded to :data:`FLOAT_DECIMALS`; text is cleaned, and text that
        could be read as a formula gets the quoted format. A number format in ``style``
        applies to numbers only.
        """
        value = normalise_value(value)
        if isinstance(value, float):
            value = round(value, FLOAT_DECIMALS)
        elif isinstance(value, str):
            value = clean_text(value)
            if "num_format" in (style or {}):
                style = {k: v for k, v in (style or {}).items() if k != "num_format"}
        self.write_value(row, col, value, self.formats.get(style), self.formats.get(style, quoted=True), link)

    def write_value(
        self,
        row: int,
        col: int,
        value: Any,
        fmt: Format | None,
        quoted: Format | None,
        link: str | None = None,
    ) -> None:
        """Write a value already normalised, rounded and cleaned (see :meth:`put`).

        ``fmt`` is the cell's format, ``quoted`` the same with a quote prefix (used for
        text that could be read as a formula); ``link`` a link target (text only).
        """
        ws = self.ws
        kind = type(value)
        if value is None or value == "":  # empty text is an empty cell
            if fmt is not None:
                ws.write_blank(row, col, None, fmt)
        elif kind is str:
            cell_fmt = quoted if needs_text_guard(value) else fmt
            if link:
                self._link(row, col, value, link, cell_fmt)
            else:
                ws.write_string(row, col, value, cell_fmt)
        elif kind is bool:
            ws.write_boolean(row, col, value, fmt)
        elif kind is float or kind is int:
            ws.write_number(row, col, value, fmt)
        elif isinstance(value, dt.datetime | dt.date):
            ws.write_datetime(row, col, value, self.formats.get({"num_format": DATETIME_FORMAT}))
        else:  # normalise_value leaves nothing else; kept so no value is ever dropped
            self.write_value(row, col, str(value), fmt, quoted, link)

    def _link(self, row: int, col: int, text: str, target: str, fmt: Format | None) -> None:
        # Excel's limits: 2,079 characters a link, 65,530 links a sheet. Beyond them the
        # text is written without its link (and said), never dropped.
        if len(target) < _MAX_URL and self._links < _MAX_LINKS:
            self._links += 1
            self.ws.write_url(row, col, url_of(target), fmt, string=text)
            return
        log.warning("sheet %s: link of %r not written (over Excel's limits)", self.title, text)
        self.ws.write_string(row, col, text, fmt)

    def set_widths(self, widths: Sequence[float]) -> None:
        """Column widths, in Excel's stored units (7 pixels each in Calibri 11)."""
        for i, width in enumerate(widths):
            self.ws.set_column_pixels(i, i, round(width * _PIXELS_PER_WIDTH))

    def page_setup(self, *, landscape: bool = True, pages_wide: int = 1) -> None:
        """Print/PDF layout: ``pages_wide`` pages wide (0 = full size), any length, no gridlines."""
        if landscape:
            self.ws.set_landscape()
        else:
            self.ws.set_portrait()
        self.ws.set_paper(1)  # US Letter: the readers are U.S. staff
        if pages_wide:
            self.ws.fit_to_pages(pages_wide, 0)
        self.ws.hide_gridlines(1)  # printed without gridlines, shown on screen
