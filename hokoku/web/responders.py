"""The incident page's responder tools: checklist ticks one by one, free-text status updates,
evidence files (upload, encrypted at rest, download audited), and the timeline in sentences with
views folded into a count (also served as a fragment the page polls for live updates)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from hokoku.core.exceptions import InputError, NotFound
from hokoku.i18n import t_or
from hokoku.services.organisation import organisation
from hokoku.services.tasks import list_tasks
from hokoku.web import security
from hokoku.web.common import app_for, load_visible
from hokoku.web.deps import HkApp, Now, get_lang
from hokoku.web.errors import FieldError
from hokoku.web.pagebase import back_to, fmt_when, render, require_form_writer, require_viewer

router = APIRouter(include_in_schema=False)

#: Events folded into one count line instead of one entry each.
FOLDED = frozenset({"incident.viewed"})


def timeline_entries(
    app, *, incident_id: str, events: list[dict], lang: str, stage_titles: dict, step_titles: dict
) -> tuple[list[dict], dict]:
    """(entries, views): each audit event as a sentence in ``lang`` (status updates with their
    text), and the views folded into {count, people}."""
    from hokoku.documents.labels import LABELS
    from hokoku.documents.render import AUTOMATIC_EVENTS
    from hokoku.services.responders import updates

    labels = LABELS[lang]
    people = organisation(app).people()
    texts = {u["id"]: u["text"] for u in updates(app, incident_id=incident_id)}
    entries, viewers, views = [], set(), 0
    for ev in events:
        action = ev["action"]
        if action in FOLDED:
            views += 1
            viewers.add(ev["actor"])
            continue
        data = ev.get("data") or {}
        ref = str(data.get("ref") or "").split(":", 1)[-1]
        phrase = labels.table("events").get(action)
        if phrase is None:
            key = f"ev.{action}"
            phrase = t_or(key, lang, labels.text("event_other"))
        field = data.get("field") or data.get("item")
        field_label = (
            (labels.table("public_fields") if action.startswith("public_text.") else labels.table("item_titles")).get(
                field, ""
            )
            if isinstance(field, str)
            else ""
        )
        what = phrase.format(
            stage=stage_titles.get(data.get("stage"), data.get("stage") or ""),
            step=step_titles.get(ref, ref),
            field=field_label,
        )
        actor = ev["actor"]
        name = people[actor].name if actor in people else None
        when = fmt_when(ev["at"])
        if name is None or action in AUTOMATIC_EVENTS:
            sentence = labels.text("timeline_sentence_system", when=when, what=what[:1].upper() + what[1:])
        else:
            sentence = labels.text("timeline_sentence", when=when, actor=name, what=what)
        entries.append(
            {
                "seq": ev.get("seq"),
                "action": action,
                "at": ev["at"],
                "sentence": sentence,
                "text": texts.get(data.get("update")) if action == "incident.update_posted" else None,
            }
        )
    return entries, {"count": views, "people": len(viewers)}


@router.get("/incidents/{incident_id}/timeline")
def timeline_fragment(request: Request, app: HkApp, now: Now, incident_id: str):
    """The timeline section's contents (polled by the page; the page view itself was audited)."""
    from hokoku.services.queries import show_incident

    viewer = require_viewer(request)
    inc = load_visible(request, viewer, incident_id, via="page:timeline", record=False)
    lang = get_lang(request)

    view = app_for(app, lang)
    shown = show_incident(view, inc.public_id, now=now)
    steps = {
        t["ref"].split(":", 1)[-1]: t.get("title") or t["ref"] for t in list_tasks(view, incident_id=inc.public_id)
    }
    entries, views = timeline_entries(
        app,
        incident_id=inc.public_id,
        events=shown["timeline"],
        lang=lang,
        stage_titles={s["code"]: s.get("title") or s["code"] for s in shown["stages"]},
        step_titles=steps,
    )
    return render(request, "_timeline.html", timeline=entries, views=views, inc=shown)


@router.post("/incidents/{incident_id}/steps/{ref}/tick")
def step_tick(
    request: Request,
    app: HkApp,
    now: Now,
    incident_id: str,
    ref: str,
    item: int = Form(...),
    checked: str = Form("1"),
    next: str = Form(""),
    csrf_token: str = Form(""),
):
    from hokoku.services.responders import set_tick

    viewer = require_form_writer(request, csrf_token, action="checklist.tick", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:tick", record=False)
    try:
        set_tick(
            app,
            incident_id=inc.public_id,
            ref=ref,
            item=item,
            checked=checked == "1",
            actor=viewer.email,
            now=now,
        )
    except InputError as exc:
        raise FieldError("item", key="err.as_is", error=exc) from None
    return back_to(next, f"/incidents/{inc.public_id}#step-{ref}", "ticked")


@router.post("/incidents/{incident_id}/updates")
def post_status_update(
    request: Request,
    app: HkApp,
    now: Now,
    incident_id: str,
    text: str = Form(""),
    next: str = Form(""),
    csrf_token: str = Form(""),
):
    from hokoku.services.responders import post_update

    viewer = require_form_writer(request, csrf_token, action="update.post", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:update", record=False)
    try:
        post_update(app, incident_id=inc.public_id, text=text, actor=viewer.email, now=now)
    except InputError as exc:
        raise FieldError("text", key="err.as_is", error=exc) from None
    return back_to(next, f"/incidents/{inc.public_id}#timeline", "update")


@router.post("/incidents/{incident_id}/evidence")
async def upload_evidence(
    request: Request,
    app: HkApp,
    now: Now,
    incident_id: str,
    file: UploadFile = File(...),
    ref: str = Form(""),
    csrf_token: str = Form(""),
):
    from starlette.concurrency import run_in_threadpool

    from hokoku.services.responders import MAX_EVIDENCE_BYTES, add_evidence

    viewer = await run_in_threadpool(
        require_form_writer, request, csrf_token, action="evidence.add", incident=incident_id
    )
    inc = await run_in_threadpool(load_visible, request, viewer, incident_id, via="page:evidence", record=False)
    data = await file.read(MAX_EVIDENCE_BYTES + 1)
    try:
        await run_in_threadpool(
            lambda: add_evidence(
                app,
                incident_id=inc.public_id,
                name=file.filename or "",
                content_type=file.content_type or "",
                data=data,
                actor=viewer.email,
                now=now,
                ref=ref.strip() or None,
            )
        )
    except InputError as exc:
        raise FieldError("file", key="err.as_is", error=exc) from None
    return back_to("", f"/incidents/{inc.public_id}#evidence", "evidence")


@router.get("/incidents/{incident_id}/evidence/{evidence_id}")
def download_evidence(request: Request, app: HkApp, now: Now, incident_id: str, evidence_id: int):
    from hokoku.services.responders import read_evidence

    viewer = require_viewer(request)
    if not 0 < evidence_id <= 2**62:
        raise NotFound(f"no evidence file {evidence_id}")
    inc = load_visible(request, viewer, incident_id, via="page:evidence-download")
    name, _ctype, data = read_evidence(
        app, incident_id=inc.public_id, evidence_id=evidence_id, actor=viewer.email, now=now
    )
    ascii_name = "".join(ch if ch.isascii() and ch.isalnum() or ch in "._-" else "_" for ch in name) or "evidence"
    response = Response(
        data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
    return security.security_headers(response)
