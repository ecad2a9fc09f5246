"""Accounts, passwords and personal API tokens (Art. 11: authentication); sign-in and sessions are
in :mod:`hokoku.services.websessions`.

Accounts belong to people of the organisation file. Passwords are argon2id hashes
(argon2-cffi); a session is a random id in an HttpOnly, SameSite=Lax cookie (Secure when
``HOKOKU_PUBLIC_URL`` is https) whose SHA-256 is a ``web_session`` row with an expiry;
personal API tokens (``hkp_...``) are stored as SHA-256 too, expire after
``HOKOKU_TOKEN_DAYS`` and can be listed and revoked; a new password or disabling the account
revokes them all. Sign-in is limited per account and address and per account alone. Every
account change and every sign-in, failed sign-in and sign-out is an audit event.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import delete, select

from hokoku.core.exceptions import InputError, NotFound
from hokoku.models.web import ApiToken, WebSession, WebUser
from hokoku.security import audit
from hokoku.store.db import rows_changed, transaction

API_TOKEN_PREFIX = "hkp_"
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
#: Characters of a token kept in clear (``hkp_`` + 8) so its owner can tell tokens apart.
PREFIX_CHARS = 12
DEFAULT_TOKEN_DAYS = 90

hasher = PasswordHasher()
#: Verified against when the account does not exist, so both cases cost the same time.
DUMMY_HASH = hasher.hash("hokoku: no such account")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _person(app, session, email: str) -> str:
    email = (email or "").strip().lower()
    if email not in app.organisation(session).people():
        raise NotFound(f"unknown person {email!r}: not in the organisation file")
    return email


def check_password(password: str) -> str:
    if password is None or len(password) < MIN_PASSWORD:
        raise InputError(f"password: too short (at least {MIN_PASSWORD} characters)")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"password: too long (at most {MAX_PASSWORD} characters)")
    if password.strip() != password or "\n" in password:
        raise InputError("password: no leading or trailing spaces, no line breaks")
    return password


# -- accounts -------------------------------------------------------------------------------
def add_user(app, *, email: str, password: str, now: datetime) -> dict:
    """An account for a person of the organisation file."""
    check_password(password)
    with transaction(app.engine) as session:
        email = _person(app, session, email)
        if session.get(WebUser, email) is not None:
            raise InputError(f"{email} already has an account (hokoku user passwd {email} changes its password)")
        session.add(WebUser(email=email, password_hash=hasher.hash(password), created_at=now, password_changed_at=now))
        audit.append(session, app.keyring, at=now, actor="hokoku:admin", action="user.added", data={"user": email})
    return {"user": email, "created": True}


def set_password(app, *, email: str, password: str, now: datetime) -> dict:
    """A new password; the account's sessions end."""
    check_password(password)
    with transaction(app.engine) as session:
        email = _person(app, session, email)
        user = session.get(WebUser, email)
        if user is None:
            raise NotFound(f"{email} has no account (hokoku user add {email})")
        user.password_hash, user.password_changed_at = hasher.hash(password), now
        session.add(user)
        ended = rows_changed(session, delete(WebSession).where(WebSession.email == email))
        revoked = _revoke_all(session, email, now=now, reason="password changed")
        audit.append(
            session,
            app.keyring,
            at=now,
            actor="hokoku:admin",
            action="user.password_changed",
            data={"user": email, "sessions_ended": ended, "tokens_revoked": revoked},
        )
    return {"user": email, "sessions_ended": ended, "tokens_revoked": revoked}


def _revoke_all(session, email: str, *, now: datetime, reason: str) -> int:
    rows = session.execute(select(ApiToken).where(ApiToken.email == email, ApiToken.active.is_(True))).scalars().all()
    for row in rows:
        row.active, row.revoked_at, row.revoked_reason = False, now, reason
        session.add(row)
    return len(rows)


def disable_user(app, *, email: str, now: datetime) -> dict:
    """Disable an account: it cannot sign in, its sessions end, its API tokens are revoked."""
    with transaction(app.engine) as session:
        email = (email or "").strip().lower()
        user = session.get(WebUser, email)
        if user is None:
            raise NotFound(f"{email} has no account")
        user.active, user.disabled_at = False, now
        session.add(user)
        ended = rows_changed(session, delete(WebSession).where(WebSession.email == email))
        revoked = _revoke_all(session, email, now=now, reason="account disabled")
        audit.append(
            session,
            app.keyring,
            at=now,
            actor="hokoku:admin",
            action="user.disabled",
            data={"user": email, "sessions_ended": ended, "tokens_revoked": revoked},
        )
    return {"user": email, "disabled": True, "sessions_ended": ended, "tokens_revoked": revoked}


def enable_user(app, *, email: str, now: datetime) -> dict:
    """Enable a disabled account again (its old tokens stay revoked)."""
    with transaction(app.engine) as session:
        email = _person(app, session, email)
        user = session.get(WebUser, email)
        if user is None:
            raise NotFound(f"{email} has no account")
        user.active, user.disabled_at = True, None
        session.add(user)
        audit.append(session, app.keyring, at=now, actor="hokoku:admin", action="user.enabled", data={"user": email})
    return {"user": email, "disabled": False}


