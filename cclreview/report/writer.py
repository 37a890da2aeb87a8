"""Low-level writing of formatted rows into write-only worksheets.

openpyxl's write-only mode streams rows to disk (fast, little memory) but every cell
that needs a style, a hyperlink or a text guard must be a :class:`Cell` built before it
is appended. :class:`CellFactory` builds them with shared style arrays, and
:func:`write_table` writes a header plus a DataFrame according to :class:`Column` specs.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.xml.functions import fromstring

from cclreview.report import styles
from cclreview.report.safe import MAX_CELL_CHARS, clean_text, has_illegal, needs_text_guard, normalise_value

log = logging.getLogger(__name__)

#: Float values are rounded to this many decimals so that float noise never shows.
FLOAT_DECIMALS = 6


@dataclass(frozen=True)
class Column:
    """One column of a table sheet.

    Attributes
    ----------
    header
        Header text shown in row 1 (and listed in the Data dictionary).
    key
        Column of the source DataFrame; missing columns are written empty.
    description
        Plain-words meaning, copied to the Data dictionary sheet.
    kind
        ``text``, ``wrap``, ``link``, ``int``, ``rank``, ``score``, ``pct``, ``usd``,
        ``float``, ``ratio``, ``num`` (3 decimals, no format), ``bool`` (written as
        yes/no) or ``reviewer``.
    width
        Column width in characters.
    """

    header: str
    key: str
    description: str
    kind: str = "text"
    width: float = 14.0


@dataclass(frozen=True)
class _StyleSpec:
    font: Font | None = None
    fill: PatternFill | None = None
    number_format: str | None = None
    alignment: Alignment | None = None


def _fast_values_to_row(self: WriteOnlyWorksheet, values: Iterable[Any], row_idx: int) -> Iterator[Cell]:
    """Replacement of openpyxl's ``WriteOnlyWorksheet._values_to_row``.

    openpyxl first tries to store a prepared :class:`Cell` *as a value*, which fails
    with an exception whose message formats the cell: that path cost more than half of
    the writing time of big sheets. Same behaviour, prepared cells checked first.
    """
    spare = Cell(self, row=1, column=1)
    for col_idx, value in enumerate(values, 1):
        if value is None:
            continue
        if isinstance(value, Cell):
            cell = value
        else:
            spare.value = value
            cell = spare
        cell.column = col_idx
        cell.row = row_idx
        if cell.hyperlink is not None:
            cell.hyperlink.ref = cell.coordinate
        yield cell
        if cell is spare and (spare.has_style or spare.hyperlink):
            spare = Cell(self, row=1, column=1)


def speed_up(ws: WriteOnlyWorksheet) -> None:
    """Install :func:`_fast_values_to_row` on ``ws`` (kept off if openpyxl changed)."""
    if hasattr(ws, "_values_to_row"):
        ws._values_to_row = types.MethodType(_fast_values_to_row, ws)


class _Chunk:
    """Several rows of sheet XML, passed through ``ws.append`` in one go."""

    __slots__ = ("xml",)

    def __init__(self, xml: str) -> None:
        self.xml = xml


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _install_fast_rows(ws: WriteOnlyWorksheet) -> bool:
    """Let ``ws.append([_Chunk])`` write ready-made row XML into the sheet stream.

    openpyxl builds and serialises one :class:`Cell` per value, which dominates the
    time of big sheets (the Evidence sheet: ~300,000 cells). :func:`_rows_xml` builds
    the same ``<row>``/``<c>`` markup as plain strings, parsed here in C and written
    by the sheet's own stream. Returns False (and changes nothing) if openpyxl's
    internals are not as expected, in which case the ordinary path is used.
    """
    if not (hasattr(ws, "_get_writer") and hasattr(ws, "_values_to_row")):
        return False
    ws._get_writer()
    writer = getattr(ws, "_writer", None)
    if writer is None or not hasattr(writer, "write_row"):
        return False

    def passthrough(self: WriteOnlyWorksheet, values: Any, row_idx: int) -> Any:
        return values

    def write_rows(xf: Any, row: Sequence[Any], row_idx: int) -> None:
        for chunk in row:
            for el in fromstring(f"<rows>{chunk.xml}</rows>"):
                xf.write(el)

    ws._values_to_row = types.MethodType(passthrough, ws)
    writer.write_row = write_rows
    return True


def _cell_xml(value: Any, ref: str, plain: str, quoted: str) -> str:
    """XML of one cell (``ref`` like ``"B7"``); empty string for a missing value."""
    if value is None:
        return ""
    if type(value) is str:
        sid = quoted if needs_text_guard(value) else plain
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f'<c r="{ref}"{sid} t="inlineStr"><is><t{space}>{_escape(value)}</t></is></c>'
    if type(value) is bool:
        return f'<c r="{ref}"{plain} t="b"><v>{int(value)}</v></c>'
    return f'<c r="{ref}"{plain} t="n"><v>{value:.16g}</v></c>'


def _rows_xml(
    columns_values: list[list[Any]], style_ids: list[tuple[str, str]], first_row: int, start: int, stop: int
) -> str:
    """Sheet XML of data rows ``start:stop`` (row numbers from ``first_row``).

    ``style_ids[j]`` holds the ``' s="n"'`` attribute text of column ``j``, plain and
    quoted. Text that could be read as a formula gets the quoted style, as in
    :meth:`CellFactory.cell`: it is always an inline string, never a formula.
    Built column by column (list comprehensions), then joined row by row.
    """
    numbers = [str(first_row + i - start) for i in range(start, stop)]
    columns_xml = []
    for j, values in enumerate(columns_values):
        letter = get_column_letter(j + 1)
        plain, quoted = style_ids[j]
        columns_xml.append(
            [
                _cell_xml(values[i], letter + numbers[k], plain, quoted)
                for k, i in enumerate(range(start, stop))
            ]
        )
    return "".join(
        f'<row r="{numbers[k]}">' + "".join(col[k] for col in columns_xml) + "</row>"
        for k in range(stop - start)
    )


#: Rows per chunk of the fast path (bounds the memory of one parsed chunk).
_CHUNK_ROWS = 2000


class CellFactory:
    """Build write-only cells with cached, shared styles for one worksheet."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.ws = ws
        self._protos: dict[tuple[Any, ...], Any] = {}
        self._keep: list[_StyleSpec] = []
        speed_up(ws)

    def _style_array(self, spec: _StyleSpec, quoted: bool) -> Any:
        # Style objects are shared module constants: their ids are cheap, stable keys
        # (hashing openpyxl style objects is slow on big sheets).
        key = (id(spec.font), id(spec.fill), spec.number_format, id(spec.alignment), quoted)
        proto = self._protos.get(key)
        if proto is None:
            proto = Cell(self.ws, row=1, column=1)
            if spec.font is not None:
                proto.font = spec.font
            if spec.fill is not None:
                proto.fill = spec.fill
            if spec.number_format is not None:
                proto.number_format = spec.number_format
            if spec.alignment is not None:
                proto.alignment = spec.alignment
            if quoted:
                proto.quotePrefix = True
            # Keep the style objects alive so that their ids are never reused.
            self._protos[key] = proto
            self._keep.append(spec)
        return proto._style

    def style_array(
        self,
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
        number_format: str | None = None,
        alignment: Alignment | None = None,
    ) -> Any:
        """Return the shared style array of a style (for cells built directly)."""
        return self._style_array(_StyleSpec(font, fill, number_format, alignment), False)

    def style_attr(self, style_array: Any | None, quoted: bool = False) -> str:
        """``' s="n"'``: workbook style index of ``style_array`` (+ quotePrefix), or ``""``."""
        arr = StyleArray(style_array) if style_array is not None else StyleArray()
        if quoted:
            arr.quotePrefix = 1
        sid = self.ws.parent._cell_styles.add(arr)
        return f' s="{sid}"' if sid else ""

    def guarded(self, text: str, style_array: Any = None) -> Cell:
        """Return a quoted string cell for ``text`` (formula-like), keeping the fill/alignment."""
        c = Cell(
            self.ws,
            row=1,
            column=1,
            value=None,
            style_array=StyleArray(style_array) if style_array is not None else None,
        )
        c.quotePrefix = True
        c._value = text
        c.data_type = "s"
        return c

    def cell(
        self,
        value: Any,
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
        number_format: str | None = None,
        alignment: Alignment | None = None,
        hyperlink: str | None = None,
    ) -> Cell:
        """Return a cell holding ``value`` safely, with the given style.

        Text that could be read as a formula is forced to a string cell with the
        quotePrefix style (see :mod:`cclreview.report.safe`).
        """
        value = normalise_value(value)
        quoted = False
        if isinstance(value, float):
            value = round(value, FLOAT_DECIMALS)
        elif isinstance(value, str):
            value = clean_text(value)
            quoted = needs_text_guard(value)
        spec = _StyleSpec(font, fill, number_format if not isinstance(value, str) else None, alignment)
        c = Cell(self.ws, row=1, column=1, value=value, style_array=self._style_array(spec, quoted))
        if quoted:
            # Never a formula (t="f") nor an error value: plain text, shown as typed.
            c.data_type = "s"
        if hyperlink:
            c.hyperlink = hyperlink
        return c

    def row(self, values: Iterable[Any], **style: Any) -> list[Cell]:
        """Return a list of cells for ``values`` with the same style."""
        return [self.cell(v, **style) for v in values]


