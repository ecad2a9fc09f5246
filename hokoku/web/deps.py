"""The one set of request dependencies, for pages, the JSON API, Slack and acknowledgement links.

Everything a handler needs from outside the request comes from here, read from the FastAPI app's
state that :func:`hokoku.web.create_app` sets once: the application (``web.state.hokoku``), the
clock (``web.state.clock``, injected by tests), the notifiers (``web.state.notifiers``) and the
web settings. Declare them as parameters (``app: HkApp, now: Now, lang: Lang, viewer: PageViewer``)
or, in a helper that has the request, call the ``get_*`` function: both give the same values,
and ``now`` is read once per request, so a page and the services it calls agree on the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from hokoku.app import App
from hokoku.clock import Clock
from hokoku.config.web import WebSettings
from hokoku.core.exceptions import HokokuError
from hokoku.core.scopes import Scope, scope_for
from hokoku.i18n import pick_lang
from hokoku.services.organisation import organisation
from hokoku.services.websessions import SignedIn, session_user, token_user
from hokoku.web.context import WebContext
from hokoku.web.security import SESSION_COOKIE

LANGS = ("ja", "en")
LANG_COOKIE = "hokoku_lang"


class NotSignedIn(HokokuError):
    """No valid session or token (401 for the API, a redirect to the sign-in page for pages)."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in person with what they may see."""

    signed: SignedIn
    scope: Scope
    name: str

    @property
    def email(self) -> str:
        return self.signed.email


def get_app(request: Request) -> App:
    """The hokoku application the web app serves."""
    return request.app.state.hokoku


def get_clock(request: Request) -> Clock:
    """The clock (the system clock unless ``create_app(clock=...)`` injected another)."""
    return request.app.state.clock


def get_now(request: Request) -> datetime:
    """The request's time: read from the clock once, the same for every later ask."""
    now = getattr(request.state, "now", None)
    if now is None:
        now = request.state.now = get_clock(request)()
    return now


def get_web_settings(request: Request) -> WebSettings:
    return request.app.state.web_settings


def get_lang(request: Request) -> str:
    """``?lang=`` first, then the cookie, then ``HOKOKU_LANG`` (Japanese by default)."""
    return pick_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), get_app(request).settings.lang)


def get_context(request: Request) -> WebContext:
    """The application, its notifiers and the clock, for the Slack and acknowledgement-link handlers."""
    return WebContext(get_app(request), request.app.state.notifiers, get_clock(request))


def bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def find_viewer(request: Request, *, allow_token: bool = False) -> Viewer | None:
    """The person behind the request's session cookie (or, with ``allow_token``, a personal API
    token), or None."""
    cached = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    app = get_app(request)
    now = get_now(request)
    token = bearer(request) if allow_token else None
    if token:
        signed = token_user(app, token, now=now, days=get_web_settings(request).token_days)
    else:
        signed = session_user(app, request.cookies.get(SESSION_COOKIE), now=now)
    if signed is None:
        return None
    org = organisation(app)
    person = org.people().get(signed.email)
    viewer = Viewer(signed=signed, scope=scope_for(org, signed.email), name=person.name if person else signed.email)
    request.state.viewer = viewer
    return viewer


def get_page_viewer(request: Request) -> Viewer:
    """The signed-in person of a page (session cookie); :class:`NotSignedIn` otherwise."""
    viewer = find_viewer(request)
    if viewer is None:
        raise NotSignedIn("sign in first")
    return viewer


def get_api_viewer(request: Request) -> Viewer:
    """The caller of the API (personal token or session cookie); :class:`NotSignedIn` otherwise."""
    viewer = find_viewer(request, allow_token=True)
    if viewer is None:
        raise NotSignedIn("authentication required: Authorization: Bearer <personal token> (hokoku user token EMAIL)")
    return viewer


HkApp = Annotated[App, Depends(get_app)]
Now = Annotated[datetime, Depends(get_now)]
Lang = Annotated[str, Depends(get_lang)]
Settings = Annotated[WebSettings, Depends(get_web_settings)]
Context = Annotated[WebContext, Depends(get_context)]
PageViewer = Annotated[Viewer, Depends(get_page_viewer)]
ApiViewer = Annotated[Viewer, Depends(get_api_viewer)]
