"""The house PDF layout (reportlab), shared by receipts, the user-data report, erasure
certificates and the auditor's summary: A4, one set of styles, tables whose header repeats on
every page, and a footer with the generation time and "page x of y".

Fonts: a document in Chinese is set wholly in the service's own CJK font
(``compliance_site.fonts``), embedded (reportlab keeps only the glyphs used), so it prints the
same on every reader and its Latin words are spaced as Latin. The font has one weight: headings
stand out by size. A document in English is set in Helvetica (and Courier for keys and
signatures), with any Chinese in it (a Chinese title, say) in the CJK font.

Here rather than in an app because ``audit`` imports no other app and uses it too.

Also the pieces every document about a person is written with: ``Story`` (the flowables and
their row count), and ``when``/``text``/``label`` for the values of an export.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from xml.sax.saxutils import escape

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Table,
    TableStyle,
)

from compliance_site.dates import datetime_text
from compliance_site.fonts import CJK_FONT_FILE

CJK_FONT = "FaceledgerSansCJK"
MARGIN = 18 * mm
# The frame's usable width: the page less the margins and the frame's own 6 pt padding.
PAGE_WIDTH = A4[0] - 2 * MARGIN - 12
GRID = colors.HexColor("#cccccc")
MUTED = colors.HexColor("#555555")
HEADER_BACKGROUND = colors.HexColor("#e8ecf0")
ZEBRA = colors.HexColor("#f5f6f7")
HEADING_INK = colors.HexColor("#1f3a5f")


_CJK = re.compile("[\u2e80-\U0010ffff]")


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


@lru_cache(maxsize=1)
def _register_fonts() -> None:
    pdfmetrics.registerFont(TTFont(CJK_FONT, str(CJK_FONT_FILE)))


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    mono: str


LATIN = Fonts(regular="Helvetica", bold="Helvetica-Bold", mono="Courier")
CHINESE = Fonts(regular=CJK_FONT, bold=CJK_FONT, mono=CJK_FONT)


def fonts() -> Fonts:
    """The fonts of a document in the active language: Chinese is set in the embedded CJK
    font only (one weight), so nothing in it depends on a font the reader may lack."""
    _register_fonts()
    return CHINESE if (translation.get_language() or "").startswith("zh") else LATIN


def styles() -> dict[str, ParagraphStyle]:
    face = fonts()
    base = ParagraphStyle("body", fontName=face.regular, fontSize=9.5, leading=13.5)
    # With one weight, headings stand out by size and colour alone.
    plain = face.bold == face.regular
    ink = HEADING_INK if plain else colors.black
    return {
        "body": base,
        "text": ParagraphStyle("text", parent=base, spaceAfter=5),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5, textColor=MUTED),
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName=face.bold,
            fontSize=17 if plain else 16,
            leading=21 if plain else 20,
            spaceAfter=2,
            textColor=ink,
        ),
        "heading": ParagraphStyle(
            "heading",
            parent=base,
            fontName=face.bold,
            fontSize=13 if plain else 12,
            leading=17 if plain else 16,
            spaceBefore=14,
            spaceAfter=5,
            textColor=ink,
        ),
        "subheading": ParagraphStyle(
            "subheading",
            parent=base,
            fontName=face.bold,
            fontSize=10.5 if plain else 10,
            textColor=ink,
            leading=13,
            spaceBefore=8,
            spaceAfter=3,
        ),
        "label": ParagraphStyle("label", parent=base, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "cell_head": ParagraphStyle(
            "cell_head", parent=base, fontName=face.bold, fontSize=8, leading=10
        ),
        "mono": ParagraphStyle(
            "mono", parent=base, fontName=face.mono, fontSize=7.5, leading=9.5, splitLongWords=1
        ),
    }


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph in the style's Latin font, or in the CJK font (wrapping between any two
    characters, as Chinese does) when the text holds Chinese."""
    if has_cjk(text):
        _register_fonts()
        style = ParagraphStyle(style.name + "-cjk", parent=style, fontName=CJK_FONT, wordWrap="CJK")
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def heading(text: str, style: ParagraphStyle, room: float = 35 * mm) -> list[Flowable]:
    """A heading that starts a new page rather than sit alone at the foot of one (it needs
    ``room`` below it). Not keepWithNext: that would also push a long table whole onto the
    next page, leaving this one empty."""
    return [CondPageBreak(room), para(text, style)]