def _format_for(kind: str, score_format: str) -> str | None:
    if kind == "score":
        return score_format
    return styles.NUMBER_FORMATS.get(kind)


def _prepare(value: Any, kind: str) -> Any:
    """Normalise one value for writing: None for missing, rounded floats, clean text."""
    value = normalise_value(value)
    if value is None:
        return None
    if kind == "bool" and isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if kind in ("int", "rank") and value.is_integer():
            return int(value)
        return round(value, 3 if kind == "num" else FLOAT_DECIMALS)
    if isinstance(value, str):
        return clean_text(value)
    return value


def _prepare_column(series: pd.Series, kind: str) -> list[Any]:
    """:func:`_prepare` for a whole column, vectorised for plain numeric columns."""
    if pd.api.types.is_float_dtype(series.dtype) and not isinstance(series.dtype, pd.CategoricalDtype):
        digits = 3 if kind == "num" else FLOAT_DECIMALS
        as_int = kind in ("int", "rank")
        out: list[Any] = []
        # Nullable Float64 holds pd.NA: as float64 it becomes NaN, handled below.
        for v in series.astype("float64").round(digits).tolist():
            if v != v or v in (float("inf"), float("-inf")):  # NaN / inf -> empty cell
                out.append(None)
            elif as_int and v.is_integer():
                out.append(int(v))
            else:
                out.append(v)
        return out
    if pd.api.types.is_integer_dtype(series.dtype) and series.notna().all() and kind != "bool":
        return series.astype("int64").tolist()
    values = series.tolist()
    if kind != "bool":
        # Text columns: when every value is plain text (or missing) and none needs
        # cleaning, take them as they are instead of value by value.
        texts: list[Any] = []
        for v in values:
            if v is None or (type(v) is float and v != v):
                texts.append(None)
            elif type(v) is str and len(v) < MAX_CELL_CHARS:
                texts.append(v)
            else:
                break
        else:
            if not has_illegal("\n".join(t for t in texts if t)):
                return texts
    return [_prepare(v, kind) for v in values]


