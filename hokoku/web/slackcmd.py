"""``/hokoku`` subcommands beyond ``report``: ``help``, ``list``, ``status INC``, ``ack INC [stage]``.

Answered ephemerally (only the person sees them) in the organisation's language, with the web
app's authorisation and audit: the Slack user is mapped to a person of the organisation
(:func:`hokoku.web.slackreply.person_for_slack_user`); ``status`` shows an incident only within the
person's scope (:func:`hokoku.core.scopes.scope_for`) and audits the view (``incident.viewed``,
via ``slack``) or the refusal (``access.denied``); ``ack`` goes through the transitions service,
which audits acknowledgements and refusals. A refusal never names other people or addresses.
Incident summaries and names are never shown here: ids, category, division, stage titles,
states and due times only.
"""

from __future__ import annotations

import functools

from hokoku.core import chain
from hokoku.core.exceptions import HokokuError
from hokoku.core.roles import role_label
from hokoku.core.timeutil import fmt_jst
from hokoku.i18n import Section, in_lang, join_list, section
from hokoku.web.context import WebContext
from hokoku.web.slackreply import SlackReply, ephemeral, person_for_slack_user, tell

SUBCOMMANDS = ("help", "list", "status", "ack")


def _t(ctx: WebContext) -> Section:
    return section("slack.cmd", ctx.lang)


def _who(ctx: WebContext, user_id: str) -> str | None:
    return person_for_slack_user(ctx, user_id) if user_id else None


def answer(ctx: WebContext, verb: str, args: list[str], form: dict[str, str]):
    """The :class:`~hokoku.web.slackreply.SlackReply` for ``verb`` (one of :data:`SUBCOMMANDS`)."""

    t = _t(ctx)
    if verb == "help":
        return SlackReply(body=ephemeral(t.text("help")))
    user_id = (form.get("user_id") or "")[:64]
    email = _who(ctx, user_id)
    if email is None:
        ctx.audit(
            action="access.denied",
            actor=f"slack:{user_id}",
            incident=None,
            data={"via": "slack", "reason": "Slack user not in the organisation", "action": f"/hokoku {verb}"},
        )
        return SlackReply(body=ephemeral(t.text("unknown_user")))
    if verb == "list":
        return SlackReply(body=ephemeral(my_items(ctx, email)))
    if not args:
        return SlackReply(body=ephemeral(t.text("need_id", verb=verb)))
    incident = args[0].strip().upper()[:32]
    if verb == "status":
        return SlackReply(body=ephemeral(status_text(ctx, email, incident)))
    stage = args[1].strip()[:64] if len(args) > 1 else None
    return SlackReply(
        body=ephemeral(t.text("acking", incident=incident)),
        work=functools.partial(
            run_ack,
            ctx,
            email=email,
            user_id=user_id,
            incident=incident,
            stage=stage,
            channel_id=form.get("channel_id"),
            response_url=form.get("response_url"),
        ),
    )


def my_items(ctx: WebContext, email: str) -> str:
    from hokoku.services.slackviews import open_items

    t, lang = _t(ctx), ctx.lang
    stages, steps = open_items(ctx.app, email, lang=lang)
    lines = [
        t.text(
            "stage_line",
            incident=s["incident"],
            title=s["title"],
            status=chain.status_label(s["status"], ctx.lang),
            due=fmt_jst(s["due_at"]) if s["due_at"] else t.text("none"),
        )
        for s in stages
    ]
    for step in steps:
        title = in_lang(lang, ja=step["title_ja"], en=step["title_en"])
        if title is None and step["encrypted_title"]:
            title = t.text("none")
        lines.append(
            t.text(
                "task_line",
                incident=step["incident"],
                title=title,
                due=fmt_jst(step["due_at"]) if step["due_at"] else t.text("none"),
            )
        )
    return "\n".join([t.text("mine"), *lines]) if lines else t.text("nothing")


def status_text(ctx: WebContext, email: str, incident: str) -> str:
    from hokoku.config.web import load_web_settings
    from hokoku.services.accesslog import record_denied, record_view
    from hokoku.services.slackviews import incident_status

    t, lang = _t(ctx), ctx.lang
    reason, view = incident_status(ctx.app, email, incident, lang=lang)
    if reason is not None:
        record_denied(
            ctx.app,
            email=email,
            incident=incident if view.get("exists") else None,
            via="slack",
            reason=reason,
            now=ctx.now(),
            action="view",
        )
        return t.text("no_incident", incident=incident)
    lines = [
        t.text(
            "status_head",
            incident=view["incident"],
            category=view["category"],
            division=view["division"],
            state=t.text("open" if view["open"] else "closed"),
        )
    ]
    for stage in view["stages"]:
        lines.append(
            t.text(
                "status_line",
                title=stage["title"],
                status=chain.status_label(stage["status"], ctx.lang),
                owner=role_label(stage["owner_role"], lang) if stage["owner_role"] else t.text("none"),
                due=fmt_jst(stage["due_at"]) if stage["due_at"] else t.text("none"),
            )
        )
    record_view(ctx.app, load_web_settings(), email=email, incident=incident, via="slack", now=ctx.now())
    return "\n".join(lines)


def run_ack(
    ctx: WebContext,
    *,
    email: str,
    user_id: str,
    incident: str,
    stage: str | None,
    channel_id: str | None,
    response_url: str | None,
) -> None:
    """Acknowledge as the person; the transitions service decides and audits (refusals too)."""
    from hokoku.services.transitions import acknowledge

    t = _t(ctx)
    try:
        result = acknowledge(ctx.app, incident_id=incident, actor=email, now=ctx.now(), stage=stage, channel="slack")
    except HokokuError:  # audited by the service; the message may name others: not shown
        tell(
            ctx,
            t.text("ack_refused", incident=incident),
            user_id=user_id,
            channel_id=channel_id,
            response_url=response_url,
            prefer_response_url=True,
        )
        return
    titles = stage_titles(ctx, incident, result.stages)
    tell(
        ctx,
        t.text("acked", incident=incident, stages=join_list(titles, ctx.lang)),
        user_id=user_id,
        channel_id=channel_id,
        response_url=response_url,
        prefer_response_url=True,
    )
    ctx.deliver(incident=incident)


def stage_titles(ctx: WebContext, incident: str, codes: list[str]) -> list[str]:
    """The stages' titles in the organisation's language (never their codes)."""
    from hokoku.services import slackviews

    return slackviews.stage_titles(ctx.app, incident, codes, lang=ctx.lang)
