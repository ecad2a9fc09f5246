"""Document drafts for the pages and the API (``hokoku.documents.render.render_draft``)."""

from __future__ import annotations

from hokoku.core.exceptions import NotFound
from hokoku.web.errors import FieldError

FORMATS = ("html", "md", "docx")


def draft_kinds() -> tuple[str, ...]:
    """The document kinds a draft can be made of (as ``hokoku draft`` knows them)."""
    from hokoku.documents.render import KINDS

    return tuple(KINDS)


def render_incident_draft(app, *, incident_id: str, kind: str, lang: str, fmt: str, now) -> str | bytes:
    """The draft as text (html, md) or as a Word document's bytes (docx)."""
    if fmt not in FORMATS:
        raise FieldError("format", f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if kind not in draft_kinds():
        raise NotFound(f"unknown draft kind {kind!r} (kinds: {', '.join(draft_kinds())})")
    from hokoku.documents.render import render_draft
    from hokoku.services.docdata import build_document_data

    data = build_document_data(app, incident_id=incident_id, now=now, lang=lang)
    if fmt == "docx":
        from hokoku.documents.docx import render_docx

        return render_docx(kind, data, lang=lang)
    return render_draft(kind, data, lang=lang, fmt=fmt)
