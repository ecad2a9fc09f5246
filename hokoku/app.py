"""The application context the services share: settings, database, keys, policy, templates."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from hokoku.config.settings import Settings, load_settings
from hokoku.core.exceptions import NotInitialised
from hokoku.resources import templates_dir
from hokoku.security.auditkeys import load_signer
from hokoku.security.crypto import Keyring, load_keyring
from hokoku.store.db import get_engine, require_schema

if TYPE_CHECKING:
    from hokoku.security.auditkeys import AuditSigner


@dataclass
class App:
    settings: Settings
    _cache: dict = field(default_factory=dict, repr=False)

    @cached_property
    def engine(self) -> Engine:
        url = self.settings.effective_database_url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return get_engine(url)

    @cached_property
    def keyring(self) -> Keyring:
        secret = self.settings.secret_key.get_secret_value() if self.settings.secret_key else None
        ring = load_keyring(env_value=secret, key_file=self.settings.key_file)
        ring.signer_loader = self._load_signer  # the audit key is separate, loaded when first used
        return ring

    def _load_signer(self) -> AuditSigner:
        s = self.settings
        env = s.audit_signing_key.get_secret_value() if s.audit_signing_key else None
        return load_signer(env_value=env, key_file=s.audit_key_file)

    @cached_property
    def policy(self):
        from hokoku.config.policyfile import load_policy

        return load_policy(self.settings.policy_file)

    @cached_property
    def playbooks(self) -> dict:
        from hokoku.config.playbooks import load_playbooks, playbook_dirs

        return load_playbooks(playbook_dirs(self.settings.playbook_dir))

    @cached_property
    def renderer(self):
        from hokoku.messages import Renderer

        # Compiled templates kept between processes (jinja2 checks each against its source).
        return Renderer(templates_dir(), bytecode_dir=self.settings.home / "cache" / "templates")

    def organisation(self, session):
        """The organisation in force (newest stored snapshot), cached per process. Which snapshot
        is newest is read once per transaction (a report asks ~30 times); the document is parsed
        only when it changed (``store_organisation`` forgets the transaction's answer)."""
        txn = session.get_transaction()
        known = session.info.get("hokoku_org_snapshot")
        if known is not None and known[0] is txn and self._cache.get("org_id") == known[1]:
            return self._cache["org"]
        from sqlalchemy import select

        from hokoku.models.org import OrgSnapshot

        newest = session.execute(select(OrgSnapshot.id).order_by(OrgSnapshot.id.desc()).limit(1)).scalar()
        if newest is None or self._cache.get("org_id") != newest:
            from hokoku.store.orgstore import current_organisation

            snap_id, org = current_organisation(session)
            self._cache.update(org_id=snap_id, org=org)
        session.info["hokoku_org_snapshot"] = (txn, self._cache["org_id"])
        return self._cache["org"]

    def check_ready(self, *, keys: bool = True) -> None:
        """Refuse (one line) to work on a data directory that ``hokoku init`` has not set up,
        or with a data key that is not this database's (``keys``; once per process).

        Checked before the engine exists so that a refused verb leaves no empty database behind.
        """

        url = self.settings.effective_database_url
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            raise NotInitialised("no hokoku database here: run `hokoku init --demo` (or --org FILE) first")
        require_schema(self.engine)
        self._check_revision()
        if keys and not self._cache.get("data_key_checked"):
            from hokoku.security.keycheck import check_data_key

            check_data_key(self)
            self._cache["data_key_checked"] = True

    def _check_revision(self) -> None:
        """A database behind the code's migrations gets a one-line error, not a SQL traceback."""
        from sqlalchemy import inspect, text

        if not inspect(self.engine).has_table("alembic_version"):
            current = None
        else:
            with self.engine.connect() as conn:
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        from hokoku.store.schema_version import EXPECTED_HEAD as head

        if current != head:
            raise NotInitialised(
                f"the database schema is at {current or 'no revision'}, this hokoku needs {head}: "
                "run `hokoku db upgrade`"
            )

    def view_in(self, lang: str) -> App:
        """A view of the application whose read-only services answer in ``lang``; it shares
        everything else (engine, keyring, playbooks, caches). Never for actions: messages to
        people keep the organisation's language (``HOKOKU_LANG``)."""
        if self.settings.lang == lang:
            return self
        views = self._cache.setdefault("lang_views", {})
        if lang not in views:
            self.playbooks, self.policy, self.engine, self.keyring  # noqa: B018  (compute before sharing)
            view = copy.copy(self)
            view.settings = self.settings.model_copy(update={"lang": lang})
            views[lang] = view
        return views[lang]


def open_app(**overrides) -> App:
    settings = load_settings(**overrides)
    from hokoku.core import jpcalendar
    from hokoku.store.holidaystore import HolidayFile

    # Holiday tables kept between processes (the library costs a CLI call ~0.1-0.3 s otherwise).
    if getattr(jpcalendar._store, "path", None) != HolidayFile.path_for(settings.home / "cache"):
        jpcalendar.use_store(HolidayFile(settings.home / "cache"))
    return App(settings)
