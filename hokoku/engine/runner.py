"""How a verb runs: straight through the services, or through the Prefect flows.

With ``PREFECT_API_URL`` set (a Prefect server is running, e.g. under ``hokoku serve``) the CLI
runs the flows so every transition shows in the Prefect UI, tagged with the incident id.
Without it the same service functions run directly: no Prefect import, no server start.
``HOKOKU_DIRECT=1`` forces the direct path. Prefect's API is called with
``PREFECT_API_AUTH_STRING``, or else the string ``hokoku serve`` keeps under ``$HOKOKU_HOME``.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime

from hokoku.app import App


class DirectRunner:
    def __init__(self, app: App):
        self.app = app

    def report(self, **kw):
        from hokoku.services.intake import report_incident

        return report_incident(self.app, **kw)

    def ack(self, **kw):
        from hokoku.services.transitions import acknowledge

        return acknowledge(self.app, **kw)

    def advance(self, **kw):
        from hokoku.services.transitions import advance

        return advance(self.app, **kw)

    def tick(self, *, now: datetime) -> dict:
        from hokoku.notifiers.registry import build_notifiers
        from hokoku.services.dispatch import dispatch
        from hokoku.services.sweep import sweep

        try:
            events = sweep(self.app, now=now)
        finally:  # a sweep that dies must not stop delivery (the self-check's stall alert among it)
            deliveries = dispatch(self.app, now=now, notifiers=build_notifiers(self.app.settings))
        return {
            "now": now.isoformat(),
            "sweep": [e.to_json() for e in events],
            "dispatch": [d.to_json() for d in deliveries],
        }


class FlowRunner(DirectRunner):
    """Same results, through the Prefect flows (needs a reachable Prefect API).

    Prefect is given ids, stage codes, times and counts only: the report text, notes, skip
    reasons and the people's addresses are stashed (encrypted) in hokoku's database and the
    flows get the stash's id (:mod:`hokoku.flows.common`). When ``PREFECT_API_AUTH_STRING`` is unset,
    the auth string ``hokoku serve`` generated under ``$HOKOKU_HOME`` is used, if there is one.
    """

    def _run(self, coro_fn, *, pump: bool = True):
        from hokoku.engine.prefect_server import client_settings

        async def then_pump():
            result = await coro_fn()
            if pump:  # the stages this started (flow_trigger rows) become runs now, in order
                from hokoku.flows.stages import record_transition
                from hokoku.services.flowtriggers import pump as pump_triggers

                try:
                    await pump_triggers(self.app, record=record_transition)
                except Exception:  # they wait for serve's pump or the next tick
                    pass
            return result

        with client_settings(self.app.settings.home):
            return asyncio.run(then_pump())

    def report(self, **kw):
        from hokoku.flows.intake import run_report

        return self._run(lambda: run_report(self.app, **kw))

    def ack(self, **kw):
        from hokoku.flows.stages import run_ack

        return self._run(lambda: run_ack(**kw))

    def advance(self, **kw):
        from hokoku.flows.stages import run_advance

        return self._run(lambda: run_advance(**kw))

    def tick(self, *, now: datetime) -> dict:
        from hokoku.flows.dispatch import dispatch_flow
        from hokoku.flows.sweep import sweep_flow

        async def both():
            from hokoku.flows.stages import record_transition
            from hokoku.services.flowtriggers import pump

            swept, dispatched = await sweep_flow(now=now), await dispatch_flow(now=now)
            return (
                swept,
                dispatched,
                await pump(self.app, record=record_transition),
            )  # transitions made elsewhere become runs

        swept, dispatched, pumped = self._run(both, pump=False)
        return {"now": now.isoformat(), "sweep": swept, "dispatch": dispatched, "flow_runs": pumped}


def runner_for(app: App) -> DirectRunner:
    if os.environ.get("PREFECT_API_URL") and os.environ.get("HOKOKU_DIRECT", "") not in ("1", "true", "yes"):
        if not os.environ.get("PREFECT_API_AUTH_STRING"):  # before Prefect reads its settings
            from hokoku.engine.prefect_server import auth_string

            found = auth_string(app.settings.home)
            if found:
                os.environ["PREFECT_API_AUTH_STRING"] = found
        return FlowRunner(app)
    return DirectRunner(app)
