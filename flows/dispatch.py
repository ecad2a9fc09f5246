"""Dispatch: deliver pending notifications through their channels, with retries and backoff.

The flow runs the same code as the direct path (:func:`hokoku.services.dispatch.dispatch`: the
due rows, then what delivering them queued — fallbacks, Slack updates, delivery alerts — in the
same run), with one App and one set of notifiers per flow run.
"""

from __future__ import annotations

import random
from datetime import datetime

from prefect import flow, task

from hokoku.clock import utcnow
from hokoku.flows.common import app, emit, run_app


@task(name="deliver due notifications", persist_result=False)  # not retried: a send is not idempotent
def dispatch_task(now: datetime, limit: int) -> list[dict]:
    from hokoku.notifiers.registry import build_notifiers
    from hokoku.services.dispatch import dispatch

    a = app()
    return [
        e.to_json()
        for e in dispatch(a, now=now, limit=limit, notifiers=build_notifiers(a.settings), rng=random.Random())
    ]


@flow(name="dispatch", log_prints=False, persist_result=False)
async def dispatch_flow(now: datetime | None = None, limit: int = 500) -> list[dict]:
    now = now or utcnow()
    with run_app():
        out = dispatch_task(now, limit)
    for result in out:
        if result["outcome"] == "failed":
            emit(
                "notification.failed", None, notification=result["notification_id"], channel=result["channel"]
            )  # not the key: it names the recipient
    return out
