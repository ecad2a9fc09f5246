"""What the pages and the API share: the request's clock, language, signed-in person and scope,
loading an incident the viewer may see (auditing the view or the refusal), scoped listings."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request

from hokoku.core.exceptions import HokokuError, NotFound
from hokoku.core.scopes import Scope, scope_for
from hokoku.core.timeutil import iso
from hokoku.services import accesslog
from hokoku.services.dashboard import find_incident
from hokoku.services.organisation import organisation
from hokoku.services.websessions import SignedIn, session_user, token_user
from hokoku.web.security import SESSION_COOKIE

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
    if app.settings.lang == lang:
        return app
    cache = app._cache.setdefault("lang_views", {})
    if lang not in cache:
        app.playbooks, app.policy, app.engine, app.keyring  # noqa: B018  (compute before sharing)
        view = copy.copy(app)
        view.settings = app.settings.model_copy(update={"lang": lang})
        cache[lang] = view
    return cache[lang]


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
    org = organisation(app)
    person = org.people().get(signed.email)
    viewer = Viewer(signed=signed, scope=scope_for(org, signed.email), name=person.name if person else signed.email)
    request.state.viewer = viewer
    return viewer


# -- incidents the viewer may see -------------------------------------------------------------
def load_visible(request: Request, viewer: Viewer, public_id: str, *, via: str, record: bool = True) -> Any:
    """The incident (a row object), if it exists and the viewer may see it; else 404.

    An incident outside the viewer's scope answers exactly like a missing one (same status, same
    message), so ids cannot be probed; the refusal is still audited (``access.denied``).
    With ``record`` the view is audited (``incident.viewed``) and counted for the Art. 13 warning.
    """
    app = hk(request)
    now = now_of(request)
    public_id = public_id[:64]
    incident = find_incident(app, public_id)
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
