"""Server-rendered pages (Jinja2, autoescaped): report, receipt, dashboard, incident, leadership,
audit log, sign-in. Every form carries the session's CSRF token; every POST checks it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TypedDict

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from hokoku.core.exceptions import InputError, NotFound
from hokoku.core.scopes import scope_for
from hokoku.core.timeutil import JST, as_utc, parse_instant
from hokoku.documents.labels import LABELS
from hokoku.documents.render import headcount_text
from hokoku.i18n import t as translate
from hokoku.i18n import t_or
from hokoku.services import accesslog, auditlog
from hokoku.services.dashboard import FILTER_STATES, SORTS, DashFilter, incident_rows
from hokoku.services.incidents import incident_policy
from hokoku.services.intake import MAX_SUMMARY
from hokoku.services.organisation import organisation
from hokoku.services.records import PUBLIC_FIELDS
from hokoku.services.tasks import assign_task, complete_task, list_tasks
from hokoku.services.triage import DECISIONS, KEEP, decide, parse_fact, show_assessment, triage
from hokoku.services.websessions import LoginFailed, LoginThrottled, login, logout
from hokoku.web import security
from hokoku.web.bounds import form_count
from hokoku.web.casework import PAGE_ITEMS, current_findings, current_public_texts, draft_response
from hokoku.web.charts import Bar, Segment, bar_chart, fmt_duration, fmt_relative, stacked_chart
from hokoku.web.common import Forbidden, app_for, load_visible, managing_people
from hokoku.web.deps import (
    Context,
    HkApp,
    Lang,
    Now,
    PageViewer,
    Viewer,
    find_viewer,
    get_app,
    get_lang,
    get_now,
    get_web_settings,
)
from hokoku.web.drafts import draft_kinds, render_incident_draft
from hokoku.web.errors import FieldError, field_of
from hokoku.web.exports import csv_response, jsonl_response
from hokoku.web.pagebase import (
    back_to,
    fmt_when,
    is_https,
    render,
    require_form_writer,
    require_viewer,
    same_site,
    url_with,
)
from hokoku.web.reports import MAX_TEXT, report_from_form, report_problems
from hokoku.web.responders import timeline_entries
from hokoku.web.security import SESSION_COOKIE

router = APIRouter(include_in_schema=False)


def _aware(value):
    if value is None or value == "":
        return None
    return as_utc(datetime.fromisoformat(value)) if isinstance(value, str) else value


def _local_input(value: datetime | None) -> str:
    """A datetime as the value of an ``<input type=datetime-local>`` in Japan time."""

    return "" if value is None else as_utc(value).astimezone(JST).strftime("%Y-%m-%dT%H:%M")


# -- sign-in ----------------------------------------------------------------------------------
def _landing(app, email: str) -> str:
    """Where a person lands after signing in: staff on the report form, managers on the dashboard."""

    try:
        scope = scope_for(organisation(app), email)
    except Exception:
        return "/dashboard"
    return "/dashboard" if scope.manages or scope.may_read_audit_log else "/report"


@router.get("/")
def home(request: Request, app: HkApp):
    viewer = find_viewer(request)
    return RedirectResponse(_landing(app, viewer.email) if viewer else "/login", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = ""):
    token = request.cookies.get(security.LOGIN_CSRF_COOKIE) or security.new_token()
    response = render(request, "login.html", login_csrf=token, next=same_site(next, ""), error=None, email="")
    response.set_cookie(
        security.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        max_age=3600,
        path="/login",
    )
    return response


@router.post("/login")
def login_submit(
    request: Request,
    app: HkApp,
    now: Now,
    lang: Lang,
    email: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form(""),
):
    if not security.tokens_match(request.cookies.get(security.LOGIN_CSRF_COOKIE), csrf_token):
        raise security.csrf_refused("sign-in form expired: reload the page and try again")
    ip = security.client_ip(request, get_web_settings(request).proxy_networks)
    try:
        cookie, _csrf = login(app, get_web_settings(request), email=email, password=password, ip=ip, now=now)
    except LoginThrottled as exc:
        return render(
            request,
            "login.html",
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
            login_csrf=csrf_token,
            next=same_site(next, ""),
            error=translate("login.throttled", lang),
            email=email,
        )
    except LoginFailed:
        return render(
            request,
            "login.html",
            status=401,
            login_csrf=csrf_token,
            next=same_site(next, ""),
            error=translate("login.failed", lang),
            email=email,
        )
    response = RedirectResponse(same_site(next, _landing(app, email.strip().lower())), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
        max_age=int(get_web_settings(request).session_hours * 3600),
    )
    response.delete_cookie(security.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout_submit(request: Request, app: HkApp, now: Now, csrf_token: str = Form("")):
    viewer = find_viewer(request)
    if viewer is not None:
        if not security.tokens_match(viewer.signed.csrf_token, csrf_token):
            raise security.csrf_refused()
        logout(app, request.cookies.get(SESSION_COOKIE), now=now)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- report -------------------------------------------------------------------------------------
#: Categories in the order people reach for them (most common first); ``unknown`` last; the
#: machine-alert type is never offered to people (``POST /api/alerts`` files it).
PEOPLE_ORDER = (
    "misdirected",
    "lost-device",
    "improper-disposal",
    "unauthorized-access",
    "malware",
    "improper-copy",
    "insider-misuse",
    "contractor",
    "physical-intrusion",
)
MACHINE_ONLY = frozenset({"bulk-download"})


def _categories(app, lang: str, *, for_people: bool = True) -> list[tuple[str, str, str]]:
    """(code, title, description) of the playbooks: for people, the common ones first, the rest by
    name, ``unknown`` ("分からない・その他") last and machine-only types left out."""
    rank = {c: n for n, c in enumerate(PEOPLE_ORDER)}
    codes = [c for c in app.playbooks if not (for_people and c in MACHINE_ONLY)]
    codes.sort(key=lambda c: (c == "unknown", rank.get(c, len(rank)), c))
    return [(c, app.playbooks[c].title.get(lang), app.playbooks[c].description.get(lang)) for c in codes]


class ReportForm(TypedDict):
    """The report form's fields, as posted (and shown again with the problems)."""

    division: str
    category: str
    summary: str
    aware_at: str
    occurred_at: str
    data_items: str
    individuals: str
    already_done: str
    serious: bool


