"""What the Slack and acknowledgement-link handlers (and Socket Mode) work with: the App, its notifiers
and the clock; built per request from the app state by :func:`hokoku.web.deps.get_context`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from hokoku.app import App
from hokoku.clock import Clock, utcnow
from hokoku.notifiers.base import Notifier

log = logging.getLogger(__name__)


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

        Best effort: the rows are durable already, and whatever fails here is retried by the
        scheduled dispatch.
        """
        from hokoku.services.dispatch import dispatch

        try:
            return dispatch(self.app, now=self.now(), notifiers=self.notifiers, incident=incident, ids=ids)
        except Exception:
            log.exception("immediate dispatch for %s failed; the scheduled dispatch will retry", incident or ids)
            return []

    def audit(self, *, action: str, actor: str, incident: str | None = None, data: dict | None = None) -> None:
        """Record a refused request (its own transaction)."""
        from hokoku.services.auditlog import record_event

        record_event(self.app, now=self.now(), actor=actor, action=action, incident=incident, data=data)
