"""Word (``.docx``) export of the drafts, built with python-docx.

The HTML draft is the single layout: :func:`render_docx` renders it (so the content, escaping
and wording are exactly those of the print-ready HTML) and walks its small, known vocabulary —
``h1``–``h4``, ``p``, ``aside``, ``ul``/``li``, ``table`` with ``th``/``td``, ``br`` — into
Word headings, paragraphs, bulleted lists and grid tables. Japanese text is set in a Japanese
font (``w:rFonts w:eastAsia``), A4 page, margins as in the HTML's ``@page``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docx.text.paragraph import Paragraph

from hokoku.i18n import t

BODY_FONT = ("MS Mincho", "IPAexMincho")
"""(Word font name, fallback name noted in the document) for body text: 明朝."""
HEADING_FONT = "MS Gothic"
LATIN_FONT = "Times New Roman"


def _set_fonts(style, east_asia: str, latin: str = LATIN_FONT) -> None:
    from docx.oxml.ns import qn

    style.font.name = latin
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)


def _new_document(lang: str, title: str):
    from docx import Document
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Mm(297), Mm(210)
    section.top_margin = section.bottom_margin = Mm(18)
    section.left_margin = section.right_margin = Mm(16)
    normal = doc.styles["Normal"]
    _set_fonts(normal, BODY_FONT[0])
    normal.font.size = Pt(10.5)
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3", "Heading 4"):
        _set_fonts(doc.styles[name], HEADING_FONT, "Arial")
    doc.core_properties.title = title
    doc.core_properties.language = t("locale.tag", lang)
    return doc


class _Builder(HTMLParser):
    """HTML draft → python-docx document (only the elements the draft templates produce)."""

    def __init__(self, doc) -> None:
        super().__init__(convert_charrefs=True)
        self.doc = doc
        self.in_body = False
        self.block: Paragraph | None = None  # the paragraph being filled
        self.block_tag: str | None = None
        self.list_depth = 0
        self.table_rows: list[list[tuple[str, str]]] | None = None
        self.cell: list[str] | None = None
        self.cell_tag = "td"
        self.bold = 0
        self.strike = 0
        self.skip = 0  # inside <head>/<style>/<title>
        self.after_br = False

    # -- paragraphs
    def _paragraph(self, tag: str) -> Paragraph:
        from docx.shared import Pt, RGBColor

        if tag in ("h1", "h2", "h3", "h4"):
            level = {"h1": 0, "h2": 1, "h3": 2, "h4": 3}[tag]
            p = self.doc.add_heading("", level=level)
        elif tag == "li":
            p = self.doc.add_paragraph(style="List Bullet")
        else:
            p = self.doc.add_paragraph()
            if tag == "aside":
                p.paragraph_format.left_indent = Pt(12)
        p._hokoku_tag = tag
        if tag == "draft":
            p._hokoku_color = RGBColor(0xAA, 0, 0)
        return p

    def _write(self, text: str) -> None:
        if self.cell is not None:
            self.cell.append(text)
            return
        if self.block is None:
            if not text.strip():
                return
            self.block = self._paragraph("p")
        run = self.block.add_run(text)
        run.bold = bool(self.bold) or None
        run.font.strike = bool(self.strike) or None
        color = getattr(self.block, "_hokoku_color", None)
        if color is not None:
            run.font.color.rgb = color

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "br":
            self.after_br = False
        if tag in ("head", "style", "title", "script"):
            self.skip += 1
            return
        if tag == "body":
            self.in_body = True
        if self.skip or not self.in_body:
            return
        cls = dict(attrs).get("class") or ""
        if tag == "table":
            self.table_rows = []
        elif tag == "tr" and self.table_rows is not None:
            self.table_rows.append([])
        elif tag in ("td", "th") and self.table_rows is not None:
            self.cell, self.cell_tag = [], tag
        elif tag == "br":
            if self.cell is not None:
                self.cell.append("\n")
            elif self.block is not None:
                self.block.add_run().add_break()
                self.after_br = True
            return
        elif tag in ("h1", "h2", "h3", "h4", "p", "li", "aside"):
            if self.cell is None:
                self.block = self._paragraph("draft" if "draft" in cls else tag)
                self.block_tag = tag
        elif tag in ("strong", "b", "th") or (tag == "span" and "unknown" in cls):
            self.bold += 1
        elif tag == "del":
            self.strike += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "title", "script"):
            self.skip = max(0, self.skip - 1)
            return
        if self.skip or not self.in_body:
            return
        if tag in ("td", "th") and self.cell is not None and self.table_rows is not None:
            self.table_rows[-1].append((self.cell_tag, "".join(self.cell).strip()))
            self.cell = None
        elif tag == "table" and self.table_rows is not None:
            self._table(self.table_rows)
            self.table_rows = None
        elif tag in ("h1", "h2", "h3", "h4", "p", "li", "aside") and tag == self.block_tag:
            self.block, self.block_tag = None, None
        elif tag in ("strong", "b", "span") and self.bold:
            self.bold -= 1
        elif tag == "del" and self.strike:
            self.strike -= 1

    def handle_data(self, data: str) -> None:
        if self.skip or not self.in_body:
            return
        after_br, self.after_br = self.after_br, False
        if self.cell is None and self.block is not None:
            if after_br and data.startswith("\n"):
                data = data[1:]
            parts = data.split("\n")
            for i, part in enumerate(parts):
                if part:
                    self._write(part)
                if i < len(parts) - 1:
                    self.block.add_run().add_break()
            return
        self._write(data)

    def _table(self, rows: list[list[tuple[str, str]]]) -> None:
        rows = [r for r in rows if r]
        if not rows:
            return
        width = max(len(r) for r in rows)
        table = self.doc.add_table(rows=len(rows), cols=width)
        table.style = "Table Grid"
        for i, row in enumerate(rows):
            for j, (tag, text) in enumerate(row):
                cell = table.cell(i, j)
                lines = text.split("\n")
                para = cell.paragraphs[0]
                for k, line in enumerate(lines):
                    run = para.add_run(line)
                    run.bold = tag == "th" or None
                    if k < len(lines) - 1:
                        run.add_break()
        self.doc.add_paragraph()


def html_to_docx(html: str, *, lang: str, title: str) -> bytes:
    """A python-docx document (bytes) from one of the drafts' HTML pages."""
    doc = _new_document(lang, title)
    builder = _Builder(doc)
    builder.feed(html)
    builder.close()
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def render_docx(kind: str, data: Mapping[str, Any], *, lang: str = "ja") -> bytes:
    """Draft ``kind`` as a Word document (bytes): the HTML draft's content, in Word's structure."""
    import re

    from hokoku.documents.render import render_draft

    html = render_draft(kind, data, lang=lang, fmt="html")
    match = re.search(r"<h1>(.*?)</h1>", html, re.S)
    title = match.group(1) if match else kind
    return html_to_docx(html, lang=lang, title=title)


def docx_text(blob: bytes) -> str:
    """The text of a Word document, paragraphs and table cells in order (for tests and checks)."""
    from docx import Document

    doc = Document(io.BytesIO(blob))
    lines: list[str] = []
    body = doc.element.body
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in body.iterchildren():
        if child.tag.endswith("}p"):
            lines.append(Paragraph(child, doc).text)
        elif child.tag.endswith("}tbl"):
            for row in Table(child, doc).rows:
                lines.append(" | ".join(c.text for c in row.cells))
    return "\n".join(lines)
