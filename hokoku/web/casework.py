"""The incident page's casework forms: report items 4–9 (findings), public texts, notices to
individuals and recurrence-prevention actions; and draft downloads (Word, Markdown).

Each form calls the same service function as the CLI (``hokoku finding set``, ``public-text``,
``notice add``, ``action add``), so validation, permissions (the incident's managers) and the
audit event are the same whichever way a record is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from hokoku.core.exceptions import InputError
from hokoku.core.timeutil import parse_instant
from hokoku.services.records import (
    ITEMS,
    PUBLIC_FIELDS,
    list_findings,
    list_public_texts,
    record_notice,
    set_finding,
    set_public_text,
)
from hokoku.services.tasks import add_prevention_action
from hokoku.web import security
from hokoku.web.bounds import form_count
from hokoku.web.common import load_visible
from hokoku.web.deps import HkApp, Now, get_now
from hokoku.web.errors import FieldError
from hokoku.web.pagebase import require_form_writer, same_site

router = APIRouter(include_in_schema=False)

#: Items the incident page lets the managers write (1–3 come from the report and the triage).
PAGE_ITEMS = ITEMS[3:]
MAX_TEXT = 20_000


def _instant(text: str, field: str):
    text = (text or "").strip()
    if not text:
        return None
    try:
        return parse_instant(text, what=field)
    except InputError as exc:
        raise FieldError(field, key="err.as_is", error=exc) from None


def _back(next_url: str | None, incident: str, msg: str, anchor: str):
    """Back to the incident page (or a same-site ``next``), the message before the anchor."""
    from fastapi.responses import RedirectResponse

    target = same_site(next_url, f"/incidents/{incident}")
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}msg={msg}#{anchor}", status_code=303)


def _changed(values: Mapping[str, str], current: Mapping[str, str | None]) -> dict[str, str]:
    """The non-blank fields whose text differs from what is in force."""
    out = {}
    for key, value in values.items():
        value = (value or "").strip()
        if len(value) > MAX_TEXT:
            raise FieldError(key, f"{key}: too long ({len(value)} characters; at most {MAX_TEXT})")
        if value and value != (current.get(key) or "").strip():
            out[key] = value
    return out


def current_findings(app, incident_id: str) -> dict[str, str | None]:
    """The text in force per item (the newest answer per question, joined)."""
    from hokoku.services.docdata import _latest_per_question

    found = list_findings(app, incident_id=incident_id)["findings"]
    return {key: "\n".join(_latest_per_question(found.get(key, []))) or None for key in ITEMS}


def current_public_texts(app, incident_id: str) -> dict[str, str]:
    return list_public_texts(app, incident_id=incident_id)["texts"]


@router.post("/incidents/{incident_id}/findings")
def findings_submit(
    request: Request,
    app: HkApp,
    now: Now,
    incident_id: str,
    cause: str = Form(""),
    secondary_damage: str = Form(""),
    individual_response: str = Form(""),
    publication: str = Form(""),
    prevention: str = Form(""),
    other: str = Form(""),
    next: str = Form(""),
    csrf_token: str = Form(""),
):

    viewer = require_form_writer(request, csrf_token, action="finding", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:findings", record=False)
    values = {
        "cause": cause,
        "secondary_damage": secondary_damage,
        "individual_response": individual_response,
        "publication": publication,
        "prevention": prevention,
        "other": other,
    }
    changed = _changed(values, current_findings(app, inc.public_id))
    for item, text in changed.items():
        set_finding(app, incident_id=inc.public_id, item=item, text=text, actor=viewer.email, now=now)
    return _back(next, inc.public_id, "findings" if changed else "nothing", "findings")


@router.post("/incidents/{incident_id}/public-texts")
def public_texts_submit(
    request: Request,
    app: HkApp,
    now: Now,
    incident_id: str,
    summary: str = Form(""),
    discovery: str = Form(""),
    cause: str = Form(""),
    secondary_damage: str = Form(""),
    measures: str = Form(""),
    prevention: str = Form(""),
    other: str = Form(""),
    next: str = Form(""),
    csrf_token: str = Form(""),
):

    viewer = require_form_writer(request, csrf_token, action="public-text", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:public-texts", record=False)
    values = {
        "summary": summary,
        "discovery": discovery,
        "cause": cause,
        "secondary_damage": secondary_damage,
        "measures": measures,
        "prevention": prevention,
        "other": other,
    }
    changed = _changed(values, current_public_texts(app, inc.public_id))
    for field, text in changed.items():
        set_public_text(app, incident_id=inc.public_id, field=field, text=text, actor=viewer.email, now=now)
    return _back(next, inc.public_id, "public_texts" if changed else "nothing", "public")


@router.post("/incidents/{incident_id}/notices")
def notice_submit(
    request: Request,
    app: HkApp,
    incident_id: str,
    count: str = Form(""),
    method: str = Form(""),
    at: str = Form(""),
    substitute: str = Form(""),
    next: str = Form(""),
    csrf_token: str = Form(""),
):

    viewer = require_form_writer(request, csrf_token, action="notice", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:notice", record=False)
    number = form_count(count, "count")
    if number is None:
        raise FieldError("count", "count: say how many individuals were notified")
    if not method.strip():
        raise FieldError("method", "method: say how the individuals were told")
    now = get_now(request)
    when = _instant(at, "at") or now
    record_notice(
        app,
        incident_id=inc.public_id,
        count=number,
        method=method.strip()[:200],
        notified_at=when,
        actor=viewer.email,
        now=now,
        substitute=substitute.strip()[:MAX_TEXT] or None,
    )
    return _back(next, inc.public_id, "notice", "notices")


@router.post("/incidents/{incident_id}/actions")
def action_submit(
    request: Request,
    app: HkApp,
    now: Now,
    incident_id: str,
    title: str = Form(""),
    owner: str = Form(""),
    due: str = Form(""),
    next: str = Form(""),
    csrf_token: str = Form(""),
):

    viewer = require_form_writer(request, csrf_token, action="action", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:action", record=False)
    if not title.strip():
        raise FieldError("title", "title: say what the action is")
    if not owner.strip():
        raise FieldError("owner", "owner: choose who owns the action")
    due_at = _instant(due, "due")
    if due_at is None:
        raise FieldError("due", "due: give the due date")
    add_prevention_action(
        app,
        incident_id=inc.public_id,
        title=title,
        owner=owner,
        due_at=due_at,
        actor=viewer.email,
        now=now,
    )
    return _back(next, inc.public_id, "action", "actions")


def draft_response(text_or_bytes, *, kind: str, incident: str, lang: str, fmt: str) -> Response:
    """HTML shown in the browser; Markdown and Word as downloads (Content-Disposition: attachment)."""
    if fmt == "html":
        return security.security_headers(HTMLResponse(text_or_bytes), csp=security.DRAFT_CSP)
    name = f"{incident}-{kind}-{lang}.{fmt}"
    media = (
        "text/markdown; charset=utf-8"
        if fmt == "md"
        else "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    body = text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes
    response = Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"},
    )
    return security.security_headers(response, csp=security.DRAFT_CSP)


__all__ = ["router", "PAGE_ITEMS", "PUBLIC_FIELDS", "current_findings", "current_public_texts", "draft_response"]
