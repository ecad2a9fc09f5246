"""The email acknowledgement link pages: GET asks, POST acts, once, within its lifetime.

Tokens are issued here exactly as the dispatcher issues them (``hokoku.security.acktokens`` with the
keyring's token key); the web app runs under TestClient with an injected clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from hokoku.models.acktoken import UsedAckToken
from hokoku.security.acktokens import issue_token
from hokoku.security.crypto import Key, Keyring
from hokoku.store.db import transaction
from hokoku.web import create_app
from tests.channel_helpers import FakeClock, audit_actions, configure, stage_row
from tests.helpers import PM, PO, STAFF_NOT_ON_LADDER, T0, minutes, report


@pytest.fixture
def app(demo_app, monkeypatch):
    return configure(monkeypatch)


@pytest.fixture
def incident(app):
    return report(app).public_id


@pytest.fixture
def clock():
    return FakeClock(T0 + minutes(5))


@pytest.fixture
def client(app, clock):
    return TestClient(create_app(app, notifiers={}, clock=clock))


def token_for(
    app,
    *,
    person=PM,
    incident="INC-2027-0001",
    stage="acknowledge",
    at=T0,
    ttl=timedelta(hours=24),
    key=None,
    nonce=None,
):
    return issue_token(
        key=key or app.keyring.current.token_key,
        person_email=person,
        incident_id=incident,
        stage_code=stage,
        issued_at=at,
        ttl=ttl,
        nonce=nonce,
    )


def refusals(app) -> list[dict]:
    return [d for a, d in audit_actions(app) if a == "ack_link.refused"]


def used_tokens(app) -> list[UsedAckToken]:
    from sqlalchemy import select

    with transaction(app.engine) as session:
        return list(session.execute(select(UsedAckToken)).scalars())


def test_get_shows_a_confirmation_page_and_acknowledges_nothing(app, incident, client):
    """Mail scanners prefetch links: GET (and HEAD) never acknowledge."""
    token = token_for(app, incident=incident)
    for _ in range(3):
        page = client.get(f"/ack/{token}")
        assert page.status_code == 200
    assert "中村 美咲" in page.text and incident in page.text and '<form method="post">' in page.text
    assert page.headers["content-type"].startswith("text/html")
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None
    assert used_tokens(app) == []
    assert "stage.acknowledged" not in [a for a, _ in audit_actions(app, incident)]


def test_post_acknowledges_and_records_the_token_in_the_same_transaction(app, incident, client, clock):
    """The POST acknowledges as the token's person, for its stage, and marks the token used."""
    token = token_for(app, incident=incident, nonce="n42-abc")
    done = client.post(f"/ack/{token}")
    assert done.status_code == 200 and "受領確認を記録しました" in done.text
    row = stage_row(app, incident, "acknowledge")
    assert (row.status, row.acknowledged_by, row.acknowledged_at) == ("done", PM, clock.now)
    [used] = used_tokens(app)
    assert (used.token_id, used.incident, used.stage, used.person, used.used_at) == (
        "n42-abc",
        incident,
        "acknowledge",
        PM,
        clock.now,
    )
    assert ("stage.acknowledged", {"stage": "acknowledge", "channel": "email"}) in audit_actions(app, incident)


def test_a_token_works_once(app, incident, client):
    """The second POST (and a later GET) is refused with 410, audited, nothing changes."""
    token = token_for(app, incident=incident)
    assert client.post(f"/ack/{token}").status_code == 200
    for method in ("post", "get"):
        again = getattr(client, method)(f"/ack/{token}")
        assert again.status_code == 410 and "すでに使われています" in again.text
    assert [r["reason"] for r in refusals(app)] == ["used", "used"]
    assert len(used_tokens(app)) == 1


def test_a_second_use_racing_the_first_rolls_the_acknowledgement_back(app, incident, client, monkeypatch):
    """If the token row already exists when the acknowledgement commits, the unique key
    aborts the whole transaction: no acknowledgement without its token record."""
    import hokoku.web.ack as ack_module

    token = token_for(app, incident=incident, nonce="race")
    with transaction(app.engine) as session:  # the other request won, between our check and our act
        session.add(UsedAckToken(token_id="race", used_at=T0, incident=incident, stage="acknowledge", person=PM))
    real_check = ack_module.check_link

    def stale_check(app_, token_, *, now, lang):
        result = real_check(app_, token_, now=now, lang=lang)
        return ack_module.LinkCheck("ok", result.claims, result.view) if result.reason == "used" else result

    monkeypatch.setattr(ack_module, "check_link", stale_check)
    with pytest.raises(IntegrityError):  # sanity: the table itself refuses the second row
        with transaction(app.engine) as session:
            session.add(UsedAckToken(token_id="race", used_at=T0, incident=incident, stage="acknowledge", person=PM))
    answer = client.post(f"/ack/{token}")
    assert answer.status_code == 410
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None
    assert "stage.acknowledged" not in [a for a, _ in audit_actions(app, incident)]


