"""Statuses are StrEnums whose values are the strings already stored in databases."""

from __future__ import annotations

from hokoku.core import chain, statutory, taskrules
from hokoku.core.statuses import (
    DecisionKind,
    IncidentStatus,
    NotificationStatus,
    ReportabilityStatus,
    StageStatus,
    TaskStatus,
)


def test_the_stored_spellings_never_change():
    """Rows hold these strings: changing a value would need a data migration, so this fails first."""
    assert {s.value for s in IncidentStatus} == {"open", "closed"}
    assert {s.value for s in StageStatus} == {"pending", "notified", "acknowledged", "overdue", "done", "skipped"}
    assert {s.value for s in TaskStatus} == {"open", "overdue", "done", "skipped"}
    assert {s.value for s in NotificationStatus} == {"pending", "sending", "sent", "failed", "cancelled"}
    assert {s.value for s in ReportabilityStatus} == {"required", "not_required", "undecided"}
    assert {s.value for s in DecisionKind} == {"confirmed", "override_required", "override_not_required"}


def test_the_rules_speak_in_the_enums():
    """The core's status names are the enum members (equal to the stored strings)."""
    assert chain.ACTIVE == {StageStatus.NOTIFIED, StageStatus.ACKNOWLEDGED, StageStatus.OVERDUE}
    assert chain.CLOSED == {"done", "skipped"}
    assert taskrules.OPEN is TaskStatus.OPEN and statutory.UNDECIDED is ReportabilityStatus.UNDECIDED


def test_new_rows_default_to_the_enum_and_read_back_as_equal_strings(demo_app):
    """A fresh row's status is an enum member; after a round trip through the database it is the
    same string, so comparisons hold either way."""
    from sqlalchemy import select

    from hokoku.models.notification import Notification
    from hokoku.store.db import transaction
    from tests.helpers import report

    report(demo_app)
    with transaction(demo_app.engine) as session:
        rows = session.execute(select(Notification)).scalars().all()
    assert rows and all(r.status == NotificationStatus.PENDING for r in rows)
    assert (
        Notification(
            idempotency_key="k", base_key="k", kind="notify", channel="outbox", recipient_email="a@b", lang="ja"
        ).status
        is NotificationStatus.PENDING
    )
