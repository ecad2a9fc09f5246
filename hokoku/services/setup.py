"""``hokoku init``: data directory, key file, schema, organisation."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from hokoku.app import App
from hokoku.config.org import DEMO_ORG, load_organisation
from hokoku.migrations import upgrade as migrate
from hokoku.models.audit import AuditHead
from hokoku.security import audit
from hokoku.security.auditkeys import create_signer_file
from hokoku.security.crypto import create_key_file
from hokoku.security.keycheck import check_data_key
from hokoku.services import auditops
from hokoku.store.db import transaction
from hokoku.store.orgstore import store_organisation
from hokoku.store.schema_version import EXPECTED_HEAD


def init(app: App, *, org_file: Path | None, demo: bool, now: datetime) -> dict:
    """Create what is missing and load the organisation; safe to run again."""
    path = DEMO_ORG if demo or org_file is None else org_file
    org = load_organisation(path)  # validate before touching anything
    home = app.settings.home
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    key_created = audit_key_created = False
    if app.settings.secret_key is None:
        key_created = create_key_file(app.settings.key_file)
    if app.settings.audit_signing_key is None:
        audit_key_created = create_signer_file(app.settings.audit_key_file)
    app.policy  # validate the policy file too  # noqa: B018
    schema = migrate(app.engine)  # alembic upgrade head (never metadata.create_all)
    check_data_key(app)  # a wrong data key for an existing database is refused here
    demo_db = path == DEMO_ORG
    with transaction(app.engine) as session:
        snap = store_organisation(session, org, source=str(path), now=now)
        auditops.mark_demo(session, demo_db)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor="hokoku:init",
            action="org.loaded",
            data={"source": path.name, "sha256": snap.sha256, "demo": demo_db},
        )
    pub = auditops.publish_public_keys(app)
    auditops.write_checkpoint(app)
    signer = app.keyring.signer  # loaded by the App: None only for a bare Keyring
    return {
        "home": str(home),
        "database": _redact(app.settings.effective_database_url),
        "organisation": org.organisation.name.ja,
        "source": str(path),
        "key_created": key_created,
        "audit_key_created": audit_key_created,
        "audit_public_keys": str(pub),
        "audit_key_id": signer.current.key_id if signer is not None else None,
        "schema": schema["to"],
    }


def upgrade(app: App, *, revision: str = "head", now: datetime) -> dict:
    """``hokoku db upgrade``: migrate; then record the audit key in the chain and sign the head
    (an upgraded database's legacy key is named in the chain by that event)."""
    result = migrate(app.engine, revision)
    if result["to"] == EXPECTED_HEAD and has_chain(app):
        if app.settings.audit_signing_key is None:
            result["audit_key_created"] = create_signer_file(app.settings.audit_key_file)
        check_data_key(app)
        result.update(auditops.record_key(app, now=now, actor="hokoku:upgrade", action="audit.upgraded"))
        auditops.write_checkpoint(app)
    return result


def has_chain(app: App) -> bool:
    """The database holds an audit chain (an empty database gets its first key from ``init``)."""

    with transaction(app.engine) as session:
        return session.get(AuditHead, 1) is not None


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
