"""Helpers shared by the flows: the app context, Prefect events, and inputs passed by id.

What Prefect sees: Prefect keeps every flow run's parameters, task inputs, state messages, logs
and events in its own database and serves them from its API. hokoku's flows therefore take ids,
stage codes, times and counts only; what a person typed (report text, notes, skip reasons) and
who they are (names, email addresses) stay in hokoku's database, encrypted, and reach a flow as
the id of a :mod:`hokoku.services.flowinput` row. A step that fails tells Prefect the exception's
class only; its message (which may quote the input) is recorded in that row for the caller.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

from hokoku.app import App, open_app
from hokoku.core.exceptions import HokokuError

log = logging.getLogger("hokoku.flows")


_READY: set[str] = set()


_RUN_APP: ContextVar[App | None] = ContextVar("hokoku_run_app", default=None)


@contextlib.contextmanager
def run_app() -> Iterator[App]:
    """One :class:`App` for a whole flow run: its tasks' :func:`app` calls return it (settings,
    keyring, policy and playbooks are loaded once per run, not once per task)."""
    current = _RUN_APP.get()
    if current is not None:
        yield current
        return
    made = app()
    token = _RUN_APP.set(made)
    try:
        yield made
    finally:
        _RUN_APP.reset(token)


def app() -> App:
    """The app (the flow run's, inside :func:`run_app`); the first time in a worker process,
    checked as every process is at start-up (schema revision, and a data key that opens this
    database's key-check value)."""
    current = _RUN_APP.get()
    if current is not None:
        return current
    hk = open_app()
    url = hk.settings.effective_database_url
    if url not in _READY:
        hk.check_ready()
        _READY.add(url)
    return hk


def emit(event: str, incident: str | None, **payload) -> None:
    """Emit a Prefect event about an incident (ids, codes and counts only, never personal data)."""
    from prefect.events import emit_event

    resource = {
        "prefect.resource.id": f"hokoku.incident.{incident or 'none'}",
        "prefect.resource.name": incident or "none",
    }
    try:
        emit_event(event=f"hokoku.{event}", resource=resource, payload=payload)
    except Exception:  # events are for operators' automations; never fail the chain on them
        log.warning("could not emit Prefect event %s", event, exc_info=True)


class StepRefused(Exception):
    """What Prefect is told when hokoku refused or failed a step: the exception's class only.

    The message, which may quote what a person typed, is recorded (encrypted) with the flow
    input and raised again, unchanged, by the caller that started the flow.
    """


def with_input(kind: str, input_id: str, work: Callable[[App, dict], dict]) -> dict:
    """Run ``work(app, payload)`` on the stashed input ``input_id``; record its outcome (or its
    exception) with the input, encrypted; return the outcome. Exceptions reach Prefect as
    :class:`StepRefused`, naming the class only."""
    from hokoku.services import flowinput

    a = app()
    try:
        outcome = work(a, flowinput.load(a, input_id, kind=kind))
    except Exception as exc:
        name = type(exc).__name__
        if not isinstance(exc, HokokuError):  # a bug, not a refusal: keep its traceback on this console
            log.error("flow step on input %s failed", input_id, exc_info=True)  # stderr here, not Prefect's API
        try:
            flowinput.finish(a, input_id, error=exc)
        except Exception:
            log.error("could not record the failure of input %s", input_id, exc_info=True)
        raise StepRefused(
            f"{name} (its message goes to hokoku's caller through input {input_id}, not to Prefect)"
        ) from None
    flowinput.finish(a, input_id, outcome=outcome)
    return outcome


async def through_flow(a: App, *, kind: str, payload: dict, start: Callable[[str], Awaitable]) -> dict:
    """Stash ``payload``, ``await start(input_id)`` (a flow run), and return the outcome the run
    recorded — or raise the refusal it recorded, as the service raised it (same class, same
    message). When the run recorded nothing (Prefect unreachable...), its own exception is raised."""
    from hokoku.services import flowinput

    input_id = flowinput.stash(a, kind=kind, payload=payload)
    failed = None
    try:
        await start(input_id)
    except Exception as exc:
        failed = exc
    outcome = flowinput.collect(a, input_id)
    if outcome is None:
        raise failed or HokokuError(f"the flow run for input {input_id} recorded no outcome")
    return outcome
