"""Slack interactivity: button clicks, the ``/hokoku`` slash command and its report modal.

Two transports share the handlers :func:`handle_interaction` and :func:`handle_command`:

* HTTP (this module's router): ``POST /slack/interactions`` and ``POST /slack/commands``. Every
  request is verified with the signing secret (``v0:{timestamp}:{body}`` HMAC, 5-minute replay
  window) before anything is parsed; a refused request gets 401 and an audit event
  ``slack.request_refused``.
* Socket Mode (``hokoku.web.socket_mode``): the same handlers, no inbound port.

A handler returns a :class:`SlackReply`: the immediate answer (sent to Slack at once, well
within its 3 seconds) and the work to do after it (run as a FastAPI background task, or right
after the Socket Mode acknowledgement). The work commits to the database itself — the
acknowledgement, its audit event and the ``chat.update`` outbox rows in one transaction — and
then delivers what it queued.

Who may click: the Slack user is mapped to a person of the organisation (``slack_id`` in the
organisation file, else ``users.info`` → email); the transitions service decides entitlement
and audits refusals (``ack.refused``). Anyone unknown or not entitled gets an ephemeral
refusal.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from hokoku.core.exceptions import HokokuError
from hokoku.i18n import Section, section
from hokoku.security.slacksig import SlackSignatureError, verify_slack_request
from hokoku.services.organisation import organisation
from hokoku.services.slackrequests import remember_request
from hokoku.web import slackcmd
from hokoku.web.context import WebContext
from hokoku.web.deps import get_context, get_web_settings
from hokoku.web.security import client_ip
from hokoku.web.slackreply import SlackReply, ephemeral, person_for_slack_user, tell

log = logging.getLogger(__name__)

REPORT_CALLBACK = "hokoku_report"
MAX_SUMMARY = 3000  # the modal's input limit; the CLI allows more


def _t(ctx: WebContext) -> Section:
    return section("slack.ui", ctx.lang)


# -- button clicks ----------------------------------------------------------------------------
def run_button(
    ctx: WebContext,
    *,
    action: str,
    user_id: str,
    incident: str,
    stage: str,
    channel_id: str | None,
    response_url: str | None,
) -> None:
    """Acknowledge (or complete) ``stage`` as the person behind ``user_id``; refuse otherwise."""
    from hokoku.services.transitions import acknowledge, advance

    email = person_for_slack_user(ctx, user_id)
    if email is None:
        ctx.audit(
            action="ack.refused" if action == "acknowledge" else "stage.refused",
            actor=f"slack:{user_id}",
            incident=incident,
            data={"stage": stage, "channel": "slack", "reason": "Slack user not in the organisation"},
        )
        tell(ctx, _t(ctx).text("unknown_user"), user_id=user_id, channel_id=channel_id, response_url=response_url)
        return
    try:
        if action == "acknowledge":
            acknowledge(ctx.app, incident_id=incident, actor=email, now=ctx.now(), stage=stage, channel="slack")
        else:
            advance(ctx.app, incident_id=incident, stage=stage, actor=email, now=ctx.now(), channel="slack")
    except HokokuError:  # audited by the transitions service; its reason may name others: not shown
        tell(
            ctx,
            _t(ctx).text("button_refused", incident=incident),
            user_id=user_id,
            channel_id=channel_id,
            response_url=response_url,
        )
        return
    ctx.deliver(incident=incident)  # the chat.update rows and the next stage's notices


# -- payload shapes: a signed payload of the wrong shape is ignored or refused, never a 500 --------
def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any, limit: int = 255) -> str | None:
    """A non-empty string of at most ``limit`` characters, else None."""
    return value if isinstance(value, str) and value and len(value) <= limit else None


def _url(value: Any) -> str | None:
    value = _str(value, 2000)
    return value if value and value.startswith("https://") else None


def _block_actions(ctx: WebContext, payload: dict[str, Any]) -> SlackReply:
    user_id = _str(_obj(payload.get("user")).get("id"), 64)
    channel_id = _str(_obj(payload.get("channel")).get("id"), 64) or _str(
        _obj(payload.get("container")).get("channel_id"), 64
    )
    actions = payload.get("actions")
    for action in (actions if isinstance(actions, list) else [])[:1]:
        action = _obj(action)
        action_id = action.get("action_id")
        if action_id not in ("acknowledge", "mark_done"):
            continue  # "open" is a link button: Slack tells us, nothing to do
        incident, _, stage = (_str(action.get("value"), 200) or "").partition("|")
        if not (user_id and incident and stage):
            log.warning("ignoring a %s click without user or value", action_id)
            continue
        return SlackReply(
            work=functools.partial(
                run_button,
                ctx,
                action=action_id,
                user_id=user_id,
                incident=incident[:32],
                stage=stage[:64],
                channel_id=channel_id,
                response_url=_url(payload.get("response_url")),
            )
        )
    return SlackReply()


# -- reporting --------------------------------------------------------------------------------
def validate_report(
    ctx: WebContext, *, division: str | None, category: str | None, summary: str | None
) -> dict[str, str]:
    """Field errors (block id → message) for a report; empty when it may be filed."""
    errors: dict[str, str] = {}
    org = organisation(ctx.app)
    t = _t(ctx)
    try:
        org.division(division or "")
    except HokokuError:
        errors["division"] = t.text("bad_division", code=(division or "")[:64])[:150]
    if (category or "") not in ctx.app.playbooks:
        errors["category"] = t.text("bad_category", code=(category or "")[:64])[:150]
    if not (summary or "").strip():
        errors["summary"] = _t(ctx).text("empty_summary")
    return errors


def run_report(
    ctx: WebContext,
    *,
    user_id: str,
    division: str,
    category: str,
    summary: str,
    serious: bool,
    channel_id: str | None,
    response_url: str | None,
) -> None:
    """File a report for the person behind ``user_id`` and deliver its first notices."""
    from hokoku.services.intake import report_incident

    email = person_for_slack_user(ctx, user_id)
    if email is None:
        ctx.audit(
            action="report.refused",
            actor=f"slack:{user_id}",
            data={"division": division[:64], "channel": "slack", "reason": "Slack user not in the organisation"},
        )
        tell(
            ctx,
            _t(ctx).text("unknown_user"),
            user_id=user_id,
            channel_id=channel_id,
            response_url=response_url,
            prefer_response_url=True,
        )
        return
    try:
        result = report_incident(
            ctx.app,
            division=division,
            category=category,
            summary=summary,
            reporter=email,
            now=ctx.now(),
            serious=serious,
            source="slack",
        )
    except HokokuError as exc:
        tell(
            ctx,
            _t(ctx).text("refused", reason=exc.localized(ctx.lang)),
            user_id=user_id,
            channel_id=channel_id,
            response_url=response_url,
            prefer_response_url=True,
        )
        return
    tell(
        ctx,
        _t(ctx).text("reported", incident=result.public_id),
        user_id=user_id,
        channel_id=channel_id,
        response_url=response_url,
        prefer_response_url=True,
    )
    ctx.deliver(incident=result.public_id)


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value[:150]}


def report_view(ctx: WebContext, *, channel_id: str | None) -> dict[str, Any]:
    """The Block Kit modal of ``/hokoku report``."""
    t = _t(ctx)
    lang = ctx.lang
    org = organisation(ctx.app)
    divisions = [_option(f"{d.code} {d.name.get(lang)}", d.code) for i in org.institutes for d in i.divisions]
    categories = [_option(p.title.get(lang), code) for code, p in sorted(ctx.app.playbooks.items())]

    def plain(text: str) -> dict[str, Any]:
        return {"type": "plain_text", "text": text}

    return {
        "type": "modal",
        "callback_id": REPORT_CALLBACK,
        "title": plain(t.text("modal_title")[:24]),
        "submit": plain(t.text("submit")),
        "close": plain(t.text("close")),
        "private_metadata": json.dumps({"channel": channel_id}),
        "blocks": [
            {
                "type": "input",
                "block_id": "division",
                "label": plain(t.text("division")),
                "element": {"type": "static_select", "action_id": "value", "options": divisions[:100]},
            },
            {
                "type": "input",
                "block_id": "category",
                "label": plain(t.text("category")),
                "element": {"type": "static_select", "action_id": "value", "options": categories[:100]},
            },
            {
                "type": "input",
                "block_id": "summary",
                "label": plain(t.text("summary")),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": MAX_SUMMARY,
                },
            },
            {
                "type": "input",
                "block_id": "serious",
                "optional": True,
                "label": plain(t.text("serious")),
                "element": {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": [_option(t.text("serious_option"), "serious")],
                },
            },
        ],
    }


def _state_value(values: dict[str, Any], block: str) -> dict[str, Any]:
    return _obj(_obj(values.get(block)).get("value"))


def _report_submission(ctx: WebContext, payload: dict[str, Any]) -> SlackReply:
    view = _obj(payload.get("view"))
    values = _obj(_obj(view.get("state")).get("values"))
    division = _str(_obj(_state_value(values, "division").get("selected_option")).get("value"), 64)
    category = _str(_obj(_state_value(values, "category").get("selected_option")).get("value"), 64)
    summary = _state_value(values, "summary").get("value")
    summary = summary if isinstance(summary, str) else ""
    if len(summary) > MAX_SUMMARY:
        return SlackReply(
            body={"response_action": "errors", "errors": {"summary": f"at most {MAX_SUMMARY} characters"}}
        )
    serious = bool(_state_value(values, "serious").get("selected_options"))
    errors = validate_report(ctx, division=division, category=category, summary=summary)
    if errors or division is None or category is None:  # no division or category is an error too
        return SlackReply(body={"response_action": "errors", "errors": errors})
    try:
        channel_id = _str(_obj(json.loads(_str(view.get("private_metadata"), 3000) or "{}")).get("channel"), 64)
    except (ValueError, RecursionError):
        channel_id = None
    user_id = _str(_obj(payload.get("user")).get("id"), 64) or ""
    return SlackReply(
        work=functools.partial(
            run_report,
            ctx,
            user_id=user_id,
            division=division,
            category=category,
            summary=summary.strip(),
            serious=serious,
            channel_id=channel_id,
            response_url=None,
        )
    )


# -- the two entry points ---------------------------------------------------------------------
def handle_interaction(ctx: WebContext, payload: dict[str, Any]) -> SlackReply:
    """An interactivity payload (already authenticated): button clicks and modal submissions."""
    kind = payload.get("type")
    if kind == "block_actions":
        return _block_actions(ctx, payload)
    if kind == "view_submission" and _obj(payload.get("view")).get("callback_id") == REPORT_CALLBACK:
        return _report_submission(ctx, payload)
    return SlackReply()


def _open_modal(ctx: WebContext, trigger_id: str, view: dict[str, Any]) -> None:
    try:
        ctx.slack.open_view(trigger_id=trigger_id, view=view)
    except Exception as exc:
        log.warning("views.open failed: %s", exc)


def handle_command(ctx: WebContext, form: dict[str, str]) -> SlackReply:
    """The ``/hokoku`` slash command (already authenticated); ``form`` is Slack's form fields."""
    t = _t(ctx)
    words = (form.get("text") or "")[: MAX_SUMMARY + 200].strip().split(maxsplit=3)
    user_id = (form.get("user_id") or "")[:64]
    if not words or words == ["report"]:
        trigger_id = form.get("trigger_id")
        if ctx.slack is None or not trigger_id:
            return SlackReply(body=ephemeral(t.text("no_modal")))
        view = report_view(ctx, channel_id=form.get("channel_id"))
        return SlackReply(work=functools.partial(_open_modal, ctx, trigger_id, view))
    if words[0].lower() in slackcmd.SUBCOMMANDS:  # help, list, status INC, ack INC [stage]
        return slackcmd.answer(ctx, words[0].lower(), words[1:], form)
    if words[0].lower() == "report" and len(words) == 4:
        _, division, category, summary = words
        serious = False
        if summary.startswith("--serious"):
            serious, summary = True, summary.removeprefix("--serious").strip()
        errors = validate_report(ctx, division=division, category=category, summary=summary)
        if errors:
            return SlackReply(body=ephemeral(t.text("refused", reason="; ".join(errors.values()))))
        return SlackReply(
            body=ephemeral(t.text("reporting")),
            work=functools.partial(
                run_report,
                ctx,
                user_id=user_id,
                division=division,
                category=category,
                summary=summary,
                serious=serious,
                channel_id=form.get("channel_id"),
                response_url=form.get("response_url"),
            ),
        )
    if words[0].lower() != "report":
        return SlackReply(body=ephemeral(section("slack.cmd", ctx.lang).text("unknown")))
    return SlackReply(body=ephemeral(t.text("usage")))


