"""Sign-in, sessions, CSRF, login rate limiting, accounts and API tokens (Art. 11)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from hokoku.store.db import transaction
from tests.helpers import GM, PM, REPORTER, T0, audit_actions, last_seq, raw_sql
from tests.web_support import PASSWORD, fast_hashes, site


def _login_page_token(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)


def _try_login(client, email, password):
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": _login_page_token(client)},
        follow_redirects=False,
    )


def test_sign_in_sets_a_hardened_cookie_and_stores_only_a_hash(site):
    """The session cookie is HttpOnly and SameSite=Lax; the database holds its SHA-256, not the value."""
    c = site.client()
    r = _try_login(c, PM, PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("hokoku_session="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # http public URL
    value = cookie.split(";")[0].split("=", 1)[1]
    rows = raw_sql(site.app, "SELECT id_sha256, email, expires_at FROM web_session")
    assert len(rows) == 1 and rows[0][1] == PM
    import hashlib

    assert rows[0][0] == hashlib.sha256(value.encode()).hexdigest()
    assert value not in str(rows)
    assert ("auth.login", {"via": "web"}) in audit_actions(site.app)


def test_cookie_is_secure_when_the_public_url_is_https(site, monkeypatch):
    """With HOKOKU_PUBLIC_URL on https the session cookie carries Secure."""
    settings = site.app.settings.model_copy(update={"public_url": "https://hokoku.example.org"})
    monkeypatch.setattr(site.app, "settings", settings)
    from fastapi.testclient import TestClient

    r = _try_login(TestClient(site.web, base_url="https://testserver"), PM, PASSWORD)
    assert r.status_code == 303
    cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("hokoku_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_wrong_password_is_refused_and_audited_without_saying_which_part_was_wrong(site):
    """A wrong password and an unknown account give the same 401 page; both are audited."""
    seq = last_seq(site.app)
    bad = _try_login(site.client(), PM, "not the password at all")
    ghost = _try_login(site.client(), "ghost@example.org", "not the password at all")
    assert bad.status_code == ghost.status_code == 401
    assert "メールアドレスまたはパスワードが違います" in bad.text
    actions = audit_actions(site.app, after_seq=seq)
    assert ("auth.login_failed", {"reason": "bad password", "failures": 1, "account_failures": 1}) in actions
    assert (
        "auth.login_failed",
        {"reason": "no such account", "failures": 1, "account_failures": 1, "source": "login:testclient"},
    ) in actions
    assert "session" not in bad.headers.get("set-cookie", "")


def test_five_failures_per_account_and_address_lock_sign_in_for_the_window(site):
    """After 5 failures in 15 minutes even the right password gets 429 (stored in the DB); later it works."""
    c = site.client()
    for _ in range(5):
        assert _try_login(c, PM, "wrong password guess").status_code == 401
    locked = _try_login(c, PM, PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) == 15 * 60
    assert raw_sql(site.app, "SELECT count(*) FROM web_login_failure WHERE email = ?", (PM,))[0][0] == 5
    assert _try_login(site.client(), GM, PASSWORD).status_code == 303  # other accounts are not affected
    assert "auth.login_throttled" in [a for a, _ in audit_actions(site.app)]
    site.clock.advance(minutes=16)
    assert _try_login(c, PM, PASSWORD).status_code == 303
    assert raw_sql(site.app, "SELECT count(*) FROM web_login_failure WHERE email = ?", (PM,))[0][0] == 0


def test_every_form_post_needs_the_session_csrf_token(site):
    """A POST without the token, or with another session's token, is refused with 403 and changes nothing."""
    pm = site.as_(PM)
    gm = site.as_(GM)
    inc = site.report()
    for token in (None, "", gm.csrf):
        data = {"stage": "acknowledge"} | ({"csrf_token": token} if token is not None else {})
        r = pm.post(f"/incidents/{inc}/ack", data=data, follow_redirects=False)
        assert r.status_code == 403, token
    assert "stage.acknowledged" not in [a for a, _ in audit_actions(site.app, incident=inc)]
    ok = pm.post(f"/incidents/{inc}/ack", data={"stage": "acknowledge", "csrf_token": pm.csrf}, follow_redirects=False)
    assert ok.status_code == 303


