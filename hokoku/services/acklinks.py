"""Acknowledgement links from email, checked and used up: what a link token names (incident, stage,
person), whether it may still acknowledge, and acknowledging with it — the token id recorded in
``used_ack_token`` in the same transaction as the acknowledgement, so a second use fails even
under a race."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hokoku.core import chain
from hokoku.core.exceptions import HokokuError
from hokoku.core.timeutil import fmt_jst
from hokoku.models.acktoken import UsedAckToken
from hokoku.models.incident import Incident, Stage
from hokoku.security.acktokens import AckClaims, TokenError, verify_token
from hokoku.store.db import transaction

#: The HTTP status of each outcome of a link check.
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


class LinkAlreadyUsed(HokokuError):
    """The link's token was used by a concurrent request (nothing was acknowledged)."""


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


def verify_link(app, token: str, *, now: datetime) -> AckClaims:
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


def check_link(app, token: str, *, now: datetime, lang: str) -> LinkCheck:
    """Verify ``token`` and look at the stage it names, changing nothing."""
    from hokoku.services.incidents import incident_policy
    from hokoku.services.stagerows import to_state

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


def use_link(app, claims: AckClaims, *, now: datetime) -> None:
    """Acknowledge the stage the checked link names, as the person it names, and use up its token.

    Raises :class:`LinkAlreadyUsed` when the token was used meanwhile, and what
    :func:`hokoku.services.transitions.acknowledge` raises otherwise; nothing is changed then.
    """
    from hokoku.services.transitions import acknowledge

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
            app,
            incident_id=claims.incident_id,
            actor=claims.person_email,
            now=now,
            stage=claims.stage_code,
            channel="email",
            within=use_token,
        )
    except IntegrityError as exc:
        raise LinkAlreadyUsed(f"acknowledgement link {claims.token_id[:12]}: already used") from exc
