"""The JSON API: personal tokens, the same actions as the pages, errors with the field at fault,
scopes and audit, machine alerts."""

from __future__ import annotations

import functools

import pytest

from tests.helpers import GM, PM, PO, REPORTER, STAFF_NOT_ON_LADDER, audit_actions, last_seq
from tests.web_support import AUDIT, OTHER_IM, OTHER_PM, fast_hashes, site

REPORT = {"division": "IDS-SURVEY", "category": "malware", "summary": "PC-17 shows a ransom note"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(site):
    """(client, {email: auth headers}) for the API."""
    headers = {
        email: bearer(site.token(email))
        for email in (REPORTER, STAFF_NOT_ON_LADDER, PM, PO, GM, AUDIT, OTHER_PM, OTHER_IM)
    }
    return site.client(), headers


def _report(api, email=REPORTER, **fields) -> str:
    client, h = api
    r = client.post("/api/incidents", json=REPORT | fields, headers=h[email])
    assert r.status_code == 201, r.text
    return r.json()["incident"]


def test_no_or_bad_token_is_401_json(site, api):
    client, _ = api
    for headers in (
        {},
        bearer("hkp_not-a-token"),
        bearer("hka_alert-tokens-are-not-personal"),
        {"Authorization": "Basic x"},
    ):
        r = client.get("/api/incidents", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["error"].startswith("authentication required") and r.json()["field"] is None
        assert r.headers["www-authenticate"] == "Bearer"


def test_report_through_the_api(site, api):
    """201 with the id, who was told and the immediate actions; the reporter is the token's owner."""
    client, h = api
    r = client.post(
        "/api/incidents",
        json=REPORT | {"aware_at": "2027-02-01T09:40", "individuals": 3, "data_items": "names"},
        headers=h[REPORTER],
    )
    assert r.status_code == 201
    body = r.json()
    assert body["incident"] == "INC-2027-0001"
    assert {"email": PM, "role": "protection_manager", "kind": "notify", "stage": "acknowledge"} in body["notified"]
    assert body["immediate_actions"][0] == site.app.playbooks["malware"].immediate_actions[0].get("ja")
    shown = client.get("/api/incidents/INC-2027-0001", headers=h[REPORTER]).json()
    assert shown["reporter"] == REPORTER and shown["aware_at"] == "2027-02-01T00:40:00+00:00"
    assert "names" in shown["details"]


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"division": "NOPE"}, "division"),
        ({"category": "alien-invasion"}, "category"),
        ({"summary": ""}, "summary"),
        ({"summary": None}, "summary"),
        ({"individuals": -1}, "individuals"),
        ({"aware_at": "not a time"}, "aware_at"),
        ({"aware_at": "2031-01-01T00:00:00+09:00"}, "aware_at"),
        ({"unexpected": 1}, "unexpected"),
        ({"serious": "very"}, "serious"),
    ],
)
def test_bad_reports_are_422_naming_the_field(site, api, patch, field):
    client, h = api
    body = {k: v for k, v in (REPORT | patch).items()}
    r = client.post("/api/incidents", json=body, headers=h[REPORTER])
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field, r.json()
    assert r.json()["error"]


def test_missing_field_and_malformed_json_are_422(site, api):
    client, h = api
    r = client.post("/api/incidents", json={"category": "malware", "summary": "x"}, headers=h[REPORTER])
    assert r.status_code == 422 and r.json()["field"] == "division"
    r = client.post("/api/incidents", content=b"{not json", headers=h[REPORTER] | {"content-type": "application/json"})
    assert r.status_code == 422 and "error" in r.json()


def test_list_is_scoped(site, api):
    """Staff list their own reports; the PM their division; the PM of another division nothing."""
    client, h = api
    mine = _report(api)
    theirs = _report(api, STAFF_NOT_ON_LADDER)
    ids = lambda who: [r["incident"] for r in client.get("/api/incidents", headers=h[who]).json()]  # noqa: E731
    assert ids(REPORTER) == [mine]
    assert ids(STAFF_NOT_ON_LADDER) == [theirs]
    assert set(ids(PM)) == {mine, theirs}
    assert ids(OTHER_PM) == []
    first = client.get("/api/incidents?sort=incident", headers=h[GM]).json()[0]
    assert first["stages"][0]["owner"] == PM and first["stages"][0]["due_at"].endswith("+00:00")
    assert client.get("/api/incidents?sort=bogus", headers=h[GM]).json()["field"] == "sort"


