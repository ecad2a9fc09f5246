"""The JSON API under ``/api/`` (documented at ``/docs`` and ``/openapi.json``).

Scripts authenticate with a personal token (``hokoku user token EMAIL``) as
``Authorization: Bearer hkp_...``; a signed-in browser may use its session cookie, with the
session's CSRF token in ``X-CSRF-Token`` on every POST. Monitors post alerts to ``/api/alerts``
with their alert-source token. Errors are ``{"error": "...", "field": "..."}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hokoku.core.statutory import MAX_INDIVIDUALS
from hokoku.core.timeutil import iso
from hokoku.services.dashboard import SORTS, incident_rows
from hokoku.services.intake import MAX_SUMMARY
from hokoku.services.organisation import organisation
from hokoku.services.tasks import assign_task, complete_task, list_tasks
from hokoku.services.triage import decide, show_assessment, triage
from hokoku.web import security
from hokoku.web.common import app_for, load_visible, require_writer, rows_json
from hokoku.web.deps import ApiViewer, Context, HkApp, Lang, NotSignedIn, Now, Viewer, bearer, get_lang
from hokoku.web.drafts import FORMATS, render_incident_draft
from hokoku.web.errors import FieldError
from hokoku.web.reports import MAX_TEXT, submit_report

router = APIRouter(prefix="/api", tags=["api"])

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "no or bad token",
        "content": {"application/json": {"example": {"error": "sign in first", "field": None}}},
    },
    403: {"description": "not allowed (outside your scope, or read-only)"},
    404: {"description": "unknown incident, stage or step"},
    409: {"description": "the chain refuses this transition now"},
    413: {"description": "request body too large"},
    422: {
        "description": "bad input; `field` names it",
        "content": {"application/json": {"example": {"error": "division: unknown division 'X'", "field": "division"}}},
    },
}


def _aware(value: datetime | None) -> datetime | None:
    """A time without an offset is Japan time (as on the command line); only accepted years."""
    from hokoku.web.bounds import in_range

    return None if value is None else in_range(value)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _bounded(cls, value):  # every whole number in a body: at most 1e9 (hokoku.web.bounds)
        from hokoku.web.bounds import bounded_int

        return bounded_int(value)


class ReportIn(_In):
    division: str = Field(min_length=1, max_length=64, description="division code (hokoku org)")
    category: str = Field(min_length=1, max_length=64, description="incident category (hokoku playbook list)")
    summary: str = Field(min_length=1, max_length=MAX_SUMMARY, description="what happened")
    aware_at: datetime | None = Field(
        None, description="when the reporter first knew (ISO 8601; no offset = Japan time)"
    )
    occurred_at: datetime | None = Field(
        None, description="when it happened, if known (ISO 8601; no offset = Japan time)"
    )
    data_items: str | None = Field(None, max_length=MAX_TEXT, description="what data")
    individuals: int | None = Field(None, ge=0, le=MAX_INDIVIDUALS, description="roughly how many people")
    already_done: str | None = Field(None, max_length=MAX_TEXT, description="what was already done")
    details: str | None = Field(None, max_length=MAX_TEXT)
    serious: bool = False

    _aw = field_validator("aware_at")(lambda v: _aware(v))
    _oa = field_validator("occurred_at")(lambda v: _aware(v))


class AckIn(_In):
    stage: str | None = Field(None, max_length=64, description="only this stage (code or article)")


class AdvanceIn(_In):
    stage: str = Field(min_length=1, max_length=64, description="stage code (containment) or article (27-3)")
    note: str | None = Field(None, max_length=20_000)
    skip_reason: str | None = Field(None, max_length=20_000, description="skip the stage instead, for this reason")


Fact = Literal["yes", "no", "unknown"]


class TriageIn(_In):
    """Each fact is yes, no or unknown (``true``/``false``/``null`` also work); a fact left out
    keeps its recorded value. ``individuals`` is a number or ``"unknown"``."""

    serious: bool = False
    sensitive: bool | Fact | None = None
    financial_risk: bool | Fact | None = None
    unauthorized_purpose: bool | Fact | None = None
    individuals: int | Literal["unknown"] | None = Field(None, description='a number, or "unknown"')
    individuals_estimated: bool = False
    encrypted: bool | Fact | None = None
    category: str | None = Field(None, max_length=64)

    @field_validator("individuals")
    @classmethod
    def _people(cls, v):
        if isinstance(v, int) and not 0 <= v <= MAX_INDIVIDUALS:
            raise ValueError(f'must be a whole number from 0 to {MAX_INDIVIDUALS:,}, or "unknown"')
        return v

    def facts(self) -> dict:
        """The facts given, as True / False / None (unknown)."""
        out: dict = {}
        for name in ("sensitive", "financial_risk", "unauthorized_purpose", "encrypted"):
            if name in self.model_fields_set:
                value = getattr(self, name)
                out[name] = {"yes": True, "no": False, "unknown": None}.get(value, value)
        if "individuals" in self.model_fields_set:
            out["individuals"] = None if self.individuals == "unknown" else self.individuals
            out["individuals_estimated"] = self.individuals_estimated
        elif "individuals_estimated" in self.model_fields_set:
            out["individuals_estimated"] = self.individuals_estimated
        return out


class DecisionIn(_In):
    decision: Literal["confirm", "required", "not-required"]
    reason: str | None = Field(None, max_length=2_000, description="required for an override")


class AmendIn(_In):
    aware_at: datetime = Field(description="the corrected awareness time (ISO 8601; no offset = Japan time)")
    reason: str = Field(min_length=1, max_length=2_000)

    _aw = field_validator("aware_at")(lambda v: _aware(v))


class StepDoneIn(_In):
    note: str | None = Field(None, max_length=20_000)
    evidence: str | None = Field(None, max_length=20_000)


class StepAssignIn(_In):
    to: str = Field(min_length=3, max_length=320, description="email of the new owner")


class AlertIn(_In):
    division: str = Field(min_length=1, max_length=64)
    category: str = Field("bulk-download", min_length=1, max_length=64)
    summary: str = Field(min_length=1, max_length=MAX_SUMMARY)
    dedup_key: str | None = Field(None, max_length=255)
    occurred_at: datetime | None = None
    details: dict[str, Any] | None = None

    _oc = field_validator("occurred_at")(lambda v: _aware(v))


# -- who is calling ------------------------------------------------------------------------------
def api_writer(request: Request, viewer: ApiViewer) -> Viewer:
    """The caller, allowed to change things: CSRF header with a session cookie; never read-only."""
    if viewer.signed.via == "session" and not security.tokens_match(
        viewer.signed.csrf_token, request.headers.get(security.CSRF_HEADER)
    ):
        raise security.csrf_refused("X-CSRF-Token header missing or wrong (needed with a session cookie)")
    incident = request.path_params.get("incident_id")
    require_writer(request, viewer, action=f"api {request.method} {request.url.path}", incident=incident, via="api")
    return viewer


#: The caller of a route that changes something.
ApiWriter = Annotated[Viewer, Depends(api_writer)]


def _json(data, status: int = 200) -> JSONResponse:
    return security.security_headers(JSONResponse(data, status_code=status))


# -- endpoints ------------------------------------------------------------------------------------
@router.get("/me", responses=ERROR_RESPONSES, summary="who the token or session belongs to")
def me(viewer: ApiViewer):
    s = viewer.scope
    return _json(
        {
            "email": viewer.email,
            "name": viewer.name,
            "roles": [list(r) for r in s.roles],
            "everything": s.everything,
            "institutes": sorted(s.institutes),
            "divisions": sorted(s.divisions),
            "read_only": s.read_only,
        }
    )


@router.post("/incidents", status_code=201, responses=ERROR_RESPONSES, summary="report an incident (27-1)")
def api_report(body: ReportIn, request: Request, app: HkApp, now: Now, lang: Lang, viewer: ApiWriter, ctx: Context):
    result = submit_report(app, viewer, now=now, lang=lang, **body.model_dump())
    from hokoku.web.context import deliver_after

    return deliver_after(ctx, _json(result.to_json(), 201), incident=result.public_id)


@router.get("/incidents", responses=ERROR_RESPONSES, summary="incidents you may see")
def api_list(
    request: Request, app: HkApp, now: Now, lang: Lang, viewer: ApiViewer, open: bool = True, sort: str = "due"
):
    if sort not in SORTS:
        raise FieldError("sort", f"sort: {sort!r} is not one of {', '.join(SORTS)}")
    rows = incident_rows(app, viewer.scope, now=now, lang=lang, open_only=open, sort=sort)
    return _json(rows_json(rows))


@router.get("/incidents/{incident_id}", responses=ERROR_RESPONSES, summary="one incident (the view is audited)")
def api_show(incident_id: str, request: Request, app: HkApp, now: Now, lang: Lang, viewer: ApiViewer):
    inc = load_visible(request, viewer, incident_id, via="api")
    from hokoku.services.queries import show_incident

    view = app_for(app, lang)
    data = show_incident(view, inc.public_id, now=now)
    data["details"] = (
        view.keyring.decrypt(inc.details_enc, field="incident.details", bind=inc.public_id) if inc.details_enc else None
    )
    data["tasks"] = list_tasks(view, incident_id=inc.public_id)
    data["assessment"] = show_assessment(view, incident_id=inc.public_id)
    return _json(data)


@router.post("/incidents/{incident_id}/ack", responses=ERROR_RESPONSES, summary="acknowledge the stages awaiting you")
def api_ack(incident_id: str, request: Request, app: HkApp, now: Now, viewer: ApiWriter, body: AckIn | None = None):
    inc = load_visible(request, viewer, incident_id, via="api:ack", record=False)
    from hokoku.services.transitions import acknowledge

    result = acknowledge(
        app,
        incident_id=inc.public_id,
        actor=viewer.email,
        now=now,
        stage=(body.stage if body else None) or None,
        channel="web",
    )
    return _json(result.to_json())


@router.post("/incidents/{incident_id}/advance", responses=ERROR_RESPONSES, summary="complete (or skip) a stage")
def api_advance(incident_id: str, body: AdvanceIn, request: Request, app: HkApp, now: Now, viewer: ApiWriter):
    inc = load_visible(request, viewer, incident_id, via="api:advance", record=False)
    from hokoku.services.transitions import advance

    result = advance(
        app,
        incident_id=inc.public_id,
        stage=body.stage,
        actor=viewer.email,
        now=now,
        note=body.note or None,
        skip_reason=body.skip_reason,
        channel="web",
    )
    return _json(result.to_json())


@router.post(
    "/incidents/{incident_id}/triage",
    responses=ERROR_RESPONSES,
    summary="record triage facts; returns the reportability assessment",
)
def api_triage(incident_id: str, body: TriageIn, request: Request, app: HkApp, now: Now, viewer: ApiWriter):
    inc = load_visible(request, viewer, incident_id, via="api:triage", record=False)

    return _json(
        triage(
            app,
            incident_id=inc.public_id,
            actor=viewer.email,
            now=now,
            serious=body.serious,
            category=body.category,
            **body.facts(),
        )
    )


@router.post(
    "/incidents/{incident_id}/reportability",
    responses=ERROR_RESPONSES,
    summary="the general manager confirms or overrides the reportability assessment",
)
def api_reportability(incident_id: str, body: DecisionIn, request: Request, app: HkApp, now: Now, viewer: ApiWriter):
    inc = load_visible(request, viewer, incident_id, via="api:reportability", record=False)

    return _json(
        decide(
            app,
            incident_id=inc.public_id,
            actor=viewer.email,
            decision=body.decision,
            reason=body.reason,
            now=now,
        )
    )


@router.post(
    "/incidents/{incident_id}/amend",
    responses=ERROR_RESPONSES,
    summary="correct the awareness time; the statutory clocks move with it",
)
def api_amend(incident_id: str, body: AmendIn, request: Request, app: HkApp, now: Now, viewer: ApiWriter):
    inc = load_visible(request, viewer, incident_id, via="api:amend", record=False)
    from hokoku.services.amend import amend_awareness

    return _json(
        amend_awareness(
            app,
            incident_id=inc.public_id,
            aware_at=body.aware_at,
            reason=body.reason,
            actor=viewer.email,
            now=now,
        )
    )


@router.get(
    "/incidents/{incident_id}/steps", responses=ERROR_RESPONSES, summary="playbook steps and prevention actions"
)
def api_steps(incident_id: str, request: Request, app: HkApp, lang: Lang, viewer: ApiViewer):
    inc = load_visible(request, viewer, incident_id, via="api:steps")

    return _json(list_tasks(app_for(app, lang), incident_id=inc.public_id))


@router.post("/incidents/{incident_id}/steps/{ref}/done", responses=ERROR_RESPONSES, summary="complete a step")
def api_step_done(
    incident_id: str,
    ref: str,
    request: Request,
    app: HkApp,
    now: Now,
    viewer: ApiWriter,
    body: StepDoneIn | None = None,
):
    inc = load_visible(request, viewer, incident_id, via="api:step", record=False)

    return _json(
        complete_task(
            app,
            incident_id=inc.public_id,
            ref=ref,
            actor=viewer.email,
            now=now,
            note=body.note if body else None,
            evidence=body.evidence if body else None,
        )
    )


@router.post("/incidents/{incident_id}/steps/{ref}/assign", responses=ERROR_RESPONSES, summary="give a step to someone")
def api_step_assign(
    incident_id: str, ref: str, body: StepAssignIn, request: Request, app: HkApp, now: Now, viewer: ApiWriter
):
    inc = load_visible(request, viewer, incident_id, via="api:assign", record=False)

    return _json(assign_task(app, incident_id=inc.public_id, ref=ref, to=body.to, actor=viewer.email, now=now))


@router.get(
    "/incidents/{incident_id}/drafts/{kind}",
    responses=ERROR_RESPONSES,
    response_class=PlainTextResponse,
    summary="a document draft (Markdown by default, HTML, or Word: format=docx)",
)
def api_draft(
    incident_id: str,
    kind: str,
    request: Request,
    app: HkApp,
    now: Now,
    viewer: ApiViewer,
    format: str = "md",
    lang: str | None = None,
) -> Response:
    if lang is not None and lang not in ("ja", "en"):
        raise FieldError("lang", f"lang: {lang!r} is not ja or en")
    if format not in FORMATS:
        raise FieldError("format", f"format: {format!r} is not one of {', '.join(FORMATS)}")
    inc = load_visible(request, viewer, incident_id, via=f"api:draft:{kind}")
    text = render_incident_draft(
        app,
        incident_id=inc.public_id,
        kind=kind,
        lang=lang or get_lang(request),
        fmt=format,
        now=now,
    )
    if format == "docx":
        from hokoku.web.casework import draft_response

        return draft_response(text, kind=kind, incident=inc.public_id, lang=lang or get_lang(request), fmt=format)
    media = "text/html; charset=utf-8" if format == "html" else "text/markdown; charset=utf-8"
    return security.security_headers(Response(text, media_type=media), csp=security.DRAFT_CSP)


@router.post(
    "/alerts",
    status_code=201,
    responses={
        **ERROR_RESPONSES,
        200: {"description": "attached to an open incident"},
        429: {"description": "rate limited; see Retry-After"},
    },
    summary="a machine alert (Art. 13 bulk download and other monitors)",
)
def api_alert(body: AlertIn, request: Request, app: HkApp, now: Now):
    from hokoku.services.alerts import ingest_alert, source_for_token

    token = bearer(request)
    source = source_for_token(app, token) if token else None
    if source is None:
        raise NotSignedIn(
            "authentication required: Authorization: Bearer <alert source token> (hokoku alert-source add)"
        )
    try:
        organisation(app).division(body.division)
    except Exception:
        raise FieldError("division", f"division: unknown division {body.division!r}") from None
    if body.category not in app.playbooks:
        raise FieldError("category", f"category: unknown category {body.category!r}")
    result = ingest_alert(
        app,
        source=source,
        division=body.division,
        category=body.category,
        summary=body.summary,
        now=now,
        dedup_key=body.dedup_key,
        aware_at=body.occurred_at,
        details=body.details,
    )
    return _json(result, 201 if result["created"] else 200)


__all__ = ["router", "iso"]
