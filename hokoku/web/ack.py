"""Acknowledgement links from email: ``GET /ack/{token}`` asks, only ``POST /ack/{token}`` acts.

Mail scanners and link previews fetch links on their own, so the GET never changes anything:
it shows what the link would acknowledge and a button that POSTs back to the same URL. The
POST acknowledges the stage named in the token as the person named in it, and records the
token id in ``used_ack_token`` **in the same transaction** (the primary key refuses a second
use even under a race).

Refusals — malformed, forged (bad signature), expired, already used, naming an incident,
stage or person this installation does not know, or a person not entitled — get a clear
page with a 4xx status and an audit event ``ack_link.refused``; nothing is acknowledged.

Pages are Jinja2 templates (``templates/web/``, autoescaped), Japanese by default; ``?lang=en``
or ``?lang=ja`` overrides ``HOKOKU_LANG``. They carry ``no-store`` and ``no-referrer`` so the
token in the URL is neither cached nor leaked to other sites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hokoku.app import App
from hokoku.core import chain
from hokoku.core.exceptions import HokokuError, TransitionRefused
from hokoku.core.timeutil import fmt_jst
from hokoku.i18n import pick_lang, t
from hokoku.models.acktoken import UsedAckToken
from hokoku.models.incident import Incident, Stage
from hokoku.security.acktokens import AckClaims, TokenError, verify_token
from hokoku.store.db import transaction
from hokoku.web.context import WebContext

STATUS = {
    "ok": 200,
    "malformed": 400,
    "bad_signature": 400,
    "unknown_incident": 404,
    "unknown_stage": 404,
    "unknown_person": 403,
    "not_entitled": 403,
    "not_started": 409,
    "already_acknowledged": 409,
    "expired": 410,
    "used": 410,
}


_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
}


@dataclass
class LinkCheck:
    """What a link token is good for right now."""

    reason: str  # "ok" or a key of STATUS
    claims: AckClaims | None = None
    view: dict = field(default_factory=dict)

    @property
    def status(self) -> int:
        return STATUS[self.reason]

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


def verify_link(app: App, token: str, *, now: datetime) -> AckClaims:
    """The claims of a genuine, unexpired token, under the current or an older key."""
    error: TokenError | None = None
    for key in app.keyring.keys:
        try:
            return verify_token(token, key=key.token_key, now=now)
        except TokenError as exc:
            if exc.reason != "bad_signature":
                raise
            error = error or exc
    raise error or TokenError("bad_signature")


def check_link(app: App, token: str, *, now: datetime, lang: str) -> LinkCheck:
    """Verify ``token`` and look at the stage it names, changing nothing."""
    from hokoku.services.stagerows import incident_policy, to_state

    try:
        claims = verify_link(app, token, now=now)
    except TokenError as exc:
        return LinkCheck(exc.reason)
    with transaction(app.engine) as session:
        if session.get(UsedAckToken, claims.token_id) is not None:
            return LinkCheck("used", claims)
        incident = session.execute(
            select(Incident).where(Incident.public_id == claims.incident_id)
        ).scalar_one_or_none()
        if incident is None:
            return LinkCheck("unknown_incident", claims)
        stage = session.execute(
            select(Stage).where(Stage.incident_id == incident.id, Stage.code == claims.stage_code)
        ).scalar_one_or_none()
        if stage is None:
            return LinkCheck("unknown_stage", claims)
        people = app.organisation(session).people()
        person = people.get(claims.person_email)
        if person is None:
            return LinkCheck("unknown_person", claims)
        sp = incident_policy(incident).stage(stage.code)
        acked_by = people[stage.acknowledged_by].name if stage.acknowledged_by in people else stage.acknowledged_by
        view = {
            "incident": incident.public_id,
            "stage": f"{sp.article} {sp.title.get(lang)}",
            "person": person.name,
            "email": person.email,
            "due": fmt_jst(stage.due_at),
            "expires": fmt_jst(claims.expires_at),
            "acknowledged_by": acked_by,
            "acknowledged_at": fmt_jst(stage.acknowledged_at) if stage.acknowledged_at else None,
        }
        if stage.status == chain.PENDING:
            return LinkCheck("not_started", claims, view)
        if stage.acknowledged_at is not None or stage.status in chain.CLOSED:
            return LinkCheck("already_acknowledged", claims, view)
        if claims.person_email not in to_state(stage).entitled():
            return LinkCheck("not_entitled", claims, view)
        return LinkCheck("ok", claims, view)


# -- pages ------------------------------------------------------------------------------------
router = APIRouter()


def _lang(ctx: WebContext, request: Request) -> str:
    return pick_lang(request.query_params.get("lang"), ctx.lang)


def _page(ctx: WebContext, name: str, *, status: int, lang: str, **variables) -> HTMLResponse:
    html = ctx.app.renderer.html(f"web/{name}", lang=lang, **variables)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _refuse(ctx: WebContext, check: LinkCheck, *, method: str, lang: str, request: Request) -> HTMLResponse:
    claims = check.claims
    data = {"reason": check.reason, "method": method}
    if claims is not None:
        data.update(stage=claims.stage_code[:64], token_id=claims.token_id[:64])
        ctx.audit(
            action="ack_link.refused",
            actor=claims.person_email,
            incident=claims.incident_id if check.reason != "unknown_incident" else None,
            data=data,
        )
    else:  # not a link hokoku signed (or no longer readable): at most one audit row a minute per address
        from hokoku.web.refusals import record_refusal
        from hokoku.web.security import client_ip

        settings = getattr(request.app.state, "web_settings", None)
        client = client_ip(request, settings.proxy_networks if settings is not None else ())
        record_refusal(
            ctx.app, source=f"ack:{client}", actor="web:ack-link", action="ack_link.refused", now=ctx.now(), data=data
        )
    return _page(
        ctx,
        "ack_result.html",
        status=check.status,
        lang=lang,
        ok=False,
        reason=check.reason,
        message=t(f"ack.reasons.{check.reason}", lang),
        view=check.view,
    )


@router.get("/ack/{token}", response_class=HTMLResponse)
def ack_link_page(token: str, request: Request) -> HTMLResponse:
    """Show what the link acknowledges; acknowledge nothing (scanners prefetch links)."""
    ctx: WebContext = request.app.state.ctx
    lang = _lang(ctx, request)
    check = check_link(ctx.app, token, now=ctx.now(), lang=lang)
    if not check.ok:
        return _refuse(ctx, check, method="GET", lang=lang, request=request)
    return _page(ctx, "ack_confirm.html", status=200, lang=lang, view=check.view)


@router.post("/ack/{token}", response_class=HTMLResponse)
def ack_link_confirm(token: str, request: Request, background: BackgroundTasks) -> HTMLResponse:
    """Acknowledge the stage and use up the token, in one transaction."""
    from hokoku.services.transitions import acknowledge

    ctx: WebContext = request.app.state.ctx
    lang = _lang(ctx, request)
    now = ctx.now()
    check = check_link(ctx.app, token, now=now, lang=lang)
    if not check.ok:
        return _refuse(ctx, check, method="POST", lang=lang, request=request)
    claims = check.claims

    def use_token(session) -> None:
        session.add(
            UsedAckToken(
                token_id=claims.token_id,
                used_at=now,
                incident=claims.incident_id,
                stage=claims.stage_code,
                person=claims.person_email,
            )
        )
        session.flush()  # a second use fails here, and the acknowledgement rolls back with it

    try:
        acknowledge(
            ctx.app,
            incident_id=claims.incident_id,
            actor=claims.person_email,
            now=now,
            stage=claims.stage_code,
            channel="email",
            within=use_token,
        )
    except IntegrityError:
        return _refuse(ctx, LinkCheck("used", claims, check.view), method="POST", lang=lang, request=request)
    except TransitionRefused:  # lost a race with another acknowledgement; audited as ack.refused
        again = check_link(ctx.app, token, now=now, lang=lang)
        reason = again.reason if not again.ok else "already_acknowledged"
        return _page(
            ctx,
            "ack_result.html",
            status=STATUS[reason],
            lang=lang,
            ok=False,
            reason=reason,
            message=t(f"ack.reasons.{reason}", lang),
            view=again.view or check.view,
        )
    except HokokuError:  # the incident or stage vanished between check and act
        return _refuse(ctx, LinkCheck("unknown_stage", claims, check.view), method="POST", lang=lang, request=request)
    background.add_task(ctx.deliver, incident=claims.incident_id)  # update the Slack messages
    return _page(
        ctx,
        "ack_result.html",
        status=200,
        lang=lang,
        ok=True,
        reason="ok",
        message=t("ack.done_lead", lang, stage=check.view["stage"], at=fmt_jst(now)),
        view=check.view,
    )