def test_show_is_audited_and_refused_outside_the_scope(site, api):
    """GET an incident: 200 and incident.viewed (via api); outside the scope: the same 404 as a missing id,
    and access.denied."""
    client, h = api
    inc = _report(api)
    seq = last_seq(site.app)
    r = client.get(f"/api/incidents/{inc}", headers=h[PM])
    assert r.status_code == 200
    data = r.json()
    assert [s["code"] for s in data["stages"]][:2] == ["report", "acknowledge"]
    assert data["tasks"] and data["assessment"]["triaged"] is False
    assert ("incident.viewed", {"via": "api"}) in audit_actions(site.app, after_seq=seq)
    for who in (STAFF_NOT_ON_LADDER, OTHER_PM, OTHER_IM):  # answered exactly like a missing incident
        r = client.get(f"/api/incidents/{inc}", headers=h[who])
        missing = client.get("/api/incidents/INC-2099-9999", headers=h[who])
        assert r.status_code == missing.status_code == 404
        assert r.json() == {**missing.json(), "error": missing.json()["error"].replace("INC-2099-9999", inc)}
    denied = [d for a, d in audit_actions(site.app, after_seq=seq, incident=inc) if a == "access.denied"]
    assert len(denied) == 3 and all(d["via"] == "api" for d in denied)


def test_unknown_incident_is_404_json(site, api):
    client, h = api
    r = client.get("/api/incidents/INC-2027-0404", headers=h[GM])
    assert r.status_code == 404 and r.json() == {"error": "unknown incident 'INC-2027-0404'", "field": None}
    assert client.post("/api/incidents/INC-2027-0404/ack", headers=h[GM]).status_code == 404


def test_ack_advance_triage_and_steps_through_the_api(site, api):
    """The whole manager toolkit: acknowledge, advance, triage, list/complete/assign steps."""
    client, h = api
    inc = _report(api)
    site.clock.advance(minutes=3)
    r = client.post(f"/api/incidents/{inc}/ack", headers=h[PM])
    assert r.status_code == 200 and r.json()["stages"] == ["acknowledge"]
    r = client.post(
        f"/api/incidents/{inc}/advance", json={"stage": "immediate-measures", "note": "cable pulled"}, headers=h[PM]
    )
    assert r.status_code == 200 and r.json()["stages"] == ["immediate-measures"]
    r = client.post(f"/api/incidents/{inc}/triage", json={"individuals": 150, "sensitive": True}, headers=h[PM])
    assert r.status_code == 200 and r.json()["status"] == "undecided"  # encryption not yet known
    assert r.json()["unknown"] == ["encrypted"]  # the only fact that could still change the answer
    r = client.post(
        f"/api/incidents/{inc}/triage",
        json={"encrypted": "no", "financial_risk": False, "unauthorized_purpose": "unknown"},
        headers=h[PM],
    )
    assert r.status_code == 200 and r.json()["required"] is True  # sensitive (kept) and not encrypted
    assert r.json()["facts"]["individuals"] == 150 and r.json()["facts"]["unauthorized_purpose"] is None
    r = client.post(f"/api/incidents/{inc}/triage", json={"individuals": 2**63}, headers=h[PM])
    assert r.status_code == 422 and "individuals" in r.json()["error"]
    steps = client.get(f"/api/incidents/{inc}/steps", headers=h[PM]).json()
    ref = steps[0]["ref"]
    r = client.post(f"/api/incidents/{inc}/steps/{ref}/assign", json={"to": PO}, headers=h[PM])
    assert r.status_code == 200 and r.json()["owner"] == PO
    r = client.post(
        f"/api/incidents/{inc}/steps/{ref}/done", json={"note": "done", "evidence": "EDR log"}, headers=h[PO]
    )
    assert r.status_code == 200 and r.json()["status"] == "done"
    actions = [a for a, _ in audit_actions(site.app, incident=inc)]
    assert {"stage.acknowledged", "stage.done", "incident.triaged", "step.assigned", "step.done"} <= set(actions)


