"""Self-check: a stalled engine alerts the general manager (once an hour); a healthy one pings
the heartbeat URL. The heartbeat peer is a loopback HTTP server."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from hokoku.core.stall import Verdict, alert_key, assess, hour_bucket, is_live
from hokoku.models.notification import Notification
from hokoku.notifiers.registry import build_notifiers
from hokoku.security import audit
from hokoku.services import selfcheck as service
from hokoku.services.dispatch import dispatch
from hokoku.services.sweep import sweep
from hokoku.store.db import transaction
from tests.helpers import GM, T0, audit_actions, minutes, report

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


# -- the pure rule ---------------------------------------------------------------------------
def test_items_within_the_threshold_are_not_a_stall():
    """Due 9m59s ago with a 10-minute threshold: not stalled; 10m ago: stalled, with the oldest time."""
    now, threshold = T0, timedelta(minutes=10)
    fresh = assess({"stage": (3, now - timedelta(minutes=9, seconds=59))}, now=now, threshold=threshold)
    assert not fresh.stalled and fresh.worst_delay is None
    late = assess(
        {"stage": (3, now - minutes(10)), "notification": (2, now - minutes(45)), "task": (0, None)},
        now=now,
        threshold=threshold,
    )
    assert late.stalled and [i.kind for i in late.late] == ["stage", "notification"]
    assert late.worst_delay == minutes(45)
    assert late.to_json()["worst_delay_minutes"] == 45.0


def test_only_live_sweeps_are_checked_and_alerts_are_keyed_by_hour():
    """A sweep whose now is within 2 minutes of the real clock is live; the alert key carries the UTC hour."""
    wall = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert is_live(wall - timedelta(seconds=90), wall) and not is_live(wall - minutes(3), wall)
    assert hour_bucket(T0) == "2027-02-01T01"  # 10:00 JST
    assert alert_key(T0, GM) == alert_key(T0 + minutes(59), GM) != alert_key(T0 + minutes(60), GM)


# -- the service -----------------------------------------------------------------------------
def _stall_rows(app):
    with transaction(app.engine) as session:
        return list(
            session.execute(
                select(Notification).where(Notification.kind == "stall_alert").order_by(Notification.id)
            ).scalars()
        )


def test_a_timely_sweep_raises_no_alert(demo_app):
    """Messages dispatched at once, the reminder due at 15m swept at 16m: nothing 10 minutes late."""
    report(demo_app)
    dispatch(demo_app, now=T0, notifiers=build_notifiers(demo_app.settings))
    sweep(demo_app, now=T0 + minutes(16), selfcheck=True)
    assert _stall_rows(demo_app) == []


def test_a_stalled_sweep_alerts_the_general_manager_once_an_hour(demo_app):
    """Nothing swept for 45 minutes: one stall_alert to the GM with an audit event; not again that
    hour; again the next hour if still stalled; the chain still verifies."""
    report(demo_app)
    sweep(demo_app, now=T0 + minutes(45), selfcheck=True)
    rows = _stall_rows(demo_app)
    assert [(r.recipient_email, r.channel, r.idempotency_key) for r in rows] == [
        (GM, "outbox", f"{alert_key(T0 + minutes(45), GM)}:outbox")
    ]
    assert rows[0].incident_id is None and rows[0].meta["selfcheck"]["stalled"] is True
    events = [d for a, d in audit_actions(demo_app) if a == "selfcheck.stalled"]
    assert len(events) == 1 and events[0]["alerted"] == [GM]
    assert {i["kind"] for i in events[0]["late"]} >= {"notification"}  # the notify rows were never dispatched

    # still stalled (dispatch never ran) later in the same hour: no second alert
    sweep(demo_app, now=T0 + minutes(55), selfcheck=True)
    assert len(_stall_rows(demo_app)) == 1
    # the next hour: a new alert
    sweep(demo_app, now=T0 + minutes(65), selfcheck=True)
    assert len(_stall_rows(demo_app)) == 2
    with transaction(demo_app.engine) as session:
        assert audit.verify(session, demo_app.keyring.public_keys()).ok


def test_undelivered_notifications_alone_are_a_stall(demo_app):
    """The sweep runs but dispatch stopped: notifications 11 minutes past their time raise the alert."""
    report(demo_app)
    result = service.check(demo_app, now=T0 + minutes(11), live=True)
    assert result.verdict.stalled and [i.kind for i in result.verdict.late] == ["notification"]
    assert len(result.alerted) == 1


def test_the_alert_is_delivered_and_reads_well(demo_app):
    """Dispatch delivers the stall alert like any message; its text names the late work."""
    report(demo_app)
    sweep(demo_app, now=T0 + minutes(45), selfcheck=True)
    out = dispatch(demo_app, now=T0 + minutes(45), notifiers=build_notifiers(demo_app.settings))
    alert = [e for e in out if e.key.startswith("selfcheck:stall:")]
    assert [e.outcome for e in alert] == ["sent"]
    row = _stall_rows(demo_app)[0]
    body = demo_app.keyring.decrypt(row.body_enc, field="notification.body", bind=row.idempotency_key)
    assert "10 分以上" in body and "未配信の通知" in body and row.status == "sent"


def test_simulated_sweeps_are_not_checked_and_zero_turns_it_off(demo_app, monkeypatch):
    """A sweep at a simulated now (T0 is 2027) is not checked; HOKOKU_STALL_ALERT_MINUTES=0 disables the check."""
    report(demo_app)
    sweep(demo_app, now=T0 + minutes(45))
    assert _stall_rows(demo_app) == []
    monkeypatch.setenv("HOKOKU_STALL_ALERT_MINUTES", "0")
    from hokoku.app import open_app

    sweep(open_app(), now=T0 + minutes(45), selfcheck=True)
    assert _stall_rows(demo_app) == []


def test_a_real_time_sweep_checks_itself(demo_app):
    """With the real clock: a report 40 minutes ago whose reminder was never swept raises the alert."""
    now = datetime.now(UTC)
    report(demo_app, now=now - minutes(40))
    sweep(demo_app, now=now)  # live: now is the real time
    assert len(_stall_rows(demo_app)) == 1


def test_a_broken_check_never_stops_the_sweep(demo_app, monkeypatch, caplog):
    """The self-check raising is logged; the sweep still escalates."""
    report(demo_app)

    def boom(*a, **k):
        raise RuntimeError("self-check bug")

    monkeypatch.setattr(service, "late_items", boom)
    events = sweep(demo_app, now=T0 + minutes(45), selfcheck=True)
    assert any(e.kind == "escalation" for e in events)
    assert "self-check failed" in caplog.text


# -- the heartbeat ---------------------------------------------------------------------------
class Monitor:
    """A loopback HTTP server standing in for a dead-man's-switch monitor (healthchecks-style)."""

    def __init__(self, status: int = 200, delay: float = 0.0):
        self.hits: list[str] = []
        self.status, self.delay = status, delay
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits.append(self.path)
                time.sleep(outer.delay)
                try:
                    self.send_response(outer.status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"OK")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout case): nothing to print into a later test's output

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/ping/secret-token"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _with_heartbeat(monkeypatch, url):
    from hokoku.app import open_app

    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOKOKU_HEARTBEAT_URL", url)
    return open_app()