def _report_page(
    request: Request,
    viewer: Viewer,
    *,
    status: int = 200,
    values: ReportForm | None = None,
    errors: dict | None = None,
) -> HTMLResponse:
    app = get_app(request)
    lang = get_lang(request)
    org = organisation(app)
    divisions = [(d.code, d.name.get(lang), i.name.get(lang)) for i in org.institutes for d in i.divisions]
    if values is None:
        values = {
            "division": viewer.scope.home_division or "",
            "category": "",
            "summary": "",
            "aware_at": "",
            "occurred_at": "",
            "data_items": "",
            "individuals": "",
            "already_done": "",
            "serious": False,
        }

    return render(
        request,
        "report.html",
        status=status,
        divisions=divisions,
        categories=_categories(app, lang),
        values=values,
        errors=errors or {},
        max_now=_local_input(get_now(request)),
        max_summary=MAX_SUMMARY,
        max_text=MAX_TEXT,
    )


@router.get("/report")
def report_form(request: Request):
    return _report_page(request, require_viewer(request))


@router.post("/report")
def report_submit(
    request: Request,
    app: HkApp,
    now: Now,
    ctx: Context,
    division: str = Form(""),
    category: str = Form(""),
    summary: str = Form(""),
    aware_at: str = Form(""),
    data_items: str = Form(""),
    individuals: str = Form(""),
    already_done: str = Form(""),
    serious: bool = Form(False),
    occurred_at: str = Form(""),
    csrf_token: str = Form(""),
):
    viewer = require_form_writer(request, csrf_token, action="report")
    values: ReportForm = {
        "division": division,
        "category": category,
        "summary": summary,
        "aware_at": aware_at,
        "occurred_at": occurred_at,
        "data_items": data_items,
        "individuals": individuals,
        "already_done": already_done,
        "serious": serious,
    }
    lang = get_lang(request)

    people_categories = {c for c, _, _ in _categories(app, lang)}
    problems = report_problems(app, now=now, lang=lang, categories=people_categories, **values)
    if problems:
        return _report_page(request, viewer, status=422, values=values, errors=problems)
    try:
        result = report_from_form(app, viewer, now=now, lang=lang, **values)
    except InputError as exc:
        return _report_page(
            request, viewer, status=422, values=values, errors={field_of(exc) or "form": exc.localized(lang)}
        )
    from hokoku.web.context import deliver_after

    response = RedirectResponse(f"/incidents/{result.public_id}/receipt", status_code=303)
    return deliver_after(ctx, response, incident=result.public_id)