def test_refusals_are_403_or_409_json(site, api):
    """Not entitled → 403; already done / out of order → 409; bad stage name → 404."""
    client, h = api
    inc = _report(api)
    r = client.post(f"/api/incidents/{inc}/ack", json={"stage": "acknowledge"}, headers=h[REPORTER])
    assert r.status_code == 403 and "may not acknowledge" in r.json()["error"]
    r = client.post(f"/api/incidents/{inc}/advance", json={"stage": "dg-report"}, headers=h[PM])
    assert r.status_code == 409
    r = client.post(f"/api/incidents/{inc}/advance", json={"stage": "no-such-stage"}, headers=h[PM])
    assert r.status_code == 404 and r.json()["field"] == "stage"
    r = client.post(f"/api/incidents/{inc}/triage", json={"individuals": -5}, headers=h[PM])
    assert r.status_code == 422 and r.json()["field"] == "individuals"


def test_audit_officer_token_cannot_change_anything(site, api):
    """Every POST with the audit officer's token is 403 and audited; reading works."""
    client, h = api
    inc = _report(api)
    assert client.get(f"/api/incidents/{inc}", headers=h[AUDIT]).status_code == 200
    seq = last_seq(site.app)
    for path, body in (
        (f"/api/incidents/{inc}/ack", None),
        (f"/api/incidents/{inc}/advance", {"stage": "immediate-measures"}),
        (f"/api/incidents/{inc}/triage", {}),
        ("/api/incidents", REPORT),
        (f"/api/incidents/{inc}/steps/isolate-host/done", {}),
    ):
        r = client.post(path, json=body, headers=h[AUDIT])
        assert r.status_code == 403, path
        assert "read-only" in r.json()["error"]
    assert len([a for a, _ in audit_actions(site.app, after_seq=seq) if a == "access.denied"]) == 5


def test_session_cookie_on_the_api_needs_the_csrf_header(site):
    """A browser session may call the API, but a POST needs X-CSRF-Token (else 403)."""
    c = site.as_(REPORTER)
    assert c.get("/api/me").json()["email"] == REPORTER
    assert c.post("/api/incidents", json=REPORT).status_code == 403
    r = c.post("/api/incidents", json=REPORT, headers={"X-CSRF-Token": c.csrf})
    assert r.status_code == 201


def test_drafts_through_the_api(site, api):
    client, h = api
    inc = _report(api)
    r = client.get(f"/api/incidents/{inc}/drafts/ppc-preliminary?lang=en", headers=h[GM])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown") and inc in r.text
    r = client.get(f"/api/incidents/{inc}/drafts/summary?format=html", headers=h[GM])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert client.get(f"/api/incidents/{inc}/drafts/nope", headers=h[GM]).status_code == 404
    assert client.get(f"/api/incidents/{inc}/drafts/summary?format=pdf", headers=h[GM]).json()["field"] == "format"
    assert client.get(f"/api/incidents/{inc}/drafts/summary", headers=h[STAFF_NOT_ON_LADDER]).status_code == 404


def test_oversized_api_body_is_413_json(site, api):
    client, h = api
    r = client.post("/api/incidents", json=REPORT | {"summary": "x" * (300 * 1024)}, headers=h[REPORTER])
    assert r.status_code == 413 and "too large" in r.json()["error"]


def test_openapi_documents_the_api(site):
    assert site.client().get("/openapi.json").status_code == 401  # signed-in people and tokens only
    spec = site.as_(PM).get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/incidents",
        "/api/incidents/{incident_id}",
        "/api/incidents/{incident_id}/ack",
        "/api/incidents/{incident_id}/advance",
        "/api/incidents/{incident_id}/triage",
        "/api/incidents/{incident_id}/steps",
        "/api/incidents/{incident_id}/steps/{ref}/done",
        "/api/incidents/{incident_id}/drafts/{kind}",
        "/api/alerts",
    ):
        assert path in paths, path
    assert "/dashboard" not in paths and "/login" not in paths
    assert "ReportIn" in spec["components"]["schemas"]