def test_a_healthy_live_sweep_pings_the_heartbeat(demo_app, monkeypatch):
    """Each healthy live sweep GETs the heartbeat URL once; a simulated sweep does not."""
    with Monitor() as mon:
        app = _with_heartbeat(monkeypatch, mon.url)
        sweep(app, now=datetime.now(UTC))
        sweep(app, now=datetime.now(UTC))
        sweep(app, now=T0)
        assert mon.hits == ["/ping/secret-token"] * 2


def test_a_stalled_engine_does_not_ping(demo_app, monkeypatch):
    """When the self-check finds a stall it alerts instead of pinging: the monitor's silence is the alarm."""
    now = datetime.now(UTC)
    report(demo_app, now=now - minutes(40))
    with Monitor() as mon:
        app = _with_heartbeat(monkeypatch, mon.url)
        sweep(app, now=now)
        assert mon.hits == [] and len(_stall_rows(app)) == 1


@pytest.mark.parametrize("case", ["http-500", "refused", "timeout"])
def test_heartbeat_failures_are_logged_not_raised(demo_app, monkeypatch, caplog, case):
    """A monitor answering 500, refusing, or hanging past the timeout: logged (without the URL's
    secret path), and the sweep completes in bounded time."""
    from tests.smtp_sink import closed_port

    monkeypatch.setattr(service, "HEARTBEAT_TIMEOUT", 0.5)
    with Monitor(status=500 if case == "http-500" else 200, delay=2.0 if case == "timeout" else 0.0) as mon:
        url = mon.url if case != "refused" else f"http://127.0.0.1:{closed_port()}/ping/secret-token"
        app = _with_heartbeat(monkeypatch, url)
        started = time.monotonic()
        sweep(app, now=datetime.now(UTC))
        assert time.monotonic() - started < 1.5
    assert "heartbeat to http://127.0.0.1" in caplog.text and "secret-token" not in caplog.text


def test_tick_without_now_pings(hokoku_home, cli, monkeypatch):
    """`hokoku tick` on the real clock is a live sweep: it pings the heartbeat."""
    assert cli("init", "--demo")[0] == 0
    with Monitor() as mon:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        code, out, err = cli("tick", env={"HOKOKU_HEARTBEAT_URL": mon.url})
        assert code == 0, err
        assert len(mon.hits) == 1


def test_verdict_json_round_trip():
    """The verdict serialises with ISO times (it is stored in the alert's meta and the audit event)."""
    v = Verdict(T0, minutes(10))
    assert v.to_json() == {"stalled": False, "threshold_minutes": 10.0, "worst_delay_minutes": None, "late": []}


@pytest.mark.slow
def test_the_alert_reaches_slack_and_email(demo_app, monkeypatch):
    """With Slack and email configured the stall alert goes to the GM on both (any working channel)."""
    from tests.channel_helpers import configure
    from tests.slack_stub import SlackStub
    from tests.smtp_sink import SmtpSink

    with SlackStub() as stub, SmtpSink() as sink:
        stub.add_user(GM, "U0GM00001")
        app = configure(monkeypatch, slack_url=stub.base_url, smtp_port=sink.port)
        report(app)
        sweep(app, now=T0 + minutes(45), selfcheck=True)
        dispatch(app, now=T0 + minutes(45), notifiers=build_notifiers(app.settings))
        rows = _stall_rows(app)
        assert sorted((r.channel, r.status) for r in rows) == [("email", "sent"), ("slack", "sent")]
        assert any(
            "hokoku" in str(r.body.get("text", "")) or r.body.get("blocks")
            for r in stub.calls("chat.postMessage")
            if r.body.get("channel") == "D0GM00001"
        )
        assert any(GM in m.rcpt_tos for m in sink.received)
