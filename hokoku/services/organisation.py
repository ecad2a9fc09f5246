"""The organisation as the database holds it (for the edges, which never open a session)."""

from __future__ import annotations

from hokoku.config.org import Organisation
from hokoku.store.db import transaction


def organisation(app) -> Organisation:
    """The organisation as the database holds it now."""
    with transaction(app.engine) as session:
        return app.organisation(session)
