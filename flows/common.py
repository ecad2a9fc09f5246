"""Helpers shared by the flows: the app context and Prefect events."""

from __future__ import annotations

import logging

from hokoku.app import App, open_app

log = logging.getLogger("hokoku.flows")


_READY: set[str] = set()


def app() -> App:
    """The app; the first time in a worker process, checked as every process is at start-up
    (schema revision, and a data key that opens this database's key-check value)."""
    hk = open_app()
    url = hk.settings.effective_database_url
    if url not in _READY:
        hk.check_ready()
        _READY.add(url)
    return hk


def emit(event: str, incident: str | None, **payload) -> None:
    """Emit a Prefect event about an incident (ids and codes only, never personal data)."""
    from prefect.events import emit_event

    resource = {"prefect.resource.id": f"hokoku.incident.{incident or 'none'}",
                "prefect.resource.name": incident or "none"}
    try:
        emit_event(event=f"hokoku.{event}", resource=resource, payload=payload)
    except Exception:  # events are for operators' automations; never fail the chain on them
        log.warning("could not emit Prefect event %s", event, exc_info=True)