def page_setup(ws: WriteOnlyWorksheet, *, landscape: bool = True, pages_wide: int = 1) -> None:
    """Print/PDF layout: landscape, ``pages_wide`` pages wide (0 = full size), any length."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = "1"  # US Letter: the readers are U.S. staff
    if pages_wide:
        ws.page_setup.fitToWidth = pages_wide
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.gridLines = False


def set_widths(ws: WriteOnlyWorksheet, widths: Sequence[float]) -> None:
    """Set column widths (must be called before the first row is appended)."""
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width


def header_cells(factory: CellFactory, columns: Sequence[Column]) -> list[Cell]:
    """Return the styled header cells of ``columns`` (reviewer columns stand out)."""
    cells = []
    for col in columns:
        fill = styles.REVIEWER_HEADER_FILL if col.kind == "reviewer" else styles.HEADER_FILL
        cells.append(
            factory.cell(col.header, font=styles.HEADER_FONT, fill=fill, alignment=styles.HEADER_ALIGN)
        )
    return cells


def write_table(
    ws: WriteOnlyWorksheet,
    columns: Sequence[Column],
    df: pd.DataFrame,
    *,
    link_for: Callable[[Any], str | None] | None = None,
    score_format: str = "0.000",
    freeze: str | None = "A2",
    autofilter: bool = True,
    header: bool = True,
    pages_wide: int = 1,
) -> int:
    """Write ``df`` as a formatted table (header in row 1) and return the data row count.

    Parameters
    ----------
    ws
        A fresh write-only worksheet (nothing appended yet).
    columns
        What to write, in order; a column whose ``key`` is not in ``df`` is left empty.
    df
        Rows, already in their final order.
    link_for
        Maps the value of a ``link`` column to its hyperlink target (or None).
    score_format
        Number format of ``score`` columns.
    freeze
        Top-left cell of the scrolling pane (``"A2"`` freezes the header row).
    autofilter
        Put an autofilter on the header row.
    header
        Write the header row.
    pages_wide
        Print the sheet this many pages wide (0 = full size over as many as needed).
    """
    factory = CellFactory(ws)
    set_widths(ws, [c.width for c in columns])
    page_setup(ws, pages_wide=pages_wide)
    if freeze:
        ws.freeze_panes = freeze
    if header:
        # Room for three lines of wrapped header text (LibreOffice does not grow rows).
        ws.row_dimensions[1].height = 45
        ws.append(header_cells(factory, columns))
    missing = [c.key for c in columns if c.key not in df.columns and c.kind != "reviewer"]
    if missing:
        log.debug("sheet %s: columns absent from the data, written empty: %s", ws.title, missing)
    n = len(df)
    # One plan per column, prepared once: (mode, values, style array). Modes: "plain"
    # (raw value, no style: the fast path of write-only mode), "styled", "link".
    plans: list[tuple[str, list[Any], Any]] = []
    for col in columns:
        values = _prepare_column(df[col.key], col.kind) if col.key in df.columns else [None] * n
        fmt = _format_for(col.kind, score_format)
        if col.kind == "link" and link_for is not None:
            plans.append(("link", values, None))
        elif col.kind == "reviewer":
            plans.append(
                (
                    "styled",
                    values,
                    factory.style_array(fill=styles.REVIEWER_FILL, alignment=styles.WRAP_ALIGN),
                )
            )
        elif col.kind == "wrap":
            plans.append(("styled", values, factory.style_array(alignment=styles.WRAP_ALIGN)))
        elif fmt is not None:
            plans.append(("styled", values, factory.style_array(number_format=fmt)))
        else:
            plans.append(("plain", values, None))
    has_links = any(mode == "link" for mode, _, _ in plans)
    if n and not has_links and _install_fast_rows(ws):
        style_ids = [(factory.style_attr(arr), factory.style_attr(arr, quoted=True)) for _, _, arr in plans]
        columns_values = [values for _, values, _ in plans]
        first = 2 if header else 1
        for start in range(0, n, _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, n)
            ws.append([_Chunk(_rows_xml(columns_values, style_ids, first + start, start, stop))])
        n = 0  # all rows written
    for i in range(n):
        cells: list[Any] = []
        for mode, values, arr in plans:
            value = values[i]
            if value is None:
                cells.append(None)
            elif mode == "link" and link_for is not None:
                cells.append(factory.cell(value, font=styles.LINK_FONT, hyperlink=link_for(value)))
            elif type(value) is str and needs_text_guard(value):
                cells.append(factory.guarded(value, arr))
            elif mode == "plain":
                cells.append(value)
            else:
                cells.append(Cell(ws, row=1, column=1, value=value, style_array=arr))
        ws.append(cells)
    if autofilter and header:
        last = get_column_letter(len(columns))
        ws.auto_filter.ref = f"A1:{last}{max(len(df) + 1, 2)}"
    return len(df)