# -- HTTP -------------------------------------------------------------------------------------
router = APIRouter()


async def _verified(request: Request) -> bytes | Response:
    """The raw body if Slack signed it and it is fresh; otherwise the 401 (audited) or 503."""
    ctx = get_context(request)
    body = await request.body()
    secret = ctx.app.settings.slack_signing_secret
    if secret is None:
        return PlainTextResponse("Slack is not configured (HOKOKU_SLACK_SIGNING_SECRET)", status_code=503)
    try:
        verify_slack_request(
            signing_secret=secret.get_secret_value(),
            body=body,
            timestamp=request.headers.get("X-Slack-Request-Timestamp"),
            signature=request.headers.get("X-Slack-Signature"),
            now=ctx.now().timestamp(),
        )
    except SlackSignatureError as exc:
        return await _refuse(request, ctx, exc.reason)
    fresh = await run_in_threadpool(
        remember_request,
        ctx.app,
        timestamp=request.headers["X-Slack-Request-Timestamp"],
        signature=request.headers["X-Slack-Signature"],
        now=ctx.now(),
    )
    if not fresh:
        return await _refuse(request, ctx, "replayed")
    return body


async def _refuse(request: Request, ctx: WebContext, reason: str) -> Response:
    """401, audited at most once a minute per client address (hokoku.services.refusals)."""
    from hokoku.services.refusals import record_refusal

    client = client_ip(request, get_web_settings(request).proxy_networks)
    await run_in_threadpool(
        record_refusal,
        ctx.app,
        source=f"slack:{client}",
        actor="slack",
        action="slack.request_refused",
        now=ctx.now(),
        data={"path": request.url.path, "reason": reason, "client": client},
    )
    return PlainTextResponse(f"request refused: {reason}", status_code=401)


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _answer(reply: SlackReply, background: BackgroundTasks) -> Response:
    if reply.work is not None:
        background.add_task(reply.work)
    if reply.body is None:
        return Response(status_code=200)
    return JSONResponse(reply.body)


@router.post("/slack/interactions")
async def slack_interactions(request: Request, background: BackgroundTasks) -> Response:
    verified = await _verified(request)
    if isinstance(verified, Response):
        return verified
    try:
        payload = json.loads(_form(verified).get("payload") or "")
    except (ValueError, RecursionError):
        return PlainTextResponse("no interaction payload", status_code=400)
    if not isinstance(payload, dict):
        return PlainTextResponse("no interaction payload", status_code=400)
    reply = await run_in_threadpool(handle_interaction, get_context(request), payload)
    return _answer(reply, background)


@router.post("/slack/commands")
async def slack_commands(request: Request, background: BackgroundTasks) -> Response:
    verified = await _verified(request)
    if isinstance(verified, Response):
        return verified
    reply = await run_in_threadpool(handle_command, get_context(request), _form(verified))
    return _answer(reply, background)