def facts_table(
    rows: Sequence[tuple[str, str]], style: dict[str, ParagraphStyle], label_width: float = 44 * mm
) -> Table:
    """Label / value pairs, one per line, values wrapping."""
    data = [[para(label, style["label"]), para(value, style["body"])] for label, value in rows]
    table = Table(data, colWidths=[label_width, PAGE_WIDTH - label_width])
    table.setStyle(
        TableStyle(
            [
                # The cells are paragraphs, but a table sets its cells' font all the same.
                ("FONT", (0, 0), (-1, -1), fonts().regular),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
            ]
        )
    )
    return table


def data_table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    *,
    font_size: float = 7.5,
    row_height: float | Sequence[float] | None = None,
    face: Fonts | None = None,
) -> Table:
    """A table with a header row repeated on every page it runs onto (``repeatRows=1``).

    Cells are plain strings (one line per newline: fast enough for tens of thousands of rows
    when ``row_height`` gives the heights, since reportlab then need not measure each row again
    at every page break) or flowables such as ``para`` (wrapping). A string cell holding
    Chinese is set in the CJK font. ``face``: the document's fonts (``fonts()`` by default).
    """
    face = face or fonts()
    commands: list[tuple] = [
        ("FONT", (0, 0), (-1, -1), face.regular, font_size, font_size + 2),
        ("FONT", (0, 0), (-1, 0), face.bold, font_size, font_size + 2),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_BACKGROUND),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, MUTED),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    data: list[list[object]] = [list(header), *(list(row) for row in rows)]
    for y, row in enumerate(data):
        for x, cell in enumerate(row):
            if isinstance(cell, str) and has_cjk(cell) and face.regular != CJK_FONT:
                commands.append(("FONT", (x, y), (x, y), CJK_FONT, font_size, font_size + 2))
    heights = None
    if isinstance(row_height, int | float):
        heights = [font_size + 7] + [row_height] * len(rows)
    elif row_height is not None:
        heights = [font_size + 7, *row_height]
    table = Table(data, colWidths=list(widths), rowHeights=heights, repeatRows=1)
    table.setStyle(TableStyle(commands))
    return table


class PagedTable(Flowable):
    """A long ``data_table`` of plain-string rows, cut into one table per page.

    reportlab splits a long table by building a new one from all the rows left at every page
    break: quadratic, seconds for ten thousand rows. A row's height is known from its line
    count (a cell's lines are split by ``lines``, never cut), so the rows that fit are known by
    arithmetic: this splits the rows themselves and builds each page's table (with its header)
    only when drawing it.
    """

    def __init__(self, header, rows, widths, *, font_size: float = 7.5, row_height: float = 10):
        super().__init__()
        self.header, self.rows, self.widths = list(header), list(rows), list(widths)
        self.font_size, self.row_height = font_size, row_height
        self.face = fonts()  # drawn later, maybe outside the language it was made in
        self.header_height = font_size + 7
        self.heights = [self._height(row) for row in self.rows]
        self._nrows = len(self.rows) + 1  # as a Table counts them (progress reports)

    def _height(self, row) -> float:
        count = max((cell.count("\n") + 1 for cell in row if isinstance(cell, str)), default=1)
        return self.row_height + (count - 1) * (self.font_size + 2)

    def wrap(self, available_width, available_height):
        self.width = sum(self.widths)
        self.height = self.header_height + sum(self.heights)
        return self.width, self.height

    def split(self, available_width, available_height):
        room, fit = available_height - self.header_height, 0
        for height in self.heights:
            if height > room:
                break
            room -= height
            fit += 1
        if fit < 1:
            return []  # not even one row here: the next page
        if fit >= len(self.rows):
            return [self]
        return [self._part(self.rows[:fit]), self._part(self.rows[fit:])]

    def _part(self, rows) -> PagedTable:
        return PagedTable(
            self.header, rows, self.widths, font_size=self.font_size, row_height=self.row_height
        )

    def draw(self) -> None:
        table = data_table(
            self.header,
            self.rows,
            self.widths,
            font_size=self.font_size,
            row_height=self.heights,
            face=self.face,
        )
        table.wrapOn(self.canv, self.width, self.height)
        table.drawOn(self.canv, 0, 0)