def test_sign_in_form_has_its_own_csrf_token(site):
    """The sign-in POST needs the double-submit token from the sign-in page."""
    c = site.client()
    r = c.post("/login", data={"email": PM, "password": PASSWORD, "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403


def test_sign_out_ends_the_session_on_the_server(site):
    """After sign-out the old cookie no longer opens pages (the session row is gone)."""
    c = site.login(PM)
    old = c.cookies.get("hokoku_session")
    r = c.post("/logout", data={"csrf_token": c.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert raw_sql(site.app, "SELECT count(*) FROM web_session")[0][0] == 0
    replay = site.client()
    replay.cookies.set("hokoku_session", old)
    r = replay.get("/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_sessions_expire(site):
    """A session older than HOKOKU_SESSION_HOURS (8 h) sends the browser back to sign-in."""
    c = site.login(PM)
    assert c.get("/dashboard").status_code == 200
    site.clock.advance(hours=8, minutes=1)
    r = c.get("/dashboard", follow_redirects=False)
    assert r.status_code == 303 and "/login" in r.headers["location"]


def test_pages_send_strangers_to_sign_in_and_back_but_never_elsewhere(site):
    """Unsigned requests go to /login?next=...; after sign-in the same-site next is followed, others are not."""
    c = site.client()
    r = c.get("/dashboard?sort=incident", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fdashboard%3Fsort%3Dincident"
    token = _login_page_token(c)
    r = c.post(
        "/login",
        data={"email": PM, "password": PASSWORD, "csrf_token": token, "next": "/dashboard?sort=incident"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/dashboard?sort=incident"
    for evil in ("//evil.example.com/", "https://evil.example.com/", "/\\evil.example.com"):
        c2 = site.client()
        r = c2.post(
            "/login",
            data={"email": PM, "password": PASSWORD, "csrf_token": _login_page_token(c2), "next": evil},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/dashboard", evil


def test_passwords_are_argon2id_hashes_with_the_library_defaults(demo_app):
    """Accounts store an argon2id hash (default parameters), never the password."""
    from argon2 import PasswordHasher

    from hokoku.services.accounts import add_user

    add_user(demo_app, email=PM, password=PASSWORD, now=T0)
    [(stored,)] = raw_sql(demo_app, "SELECT password_hash FROM web_user WHERE email = ?", (PM,))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert f"m={PasswordHasher().memory_cost}" in stored
    assert PasswordHasher().verify(stored, PASSWORD)


# -- the CLI verbs ----------------------------------------------------------------------------
def test_user_add_passwd_token_from_the_cli(demo_app, cli, monkeypatch, fast_hashes):
    """`hokoku user add/passwd --password-stdin` and `user token`; the token is stored hashed and works."""
    monkeypatch.setattr("sys.stdin", io.StringIO("first password 123\n"))
    code, out, err = cli("user", "add", PM, "--password-stdin", "--now", T0.isoformat())
    assert (code, err) == (0, "") and PM in out
    monkeypatch.setattr("sys.stdin", io.StringIO("second password 456\n"))
    code, out, _ = cli("user", "passwd", PM, "--password-stdin", "--json")
    assert code == 0 and '"sessions_ended": 0' in out
    code, out, _ = cli("user", "token", PM, "--json")
    assert code == 0
    token = re.search(r'"token": "(hkp_[^"]+)"', out).group(1)
    assert token not in str(raw_sql(demo_app, "SELECT * FROM web_api_token"))
    actions = [a for a, _ in audit_actions(demo_app)]
    assert {"user.added", "user.password_changed", "user.token_created"} <= set(actions)

    from fastapi.testclient import TestClient

    from hokoku.web import create_app

    api = TestClient(create_app(demo_app, notifiers={}))
    me = api.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["email"] == PM


def test_user_verbs_refuse_strangers_duplicates_and_short_passwords(demo_app, cli, monkeypatch, fast_hashes):
    """Only people of the organisation file get accounts; one account each; passwords of 10+ characters."""
    monkeypatch.setattr("sys.stdin", io.StringIO("long enough password\n"))
    code, _, err = cli("user", "add", "ghost@example.org", "--password-stdin")
    assert code == 2 and "not in the organisation file" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = cli("user", "add", PM, "--password-stdin")
    assert code == 2 and "too short" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("long enough password\n"))
    assert cli("user", "add", PM, "--password-stdin")[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("long enough password\n"))
    code, _, err = cli("user", "add", PM, "--password-stdin")
    assert code == 2 and "already has an account" in err
    code, _, err = cli("user", "token", REPORTER)
    assert code == 2 and "has no account" in err


def test_user_add_prompts_twice_without_echo(demo_app, cli, monkeypatch, fast_hashes):
    """Without --password-stdin the password is asked twice with getpass; a mismatch is refused."""
    answers = iter(["typed password one", "typed password two"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = cli("user", "add", PM, "--lang", "en")
    assert code == 2 and "differ" in err
    answers = iter(["typed password one", "typed password one"])
    assert cli("user", "add", PM)[0] == 0


def test_changing_the_password_ends_existing_sessions(site):
    """`user passwd` removes the account's sessions: a stolen cookie stops working."""
    from hokoku.services.accounts import set_password

    c = site.login(PM)
    assert set_password(site.app, email=PM, password="a brand new password", now=site.clock())["sessions_ended"] == 1
    assert c.get("/dashboard", follow_redirects=False).status_code == 303


def test_session_rows_hold_no_clear_secrets(site):
    """web_session and web_api_token keep digests only."""
    from hokoku.models.web import ApiToken, WebSession

    c = site.login(PM)
    token = site.token(PM)
    with transaction(site.app.engine) as session:
        sess = session.execute(select(WebSession)).scalars().all()
        toks = session.execute(select(ApiToken)).scalars().all()
    assert all(len(s.id_sha256) == 64 for s in sess)
    assert c.cookies.get("hokoku_session") not in {s.id_sha256 for s in sess}
    assert token not in {t.token_sha256 for t in toks}
    assert sess[0].expires_at == site.clock() + timedelta(hours=8)


@pytest.mark.parametrize("value", ["", "x" * 9, " leading space pw", "has\nnewline!!"])
def test_bad_passwords_are_refused(value):
    from hokoku.core.exceptions import InputError
    from hokoku.services.accounts import check_password

    with pytest.raises(InputError):
        check_password(value)


def test_a_live_sweep_purges_expired_sessions_and_keeps_current_ones(site):
    """The sweep deletes web sessions past their expiry (live sweeps only); current sessions stay."""
    from hokoku.services.sweep import sweep

    site.login(PM)
    later = site.clock.advance(hours=9)  # past the 8-hour session lifetime
    site.login(GM)
    assert len(raw_sql(site.app, "SELECT email FROM web_session")) == 2
    sweep(site.app, now=later, selfcheck=False)  # a simulated sweep never ends sessions
    assert len(raw_sql(site.app, "SELECT email FROM web_session")) == 2
    sweep(site.app, now=later, selfcheck=True)
    assert [r[0] for r in raw_sql(site.app, "SELECT email FROM web_session")] == [GM]
