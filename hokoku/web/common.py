"""What the pages and the API share: the request's clock, language, signed-in person and scope,
loading an incident the viewer may see (auditing the view or the refusal), scoped listings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy import or_, select

from hokoku.core import chain
from hokoku.core.exceptions import HokokuError, NotFound
from hokoku.core.timeutil import iso
from hokoku.i18n import in_lang
from hokoku.models.incident import Incident
from hokoku.services.stagerows import incident_policy, load_stages, to_state
from hokoku.store.db import transaction
from hokoku.web import accesslog
from hokoku.web.auth import SESSION_COOKIE, SignedIn, session_user, token_user
from hokoku.web.scopes import Scope, scope_for

LANGS = ("ja", "en")
LANG_COOKIE = "hokoku_lang"


class Forbidden(HokokuError):
    """The signed-in person may not see or do this (403)."""


class NotSignedIn(HokokuError):
    """No valid session or token (401 for the API, a redirect to the sign-in page for pages)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def hk(request: Request):
    return request.app.state.hokoku


def now_of(request: Request) -> datetime:
    return request.app.state.clock()


def web_settings(request: Request):
    return request.app.state.web_settings


def app_for(app, lang: str):
    """A view of the application whose read-only services answer in ``lang`` (shares everything
    else: engine, keyring, playbooks, caches). Never used for actions: messages to people keep
    the organisation's language."""
    return app.view_in(lang)


def lang_of(request: Request) -> str:
    """``?lang=`` first, then the cookie, then ``HOKOKU_LANG`` (Japanese by default)."""
    q = request.query_params.get("lang")
    if q in LANGS:
        return q
    c = request.cookies.get(LANG_COOKIE)
    if c in LANGS:
        return c
    return hk(request).settings.lang


def bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@dataclass(frozen=True)
class Viewer:
    """The signed-in person with what they may see."""

    signed: SignedIn
    scope: Scope
    name: str

    @property
    def email(self) -> str:
        return self.signed.email


def viewer_of(request: Request, *, allow_token: bool = False) -> Viewer | None:
    """The person behind the request's session cookie (or, for the API, a personal token)."""
    cached = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    app = hk(request)
    now = now_of(request)
    signed = None
    token = bearer(request) if allow_token else None
    if token:
        signed = token_user(app, token, now=now, days=web_settings(request).token_days)
        if signed is None:
            return None
    else:
        signed = session_user(app, request.cookies.get(SESSION_COOKIE), now=now)
    if signed is None:
        return None
    with transaction(app.engine) as session:
        org = app.organisation(session)
    person = org.people().get(signed.email)
    viewer = Viewer(signed=signed, scope=scope_for(org, signed.email), name=person.name if person else signed.email)
    request.state.viewer = viewer
    return viewer


def organisation(app):
    with transaction(app.engine) as session:
        return app.organisation(session)


# -- incidents the viewer may see -------------------------------------------------------------
def load_visible(request: Request, viewer: Viewer, public_id: str, *, via: str, record: bool = True) -> Incident:
    """The incident, if it exists and the viewer may see it; else 404.

    An incident outside the viewer's scope answers exactly like a missing one (same status, same
    message), so ids cannot be probed; the refusal is still audited (``access.denied``).
    With ``record`` the view is audited (``incident.viewed``) and counted for the Art. 13 warning.
    """
    app = hk(request)
    now = now_of(request)
    public_id = public_id[:64]
    with transaction(app.engine) as session:
        incident = session.execute(
            select(Incident).where(Incident.public_id == public_id.strip().upper())
        ).scalar_one_or_none()
    if incident is None:
        raise NotFound(f"unknown incident {public_id!r}")
    reason = viewer.scope.refusal(
        reporter=incident.reporter_email, division=incident.division_code, institute=incident.institute_code
    )
    if reason is not None:
        accesslog.record_denied(app, email=viewer.email, incident=incident.public_id, via=via, reason=reason, now=now)
        raise NotFound(f"unknown incident {public_id!r}")
    if record:
        accesslog.record_view(
            app, web_settings(request), email=viewer.email, incident=incident.public_id, via=via, now=now
        )
    return incident


