"""Dispatch: deliver pending notifications through their channels, with retries and backoff."""

from __future__ import annotations

import random
from datetime import datetime, timezone

from prefect import flow, task

from flows.common import app, emit


@task(name="claim due notifications", retries=2, retry_delay_seconds=2, persist_result=False)
def claim_task(now: datetime, limit: int, exclude: list[int]) -> dict:
    from hokoku.services.dispatch import claim

    batch = claim(app(), now=now, limit=limit, exclude=set(exclude))
    return {"claim_id": batch.claim_id, "ids": batch.ids}


@task(name="deliver notification", persist_result=False)
def deliver_task(nid: int, claim_id: str, now: datetime) -> dict:
    from hokoku.services.dispatch import deliver_one
    from notifiers.registry import build_notifiers

    a = app()
    return deliver_one(a, nid, now=now, notifiers=build_notifiers(a.settings), rng=random.Random(),
                       claim_id=claim_id).to_json()


@flow(name="dispatch", log_prints=False, persist_result=False)
async def dispatch_flow(now: datetime | None = None, limit: int = 500) -> list[dict]:
    now = now or datetime.now(timezone.utc)
    from hokoku.services.dispatch import CLAIM_BATCH, fallback_overdue_tx

    fallback_overdue_tx(app(), now=now)
    out, handled = [], []
    while len(handled) < limit:  # small claims, each sent well within its lease (services/dispatch.py)
        batch = claim_task(now, min(CLAIM_BATCH, limit - len(handled)), handled)
        if not batch["ids"]:
            break
        handled += batch["ids"]
        for nid in batch["ids"]:
            result = deliver_task(nid, batch["claim_id"], now)
            if result["outcome"] == "failed":
                emit("notification.failed", None, notification=result["notification_id"],
                     channel=result["channel"])  # not the key: it names the recipient
            if result["outcome"] != "superseded":
                out.append(result)
    return out
