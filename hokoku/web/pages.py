"""Server-rendered pages (Jinja2, autoescaped): report, receipt, dashboard, incident, leadership,
audit log, sign-in. Every form carries the session's CSRF token; every POST checks it."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from hokoku import audit
from hokoku.app import ROOT
from hokoku.db import transaction
from hokoku.exceptions import InputError
from hokoku.playbooks import PHASE_LABELS
from hokoku.roles import role_label
from hokoku.timeutil import JST, as_utc, fmt_jst
from hokoku.web import accesslog, security
from hokoku.web.auth import SESSION_COOKIE, LoginFailed, LoginThrottled, login, logout
from hokoku.web.charts import Bar, Segment, bar_chart, fmt_duration, stacked_chart
from hokoku.web.common import (
    LANG_COOKIE, LANGS, SORTS, Forbidden, NotSignedIn, Viewer, app_for, hk, incident_rows, lang_of,
    load_visible, managing_people, now_of, organisation, require_writer, viewer_of, web_settings,
)
from hokoku.web.drafts import draft_kinds, render_incident_draft
from hokoku.web.errors import FieldError
from hokoku.web.i18n import translate
from hokoku.web.reports import report_from_form
from models.audit import AuditEvent

router = APIRouter(include_in_schema=False)

_env = Environment(
    loader=FileSystemLoader(str(ROOT / "templates")),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
MESSAGES = ("acked", "advanced", "skipped", "triaged", "step_done", "assigned", "findings", "public_texts", "notice",
            "action", "nothing")


def _when(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return fmt_jst(value)


_env.filters["when"] = _when


def _role(role: str | None, lang: str) -> str:
    try:
        return role_label(role, lang) if role else "-"
    except ValueError:
        return role


def _local_input(value: datetime | None) -> str:
    """A datetime as the value of an ``<input type=datetime-local>`` in Japan time."""

    return "" if value is None else as_utc(value).astimezone(JST).strftime("%Y-%m-%dT%H:%M")


def _url_with(request: Request, **params) -> str:
    query = dict(request.query_params)
    for k, v in params.items():
        if v is None:
            query.pop(k, None)
        else:
            query[k] = v
    return request.url.path + ("?" + urlencode(query) if query else "")


def render(request: Request, name: str, *, status: int = 200, headers: dict | None = None, **ctx) -> HTMLResponse:
    lang = lang_of(request)
    viewer = getattr(request.state, "viewer", None)
    msg = request.query_params.get("msg")
    base = {
        "lang": lang, "t": lambda key: translate(key, lang), "viewer": viewer,
        "csrf": viewer.signed.csrf_token if viewer and viewer.signed.csrf_token else "",
        "lang_url": _url_with(request, lang="en" if lang == "ja" else "ja"),
        "role_label": lambda role: _role(role, lang), "flash": translate(f"msg.{msg}", lang) if msg in MESSAGES else None,
        "dur": lambda v: fmt_duration(v, lang), "path": request.url.path,
    }
    base.update(ctx)
    response = HTMLResponse(_env.get_template(f"web/{name}").render(base), status_code=status, headers=headers)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True,
                            secure=_secure(request))
    return security.security_headers(response)


def render_error(request: Request, status: int, message: str, *, headers: dict | None = None) -> HTMLResponse:
    if getattr(request.state, "viewer", None) is None and status != 401:
        try:
            viewer_of(request)
        except Exception:  # noqa: BLE001  (the error page must render whatever broke)
            pass
    lang = lang_of(request)
    key = f"err.{status}" if f"err.{status}" in _ERROR_KEYS else "err.other"
    return render(request, "error.html", status=status, headers=headers, status_code=status,
                  headline=translate(key, lang), message=message)


_ERROR_KEYS = {f"err.{s}" for s in (401, 403, 404, 409, 413, 422, 429, 503)}


def _secure(request: Request) -> bool:
    return hk(request).settings.public_url.lower().startswith("https://")


def _viewer(request: Request) -> Viewer:
    viewer = viewer_of(request)
    if viewer is None:
        raise NotSignedIn("sign in first")
    return viewer


def _writer(request: Request, csrf_token: str, *, action: str, incident: str | None = None) -> Viewer:
    """The signed-in person, after the CSRF check and the read-only check (both 403)."""
    viewer = _viewer(request)
    if not security.tokens_match(viewer.signed.csrf_token, csrf_token):
        raise security.csrf_refused()
    require_writer(request, viewer, action=action, incident=incident, via="page")
    return viewer


def _local(next_url: str | None, default: str) -> str:
    """Only same-site paths are followed after a form (no open redirects)."""
    if next_url and next_url.startswith("/") and not next_url.startswith("//") and "\\" not in next_url:
        return next_url
    return default


def _back(next_url: str | None, default: str, msg: str) -> RedirectResponse:
    target = _local(next_url, default)
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}msg={msg}", status_code=303)


def _bounded_int(text: str, field: str) -> int:
    from hokoku.web.bounds import bounded_int

    value = int(text)
    try:
        return bounded_int(value)
    except ValueError as exc:
        raise FieldError(field, f"{field}: {exc}") from None


# -- sign-in ----------------------------------------------------------------------------------
@router.get("/")
def home(request: Request):
    return RedirectResponse("/dashboard" if viewer_of(request) else "/login", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = ""):
    token = request.cookies.get(security.LOGIN_CSRF_COOKIE) or security.new_token()
    response = render(request, "login.html", login_csrf=token, next=_local(next, "/dashboard"), error=None, email="")
    response.set_cookie(security.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
                        max_age=3600, path="/login")
    return response


@router.post("/login")
def login_submit(request: Request, email: str = Form(""), password: str = Form(""), csrf_token: str = Form(""),
                 next: str = Form("")):
    if not security.tokens_match(request.cookies.get(security.LOGIN_CSRF_COOKIE), csrf_token):
        raise security.csrf_refused("sign-in form expired: reload the page and try again")
    ip = security.client_ip(request, web_settings(request).proxy_networks)
    lang = lang_of(request)
    try:
        cookie, _csrf = login(hk(request), web_settings(request), email=email, password=password, ip=ip,
                              now=now_of(request))
    except LoginThrottled as exc:
        return render(request, "login.html", status=429, headers={"Retry-After": str(exc.retry_after)},
                      login_csrf=csrf_token, next=_local(next, "/dashboard"), error=translate("login.throttled", lang),
                      email=email)
    except LoginFailed:
        return render(request, "login.html", status=401, login_csrf=csrf_token, next=_local(next, "/dashboard"),
                      error=translate("login.failed", lang), email=email)
    response = RedirectResponse(_local(next, "/dashboard"), status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=_secure(request), path="/",
                        max_age=int(web_settings(request).session_hours * 3600))
    response.delete_cookie(security.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout_submit(request: Request, csrf_token: str = Form("")):
    viewer = viewer_of(request)
    if viewer is not None:
        if not security.tokens_match(viewer.signed.csrf_token, csrf_token):
            raise security.csrf_refused()
        logout(hk(request), request.cookies.get(SESSION_COOKIE), now=now_of(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- report -------------------------------------------------------------------------------------
def _report_page(request: Request, viewer: Viewer, *, status: int = 200, values: dict | None = None,
                 error: str | None = None, error_field: str | None = None) -> HTMLResponse:
    app = hk(request)
    lang = lang_of(request)
    org = organisation(app)
    divisions = [(d.code, d.name.get(lang), i.name.get(lang)) for i in org.institutes for d in i.divisions]
    categories = [(c, p.title.get(lang), p.description.get(lang)) for c, p in sorted(app.playbooks.items())]
    values = values or {"division": viewer.scope.home_division or "", "category": "", "summary": "",
                        "aware_at": "", "occurred_at": "", "data_items": "", "individuals": "", "already_done": "",
                        "serious": False}
    return render(request, "report.html", status=status, divisions=divisions, categories=categories, values=values,
                  error=error, error_field=error_field, max_now=_local_input(now_of(request)))


@router.get("/report")
def report_form(request: Request):
    return _report_page(request, _viewer(request))


@router.post("/report")
def report_submit(request: Request, division: str = Form(""), category: str = Form(""), summary: str = Form(""),
                  aware_at: str = Form(""), data_items: str = Form(""), individuals: str = Form(""),
                  already_done: str = Form(""), serious: bool = Form(False), occurred_at: str = Form(""),
                  csrf_token: str = Form("")):
    viewer = _writer(request, csrf_token, action="report")
    values = {"division": division, "category": category, "summary": summary, "aware_at": aware_at,
              "occurred_at": occurred_at, "data_items": data_items, "individuals": individuals,
              "already_done": already_done, "serious": serious}
    try:
        result = report_from_form(hk(request), viewer, now=now_of(request), lang=lang_of(request), **values)
    except InputError as exc:
        from hokoku.web.errors import field_of

        return _report_page(request, viewer, status=422, values=values, error=str(exc), error_field=field_of(exc))
    return RedirectResponse(f"/incidents/{result.public_id}/receipt", status_code=303)


@router.get("/incidents/{incident_id}/receipt")
def receipt(request: Request, incident_id: str):
    viewer = _viewer(request)
    inc = load_visible(request, viewer, incident_id, via="page:receipt")
    app = hk(request)
    lang = lang_of(request)
    org = organisation(app)
    playbook = app.playbooks.get(inc.category)
    return render(request, "receipt.html", incident=inc.public_id,
                  category=playbook.title.get(lang) if playbook else inc.category,
                  protection_manager=org.division(inc.division_code).protection_manager.name,
                  actions=[a.get(lang) for a in playbook.immediate_actions] if playbook else [])


# -- dashboard ----------------------------------------------------------------------------------
@router.get("/dashboard")
def dashboard(request: Request, sort: str = "due", dir: str = "asc", all: int = 0):
    viewer = _viewer(request)
    sort = sort if sort in SORTS else "due"
    lang = lang_of(request)
    rows = incident_rows(hk(request), viewer.scope, now=now_of(request), lang=lang, open_only=not all, sort=sort,
                         descending=dir == "desc")
    scope = viewer.scope
    if scope.everything:
        scope_text = translate("dash.scope_all", lang)
    elif scope.manages:
        scope_text = ", ".join(sorted(scope.institutes | scope.divisions))
    else:
        scope_text = translate("dash.mine", lang)
    sort_links = [(s, translate(f"dash.sort.{s}", lang), _url_with(request, sort=s, dir=None, msg=None)) for s in SORTS]
    return render(request, "dashboard.html", rows=rows, sort=sort, sort_links=sort_links, show_all=bool(all),
                  toggle_url=_url_with(request, all=None if all else "1", msg=None), scope_text=scope_text,
                  here=_url_with(request, msg=None), can_act=scope.manages and not scope.read_only)


# -- incident -------------------------------------------------------------------------------------
@router.get("/incidents/{incident_id}")
def incident_page(request: Request, incident_id: str):
    viewer = _viewer(request)
    inc = load_visible(request, viewer, incident_id, via="page")
    app = hk(request)
    lang = lang_of(request)
    view = app_for(app, lang)
    now = now_of(request)
    from hokoku.services.queries import show_incident
    from hokoku.services.tasks import list_tasks
    from hokoku.services.triage import show_assessment

    shown = show_incident(view, inc.public_id, now=now)
    tasks = list_tasks(view, incident_id=inc.public_id)
    assessment = show_assessment(view, incident_id=inc.public_id)
    org = organisation(app)
    people = org.people()
    playbook = app.playbooks.get(inc.category)
    checklists = {}
    if playbook:
        for step in playbook.steps:
            checklists[step.id] = [c.get(lang) for c in step.checklist]
    for task in tasks:
        ref = task["ref"].split(":", 1)[-1]
        task["checklist"] = checklists.get(ref, []) if task["kind"] == "step" else []
        task["phase_label"] = (PHASE_LABELS[task["phase"]][1 if lang == "en" else 0]
                               if task.get("phase") in PHASE_LABELS else task.get("phase") or "")
    policy_stages = {}
    from hokoku.services.stagerows import incident_policy

    policy = incident_policy(inc)
    for s in shown["stages"]:
        sp = policy.stage(s["code"])
        policy_stages[s["code"]] = {"can_complete": sp.completed_by == "advance", "skippable": sp.skippable}
    from hokoku.documents.labels import LABELS

    events = LABELS[lang]["events"]
    stage_titles = {st["code"]: st.get("title") or st["code"] for st in shown["stages"]}
    step_titles = {t["ref"].split(":", 1)[-1]: t.get("title") or t["ref"] for t in tasks}
    for ev in shown["timeline"]:
        ev["actor_name"] = people[ev["actor"]].name if ev["actor"] in people else ev["actor"]
        data = ev.get("data") or {}
        ref = str(data.get("ref") or "").split(":", 1)[-1]
        phrase = events.get(ev["action"])
        ev["phrase"] = None if phrase is None else phrase.format(
            stage=stage_titles.get(data.get("stage"), data.get("stage") or ""),
            step=step_titles.get(ref, ref),
            field=(LABELS[lang]["public_fields"] if ev["action"].startswith("public_text.")
                   else LABELS[lang]["item_titles"]).get(data.get("field") or data.get("item"), ""))
    details = app.keyring.decrypt(inc.details_enc, field="incident.details", bind=inc.public_id) if inc.details_enc else None
    scope = viewer.scope
    can_manage = scope.manages and not scope.read_only
    casework = _casework_view(app, inc, lang, now)
    return render(
        request, "incident.html", inc=shown, details=details, tasks=tasks, assessment=assessment,
        immediate=[a.get(lang) for a in playbook.immediate_actions] if playbook else [],
        category_label=playbook.title.get(lang) if playbook else inc.category, policy_stages=policy_stages,
        reporter_name=people[inc.reporter_email].name if inc.reporter_email in people else inc.reporter_email,
        can_manage=can_manage, assignees=managing_people(org, inc.division_code),
        categories=[(c, p.title.get(lang)) for c, p in sorted(app.playbooks.items())],
        draft_kinds=draft_kinds(), here=f"/incidents/{inc.public_id}", **casework,
        is_general_manager=viewer.email in {org.general_manager.email,
                                            org.general_manager.deputy.email if org.general_manager.deputy else None},
    )


def _casework_view(app, inc, lang: str, now) -> dict:
    """Report items 4–9, public texts, notices, prevention actions and the one headcount, for the page."""
    from hokoku.documents.render import headcount_text
    from hokoku.services.docdata import build_document_data
    from hokoku.services.records import PUBLIC_FIELDS
    from hokoku.web.casework import PAGE_ITEMS, current_findings, current_public_texts

    data = build_document_data(app, incident_id=inc.public_id, now=now, lang=lang)
    from hokoku.documents.labels import LABELS

    labels = LABELS[lang]
    found = current_findings(app, inc.public_id)
    return {
        "finding_items": [(key, labels["item_titles"][key], found.get(key) or "", n)
                          for n, key in enumerate(PAGE_ITEMS, start=4)],
        "public_fields": [(key, labels["public_fields"][key]) for key in PUBLIC_FIELDS],
        "public_texts": current_public_texts(app, inc.public_id),
        "notices": data["notices"],
        "actions": data["prevention_actions"],
        "headcount": headcount_text(data["headcount"], lang),
        "data_items": data["reported_data_items"],
        "occurred_at": inc.occurred_at,
        "action_labels": labels["action_status"],
        "reported_facts": {"individuals": data["headcount"]["count"],
                           "individuals_estimated": data["headcount"]["estimated"]},
    }


@router.post("/incidents/{incident_id}/ack")
def incident_ack(request: Request, incident_id: str, stage: str = Form(""), next: str = Form(""),
                 csrf_token: str = Form("")):
    viewer = _writer(request, csrf_token, action="ack", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:ack", record=False)
    from hokoku.services.transitions import acknowledge

    acknowledge(hk(request), incident_id=inc.public_id, actor=viewer.email, now=now_of(request),
                stage=stage.strip() or None, channel="web")
    return _back(next, f"/incidents/{inc.public_id}", "acked")


@router.post("/incidents/{incident_id}/advance")
def incident_advance(request: Request, incident_id: str, stage: str = Form(...), op: str = Form("done"),
                     note: str = Form(""), skip_reason: str = Form(""), next: str = Form(""),
                     csrf_token: str = Form("")):
    viewer = _writer(request, csrf_token, action="advance", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:advance", record=False)
    from hokoku.services.transitions import advance

    skip = op == "skip"
    if skip and not skip_reason.strip():
        raise FieldError("skip_reason", "skip_reason: skipping a stage needs a reason")
    advance(hk(request), incident_id=inc.public_id, stage=stage, actor=viewer.email, now=now_of(request),
            note=note.strip() or None, skip_reason=skip_reason.strip() if skip else None, channel="web")
    return _back(next, f"/incidents/{inc.public_id}", "skipped" if skip else "advanced")


def _count_or_none(text: str, field: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = _bounded_int(text, field)
    except ValueError:
        raise FieldError(field, f"{field}: {text!r} is not a whole number") from None
    if value < 0:
        raise FieldError(field, f"{field}: must be 0 or more")
    return value


def _fact(text: str, field: str):
    """A three-valued fact from the form: yes / no / unknown; empty keeps the recorded value."""
    from hokoku.services.triage import KEEP, parse_fact

    if not (text or "").strip():
        return KEEP
    try:
        return parse_fact(text, field)
    except InputError as exc:
        raise FieldError(field, str(exc)) from None


@router.post("/incidents/{incident_id}/triage")
def incident_triage(request: Request, incident_id: str, serious: bool = Form(False), sensitive: str = Form(""),
                    financial_risk: str = Form(""), unauthorized_purpose: str = Form(""),
                    individuals: str = Form(""), individuals_estimated: bool = Form(False),
                    encrypted: str = Form(""), category: str = Form(""), next: str = Form(""),
                    csrf_token: str = Form("")):
    viewer = _writer(request, csrf_token, action="triage", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:triage", record=False)
    from hokoku.services.triage import triage

    facts = {name: _fact(value, name) for name, value in (
        ("sensitive", sensitive), ("financial_risk", financial_risk), ("unauthorized_purpose", unauthorized_purpose),
        ("encrypted", encrypted))}
    if individuals.strip().lower() in ("unknown", "不明"):
        facts["individuals"], facts["individuals_estimated"] = None, False
    elif individuals.strip():
        facts["individuals"] = _count_or_none(individuals, "individuals")
        facts["individuals_estimated"] = individuals_estimated
    triage(hk(request), incident_id=inc.public_id, actor=viewer.email, now=now_of(request), serious=serious,
           category=category.strip() or None, **{k: v for k, v in facts.items()})
    return _back(next, f"/incidents/{inc.public_id}#triage", "triaged")


@router.post("/incidents/{incident_id}/reportability")
def incident_reportability(request: Request, incident_id: str, decision: str = Form(...), reason: str = Form(""),
                           next: str = Form(""), csrf_token: str = Form("")):
    viewer = _writer(request, csrf_token, action="reportability", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:reportability", record=False)
    from hokoku.services.triage import DECISIONS, decide

    if decision not in DECISIONS:
        raise FieldError("decision", f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
    if decision != "confirm" and not reason.strip():
        raise FieldError("reason", "reason: an override needs a reason")
    decide(hk(request), incident_id=inc.public_id, actor=viewer.email, decision=decision, now=now_of(request),
           reason=reason.strip() or None)
    return _back(next, f"/incidents/{inc.public_id}#triage", "decided")


@router.post("/incidents/{incident_id}/amend")
def incident_amend(request: Request, incident_id: str, aware_at: str = Form(...), reason: str = Form(""),
                   next: str = Form(""), csrf_token: str = Form("")):
    viewer = _writer(request, csrf_token, action="amend", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:amend", record=False)
    from hokoku.services.amend import amend_awareness
    from hokoku.timeutil import parse_instant

    try:
        when = parse_instant(aware_at, what="aware_at")
    except InputError as exc:
        raise FieldError("aware_at", str(exc)) from None
    if not reason.strip():
        raise FieldError("reason", "reason: say why the awareness time is corrected")
    amend_awareness(hk(request), incident_id=inc.public_id, aware_at=when, reason=reason, actor=viewer.email,
                    now=now_of(request))
    return _back(next, f"/incidents/{inc.public_id}#triage", "amended")


@router.post("/incidents/{incident_id}/steps/{ref}/done")
def step_done(request: Request, incident_id: str, ref: str, note: str = Form(""), evidence: str = Form(""),
              checked: list[str] = Form([]), next: str = Form(""), csrf_token: str = Form("")):
    viewer = _writer(request, csrf_token, action="step.done", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:step", record=False)
    from hokoku.services.tasks import complete_task

    ticked = [c.strip() for c in checked if c.strip()][:50]
    text = "\n".join([f"[x] {c}" for c in ticked] + ([note.strip()] if note.strip() else [])) or None
    complete_task(hk(request), incident_id=inc.public_id, ref=ref, actor=viewer.email, now=now_of(request),
                  note=text, evidence=evidence.strip() or None)
    return _back(next, f"/incidents/{inc.public_id}", "step_done")


@router.post("/incidents/{incident_id}/steps/{ref}/assign")
def step_assign(request: Request, incident_id: str, ref: str, to: str = Form(...), next: str = Form(""),
                csrf_token: str = Form("")):
    viewer = _writer(request, csrf_token, action="step.assign", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:assign", record=False)
    from hokoku.services.tasks import assign_task

    assign_task(hk(request), incident_id=inc.public_id, ref=ref, to=to, actor=viewer.email, now=now_of(request))
    return _back(next, f"/incidents/{inc.public_id}", "assigned")


@router.get("/incidents/{incident_id}/drafts/{kind}")
def draft(request: Request, incident_id: str, kind: str, format: str = "html"):
    viewer = _viewer(request)
    inc = load_visible(request, viewer, incident_id, via=f"draft:{kind}")
    lang = lang_of(request)
    text = render_incident_draft(hk(request), incident_id=inc.public_id, kind=kind, lang=lang, fmt=format,
                                 now=now_of(request))
    from hokoku.web.casework import draft_response

    return draft_response(text, kind=kind, incident=inc.public_id, lang=lang, fmt=format)


# -- leadership -----------------------------------------------------------------------------------
@router.get("/leadership")
def leadership(request: Request, incident: str = ""):
    viewer = _viewer(request)
    app = hk(request)
    lang = lang_of(request)
    now = now_of(request)
    if not viewer.scope.manages:
        accesslog.record_denied(app, email=viewer.email, incident=None, via="page:leadership",
                                reason="staff see only their own reports", now=now)
        raise Forbidden(f"{viewer.email} may not see the leadership overview")
    from hokoku.web.metrics import incident_metrics

    rows = incident_metrics(app, viewer.scope, now=now, lang=lang)
    t = lambda k: translate(k, lang)  # noqa: E731
    href = lambda r: f"/incidents/{r['incident']}"  # noqa: E731
    ack_chart = bar_chart(t("lead.ack_chart"), [
        Bar(r["incident"], r["time_to_acknowledge"].total_seconds() / 60 if r["time_to_acknowledge"] else None,
            fmt_duration(r["time_to_acknowledge"], lang), "bar ack", href(r)) for r in rows], empty=t("lead.none"))
    contain_chart = bar_chart(t("lead.contain_chart"), [
        Bar(r["incident"], r["time_to_contain"].total_seconds() / 60 if r["time_to_contain"] else None,
            fmt_duration(r["time_to_contain"], lang), "bar contain", href(r)) for r in rows], empty=t("lead.none"))
    deadline_chart = stacked_chart(t("lead.deadline_chart"), [
        (r["incident"], [Segment(r["deadlines_met"], "seg met", t("lead.met")),
                         Segment(r["deadlines_missed"], "seg missed", t("lead.missed")),
                         Segment(r["deadlines_open"], "seg open", t("lead.open"))], href(r)) for r in rows],
        empty=t("lead.none"))
    totals = {k: sum(r[k] for r in rows) for k in ("deadlines_met", "deadlines_missed", "deadlines_open")}
    selected = incident.strip().upper() or (rows[-1]["incident"] if rows else "")
    if selected and selected not in {r["incident"] for r in rows}:
        selected = ""
    return render(request, "leadership.html", rows=rows, ack_chart=ack_chart, contain_chart=contain_chart,
                  deadline_chart=deadline_chart, totals=totals, selected=selected)


# -- audit log --------------------------------------------------------------------------------------
PAGE_SIZE = 100


@router.get("/audit")
def audit_page(request: Request, incident: str = "", before: int = 0):
    viewer = _viewer(request)
    if not 0 <= before <= 2**62:
        raise FieldError("before", "before: must be a whole number from 0 to 2^62")
    app = hk(request)
    now = now_of(request)
    if not viewer.scope.may_read_audit_log:
        accesslog.record_denied(app, email=viewer.email, incident=None, via="page:audit",
                                reason="only the audit officer, the general manager and the director-general "
                                       "read the audit log", now=now)
        raise Forbidden(f"{viewer.email} may not read the audit log")
    from hokoku.services.auditops import verify as verify_audit

    result = verify_audit(app, public_keys=app.keyring.public_keys())  # with the local checkpoints
    with transaction(app.engine) as session:
        query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(PAGE_SIZE)
        if incident.strip():
            query = query.where(AuditEvent.incident_public_id == incident.strip().upper())
        if before > 0:
            query = query.where(AuditEvent.seq < before)
        events = [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "incident": e.incident_public_id,
                   "data": e.data} for e in session.execute(query).scalars()]
        audit.append(session, app.keyring, at=now, actor=viewer.email, action="audit.viewed",
                     data={"incident": incident.strip().upper() or None, "before": before or None})
    older = _url_with(request, before=str(events[-1]["seq"])) if len(events) == PAGE_SIZE else None
    return render(request, "audit.html", result=result, events=events, incident=incident.strip().upper(),
                  older=older)


__all__ = ["router", "render", "render_error"]