def require_writer(request: Request, viewer: Viewer, *, action: str, incident: str | None = None, via: str) -> None:
    """Refuse (403, audited) any change by a read-only person (the audit officer)."""
    if viewer.scope.read_only:
        accesslog.record_denied(
            hk(request),
            email=viewer.email,
            incident=incident,
            via=via,
            reason="read-only role (audit officer)",
            action=action,
            now=now_of(request),
        )
        raise Forbidden(f"{viewer.email} is read-only (audit officer): {action} refused")


def scoped_query(scope: Scope):
    query = select(Incident)
    if scope.everything:
        return query
    conds = [Incident.reporter_email == scope.email]
    if scope.divisions:
        conds.append(Incident.division_code.in_(sorted(scope.divisions)))
    if scope.institutes:
        conds.append(Incident.institute_code.in_(sorted(scope.institutes)))
    return query.where(or_(*conds))


SORTS = ("due", "incident", "status")
_STATUS_ORDER = {"overdue": 0, "notified": 1, "acknowledged": 2, "pending": 3, "done": 4, "skipped": 5}
STATUTORY_STAGES = ("ppc-preliminary", "ppc-final", "individual-notice")
FILTER_STATES = ("overdue", "notified", "acknowledged", "open", "closed")


@dataclass(frozen=True)
class DashFilter:
    """What the dashboard's filter form asks for (all optional; kept in the URL)."""

    q: str = ""
    state: str = ""
    category: str = ""
    division: str = ""
    owner: str = ""
    overdue: bool = False
    statutory: bool = False
    since: datetime | None = None
    until: datetime | None = None

    def keep(self, row: dict) -> bool:
        if self.q and self.q.casefold() not in (row["summary"] + " " + row["incident"]).casefold():
            return False
        if self.state and row["state"] != self.state:
            return False
        if self.category and row["category"] != self.category:
            return False
        if self.division and row["division"] != self.division:
            return False
        if self.owner and self.owner not in {s["owner"] for s in row["stages"]}:
            return False
        if self.overdue and not (row["overdue"] or row["overdue_steps"]):
            return False
        if self.statutory and not row["statutory"]:
            return False
        if self.since and row["reported_at"] < self.since:
            return False
        if self.until and row["reported_at"] >= self.until:
            return False
        return True


