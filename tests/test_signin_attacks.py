"""Issue 11 (part B), written as the attacks: forged client addresses, tokens that outlive a
password, disabled accounts, ack tokens in the access log, floods of unauthenticated refusals.

The address tests run the web app under a real uvicorn on loopback with the configuration
``hokoku serve`` uses (:func:`hokoku.web.server.uvicorn_config`), because the hole was uvicorn's own
trust of ``X-Forwarded-For`` from 127.0.0.1.
"""

from __future__ import annotations

import io
import logging
import re
import socket
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest

from tests.helpers import GM, PM, audit_actions, raw_sql
from tests.web_support import PASSWORD, fast_hashes, site

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(web):
    """The ASGI app under uvicorn on 127.0.0.1 with hokoku serve's configuration."""
    import uvicorn

    from hokoku.web.server import uvicorn_config

    port = _free_port()
    server = uvicorn.Server(uvicorn_config(web, host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.025)
    assert server.started, "uvicorn did not start"
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)
        for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):  # handlers bound to this test's stdout
            logging.getLogger(name).handlers.clear()


def _login(client, email: str, password: str, **headers):
    page = client.get("/login", headers=headers)
    token = _CSRF_FIELD.search(page.text).group(1)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )


# -- forged client addresses -------------------------------------------------------------------
def test_rotating_x_forwarded_for_from_loopback_does_not_escape_the_sign_in_lock(site):
    """30 wrong passwords, each claiming another X-Forwarded-For: the account is still locked
    (the header is not believed from an untrusted peer, loopback included)."""
    with served(site.web) as client:
        for i in range(30):
            r = _login(client, PM, f"wrong guess number {i}", **{"X-Forwarded-For": f"203.0.113.{i + 1}"})
            assert r.status_code in (401, 429)
        locked = _login(client, PM, PASSWORD, **{"X-Forwarded-For": "198.51.100.77"})
        assert locked.status_code == 429
    addresses = {row[0] for row in raw_sql(site.app, "SELECT DISTINCT ip FROM web_login_failure")}
    assert addresses == {"127.0.0.1"}


def test_per_account_limit_holds_across_genuinely_different_addresses(site):
    """Behind a trusted proxy every guess comes from a new real address: after
    HOKOKU_LOGIN_ACCOUNT_MAX_FAILURES (20) the account is locked from everywhere; others are not."""
    from hokoku.config.web import load_web_settings

    site.web.state.web_settings = load_web_settings(trusted_proxies="127.0.0.1/32, ::1")
    with served(site.web) as client:
        codes = [
            _login(client, PM, f"wrong guess {i}", **{"X-Forwarded-For": f"203.0.113.{i + 1}"}).status_code
            for i in range(20)
        ]
        assert codes == [401] * 20
        assert _login(client, PM, PASSWORD, **{"X-Forwarded-For": "198.51.100.9"}).status_code == 429
        for i in range(5):  # more tries from more addresses: still locked, one audit row a minute
            assert _login(client, PM, PASSWORD, **{"X-Forwarded-For": f"198.51.100.{20 + i}"}).status_code == 429
        assert _login(client, GM, PASSWORD, **{"X-Forwarded-For": "203.0.113.1"}).status_code == 303
    assert [a for a, _ in audit_actions(site.app)].count("auth.login_throttled") == 1
    addresses = {row[0] for row in raw_sql(site.app, "SELECT DISTINCT ip FROM web_login_failure")}
    assert len(addresses) == 20 and "127.0.0.1" not in addresses  # the proxy's header was believed
    site.clock.advance(minutes=16)
    with served(site.web) as client:
        assert _login(client, PM, PASSWORD, **{"X-Forwarded-For": "198.51.100.9"}).status_code == 303


def test_forwarded_header_is_read_only_from_trusted_proxies_and_from_the_right():
    """client_ip: an untrusted peer's header is ignored; behind trusted hops the rightmost untrusted
    address wins (a client cannot prepend its way in); garbage stops the walk."""
    import ipaddress

    from hokoku.web.security import client_ip

    def scope(peer, xff=None):
        headers = [(b"x-forwarded-for", xff.encode())] if xff else []
        return {"client": (peer, 5000), "headers": headers}

    proxies = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client_ip(scope("127.0.0.1", "1.2.3.4")) == "127.0.0.1"
    assert client_ip(scope("192.0.2.5", "1.2.3.4"), proxies) == "192.0.2.5"
    assert client_ip(scope("10.0.0.1", "1.2.3.4"), proxies) == "1.2.3.4"
    assert client_ip(scope("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2"), proxies) == "1.2.3.4"
    assert client_ip(scope("10.0.0.1", "not-an-ip"), proxies) == "10.0.0.1"
    assert client_ip(scope("10.0.0.1"), proxies) == "10.0.0.1"