def lines(text: str, width: float, font_size: float) -> str:
    """``text`` broken into lines of at most ``width`` points (at a space where one is near,
    else anywhere), joined by newlines: a table cell shows all of it, never an ellipsis. Measured
    in the font ``data_table`` sets it in."""
    font = CJK_FONT if has_cjk(text) else fonts().regular
    out: list[str] = []
    rest = text
    while pdfmetrics.stringWidth(rest, font, font_size) > width:
        low, high = 1, len(rest)
        while low < high:  # the longest prefix that fits (at least one character)
            middle = (low + high + 1) // 2
            if pdfmetrics.stringWidth(rest[:middle], font, font_size) <= width:
                low = middle
            else:
                high = middle - 1
        space = rest.rfind(" ", 0, low + 1)
        cut = space if space > low // 2 else low
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    out.append(rest)
    return "\n".join(out)


class _NumberedCanvas(canvas.Canvas):
    """Draws the footer once the page count is known: pages are kept until ``save``."""

    def __init__(
        self, *args, footer: str = "", page_label: str = "", font: str = "Helvetica", **kwargs
    ):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []
        self._footer = footer
        self._page_label = page_label
        self._font = font

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        label = self._page_label % {"page": self._pageNumber, "pages": total}
        self.saveState()
        self.setFillColor(MUTED)
        self.setStrokeColor(GRID)
        self.setLineWidth(0.25)
        self.line(MARGIN, 12 * mm, A4[0] - MARGIN, 12 * mm)
        self.setFont(CJK_FONT if has_cjk(self._footer) else self._font, 7.5)
        self.drawString(MARGIN, 8.5 * mm, self._footer)
        self.setFont(CJK_FONT if has_cjk(label) else self._font, 7.5)
        self.drawRightString(A4[0] - MARGIN, 8.5 * mm, label)
        self.restoreState()


class _Document(SimpleDocTemplate):
    def __init__(self, *args, after_flowable: Callable[[Flowable], None] | None = None, **kw):
        super().__init__(*args, **kw)
        self._after = after_flowable

    def afterFlowable(self, flowable: Flowable) -> None:  # noqa: N802 - reportlab's name
        if self._after is not None:
            self._after(flowable)


def build(
    story: list[Flowable],
    *,
    title: str,
    author: str,
    footer: str,
    page_label: str,
    after_flowable: Callable[[Flowable], None] | None = None,
) -> bytes:
    """Lay out ``story`` on A4 and return the PDF. ``page_label`` is a translated
    ``"Page %(page)d of %(pages)d"``; ``after_flowable`` is called as each piece is placed
    (progress reports)."""
    face = fonts()
    buffer = io.BytesIO()
    document = _Document(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=author,
        after_flowable=after_flowable,
        # The canvas's first font too: a Chinese document names no font it does not embed.
        initialFontName=face.regular,
    )
    maker = partial(_NumberedCanvas, footer=footer, page_label=page_label, font=face.regular)
    document.build(story, canvasmaker=maker)
    return buffer.getvalue()


# --- documents about a person -------------------------------------------------------------------

SERVICE_NAME = "Faceledger"
# Paged tables: plain strings, a row as high as its lines (fast for long histories).
PAGED_FONT = 7
PAGED_ROW = 10


