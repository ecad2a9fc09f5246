"""Helpers shared by the flows: the app context and Prefect events."""

from __future__ import annotations

import logging

from hokoku.app import App, open_app

log = logging.getLogger("hokoku.flows")


def app() -> App:
    return open_app()


def emit(event: str, incident: str | None, **payload) -> None:
    """Emit a Prefect event about an incident (ids and codes only, never personal data)."""
    from prefect.events import emit_event

    resource = {"prefect.resource.id": f"hokoku.incident.{incident or 'none'}",
                "prefect.resource.name": incident or "none"}
    try:
        emit_event(event=f"hokoku.{event}", resource=resource, payload=payload)
    except Exception:  # events are for operators' automations; never fail the chain on them
        log.warning("could not emit Prefect event %s", event, exc_info=True)