def test_expired_token_is_refused(app, incident, client, clock):
    """At or after its expiry the link shows a 410 page and acknowledges nothing."""
    token = token_for(app, incident=incident, ttl=timedelta(minutes=5))  # expires exactly at clock.now
    for method in ("get", "post"):
        answer = getattr(client, method)(f"/ack/{token}")
        assert answer.status_code == 410 and "有効期限" in answer.text
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None
    # audited once a minute per address; the second is counted (hokoku.services.refusals)
    assert [(r["reason"], r["method"]) for r in refusals(app)] == [("expired", "GET")]
    clock.now += timedelta(minutes=1)
    assert client.post(f"/ack/{token}").status_code == 410
    assert [(r["reason"], r["method"], r.get("suppressed")) for r in refusals(app)] == [
        ("expired", "GET", None),
        ("expired", "POST", 1),
    ]


@pytest.mark.parametrize("mangle", ["forged_key", "edited_payload", "truncated", "garbage"])
def test_forged_or_malformed_tokens_are_refused(app, incident, client, mangle):
    """A token signed with another key, edited, cut short or made up: 400, audited, nothing done."""
    good = token_for(app, incident=incident)
    token = {
        "forged_key": token_for(app, incident=incident, key=b"k" * 32),
        "edited_payload": token_for(app, incident=incident, person=PO).split(".")[0] + "." + good.split(".")[1],
        "truncated": good[:-5],
        "garbage": "not-a-token",
    }[mangle]
    for method in ("get", "post"):
        answer = getattr(client, method)(f"/ack/{token}")
        assert answer.status_code == 400, answer.text
        assert "受領確認できません" in answer.text
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None
    assert {r["reason"] for r in refusals(app)} <= {"bad_signature", "malformed"} and len(refusals(app)) == 1


@pytest.mark.parametrize(
    "case,status,reason",
    [
        ("unknown_incident", 404, "unknown_incident"),
        ("unknown_stage", 404, "unknown_stage"),
        ("unknown_person", 403, "unknown_person"),
        ("not_entitled", 403, "not_entitled"),
        ("not_started", 409, "not_started"),
    ],
)
def test_foreign_tokens_are_refused(app, incident, client, case, status, reason):
    """Genuine tokens naming what this installation does not have, or someone not entitled."""
    kwargs = {
        "unknown_incident": {"incident": "INC-2027-0099"},
        "unknown_stage": {"incident": incident, "stage": "<script>alert(1)</script>"},
        "unknown_person": {"incident": incident, "person": "mallory@example.net"},
        "not_entitled": {"incident": incident, "person": STAFF_NOT_ON_LADDER},
        "not_started": {"incident": incident, "stage": "containment"},
    }[case]
    token = token_for(app, **kwargs)
    answer = client.post(f"/ack/{token}")
    assert answer.status_code == status
    assert "<script>" not in answer.text
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None
    assert refusals(app)[-1]["reason"] == reason


def test_already_acknowledged_stage_says_who_and_when(app, incident, client):
    """A link to a stage someone else acknowledged explains that (409) and uses nothing up."""
    from hokoku.services.transitions import acknowledge

    acknowledge(app, incident_id=incident, actor=PO, now=T0 + minutes(2))
    token = token_for(app, incident=incident)
    answer = client.post(f"/ack/{token}")
    assert answer.status_code == 409
    assert "加藤 由美" in answer.text and "2027-02-01 10:02 JST" in answer.text
    assert used_tokens(app) == []


def test_english_pages(app, incident, client):
    """?lang=en renders the English page; the form posts back to the same URL (with the lang)."""
    token = token_for(app, incident=incident)
    page = client.get(f"/ack/{token}?lang=en")
    assert page.status_code == 200 and "Acknowledge this stage?" in page.text and 'lang="en"' in page.text
    done = client.post(f"/ack/{token}?lang=en")
    assert "Acknowledgement recorded" in done.text


def test_links_issued_under_a_rotated_out_key_still_work(app, incident, clock):
    """After key rotation (new key first, old kept) a link issued under the old key verifies."""
    from hokoku.services.acklinks import verify_link

    token = token_for(app, incident=incident)
    app.__dict__["keyring"] = Keyring([Key("k2", b"n" * 32), *app.keyring.keys])  # cached_property override
    claims = verify_link(app, token, now=clock.now)
    assert claims.incident_id == incident
