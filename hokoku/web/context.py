"""What the Slack and acknowledgement-link handlers (and Socket Mode) work with: the App, its notifiers
and the clock; built per request from the app state by :func:`hokoku.web.deps.get_context`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from hokoku.app import App
from hokoku.clock import Clock, utcnow
from hokoku.notifiers.base import Notifier

log = logging.getLogger(__name__)

#: How long an immediate delivery keeps trying a message held behind an older one: the first
#: pause, growing by half each time up to the longest (each try is a few queries).
HELD_WAIT, HELD_STEP, HELD_STEP_MAX = 2.0, 0.02, 0.2


@dataclass
class WebContext:
    app: App
    notifiers: dict[str, Notifier]
    clock: Clock = utcnow

    def now(self) -> datetime:
        return self.clock()

    @property
    def lang(self) -> str:
        return self.app.settings.lang

    @property
    def slack(self):
        """The Slack notifier (its WebClient answers users.info, chat.postEphemeral, views.open)."""
        return self.notifiers.get("slack")

    def deliver(self, *, incident: str | None = None, ids: list[int] | None = None) -> list:
        """Deliver what a request just queued now instead of at the next scheduled dispatch.

        A message held behind an older one to the same person (being sent by another request at
        this moment) is tried again for up to :data:`HELD_WAIT` seconds, so that a burst of
        reports to one protection manager does not leave messages for the next dispatch round.
        Best effort: the rows are durable already, and whatever fails here is retried by the
        scheduled dispatch.
        """
        from hokoku.services.dispatch import dispatch

        events: list = []
        try:
            held: list[int] = []
            events += dispatch(
                self.app, now=self.now(), notifiers=self.notifiers, incident=incident, ids=ids, held=held
            )
            waited, step = 0.0, HELD_STEP
            while held and waited < HELD_WAIT:
                time.sleep(step)
                waited, step = waited + step, min(step * 1.5, HELD_STEP_MAX)
                again, held = held, []
                events += dispatch(self.app, now=self.now(), notifiers=self.notifiers, ids=again, held=held)
        except Exception:
            log.exception("immediate dispatch for %s failed; the scheduled dispatch will retry", incident or ids)
        return events

    def audit(self, *, action: str, actor: str, incident: str | None = None, data: dict | None = None) -> None:
        """Record a refused request (its own transaction)."""
        from hokoku.services.auditlog import record_event

        record_event(self.app, now=self.now(), actor=actor, action=action, incident=incident, data=data)


def deliver_after(ctx: WebContext, response, *, incident: str):
    """Deliver what a request queued for ``incident`` right after ``response`` is sent (issue 14:
    a report's first messages go out within the request's own process, not at the next dispatch
    round). The rows are committed before; this only wakes delivery, with the dispatch code every
    path runs, and whatever fails here waits for the scheduled dispatch."""
    if response.background is not None:
        return response
    from starlette.background import BackgroundTask

    response.background = BackgroundTask(ctx.deliver, incident=incident)
    return response