@router.get("/incidents/{incident_id}/receipt")
def receipt(request: Request, viewer: PageViewer, app: HkApp, lang: Lang, incident_id: str):
    inc = load_visible(request, viewer, incident_id, via="page:receipt")
    org = organisation(app)
    playbook = app.playbooks.get(inc.category)
    return render(
        request,
        "receipt.html",
        incident=inc.public_id,
        category=playbook.title.get(lang) if playbook else inc.category,
        reported_at=inc.reported_at,
        aware_at=inc.aware_at,
        unknown_category=inc.category == "unknown",
        protection_manager=org.division(inc.division_code).protection_manager.name,
        actions=[a.get(lang) for a in playbook.immediate_actions] if playbook else [],
    )


# -- dashboard ----------------------------------------------------------------------------------
def _day(text: str, field: str, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` from a filter form as the start (or the end) of that day in Japan, in UTC."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=JST)
    except ValueError:
        raise FieldError(field, key="err.date.format", what=field, value=repr(text)) from None
    from datetime import timedelta

    return as_utc(day + timedelta(days=1) if end else day)


def dashboard_context(request: Request, viewer: Viewer) -> dict:
    """The dashboard's rows and filter form, from the URL (shared by the page and its live fragment)."""

    p = request.query_params
    sort = p.get("sort", "due")
    sort = sort if sort in SORTS else "due"
    show_all = p.get("all", "0") not in ("", "0")
    lang = get_lang(request)
    app = get_app(request)
    filters = DashFilter(
        q=p.get("q", "").strip()[:200],
        state=p.get("status", "") if p.get("status", "") in FILTER_STATES else "",
        category=p.get("category", "").strip(),
        division=p.get("division", "").strip(),
        owner=p.get("owner", "").strip().lower(),
        overdue=p.get("overdue") == "1",
        statutory=p.get("statutory") == "1",
        since=_day(p.get("from", ""), "from"),
        until=_day(p.get("to", ""), "to", end=True),
    )
    now = get_now(request)
    rows = incident_rows(
        app,
        viewer.scope,
        now=now,
        lang=lang,
        open_only=not show_all,
        sort=sort,
        descending=p.get("dir") == "desc",
        filters=filters,
    )
    scope = viewer.scope
    if scope.everything:
        scope_text = translate("dash.scope_all", lang)
    elif scope.manages:
        scope_text = ", ".join(sorted(scope.institutes | scope.divisions))
    else:
        scope_text = translate("dash.mine", lang)
    sort_links = [
        (s, translate(f"dash.sort.{s}", lang), url_with(request, sort=s, dir=None, msg=None, partial=None))
        for s in SORTS
    ]
    org = organisation(app)
    divisions = [
        (d.code, d.name.get(lang))
        for i in org.institutes
        for d in i.divisions
        if scope.everything or d.code in scope.divisions or i.code in scope.institutes
    ]
    owners = sorted(
        {(s["owner"], s["owner_name"]) for r in rows for s in r["stages"] if s["owner"]}
        | ({(filters.owner, filters.owner)} if filters.owner else set()),
        key=lambda x: x[1] or "",
    )
    return dict(
        rows=rows,
        sort=sort,
        sort_links=sort_links,
        show_all=show_all,
        filters=filters,
        filter_states=FILTER_STATES,
        categories=_categories(app, lang, for_people=False),
        divisions=divisions,
        owners=owners,
        now=now,
        rel=lambda v: fmt_relative(v, now, lang),
        toggle_url=url_with(request, all=None if show_all else "1", msg=None, partial=None),
        scope_text=scope_text,
        here=url_with(request, msg=None, partial=None),
        request_from=p.get("from", "")[:10],
        request_to=p.get("to", "")[:10],
        fragment_url=url_with(request, msg=None, partial="1"),
        csv_url=url_with(request, msg=None, partial=None, format="csv"),
        can_act=scope.manages and not scope.read_only,
        filtered=any(
            (
                filters.q,
                filters.state,
                filters.category,
                filters.division,
                filters.owner,
                filters.overdue,
                filters.statutory,
                filters.since,
                filters.until,
            )
        ),
    )


@router.get("/dashboard")
def dashboard(request: Request, viewer: PageViewer):
    ctx = dashboard_context(request, viewer)
    if request.query_params.get("format") == "csv":
        return _incidents_csv(request, viewer, ctx["rows"])
    if request.query_params.get("partial") == "1":
        return render(request, "_dash_rows.html", **ctx)
    return render(request, "dashboard.html", **ctx)


def _incidents_csv(request: Request, viewer: Viewer, rows: list[dict]):
    """The (filtered) incident list as CSV, in the page's language; the export is audited."""

    lang = get_lang(request)
    t = lambda k: translate(k, lang)  # noqa: E731
    app = get_app(request)
    auditlog.record_event(
        app,
        now=get_now(request),
        actor=viewer.email,
        action="incidents.exported",
        data={"format": "csv", "rows": len(rows), "query": url_with(request, msg=None)[:500]},
    )
    header = [
        t("col.incident"),
        t("inc.reported_at"),
        t("col.status"),
        t("report.category"),
        t("col.division"),
        t("serious"),
        t("inc.summary"),
        t("col.stage"),
        t("col.owner"),
        t("col.due"),
        t("dash.statutory"),
    ]
    out = []
    for r in rows:
        stage = min(r["stages"], key=lambda s: s["due_at"] or r["reported_at"]) if r["stages"] else None
        out.append(
            [
                r["incident"],
                fmt_when(r["reported_at"]),
                t("status." + r["state"]),
                r["category_label"],
                r["division_name"],
                "1" if r["serious"] else "0",
                r["summary"],
                stage["title"] if stage else "",
                stage["owner_name"] if stage else "",
                fmt_when(r["next_due_at"]) if r["next_due_at"] else "",
                "; ".join(
                    f"{d['title']} {t('lead.filed') if d['done'] else fmt_when(d['due_at'])}" for d in r["statutory"]
                ),
            ]
        )
    return csv_response(header, out, filename="hokoku-incidents.csv")


# -- incident -------------------------------------------------------------------------------------
@router.get("/incidents/{incident_id}")
def incident_page(request: Request, viewer: PageViewer, app: HkApp, incident_id: str):
    inc = load_visible(request, viewer, incident_id, via="page")
    lang = get_lang(request)
    view = app_for(app, lang)
    now = get_now(request)
    from hokoku.services.queries import show_incident

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
        task["checklist"] = list(enumerate(checklists.get(ref, []))) if task["kind"] == "step" else []
        task["phase_label"] = t_or(f"phase.{task.get('phase')}", lang, task.get("phase") or "")
    policy_stages = {}

    policy = incident_policy(inc)
    for s in shown["stages"]:
        sp = policy.stage(s["code"])
        policy_stages[s["code"]] = {"can_complete": sp.completed_by == "advance", "skippable": sp.skippable}
    stage_titles = {st["code"]: st.get("title") or st["code"] for st in shown["stages"]}
    step_titles = {t["ref"].split(":", 1)[-1]: t.get("title") or t["ref"] for t in tasks}
    from hokoku.services.responders import evidence_list, task_workers, ticks

    timeline, views = timeline_entries(
        app,
        incident_id=inc.public_id,
        events=shown["timeline"],
        lang=lang,
        stage_titles=stage_titles,
        step_titles=step_titles,
    )
    ticked = ticks(app, incident_id=inc.public_id)
    workable = set() if viewer.scope.read_only else task_workers(app, incident_id=inc.public_id, actor=viewer.email)
    evidence = evidence_list(app, incident_id=inc.public_id)
    for e in evidence:
        e["by_name"] = people[e["by"]].name if e["by"] in people else e["by"]
    details = (
        app.keyring.decrypt(inc.details_enc, field="incident.details", bind=inc.public_id) if inc.details_enc else None
    )
    scope = viewer.scope
    can_manage = scope.manages and not scope.read_only
    from hokoku.services.transitions import stage_permissions

    permitted = (
        {} if scope.read_only else stage_permissions(app, incident_id=inc.public_id, actor=viewer.email, now=now)
    )
    casework = _casework_view(app, inc, lang, now)
    return render(
        request,
        "incident.html",
        inc=shown,
        details=details,
        tasks=tasks,
        assessment=assessment,
        immediate=[a.get(lang) for a in playbook.immediate_actions] if playbook else [],
        category_label=playbook.title.get(lang) if playbook else inc.category,
        policy_stages=policy_stages,
        reporter_name=people[inc.reporter_email].name if inc.reporter_email in people else inc.reporter_email,
        can_manage=can_manage,
        permitted=permitted,
        timeline=timeline,
        views=views,
        ticked=ticked,
        workable=workable,
        evidence=evidence,
        may_write=not scope.read_only,
        rel=lambda v: fmt_relative(_aware(v), now, lang),
        people_names={e: p.name for e, p in people.items()},
        assignees=managing_people(org, inc.division_code),
        categories=[(c, p.title.get(lang)) for c, p in sorted(app.playbooks.items())],
        draft_kinds=draft_kinds(),
        here=f"/incidents/{inc.public_id}",
        **casework,
        is_general_manager=viewer.email
        in {org.general_manager.email, org.general_manager.deputy.email if org.general_manager.deputy else None},
    )


def _casework_view(app, inc, lang: str, now) -> dict:
    """Report items 4–9, public texts, notices, prevention actions and the one headcount, for the page."""
    from hokoku.services.docdata import build_document_data

    data = build_document_data(app, incident_id=inc.public_id, now=now, lang=lang)

    labels = LABELS[lang]
    found = current_findings(app, inc.public_id)
    return {
        "finding_items": [
            (key, labels.table("item_titles")[key], found.get(key) or "", n)
            for n, key in enumerate(PAGE_ITEMS, start=4)
        ],
        "public_fields": [(key, labels.table("public_fields")[key]) for key in PUBLIC_FIELDS],
        "public_texts": current_public_texts(app, inc.public_id),
        "notices": data["notices"],
        "actions": data["prevention_actions"],
        "headcount": headcount_text(data["headcount"], lang),
        "data_items": data["reported_data_items"],
        "occurred_at": inc.occurred_at,
        "action_labels": labels.table("action_status"),
        "reported_facts": {
            "individuals": data["headcount"]["count"],
            "individuals_estimated": data["headcount"]["estimated"],
        },
    }


@router.post("/incidents/{incident_id}/ack")
def incident_ack(
    request: Request,
    app: HkApp,
    now: Now,
    incident_id: str,
    stage: str = Form(""),
    next: str = Form(""),
    csrf_token: str = Form(""),
):
    viewer = require_form_writer(request, csrf_token, action="ack", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:ack", record=False)
    from hokoku.services.transitions import acknowledge

    acknowledge(
        app,
        incident_id=inc.public_id,
        actor=viewer.email,
        now=now,
        stage=stage.strip() or None,
        channel="web",
    )
    return back_to(next, f"/incidents/{inc.public_id}#stages", "acked")


def _stage_confirm(
    request: Request,
    viewer: Viewer,
    inc,
    stage: str,
    *,
    next_url: str,
    note: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The page that asks for a note (or an explicit "no note") and confirms completing a stage."""

    lang = get_lang(request)
    try:
        sp = incident_policy(inc).stage(stage)
    except Exception:
        raise NotFound(f"stage {stage!r} does not apply to {inc.public_id}") from None
    return render(
        request,
        "stage_complete.html",
        status=status,
        incident=inc.public_id,
        stage=sp.code,
        stage_title=f"{sp.article} {sp.title.get(lang)}",
        note=note,
        error=error,
        next=same_site(next_url, f"/incidents/{inc.public_id}#stage-{sp.code}"),
    )


@router.get("/incidents/{incident_id}/stages/{stage}/complete")
def stage_complete_form(
    request: Request, viewer: PageViewer, app: HkApp, now: Now, incident_id: str, stage: str, next: str = ""
):
    inc = load_visible(request, viewer, incident_id, via="page:complete", record=False)
    from hokoku.services.transitions import stage_permissions

    permitted = stage_permissions(app, incident_id=inc.public_id, actor=viewer.email, now=now)
    if "done" not in permitted.get(stage, frozenset()) or viewer.scope.read_only:
        accesslog.record_denied(
            app,
            email=viewer.email,
            incident=inc.public_id,
            via="page:complete",
            reason=f"may not complete stage {stage} now",
            now=now,
        )
        raise Forbidden(f"{viewer.email} may not complete stage {stage} of {inc.public_id} now")
    return _stage_confirm(request, viewer, inc, stage, next_url=next)


@router.post("/incidents/{incident_id}/advance")
def incident_advance(
    request: Request,
    app: HkApp,
    now: Now,
    lang: Lang,
    incident_id: str,
    stage: str = Form(...),
    op: str = Form("done"),
    note: str = Form(""),
    no_note: bool = Form(False),
    confirm: str = Form(""),
    skip_reason: str = Form(""),
    next: str = Form(""),
    csrf_token: str = Form(""),
):
    viewer = require_form_writer(request, csrf_token, action="advance", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:advance", record=False)
    from hokoku.services.transitions import advance

    skip = op == "skip"
    if skip and not skip_reason.strip():
        raise FieldError("skip_reason", key="err.reason.skip", what="skip_reason")
    if not skip:
        from hokoku.services.transitions import stage_permissions

        allowed = stage_permissions(app, incident_id=inc.public_id, actor=viewer.email, now=now)
        if "done" not in allowed.get(stage, frozenset()):
            # not permitted: the transition itself refuses, with its reason (403 or 409), and is audited
            advance(
                app,
                incident_id=inc.public_id,
                stage=stage,
                actor=viewer.email,
                now=now,
                note=None,
                channel="web",
            )
    if not skip and not note.strip() and not no_note:
        return _stage_confirm(
            request,
            viewer,
            inc,
            stage,
            next_url=next,
            note=note,
            status=422,
            error=translate("complete.need_note", lang),
        )
    if not skip and confirm != "yes":
        return _stage_confirm(request, viewer, inc, stage, next_url=next, note=note)
    advance(
        app,
        incident_id=inc.public_id,
        stage=stage,
        actor=viewer.email,
        now=now,
        note=note.strip() or None,
        skip_reason=skip_reason.strip() if skip else None,
        channel="web",
    )
    return back_to(next, f"/incidents/{inc.public_id}#stages", "skipped" if skip else "advanced")


def _fact(text: str, field: str):
    """A three-valued fact from the form: yes / no / unknown; empty keeps the recorded value."""

    if not (text or "").strip():
        return KEEP
    try:
        return parse_fact(text, field)
    except InputError as exc:
        raise FieldError(field, key="err.as_is", error=exc) from None


@router.post("/incidents/{incident_id}/triage")
def incident_triage(
    request: Request,
    app: HkApp,
    now: Now,
    incident_id: str,
    serious: bool = Form(False),
    sensitive: str = Form(""),
    financial_risk: str = Form(""),
    unauthorized_purpose: str = Form(""),
    individuals: str = Form(""),
    individuals_estimated: bool = Form(False),
    encrypted: str = Form(""),
    category: str = Form(""),
    next: str = Form(""),
    csrf_token: str = Form(""),
):
    viewer = require_form_writer(request, csrf_token, action="triage", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:triage", record=False)

    facts = {
        name: _fact(value, name)
        for name, value in (
            ("sensitive", sensitive),
            ("financial_risk", financial_risk),
            ("unauthorized_purpose", unauthorized_purpose),
            ("encrypted", encrypted),
        )
    }
    if individuals.strip().lower() in ("unknown", "不明"):
        facts["individuals"], facts["individuals_estimated"] = None, False
    elif individuals.strip():
        facts["individuals"] = form_count(individuals, "individuals")
        facts["individuals_estimated"] = individuals_estimated
    triage(
        app,
        incident_id=inc.public_id,
        actor=viewer.email,
        now=now,
        serious=serious,
        category=category.strip() or None,
        **{k: v for k, v in facts.items()},
    )
    return back_to(next, f"/incidents/{inc.public_id}#triage", "triaged")


@router.post("/incidents/{incident_id}/reportability")
def incident_reportability(
    request: Request,
    app: HkApp,
    now: Now,
    incident_id: str,
    decision: str = Form(...),
    reason: str = Form(""),
    next: str = Form(""),
    csrf_token: str = Form(""),
):
    viewer = require_form_writer(request, csrf_token, action="reportability", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:reportability", record=False)

    if decision not in DECISIONS:
        raise FieldError(
            "decision", key="err.one_of", what="decision", value=repr(decision), choices=", ".join(DECISIONS)
        )
    if decision != "confirm" and not reason.strip():
        raise FieldError("reason", key="err.reason.override", what="reason")
    decide(
        app,
        incident_id=inc.public_id,
        actor=viewer.email,
        decision=decision,
        now=now,
        reason=reason.strip() or None,
    )
    return back_to(next, f"/incidents/{inc.public_id}#triage", "decided")


@router.post("/incidents/{incident_id}/amend")
def incident_amend(
    request: Request,
    app: HkApp,
    now: Now,
    incident_id: str,
    aware_at: str = Form(...),
    reason: str = Form(""),
    next: str = Form(""),
    csrf_token: str = Form(""),
):
    viewer = require_form_writer(request, csrf_token, action="amend", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:amend", record=False)
    from hokoku.services.amend import amend_awareness

    try:
        when = parse_instant(aware_at, what="aware_at")
    except InputError as exc:
        raise FieldError("aware_at", key="err.as_is", error=exc) from None
    if not reason.strip():
        raise FieldError("reason", key="err.reason.amend", what="reason")
    amend_awareness(app, incident_id=inc.public_id, aware_at=when, reason=reason, actor=viewer.email, now=now)
    return back_to(next, f"/incidents/{inc.public_id}#triage", "amended")


@router.post("/incidents/{incident_id}/steps/{ref}/done")
def step_done(
    request: Request,
    app: HkApp,
    now: Now,
    incident_id: str,
    ref: str,
    note: str = Form(""),
    evidence: str = Form(""),
    next: str = Form(""),
    csrf_token: str = Form(""),
):
    """Complete a step (checklist ticks are saved one by one: ``/steps/{ref}/tick``)."""
    viewer = require_form_writer(request, csrf_token, action="step.done", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:step", record=False)

    complete_task(
        app,
        incident_id=inc.public_id,
        ref=ref,
        actor=viewer.email,
        now=now,
        note=note.strip() or None,
        evidence=evidence.strip() or None,
    )
    return back_to(next, f"/incidents/{inc.public_id}#step-{ref}", "step_done")


@router.post("/incidents/{incident_id}/steps/{ref}/assign")
def step_assign(
    request: Request,
    app: HkApp,
    now: Now,
    incident_id: str,
    ref: str,
    to: str = Form(...),
    next: str = Form(""),
    csrf_token: str = Form(""),
):
    viewer = require_form_writer(request, csrf_token, action="step.assign", incident=incident_id)
    inc = load_visible(request, viewer, incident_id, via="page:assign", record=False)

    assign_task(app, incident_id=inc.public_id, ref=ref, to=to, actor=viewer.email, now=now)
    return back_to(next, f"/incidents/{inc.public_id}#step-{ref}", "assigned")


@router.get("/incidents/{incident_id}/drafts/{kind}")
def draft(
    request: Request, viewer: PageViewer, app: HkApp, now: Now, incident_id: str, kind: str, format: str = "html"
):
    inc = load_visible(request, viewer, incident_id, via=f"draft:{kind}")
    lang = get_lang(request)
    text = render_incident_draft(app, incident_id=inc.public_id, kind=kind, lang=lang, fmt=format, now=now)

    return draft_response(text, kind=kind, incident=inc.public_id, lang=lang, fmt=format)


# -- leadership -----------------------------------------------------------------------------------
@router.get("/leadership")
def leadership(request: Request, viewer: PageViewer, app: HkApp, incident: str = ""):
    lang = get_lang(request)
    now = get_now(request)
    if not viewer.scope.manages:
        accesslog.record_denied(
            app,
            email=viewer.email,
            incident=None,
            via="page:leadership",
            reason="staff see only their own reports",
            now=now,
        )
        raise Forbidden(f"{viewer.email} may not see the leadership overview")
    from hokoku.services.metrics import incident_metrics, statutory_board

    rows = incident_metrics(app, viewer.scope, now=now, lang=lang)
    board = statutory_board(app, viewer.scope, now=now, lang=lang)
    t = lambda k: translate(k, lang)  # noqa: E731
    href = lambda r: f"/incidents/{r['incident']}"  # noqa: E731

    def minutes_chart(title_key: str, field: str, css: str) -> Markup:
        """One bar per incident: the time in ``field`` (a timedelta, or None while it is still open)."""
        bars = [
            Bar(
                r["incident"],
                r[field].total_seconds() / 60 if r[field] else None,
                fmt_duration(r[field], lang),
                css,
                href(r),
            )
            for r in rows
        ]
        return bar_chart(t(title_key), bars, empty=t("lead.none"))

    ack_chart = minutes_chart("lead.ack_chart", "time_to_acknowledge", "bar ack")
    contain_chart = minutes_chart("lead.contain_chart", "time_to_contain", "bar contain")
    deadline_chart = stacked_chart(
        t("lead.deadline_chart"),
        [
            (
                r["incident"],
                [
                    Segment(r["deadlines_met"], "seg met", t("lead.met")),
                    Segment(r["deadlines_missed"], "seg missed", t("lead.missed")),
                    Segment(r["deadlines_open"], "seg open", t("lead.open")),
                ],
                href(r),
            )
            for r in rows
        ],
        empty=t("lead.none"),
    )
    totals = {k: sum(r[k] for r in rows) for k in ("deadlines_met", "deadlines_missed", "deadlines_open")}
    selected = incident.strip().upper() or (rows[-1]["incident"] if rows else "")
    if selected and selected not in {r["incident"] for r in rows}:
        selected = ""
    return render(
        request,
        "leadership.html",
        rows=rows,
        ack_chart=ack_chart,
        contain_chart=contain_chart,
        deadline_chart=deadline_chart,
        totals=totals,
        selected=selected,
        board=board,
        rel=lambda v: fmt_relative(v, now, lang),
    )


# -- audit log --------------------------------------------------------------------------------------
PAGE_SIZE = 50
EXPORT_LIMIT = 100_000


def _verify_text(result, lang: str) -> str:
    """The verification status in the page's language."""
    if result.ok:
        return translate("audit.verify.ok", lang, events=f"{result.events:,}")
    return translate("audit.verify.failed", lang, seq=result.bad_seq, reason=result.why(lang))


def _action_words(action: str, data: dict, lang: str) -> str:
    phrase = LABELS[lang].table("events").get(action)
    if phrase is None:
        key = f"ev.{action}"
        phrase = t_or(key, lang, None)
    if phrase is None:
        return action
    ref = str(data.get("ref") or "").split(":", 1)[-1]
    try:
        return phrase.format(stage=data.get("stage") or "", step=ref, field=data.get("field") or data.get("item") or "")
    except (KeyError, IndexError, ValueError):
        return phrase


def _data_words(data) -> str:
    if not isinstance(data, dict):
        return "" if data is None else str(data)
    return "、".join(f"{k}: {v}" for k, v in sorted(data.items()) if v not in (None, "", [], {}))


@router.get("/audit")
def audit_page(
    request: Request,
    viewer: PageViewer,
    app: HkApp,
    lang: Lang,
    incident: str = "",
    actor: str = "",
    action: str = "",
    before: int = 0,
    format: str = "html",
):
    if not 0 <= before <= 2**62:
        raise FieldError("before", "before: must be a whole number from 0 to 2^62")
    now = get_now(request)
    if not viewer.scope.may_read_audit_log:
        accesslog.record_denied(
            app,
            email=viewer.email,
            incident=None,
            via="page:audit",
            reason="only the audit officer, the general manager and the director-general read the audit log",
            now=now,
        )
        raise Forbidden(f"{viewer.email} may not read the audit log")
    p = request.query_params
    since, until = _day(p.get("from", ""), "from"), _day(p.get("to", ""), "to", end=True)
    incident, actor, action = incident.strip().upper()[:32], actor.strip().lower()[:320], action.strip()[:64]
    exporting = format in ("csv", "jsonl")
    from hokoku.services.auditops import verify as verify_audit

    result = verify_audit(app, public_keys=app.keyring.public_keys())  # with the local checkpoints
    filters = {
        "incident": incident or None,
        "actor": actor or None,
        "action": action or None,
        "from": p.get("from") or None,
        "to": p.get("to") or None,
    }
    events = auditlog.read_events(
        app,
        now=now,
        reader=viewer.email,
        limit=EXPORT_LIMIT if exporting else PAGE_SIZE,
        incident=incident,
        actor=actor,
        action=action,
        since=since,
        until=until,
        before=before,
        export_format=format if exporting else None,
        record={**filters, "before": before or None},
    )
    for e in events:
        e["words"] = _action_words(e["action"], e["data"] or {}, lang)
    if format == "csv":
        return csv_response(
            ["seq", "at", "actor", "action", "action_words", "incident", "data"],
            (
                [
                    e["seq"],
                    e["at"].isoformat(),
                    e["actor"],
                    e["action"],
                    e["words"],
                    e["incident"] or "",
                    json.dumps(e["data"], ensure_ascii=False, sort_keys=True),
                ]
                for e in events
            ),
            filename="hokoku-audit.csv",
        )
    if format == "jsonl":
        return jsonl_response(
            (
                {
                    "seq": e["seq"],
                    "at": e["at"].isoformat(),
                    "actor": e["actor"],
                    "action": e["action"],
                    "incident": e["incident"],
                    "data": e["data"],
                }
                for e in events
            ),
            filename="hokoku-audit.jsonl",
        )
    people = organisation(app).people()
    for e in events:
        e["actor_name"] = people[e["actor"]].name if e["actor"] in people else e["actor"]
        e["data_words"] = _data_words(e["data"])
    older = url_with(request, before=str(events[-1]["seq"]), msg=None) if len(events) == PAGE_SIZE else None
    return render(
        request,
        "audit.html",
        result=result,
        verify_text=_verify_text(result, lang),
        events=events,
        incident=incident,
        actor=actor,
        action=action,
        date_from=p.get("from", "")[:10],
        date_to=p.get("to", "")[:10],
        older=older,
        newest=url_with(request, before=None, msg=None),
        paged=before > 0,
        csv_url=url_with(request, before=None, msg=None, format="csv"),
        jsonl_url=url_with(request, before=None, msg=None, format="jsonl"),
    )


__all__ = ["router"]
