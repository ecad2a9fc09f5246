"""Sign-in, sessions and personal-token look-ups (Art. 11: authentication).

A session is a random id in a cookie whose SHA-256 is a ``web_session`` row with an expiry;
sign-in is limited per account and address and per account alone (``web_login_failure`` rows,
so the limit holds across processes); every sign-in, failed sign-in and sign-out is an audit event.
Expired sessions are purged by the sweep.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlmodel import Session

from hokoku.core.exceptions import HokokuError
from hokoku.models.web import ApiToken, LoginFailure, WebSession, WebUser
from hokoku.security import audit
from hokoku.services import accounts
from hokoku.services.accounts import API_TOKEN_PREFIX, DEFAULT_TOKEN_DAYS, DUMMY_HASH, digest, token_expiry
from hokoku.store.db import rows_changed, transaction


class LoginFailed(HokokuError):
    """Wrong email or password (the message never says which)."""


class LoginThrottled(HokokuError):
    """Too many failed sign-ins for this account from this address."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


# -- login rate limiting (stored in the database, so it holds across processes) -------------
def _login_failures(session: Session, *, email: str, ip: str, now: datetime, window: timedelta) -> int:
    return session.execute(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.email == email, LoginFailure.ip == ip, LoginFailure.at > now - window)
    ).scalar_one()


def _record_login_failure(session: Session, *, email: str, ip: str, now: datetime) -> None:
    session.add(LoginFailure(email=email[:320], ip=ip[:64], at=now))


def _clear_login_failures(session: Session, *, email: str, ip: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.email == email, LoginFailure.ip == ip))


def _account_login_failures(session: Session, *, email: str, now: datetime, window: timedelta) -> int:
    """Failed sign-ins for ``email`` from any address within the window (the per-account limit)."""
    return session.execute(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.email == email, LoginFailure.at > now - window)
    ).scalar_one()


# -- sign-in, sessions, tokens ----------------------------------------------------------------
@dataclass(frozen=True)
class SignedIn:
    email: str
    via: str  # session | token
    csrf_token: str | None = None
    session_id: str | None = None  # the SHA-256 of the cookie value


def login(app, web_settings, *, email: str, password: str, ip: str, now: datetime) -> tuple[str, str]:
    """Check the password; returns (cookie value, CSRF token) of a new session.

    Raises :class:`LoginThrottled` after too many failures for this account and address, or
    for this account from any address (both checked before the password, so guessing stops),
    else :class:`LoginFailed`. A disabled account cannot sign in.
    """
    from hokoku.services.refusals import audit_refusal

    email = (email or "").strip().lower()[:320]
    window = timedelta(minutes=web_settings.login_window_minutes)
    with transaction(app.engine) as session:
        failures = _login_failures(session, email=email, ip=ip, now=now, window=window)
        account_failures = _account_login_failures(session, email=email, now=now, window=window)
        known = email in app.organisation(session).people()
        throttled = (
            failures >= web_settings.login_max_failures or account_failures >= web_settings.login_account_max_failures
        )
        if throttled:  # audited (at most once a minute per account, whatever the address), password not checked
            audit_refusal(
                app,
                session,
                source=f"login-throttled:{email[:100]}",
                actor=email if known else "anonymous",
                action="auth.login_throttled",
                now=now,
                data={"failures": failures, "account_failures": account_failures},
            )
        user = session.get(WebUser, email) if known else None
        ok = False
        try:
            if throttled:
                raise VerificationError("throttled")
            ok = accounts.hasher.verify(
                user.password_hash if user and user.active and user.password_hash else DUMMY_HASH, password or ""
            )
            ok = ok and user is not None and user.active and bool(user.password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok and not throttled:
            _record_login_failure(session, email=email, ip=ip, now=now)
            data = {
                "reason": ("account disabled" if not user.active else "bad password")
                if user is not None
                else "no such account",
                "failures": failures + 1,
                "account_failures": account_failures + 1,
            }
            if known:
                audit.append(session, app.keyring, at=now, actor=email, action="auth.login_failed", data=data)
            else:  # guesses at unknown names: at most one audit row a minute per address
                audit_refusal(
                    app,
                    session,
                    source=f"login:{ip}",
                    actor="anonymous",
                    action="auth.login_failed",
                    now=now,
                    data=data,
                )
    if throttled:
        raise LoginThrottled("too many failed sign-ins: wait and try again", int(window.total_seconds()))
    if not ok:
        raise LoginFailed("wrong email or password")
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with transaction(app.engine) as session:
        user = session.get_one(WebUser, email)  # the password was just verified
        if user.password_hash and accounts.hasher.check_needs_rehash(user.password_hash):
            user.password_hash = accounts.hasher.hash(password)
            session.add(user)
        _clear_login_failures(session, email=email, ip=ip)
        session.add(
            WebSession(
                id_sha256=digest(cookie),
                email=email,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + timedelta(hours=web_settings.session_hours),
                last_seen_at=now,
            )
        )
        audit.append(session, app.keyring, at=now, actor=email, action="auth.login", data={"via": "web"})
    return cookie, csrf


def session_user(app, cookie: str | None, *, now: datetime) -> SignedIn | None:
    """The signed-in person of a session cookie, or None (unknown, expired, left the organisation)."""
    if not cookie:
        return None
    with transaction(app.engine) as session:
        row = session.get(WebSession, digest(cookie))
        if row is None:
            return None
        if row.expires_at <= now:
            session.delete(row)
            return None
        user = session.get(WebUser, row.email)
        if user is None or not user.active or row.email not in app.organisation(session).people():
            return None
        return SignedIn(email=row.email, via="session", csrf_token=row.csrf_token, session_id=row.id_sha256)


def token_user(app, token: str | None, *, now: datetime, days: int = DEFAULT_TOKEN_DAYS) -> SignedIn | None:
    """The owner of a personal API token, or None (unknown, revoked, expired, account disabled)."""
    if not token or not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
        return None
    with transaction(app.engine) as session:
        row = session.get(ApiToken, digest(token))
        if row is None or not row.active or token_expiry(row, days) <= now:
            return None
        user = session.get(WebUser, row.email)
        if user is None or not user.active or row.email not in app.organisation(session).people():
            return None
        row.last_used_at = now
        session.add(row)
        return SignedIn(email=row.email, via="token")


def logout(app, cookie: str | None, *, now: datetime) -> None:
    if not cookie:
        return
    with transaction(app.engine) as session:
        row = session.get(WebSession, digest(cookie))
        if row is not None:
            session.delete(row)
            audit.append(session, app.keyring, at=now, actor=row.email, action="auth.logout", data={})


def purge_expired_sessions(app, *, now: datetime) -> int:
    """Delete the sessions that have expired (the sweep calls this); returns how many."""
    with transaction(app.engine) as session:
        return rows_changed(session, delete(WebSession).where(WebSession.expires_at <= now))
