"""Dispatch: deliver pending notifications through their channels, with retries and backoff."""

from __future__ import annotations

import random
from datetime import datetime, timezone

from prefect import flow, task

from flows.common import app, emit


@task(name="claim due notifications", retries=2, retry_delay_seconds=2, persist_result=False)
def claim_task(now: datetime, limit: int) -> list[int]:
    from hokoku.services.dispatch import claim

    return claim(app(), now=now, limit=limit)


@task(name="deliver notification", persist_result=False)
def deliver_task(nid: int, now: datetime) -> dict:
    from hokoku.services.dispatch import deliver_one
    from notifiers.registry import build_notifiers

    a = app()
    return deliver_one(a, nid, now=now, notifiers=build_notifiers(a.settings), rng=random.Random()).to_json()


@flow(name="dispatch", log_prints=False, persist_result=False)
async def dispatch_flow(now: datetime | None = None, limit: int = 500) -> list[dict]:
    now = now or datetime.now(timezone.utc)
    out = []
    for nid in claim_task(now, limit):
        result = deliver_task(nid, now)
        if result["outcome"] == "failed":
            emit("notification.failed", None, notification=result["notification_id"],
                 channel=result["channel"])  # not the key: it names the recipient
        out.append(result)
    return out
