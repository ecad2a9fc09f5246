"""What every HTML page uses: the template environment and :func:`render`, the error page, the
signed-in viewer of a page and of a form (CSRF and read-only checks), and same-site redirects
after a form. The pages themselves are :mod:`hokoku.web.pages`, :mod:`hokoku.web.casework` and
:mod:`hokoku.web.responders`; :mod:`hokoku.web.errors` renders its error pages here."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hokoku.core.roles import role_label
from hokoku.core.timeutil import fmt_jst
from hokoku.i18n import install, other_lang
from hokoku.i18n import t as translate
from hokoku.resources import templates_dir
from hokoku.web import security
from hokoku.web.charts import fmt_duration
from hokoku.web.common import require_writer
from hokoku.web.deps import LANG_COOKIE, LANGS, Viewer, find_viewer, get_app, get_lang, get_page_viewer

_env = Environment(
    loader=FileSystemLoader(str(templates_dir())),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
install(_env)
_env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}


MESSAGES = (
    "acked",
    "advanced",
    "skipped",
    "triaged",
    "step_done",
    "assigned",
    "findings",
    "public_texts",
    "notice",
    "action",
    "nothing",
    "decided",
    "amended",
    "ticked",
    "update",
    "evidence",
)


def fmt_when(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return fmt_jst(value)


_env.filters["when"] = fmt_when


def role_text(role: str | None, lang: str) -> str:
    if not role:
        return "-"
    try:
        return role_label(role, lang)
    except ValueError:
        return role


def url_with(request: Request, **params) -> str:
    query = dict(request.query_params)
    for k, v in params.items():
        if v is None:
            query.pop(k, None)
        else:
            query[k] = v
    return request.url.path + ("?" + urlencode(query) if query else "")


def render(request: Request, name: str, *, status: int = 200, headers: dict | None = None, **ctx) -> HTMLResponse:
    lang = get_lang(request)
    viewer = getattr(request.state, "viewer", None)
    msg = request.query_params.get("msg")
    base = {
        "lang": lang,
        "t": lambda key, **params: translate(key, lang, **params),
        "viewer": viewer,
        "csrf": viewer.signed.csrf_token if viewer and viewer.signed.csrf_token else "",
        "lang_url": url_with(request, lang=other_lang(lang)),
        "role_label": lambda role: role_text(role, lang),
        "flash": translate(f"msg.{msg}", lang) if msg in MESSAGES else None,
        "dur": lambda v: fmt_duration(v, lang),
        "path": request.url.path,
    }
    base.update(ctx)
    response = HTMLResponse(_env.get_template(f"web/{name}").render(base), status_code=status, headers=headers)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True, secure=is_https(request)
        )
    return security.security_headers(response)


def render_error(request: Request, status: int, message: str, *, headers: dict | None = None) -> HTMLResponse:
    if getattr(request.state, "viewer", None) is None and status != 401:
        try:
            find_viewer(request)
        except Exception:
            pass
    lang = get_lang(request)
    key = f"err.{status}" if f"err.{status}" in _ERROR_KEYS else "err.other"
    return render(
        request,
        "error.html",
        status=status,
        headers=headers,
        status_code=status,
        headline=translate(key, lang),
        message=message,
    )


_ERROR_KEYS = {f"err.{s}" for s in (401, 403, 404, 409, 413, 422, 429, 503)}


def is_https(request: Request) -> bool:
    return get_app(request).settings.public_url.lower().startswith("https://")


def require_viewer(request: Request) -> Viewer:
    return get_page_viewer(request)


def require_form_writer(request: Request, csrf_token: str, *, action: str, incident: str | None = None) -> Viewer:
    """The signed-in person, after the CSRF check and the read-only check (both 403)."""
    viewer = require_viewer(request)
    if not security.tokens_match(viewer.signed.csrf_token, csrf_token):
        raise security.csrf_refused()
    require_writer(request, viewer, action=action, incident=incident, via="page")
    return viewer


def same_site(next_url: str | None, default: str) -> str:
    """Only same-site paths are followed after a form (no open redirects)."""
    if next_url and next_url.startswith("/") and not next_url.startswith("//") and "\\" not in next_url:
        return next_url
    return default


def back_to(next_url: str | None, default: str, msg: str) -> RedirectResponse:
    """Back where the form was (its ``#section`` kept after the message parameter)."""
    target = same_site(next_url, default)
    target, hash_, anchor = target.partition("#")
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}msg={msg}{hash_}{anchor}", status_code=303)
