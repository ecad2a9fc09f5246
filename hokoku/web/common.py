"""What the pages and the API share beyond the request dependencies (:mod:`hokoku.web.deps`):
loading an incident the viewer may see (auditing the view or the refusal), refusing the
read-only, the application in the visitor's language, rows as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request

from hokoku.core.exceptions import HokokuError, NotFound
from hokoku.core.timeutil import iso
from hokoku.services import accesslog
from hokoku.services.dashboard import find_incident
from hokoku.web.deps import Viewer, get_app, get_now, get_web_settings


class Forbidden(HokokuError):
    """The signed-in person may not see or do this (403)."""


def app_for(app, lang: str):
    """A view of the application whose read-only services answer in ``lang`` (shares everything
    else: engine, keyring, playbooks, caches). Never used for actions: messages to people keep
    the organisation's language."""
    return app.view_in(lang)


# -- incidents the viewer may see -------------------------------------------------------------
def load_visible(request: Request, viewer: Viewer, public_id: str, *, via: str, record: bool = True) -> Any:
    """The incident (a row object), if it exists and the viewer may see it; else 404.

    An incident outside the viewer's scope answers exactly like a missing one (same status, same
    message), so ids cannot be probed; the refusal is still audited (``access.denied``).
    With ``record`` the view is audited (``incident.viewed``) and counted for the Art. 13 warning.
    """
    app = get_app(request)
    now = get_now(request)
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
            app, get_web_settings(request), email=viewer.email, incident=incident.public_id, via=via, now=now
        )
    return incident


def require_writer(request: Request, viewer: Viewer, *, action: str, incident: str | None = None, via: str) -> None:
    """Refuse (403, audited) any change by a read-only person (the audit officer)."""
    if viewer.scope.read_only:
        accesslog.record_denied(
            get_app(request),
            email=viewer.email,
            incident=incident,
            via=via,
            reason="read-only role (audit officer)",
            action=action,
            now=get_now(request),
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