def incident_rows(
    app,
    scope: Scope,
    *,
    now: datetime,
    lang: str,
    open_only: bool = True,
    sort: str = "due",
    descending: bool = False,
    filters: DashFilter | None = None,
) -> list[dict]:
    """The incidents ``scope`` sees, each with its started stages (owner, due time, overdue, who
    acknowledged, what the viewer may do), its summary (decrypted here, only for incidents in
    scope), overdue playbook steps, escalations and statutory dues; narrowed by ``filters``."""
    from hokoku.models.casework import Task

    query = scoped_query(scope)
    if open_only and not (filters and filters.state == "closed"):
        query = query.where(Incident.status == "open")
    actor = "" if scope.read_only else scope.email
    out = []
    with transaction(app.engine) as session:
        org = app.organisation(session)
        people = org.people()
        name_of = lambda e: people[e].name if e in people else e  # noqa: E731
        for inc in session.execute(query.order_by(Incident.id)).scalars():
            policy = incident_policy(inc)
            rows = load_stages(session, inc)
            statuses = {r.code: r.status for r in rows}
            stages, statutory = [], []
            for row in rows:
                sp = policy.stage(row.code)
                if row.code in STATUTORY_STAGES and row.status != "skipped":
                    statutory.append(
                        {
                            "code": row.code,
                            "title": sp.title.get(lang),
                            "status": row.status,
                            "due_at": row.due_at,
                            "done": row.status == "done",
                            "overdue": row.due_at is not None and row.due_at <= now and row.status not in chain.CLOSED,
                        }
                    )
                if row.status not in chain.ACTIVE:
                    continue
                overdue = row.due_at is not None and row.due_at <= now
                state = to_state(row)
                stages.append(
                    {
                        "code": row.code,
                        "article": row.article,
                        "title": sp.title.get(lang),
                        "status": row.status,
                        "owner": row.owner_email,
                        "owner_role": row.owner_role,
                        "owner_name": name_of(row.owner_email) if row.owner_email else None,
                        "due_at": row.due_at,
                        "overdue": overdue,
                        "acknowledged": row.acknowledged_at is not None,
                        "acknowledged_by": name_of(row.acknowledged_by) if row.acknowledged_by else None,
                        "acknowledged_at": row.acknowledged_at,
                        "escalation_level": row.escalation_level,
                        "can_complete": sp.completed_by == "advance",
                        "skippable": sp.skippable,
                        "permitted": chain.permitted_actions(sp, state, statuses, actor=actor, now=now)
                        if actor
                        else frozenset(),
                    }
                )
            steps = (
                session.execute(
                    select(Task).where(
                        Task.incident_id == inc.id,
                        Task.status.in_(("open", "overdue")),
                        Task.due_at.is_not(None),
                        Task.due_at <= now,
                    )
                )
                .scalars()
                .all()
            )
            overdue_steps = [
                {"ref": t.ref, "title": in_lang(lang, ja=t.title_ja, en=t.title_en) or t.ref, "due_at": t.due_at}
                for t in steps
            ]
            playbook = app.playbooks.get(inc.category)
            due = min((s["due_at"] for s in stages if s["due_at"]), default=None)
            overdue = any(s["overdue"] for s in stages)
            try:
                division_name = org.division(inc.division_code).name.get(lang)
            except NotFound:
                division_name = inc.division_code
            out.append(
                {
                    "incident": inc.public_id,
                    "status": inc.status,
                    "category": inc.category,
                    "category_label": playbook.title.get(lang) if playbook else inc.category,
                    "division": inc.division_code,
                    "division_name": division_name,
                    "serious": inc.serious,
                    "reporter": inc.reporter_email,
                    "reported_at": inc.reported_at,
                    "stages": stages,
                    "summary": app.keyring.decrypt(inc.summary_enc, field="incident.summary", bind=inc.public_id),
                    "next_due_at": due,
                    "overdue": overdue,
                    "overdue_steps": overdue_steps,
                    "escalated": [s for s in stages if s["escalation_level"] > 0],
                    "statutory": statutory,
                    "report_late": inc.reported_at > policy.report_delay.after(inc.aware_at),
                    "state": "closed"
                    if inc.status == "closed"
                    else (
                        "overdue"
                        if overdue
                        else (
                            min((s["status"] for s in stages), key=lambda s: _STATUS_ORDER.get(s, 9))
                            if stages
                            else "open"
                        )
                    ),
                }
            )
    if filters is not None:
        out = [r for r in out if filters.keep(r)]
    far = datetime.max.replace(tzinfo=UTC)
    if sort == "incident":
        out.sort(key=lambda r: _id_key(r["incident"]), reverse=descending)
    elif sort == "status":
        out.sort(
            key=lambda r: (
                r["status"] == "closed",
                not r["overdue"],
                _STATUS_ORDER.get(r["state"], 9),
                r["next_due_at"] or far,
            ),
            reverse=descending,
        )
    else:
        out.sort(
            key=lambda r: (r["next_due_at"] is None, r["next_due_at"] or far, _id_key(r["incident"])),
            reverse=descending,
        )
    return out


def _id_key(public_id: str) -> tuple:
    parts = public_id.split("-")
    try:
        return (int(parts[1]), int(parts[2]))
    except (IndexError, ValueError):
        return (0, 0, public_id)


def rows_json(rows: list[dict]) -> list[dict]:
    def conv(v):
        if isinstance(v, datetime):
            return iso(v)
        if isinstance(v, frozenset):
            return sorted(v)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v

    return [conv(r) for r in rows]


def managing_people(org, division_code: str) -> list[tuple[str, str]]:
    """(email, name) of the people a step can be given to: the division's people and its managers."""
    div = org.division(division_code)
    inst = org.institute_of(division_code)
    seen: dict[str, str] = {}
    holders = [
        div.protection_manager,
        *div.protection_officers,
        *div.staff,
        inst.institute_manager,
        org.general_manager,
    ]
    for h in holders:
        seen.setdefault(h.email, h.name)
        if getattr(h, "deputy", None):
            seen.setdefault(h.deputy.email, h.deputy.name)
    return list(seen.items())
