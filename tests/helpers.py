"""Shared constants and small helpers for the hokoku tests (no fixtures here; see conftest.py)."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from hokoku.core.timeutil import JST

#: Monday 2027-02-01 10:00 Japan time: a business day, far from holidays.
T0 = datetime(2027, 2, 1, 10, 0, tzinfo=JST)

DIVISION = "IDS-SURVEY"
REPORTER = "yoshida@example.org"
PM = "nakamura.pm@example.org"  # protection manager of IDS-SURVEY
PM_DEPUTY = "kobayashi.pm2@example.org"
PO = "kato.po@example.org"  # protection officer of IDS-SURVEY
IM = "ito.im@example.org"  # institute manager of IDS
GM = "suzuki.gm@example.org"  # general manager
STAFF_NOT_ON_LADDER = "yamamoto@example.org"  # staff of IDS-SURVEY: may report, may not acknowledge

#: The stages a staff report runs through, in order (contractor-report only applies to 25-2).
STAFF_STAGES = [
    "report",
    "acknowledge",
    "triage",
    "immediate-measures",
    "containment",
    "investigation-report",
    "dg-report",
    "root-cause",
    "publication",
    "commission-information",
    "ppc-preliminary",
    "ppc-final",
    "individual-notice",
]
#: The duties under the Act: they run from the report on while the incident may be reportable.
STATUTORY_STAGES = ["ppc-preliminary", "ppc-final", "individual-notice"]

DEFAULT_SUMMARY = "Malware alert on survey PC SV-0042; respondent list may be exposed"


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def report(app, **overrides):
    """File a demo malware report in IDS-SURVEY by yoshida@example.org at T0 (overridable)."""
    from hokoku.services.intake import report_incident

    kwargs = dict(division=DIVISION, category="malware", summary=DEFAULT_SUMMARY, reporter=REPORTER, now=T0)
    kwargs.update(overrides)
    return report_incident(app, **kwargs)


def run_cli(*args: str, capsys, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ``hokoku.cli.main(list(args))`` in-process; return (exit code, stdout, stderr).

    ``env`` entries are set for the duration of the call only. ``SystemExit`` (argparse
    usage errors, ``audit verify`` failing) is turned into its code.
    """
    from hokoku.cli import main

    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    capsys.readouterr()  # drop anything printed before
    try:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def iso(dt: datetime) -> str:
    """A CLI ``--now`` argument."""
    return dt.isoformat()


def db_file(app) -> Path:
    url = app.settings.effective_database_url
    assert url.startswith("sqlite:///"), url
    return Path(url.removeprefix("sqlite:///"))


def raw_sql(app, sql: str, params: tuple = ()) -> list[tuple]:
    """Run SQL straight through the sqlite3 module, outside hokoku (as an attacker would)."""
    con = sqlite3.connect(db_file(app))
    try:
        with con:
            return con.execute(sql, params).fetchall()
    finally:
        con.close()


def audit_actions(app, *, after_seq: int = 0, incident: str | None = None) -> list[tuple[str, dict]]:
    """(action, data) of the audit events after ``after_seq``, in order."""
    from hokoku.models.audit import AuditEvent
    from hokoku.store.db import transaction

    with transaction(app.engine) as session:
        query = select(AuditEvent).where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq)
        if incident is not None:
            query = query.where(AuditEvent.incident_public_id == incident)
        return [(ev.action, ev.data) for ev in session.execute(query).scalars()]


def last_seq(app) -> int:
    from hokoku.models.audit import AuditHead
    from hokoku.store.db import transaction

    with transaction(app.engine) as session:
        head = session.get(AuditHead, 1)
        return head.seq if head else 0


def short_lease(app, seconds: float = 0.5):
    """Give ``app``'s dispatcher a short outbox lease (real seconds on the database's clock)."""
    app.settings.outbox_lease_seconds = seconds
    return app


def wait_for_leases(app, *, timeout: float = 120.0) -> None:
    """Sleep until no ``sending`` row holds a live lease by the database's clock (a crashed owner's
    rows are free again). Polls; the timeout is generous (progress, not speed, is under test)."""
    import time as _time

    from sqlalchemy import func as _func

    from hokoku.models.notification import Notification
    from hokoku.store.db import transaction
    from hokoku.store.locking import db_now

    deadline = _time.monotonic() + timeout
    while True:
        with transaction(app.engine) as session:
            live = session.execute(
                select(_func.count())
                .select_from(Notification)
                .where(Notification.status == "sending", Notification.lease_until > db_now(session))
            ).scalar_one()
        if not live:
            return
        if _time.monotonic() > deadline:
            raise AssertionError(f"{live} leases still live after {timeout} s")
        _time.sleep(0.1)