# -- machine alerts -----------------------------------------------------------------------------------
@pytest.fixture
def alert_token(site):
    from hokoku.services.alerts import add_source

    return add_source(site.app, name="dlp-monitor", now=site.clock())


ALERT = {"division": "IDS-SURVEY", "summary": "user x downloaded 12,000 rows", "dedup_key": "user-x-2027-02-01"}


def test_alert_opens_an_incident_then_repeats_attach(site, alert_token):
    """201 {incident, created, alerts} for a new alert; 200 when the dedup key attaches it."""
    c = site.client()
    r = c.post("/api/alerts", json=ALERT, headers=bearer(alert_token))
    assert r.status_code == 201
    assert r.json()["incident"] == "INC-2027-0001" and r.json()["created"] is True and r.json()["alerts"] == 1
    r = c.post("/api/alerts", json=ALERT | {"occurred_at": "2027-02-01T09:00:00"}, headers=bearer(alert_token))
    assert r.status_code == 200 and r.json() == {"incident": "INC-2027-0001", "created": False, "alerts": 2}


def test_alert_needs_a_source_token(site, alert_token):
    c = site.client()
    assert c.post("/api/alerts", json=ALERT).status_code == 401
    assert c.post("/api/alerts", json=ALERT, headers=bearer("hka_wrong")).status_code == 401
    personal = site.token(PM)
    assert c.post("/api/alerts", json=ALERT, headers=bearer(personal)).status_code == 401


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"division": "NOPE"}, "division"),
        ({"category": "nope"}, "category"),
        ({"summary": ""}, "summary"),
        ({"details": "not an object"}, "details"),
        ({"occurred_at": "2031-01-01T00:00:00Z"}, "occurred_at"),
        ({"dedup_key": "k" * 300}, "dedup_key"),
    ],
)
def test_bad_alert_payload_is_422_with_field(site, alert_token, patch, field):
    r = site.client().post("/api/alerts", json=ALERT | patch, headers=bearer(alert_token))
    assert r.status_code == 422 and r.json()["field"] == field, r.json()


def test_alert_rate_limit_is_429_with_retry_after(site, alert_token, monkeypatch):
    import hokoku.services.alerts as alerts

    monkeypatch.setattr(alerts, "ingest_alert", functools.partial(alerts.ingest_alert, rate_per_minute=2))
    c = site.client()
    for i in range(2):
        assert (
            c.post("/api/alerts", json=ALERT | {"dedup_key": f"k{i}"}, headers=bearer(alert_token)).status_code == 201
        )
    r = c.post("/api/alerts", json=ALERT | {"dedup_key": "k3"}, headers=bearer(alert_token))
    assert r.status_code == 429 and r.headers["retry-after"] == "60"
    assert "more than 2 alerts" in r.json()["error"]


def test_a_page_and_an_api_route_see_the_same_injected_clock(site, api):
    """Pages and the API take ``now`` from the one clock create_app was given: a report filed on
    the page and one filed through the API carry that clock's times, and move with it."""
    from datetime import timedelta

    from hokoku.core.timeutil import fmt_jst, iso

    client, h = api
    on_page = site.report(REPORTER)
    first = site.clock()
    later = site.clock.advance(hours=2, minutes=7)
    through_api = _report(api)
    shown = {i: client.get(f"/api/incidents/{i}", headers=h[REPORTER]).json() for i in (on_page, through_api)}
    assert shown[on_page]["reported_at"] == iso(first)
    assert shown[through_api]["reported_at"] == iso(later) == iso(first + timedelta(hours=2, minutes=7))
    page = site.as_(REPORTER).get(f"/incidents/{through_api}")
    assert page.status_code == 200 and fmt_jst(later) in page.text
