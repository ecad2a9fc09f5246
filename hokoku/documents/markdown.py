"""Making text inert in GitHub-flavoured Markdown: the Markdown analogue of HTML autoescape.

The Markdown drafts pass every value from the record through :func:`md_escape` (the template
environment's ``finalize`` does it, see :mod:`hokoku.documents.render`), so that text such as
``<script>alert(1)</script><!channel>`` or ``**bold** [link](javascript:alert(1))`` shows as
itself instead of becoming markup, a mention or a link.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

_MD_INLINE = re.compile(r"([\\`*_\[\]|~$])")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Block syntax that only matters at the start of a line: headings, list items, setext
# underlines, ordered-list numbers ("1." / "1)").
_MD_LINE_START = re.compile(r"^(#|-|\+|=|\d+(?=[.)]))")


def _md_line(line: str, *, at_line_start: bool) -> str:
    line = line.strip()
    line = "".join(_MD_ENTITIES.get(ch, ch) for ch in line)
    line = _MD_INLINE.sub(r"\\\1", line)
    match = _MD_LINE_START.match(line) if at_line_start else None
    if match:
        head = match.group(1)
        if head[0].isdigit():  # "1." → "1\." keeps the number, drops the list meaning
            line = head + "\\" + line[len(head) :]
        else:
            line = "\\" + line
    return line


def md_escape(value: Any, *, newline: str = "\\\n", line_starts: bool = True) -> Markup:
    """Text made inert in GitHub-flavoured Markdown, marked safe.

    ``&``, ``<`` and ``>`` become entities (no raw HTML, no ``<!channel>``-style mentions);
    ``\\ ` * _ [ ] | ~ $`` are backslash-escaped (no emphasis, links, code, tables, math);
    leading spaces are dropped (no indented code blocks). Lines are joined with ``newline`` (a
    hard line break by default) and blank lines are dropped, so text never ends the
    surrounding block. With ``line_starts`` (the default, for text that may begin a line),
    block syntax at the start of each line (``#``, ``-``, ``+``, ``=``, ``1.``) is escaped
    too; pass False only where no line of the text can begin a Markdown line (table cells
    joined with ``<br>``, headings). ``Markup`` passes unchanged.
    """
    if isinstance(value, Markup):
        return value
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_md_line(line, at_line_start=line_starts) for line in text.split("\n")]
    return Markup(newline.join(line for line in lines if line))