def test_a_bad_trusted_proxy_setting_is_refused_in_one_line(monkeypatch):
    from hokoku.config.web import load_web_settings
    from hokoku.core.exceptions import ConfigError

    monkeypatch.setenv("HOKOKU_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")
    with pytest.raises(ConfigError, match="HOKOKU_TRUSTED_PROXIES"):
        load_web_settings()


# -- tokens -------------------------------------------------------------------------------------
def _me(site, token):
    return site.client().get("/api/me", headers={"Authorization": f"Bearer {token}"})


def test_a_token_stolen_before_a_password_change_stops_working(site, cli, monkeypatch):
    """`hokoku user passwd` revokes every API token of the account: the old token gets 401."""
    token = site.token(PM)
    assert _me(site, token).status_code == 200
    monkeypatch.setattr("sys.stdin", io.StringIO("a brand new password 42\n"))
    code, out, err = cli("user", "passwd", PM, "--password-stdin", "--json")
    assert code == 0, err
    assert '"tokens_revoked": 1' in out
    answer = _me(site, token)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
    assert _me(site, site.token(PM)).status_code == 200  # a new token works


def test_tokens_expire_after_token_days(site):
    """A token works until HOKOKU_TOKEN_DAYS (90) after it was made, not a second longer."""
    token = site.token(PM)
    site.clock.advance(days=90, seconds=-1)
    assert _me(site, token).status_code == 200
    site.clock.advance(seconds=1)
    assert _me(site, token).status_code == 401


def test_token_list_and_revoke_by_id_or_prefix(site, cli):
    """`user token list` shows id, prefix, status and expiry but never the token; `user token revoke`
    takes the id or the token's start; the old `user token EMAIL` still creates one."""
    code, out, _ = cli("user", "token", PM, "--json")
    first = re.search(r'"token": "(hkp_[^"]+)"', out).group(1)
    code, out, _ = cli("user", "token", "create", PM, "--days", "7", "--json")
    second = re.search(r'"token": "(hkp_[^"]+)"', out).group(1)
    code, out, _ = cli("user", "token", "list", PM, "--json")
    assert code == 0 and first not in out and second not in out
    import json

    listed = json.loads(out)
    assert [t["status"] for t in listed] == ["active", "active"]
    assert [t["prefix"] for t in listed] == [first[:12], second[:12]]
    code, out, err = cli("user", "token", "revoke", listed[0]["id"], "--lang", "en")
    assert code == 0 and "revoked" in out, err
    code, out, err = cli("user", "token", "revoke", second[:12])
    assert code == 0 and "失効させました" in out, err
    assert _me(site, first).status_code == 401 and _me(site, second).status_code == 401
    code, out, _ = cli("user", "token", "list", PM, "--lang", "en")
    assert out.count("revoked") == 2
    code, out, _ = cli("user", "token", "list", PM)
    assert out.count("失効") == 2
    code, _, err = cli("user", "token", "revoke", "zz")
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = cli("user", "token", "revoke", "hkp_")
    assert code == 2
    assert {"user.token_created", "user.token_revoked"} <= {a for a, _ in audit_actions(site.app)}


