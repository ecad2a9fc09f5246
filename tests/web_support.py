"""Support for the web tests: a demo site with accounts, a settable clock, signed-in clients.

Import the ``site`` fixture into a test module with ``from tests.web_support import site``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from hokoku.clock import FixedClock as Clock
from tests.helpers import GM, IM, PM, PO, REPORTER, STAFF_NOT_ON_LADDER, T0

PASSWORD = "correct horse battery staple"
AUDIT = "tanaka.audit@example.org"
DG = "yamada.dg@example.org"
OTHER_PM = "matsumoto.pm@example.org"  # protection manager of IDS-MED (same institute, other division)
OTHER_IM = "hayashi.im@example.org"  # institute manager of IEH (other institute)
OTHER_STAFF = "kimura@example.org"  # staff of IDS-MED
IEH_STAFF = "mori@example.org"  # staff of IEH-COHORT
ACCOUNTS = [REPORTER, STAFF_NOT_ON_LADDER, PM, PO, IM, GM, DG, AUDIT, OTHER_PM, OTHER_IM, OTHER_STAFF, IEH_STAFF]
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    app: object
    web: object
    clock: Clock
    clients: dict = field(default_factory=dict)

    def client(self):
        from fastapi.testclient import TestClient

        return TestClient(self.web, raise_server_exceptions=True)

    def login(self, email: str, password: str = PASSWORD):
        """A client signed in as ``email`` (its CSRF token in ``client.csrf``)."""
        c = self.client()
        page = c.get("/login")
        token = _CSRF_FIELD.search(page.text).group(1)
        r = c.post("/login", data={"email": email, "password": password, "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303, (r.status_code, r.text[:500])
        dash = c.get("/dashboard")
        c.csrf = _CSRF_META.search(dash.text).group(1)
        return c

    def as_(self, email: str):
        if email not in self.clients:
            self.clients[email] = self.login(email)
        return self.clients[email]

    def report(self, email: str = REPORTER, **fields) -> str:
        """File a report through the form; returns the incident id."""
        c = self.as_(email)
        data = {
            "division": "IDS-SURVEY",
            "category": "malware",
            "summary": "PC-17 shows a ransom note",
            "csrf_token": c.csrf,
            **fields,
        }
        r = c.post("/report", data=data, follow_redirects=False)
        assert r.status_code == 303, (r.status_code, r.text[:800])
        return r.headers["location"].split("/")[2]

    def token(self, email: str) -> str:
        from hokoku.services.accounts import create_api_token

        return create_api_token(self.app, email=email, now=self.clock())


def csrf_of(html: str) -> str:
    return _CSRF_META.search(html).group(1)


@pytest.fixture
def fast_hashes(monkeypatch):
    """Cheaper argon2 parameters for the tests (production parameters are tested on their own)."""
    from argon2 import PasswordHasher

    import hokoku.services.accounts as auth

    monkeypatch.setattr(auth, "hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def site(demo_app, fast_hashes, monkeypatch):
    """The web app on the demo organisation at T0 + 5 min, every test account with PASSWORD."""
    from hokoku.services.accounts import ensure_demo_users
    from hokoku.web import create_app

    ensure_demo_users(demo_app, emails=ACCOUNTS, password=PASSWORD, now=T0)
    clock = Clock(T0 + timedelta(minutes=5))
    web = create_app(demo_app, notifiers={}, clock=clock)
    web.state.clock = clock
    return Site(demo_app, web, clock)
