"""``hokoku init``: data directory, key file, schema, organisation."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from hokoku import audit
from hokoku.app import App
from hokoku.crypto import create_key_file
from hokoku.db import transaction
from hokoku.migrations import upgrade as migrate
from hokoku.org import DEMO_ORG, load_organisation
from hokoku.services.orgstore import store_organisation


def init(app: App, *, org_file: Path | None, demo: bool, now: datetime) -> dict:
    """Create what is missing and load the organisation; safe to run again."""
    path = DEMO_ORG if demo or org_file is None else org_file
    org = load_organisation(path)  # validate before touching anything
    home = app.settings.home
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    key_created = False
    if app.settings.secret_key is None:
        key_created = create_key_file(app.settings.key_file)
    app.policy  # validate the policy file too  # noqa: B018
    schema = migrate(app.engine)  # alembic upgrade head (never metadata.create_all)
    with transaction(app.engine) as session:
        snap = store_organisation(session, org, source=str(path), now=now)
        audit.append(session, app.keyring, at=now, actor="hokoku:init", action="org.loaded",
                     data={"source": path.name, "sha256": snap.sha256})
    pub = home / "audit-public-keys.json"
    pub.write_text(json.dumps(app.keyring.public_keys(), indent=2) + "\n")
    return {
        "home": str(home), "database": _redact(app.settings.effective_database_url),
        "organisation": org.organisation.name.ja, "source": str(path), "key_created": key_created,
        "audit_public_keys": str(pub), "schema": schema["to"],
    }


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
