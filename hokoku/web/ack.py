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

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse

from hokoku.core.exceptions import HokokuError, TransitionRefused
from hokoku.core.timeutil import fmt_jst
from hokoku.i18n import pick_lang, t
from hokoku.services.acklinks import STATUS, LinkAlreadyUsed, LinkCheck, check_link, use_link
from hokoku.web.context import WebContext
from hokoku.web.deps import Context, get_web_settings
from hokoku.web.security import client_ip

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
}


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
        from hokoku.services.refusals import record_refusal

        client = client_ip(request, get_web_settings(request).proxy_networks)
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
def ack_link_page(token: str, request: Request, ctx: Context) -> HTMLResponse:
    """Show what the link acknowledges; acknowledge nothing (scanners prefetch links)."""
    lang = _lang(ctx, request)
    check = check_link(ctx.app, token, now=ctx.now(), lang=lang)
    if not check.ok:
        return _refuse(ctx, check, method="GET", lang=lang, request=request)
    return _page(ctx, "ack_confirm.html", status=200, lang=lang, view=check.view)


@router.post("/ack/{token}", response_class=HTMLResponse)
def ack_link_confirm(token: str, request: Request, ctx: Context, background: BackgroundTasks) -> HTMLResponse:
    """Acknowledge the stage and use up the token, in one transaction."""
    lang = _lang(ctx, request)
    now = ctx.now()
    check = check_link(ctx.app, token, now=now, lang=lang)
    if not check.ok or check.claims is None:  # a link that checks out has its claims
        return _refuse(ctx, check, method="POST", lang=lang, request=request)
    claims = check.claims
    try:
        use_link(ctx.app, claims, now=now)
    except LinkAlreadyUsed:
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