def test_a_disabled_account_cannot_sign_in_and_its_sessions_and_tokens_end(site, cli):
    """`hokoku user disable`: the right password is refused, the open session is gone, tokens 401."""
    browser = site.login(PM)
    token = site.token(PM)
    code, out, err = cli("user", "disable", PM, "--json")
    assert code == 0, err
    assert '"sessions_ended": 1' in out and '"tokens_revoked": 1' in out
    assert browser.get("/dashboard", follow_redirects=False).status_code == 303  # to the sign-in page
    assert _me(site, token).status_code == 401
    c = site.client()
    page = c.get("/login")
    r = c.post(
        "/login",
        data={"email": PM, "password": PASSWORD, "csrf_token": _CSRF_FIELD.search(page.text).group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 401
    code, _, err = cli("user", "token", PM)
    assert code == 2 and "disabled" in err
    assert cli("user", "enable", PM)[0] == 0
    site.login(PM)


# -- ack tokens never reach the access log ---------------------------------------------------------
def test_the_access_log_never_contains_an_ack_token(site, capsys):
    """GET and POST of /ack/<token> through uvicorn: the access lines name /ack/[redacted]."""
    from hokoku.security.acktokens import issue_token

    token = issue_token(
        key=site.app.keyring.keys[0].token_key,
        person_email=PM,
        incident_id="INC-2027-0001",
        stage_code="acknowledge",
        issued_at=site.clock(),
        ttl=timedelta(hours=1),
    )
    with served(site.web) as client:
        client.get(f"/ack/{token}")
        client.post(f"/ack/{token}?lang=en")
        client.get(f"/ack/{token}/")
    time.sleep(0.1)
    out = capsys.readouterr().out
    access = [line for line in out.splitlines() if '"GET ' in line or '"POST ' in line]
    assert len(access) >= 3, out
    assert token not in out and token[:20] not in out
    assert sum("/ack/[redacted]" in line for line in access) >= 3


def test_the_redacting_filter_is_on_uvicorns_access_logger_for_any_server():
    """create_app attaches the filter to the uvicorn.access logger itself (other servers too)."""
    from hokoku.web.logredact import RedactAckTokens, redact

    assert redact("GET /ack/abc.def?lang=en HTTP/1.1") == "GET /ack/[redacted]?lang=en HTTP/1.1"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", "/ack/SECRET.TOKEN", "1.1", 200),
        None,
    )
    RedactAckTokens().filter(record)
    assert "SECRET" not in record.getMessage()


# -- floods of unauthenticated refusals --------------------------------------------------------------
def test_two_hundred_forged_ack_links_write_one_audit_row_a_minute(site):
    """The flood that wrote 200 audit rows: now one per source address per minute, with a count."""
    c = site.client()
    before = len([a for a, _ in audit_actions(site.app) if a == "ack_link.refused"])
    for i in range(200):
        assert c.get(f"/ack/forged-{i}").status_code == 400
    rows = [d for a, d in audit_actions(site.app) if a == "ack_link.refused"]
    assert len(rows) - before == 1
    site.clock.advance(minutes=1)
    assert c.get("/ack/forged-again").status_code == 400
    rows = [d for a, d in audit_actions(site.app) if a == "ack_link.refused"]
    assert rows[-1]["suppressed"] == 199


def test_sign_in_guesses_at_unknown_names_are_aggregated(site):
    """Many failed sign-ins for names that are not accounts: one audit row a minute per address."""
    c = site.client()
    for i in range(30):
        page = c.get("/login")
        c.post(
            "/login",
            data={
                "email": f"ghost{i}@example.org",
                "password": "whatever it is",
                "csrf_token": _CSRF_FIELD.search(page.text).group(1),
            },
        )
    assert len([a for a, _ in audit_actions(site.app) if a == "auth.login_failed"]) == 1


# -- /docs ---------------------------------------------------------------------------------------------
def test_docs_are_served_locally_under_a_csp_to_signed_in_people_only(site):
    """/docs loads no script from elsewhere and none inline; its assets come from this host; a
    stranger is sent to sign in (the page, its assets and the OpenAPI document); /redoc is gone."""
    stranger = site.client()
    for path in ("/docs", "/docs/init.js", "/docs/assets/swagger-ui-bundle.js"):
        r = stranger.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    assert stranger.get("/openapi.json").status_code == 401
    assert stranger.get("/redoc").status_code == 404
    c = site.as_(PM)
    page = c.get("/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all(body.strip() == "" for _, body in scripts)  # no inline code
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    for src in sources:
        asset = c.get(src)
        assert asset.status_code == 200 and len(asset.content) > 100, src
    assert c.get("/docs/assets/../../../../etc/passwd").status_code == 404
    assert c.get("/docs/assets/index.html").status_code == 404  # an allow-list, not the directory
    assert c.get("/openapi.json").json()["info"]["title"] == "hokoku"
    assert site.client().get("/openapi.json", headers={"Authorization": f"Bearer {site.token(GM)}"}).status_code == 200


def test_cli_counts_and_times_are_bounded_in_one_line(demo_app, cli):
    """`--individuals 2^63` and `--now 9999-…` / `0001-…` are refused in one line (exit 2), no traceback."""
    for args in (
        ("triage", "INC-2027-0001", "--as", GM, "--individuals", str(2**63)),
        ("tick", "--now", "9999-12-31T23:59"),
        ("tick", "--now", "0001-01-01T00:00"),
    ):
        code, _, err = cli(*args)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (args, err)


def test_a_replay_is_refused_by_another_worker_too(demo_app):
    """The memory of accepted Slack requests is in the database: a second App (another worker
    process) refuses the same (timestamp, signature); after the window the row is purged."""
    from hokoku.app import open_app
    from hokoku.services.slackrequests import remember_request
    from tests.helpers import T0

    assert remember_request(demo_app, timestamp="1700000000", signature="v0=abc", now=T0) is True
    other = open_app()
    assert remember_request(other, timestamp="1700000000", signature="v0=abc", now=T0) is False
    assert remember_request(other, timestamp="1700000001", signature="v0=abc", now=T0) is True
    assert remember_request(other, timestamp="1700000000", signature="v0=abc", now=T0 + timedelta(minutes=11)) is True