def create_api_token(app, *, email: str, now: datetime, days: int | None = None) -> str:
    """A personal API token for an existing, enabled account; returned once, stored as a hash.

    It expires ``days`` (default ``HOKOKU_TOKEN_DAYS``, 90) after ``now``.
    """
    if days is None:
        from hokoku.config.web import load_web_settings

        days = load_web_settings().token_days
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(app.engine) as session:
        email = _person(app, session, email)
        user = session.get(WebUser, email)
        if user is None:
            raise NotFound(f"{email} has no account (hokoku user add {email})")
        if not user.active:
            raise InputError(f"{email} is disabled: no new tokens")
        expires = now + timedelta(days=days)
        session.add(
            ApiToken(
                token_sha256=digest(token), email=email, created_at=now, prefix=token[:PREFIX_CHARS], expires_at=expires
            )
        )
        audit.append(
            session,
            app.keyring,
            at=now,
            actor="hokoku:admin",
            action="user.token_created",
            data={"user": email, "token": digest(token)[:12], "expires_at": expires.isoformat()},
        )
    return token


def token_expiry(row: ApiToken, days: int = DEFAULT_TOKEN_DAYS) -> datetime:
    """When a token stops working (tokens made before expiry existed: ``created_at`` + days)."""
    return row.expires_at or row.created_at + timedelta(days=days)


def _token_status(row: ApiToken, now: datetime, days: int) -> str:
    if not row.active:
        return "revoked"
    return "expired" if token_expiry(row, days) <= now else "active"


def list_api_tokens(app, *, email: str, now: datetime) -> list[dict]:
    """Every token of an account (never the secret): id, prefix, created, expires, last used, status."""
    from hokoku.config.web import load_web_settings

    days = load_web_settings().token_days
    with transaction(app.engine) as session:
        email = (email or "").strip().lower()
        if session.get(WebUser, email) is None:
            raise NotFound(f"{email} has no account")
        rows = (
            session.execute(select(ApiToken).where(ApiToken.email == email).order_by(ApiToken.created_at))
            .scalars()
            .all()
        )
        return [
            {
                "id": r.token_sha256[:12],
                "prefix": r.prefix,
                "created_at": r.created_at.isoformat(),
                "expires_at": token_expiry(r, days).isoformat(),
                "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
                "status": _token_status(r, now, days),
                "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                "revoked_reason": r.revoked_reason,
            }
            for r in rows
        ]


def revoke_api_token(app, *, ref: str, now: datetime) -> dict:
    """Revoke one token named by its id (``user token list``, at least 6 hex digits) or by the
    start of the token itself (``hkp_`` + at least 4 characters)."""
    ref = (ref or "").strip()
    rows: Sequence[ApiToken]
    with transaction(app.engine) as session:
        if ref.startswith(API_TOKEN_PREFIX):
            if len(ref) < len(API_TOKEN_PREFIX) + 4:
                raise InputError("token: give at least 4 characters after hkp_")
            if len(ref) > PREFIX_CHARS:  # the whole token (or more than is kept): match its hash
                rows = [r for r in [session.get(ApiToken, digest(ref))] if r is not None]
            else:
                rows = (
                    session.execute(select(ApiToken).where(ApiToken.prefix.startswith(ref, autoescape=True)))
                    .scalars()
                    .all()
                )
        else:
            ref = ref.lower()
            if len(ref) < 6 or len(ref) > 64 or any(c not in "0123456789abcdef" for c in ref):
                raise InputError(
                    f"token: {ref[:70]!r} is neither a token id (6+ hex digits) nor a token prefix (hkp_…)"
                )
            rows = session.execute(select(ApiToken).where(ApiToken.token_sha256.startswith(ref))).scalars().all()
        if not rows:
            raise NotFound(f"no token {ref[:70]!r}")
        if len(rows) > 1:
            raise InputError(f"token: {ref!r} names {len(rows)} tokens; give more characters")
        row = rows[0]
        was_active = row.active
        if was_active:
            row.active, row.revoked_at, row.revoked_reason = False, now, "revoked"
            session.add(row)
            audit.append(
                session,
                app.keyring,
                at=now,
                actor="hokoku:admin",
                action="user.token_revoked",
                data={"user": row.email, "token": row.token_sha256[:12]},
            )
        return {"id": row.token_sha256[:12], "user": row.email, "revoked": True, "was_active": was_active}


def ensure_demo_users(app, *, emails: list[str], password: str, now: datetime) -> list[str]:
    """Create (or reset the password of) the demo accounts; returns their emails."""
    check_password(password)
    done = []
    hashed = hasher.hash(password)  # one password for every demo account (printed anyway)
    with transaction(app.engine) as session:
        for email in emails:
            email = _person(app, session, email)
            user = session.get(WebUser, email) or WebUser(email=email, created_at=now)
            user.password_hash, user.password_changed_at, user.active, user.disabled_at = hashed, now, True, None
            session.add(user)
            done.append(email)
        audit.append(
            session, app.keyring, at=now, actor="hokoku:serve", action="user.demo_accounts", data={"users": done}
        )
    return done