def when(value: object) -> str:
    """An ISO time as ``6 Dec 2026, 12:44 UTC`` (``dates.datetime_text``); anything else
    unchanged."""
    if not isinstance(value, str):
        return text(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.utcoffset() is None:
        return value
    return datetime_text(moment)


def text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and value[10:11] == "T":
        return when(value)
    return str(value)


# What people read for the keys of the stores' exports (table headers, labels); a key not
# here is spelled out in English.
_KEY_LABELS = {
    "action": gettext_lazy("Action"),
    "at": gettext_lazy("Time"),
    "capture": gettext_lazy("Capture"),
    "completed_at": gettext_lazy("Completed"),
    "content_type": gettext_lazy("File type"),
    "created_at": gettext_lazy("Created at"),
    "date_joined": gettext_lazy("Account created"),
    "end": gettext_lazy("End"),
    "engine": gettext_lazy("Engine"),
    "erased": gettext_lazy("Erased"),
    "error": gettext_lazy("Error"),
    "expires_at": gettext_lazy("Expires at"),
    "finished_at": gettext_lazy("Finished at"),
    "format": gettext_lazy("Format"),
    "given_by_guardian": gettext_lazy("Given by a parent or guardian"),
    "id": gettext_lazy("ID"),
    "ip_network": gettext_lazy("Network"),
    "is_active": gettext_lazy("Active"),
    "language": gettext_lazy("Language"),
    "last_login": gettext_lazy("Last sign-in"),
    "last_used_at": gettext_lazy("Last used"),
    "max_views": gettext_lazy("Most views"),
    "method": gettext_lazy("Method"),
    "phone_number": gettext_lazy("Phone number"),
    "policy_version": gettext_lazy("Policy version"),
    "pseudonym": gettext_lazy("Pseudonym"),
    "purpose": gettext_lazy("Purpose"),
    "reason": gettext_lazy("Reason"),
    "receipt_id": gettext_lazy("Receipt ID"),
    "ref": gettext_lazy("Reference"),
    "requested_at": gettext_lazy("Requested"),
    "result": gettext_lazy("Result"),
    "retention_expires_at": gettext_lazy("Kept until"),
    "seen": gettext_lazy("Seen"),
    "sha256": gettext_lazy("SHA-256"),
    "signed_in_sessions": gettext_lazy("Signed-in sessions"),
    "size": gettext_lazy("Size"),
    "start": gettext_lazy("Start"),
    "status": gettext_lazy("Status"),
    "step": gettext_lazy("Step"),
    "swap_requested_at": gettext_lazy("Swap requested"),
    "template": gettext_lazy("Template"),
    "text_sha256": gettext_lazy("Text SHA-256"),
    "time": gettext_lazy("Time"),
    "title": gettext_lazy("Title"),
    "user_agent_sha256": gettext_lazy("Browser (SHA-256)"),
    "version": gettext_lazy("Version"),
    "views": gettext_lazy("Views"),
    "year_of_birth": gettext_lazy("Year of birth"),
}
# The status codes of the stores' rows (swaps, reports, erasures), as their models label them.
_STATUS_LABELS = {
    "pending": gettext_lazy("waiting"),
    "running": gettext_lazy("running"),
    "done": gettext_lazy("done"),
    "failed": gettext_lazy("failed"),
    "cancelled": gettext_lazy("cancelled"),
}


def label(key: str) -> str:
    known = _KEY_LABELS.get(key)
    return str(known) if known is not None else key.replace("_", " ").capitalize()


def status_label(code: str) -> str:
    known = _STATUS_LABELS.get(code)
    return str(known) if known is not None else code


def field_text(key: str, value: object) -> str:
    """A value of an export's ``key`` as a person reads it: a status in words, else ``text``."""
    if key == "status" and isinstance(value, str):
        return status_label(value)
    return text(value)


class Story:
    """The flowables, and how many table rows they hold (for progress reports)."""

    def __init__(self) -> None:
        self.style = styles()
        self.items: list[Flowable] = []
        self.rows = 0

    def heading(self, value: str) -> None:
        self.items += heading(value, self.style["heading"])

    def subheading(self, value: str) -> None:
        self.items += heading(value, self.style["subheading"], room=25 * mm)

    def text(self, value: str, style: str = "text") -> None:
        self.items.append(para(value, self.style[style]))

    def facts(self, rows: list[tuple[str, str]]) -> None:
        self.items.append(facts_table(rows, self.style))

    def table(self, header: list[str], rows: list[list], widths=None, **kw) -> Table:
        widths = widths or [PAGE_WIDTH / len(header)] * len(header)
        table = data_table(header, rows, widths, **kw)
        self.items.append(table)
        self.rows += len(rows)
        return table

    def paged_table(self, header: list[str], rows: list[list[str]], widths: list[float]) -> None:
        """Plain-string rows (``lines`` breaks long cells), fast for long lists (``PagedTable``)."""
        self.items.append(
            PagedTable(header, rows, widths, font_size=PAGED_FONT, row_height=PAGED_ROW)
        )
        self.rows += len(rows)

    def cell(self, value: object, style: str = "cell") -> Paragraph:
        return para(text(value), self.style[style])

    def nothing(self) -> None:
        self.text(_("Nothing held."), "small")
