"""Start-up check: the data key must open the key-check value stored in the database.

A wrong ``HOKOKU_SECRET_KEY`` (or key file) is refused at once, in one line, instead of the
process running and writing data nobody can read. A key id without a check value yet (a new
database, or a key just added for rotation) gets one, provided some configured key already
matched or the database has none at all.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hokoku.core.exceptions import ConfigError
from hokoku.models.meta import HokokuMeta
from hokoku.store.db import transaction

PREFIX = "key_check:"


def check_data_key(app) -> None:
    ring = app.keyring
    with transaction(app.engine) as session:
        stored = {
            m.name.removeprefix(PREFIX): m.value
            for m in session.execute(select(HokokuMeta).where(HokokuMeta.name.like(PREFIX + "%"))).scalars()
        }
    matched = False
    for key in ring.keys:
        value = stored.get(key.key_id)
        if value is None:
            continue
        if not ring.opens_key_check(key, value):
            raise ConfigError(
                f"data key {key.key_id!r} (HOKOKU_SECRET_KEY or keys/secret.key) is not the key of this "
                "database: refusing to run"
            )
        matched = True
    if stored and not matched:
        raise ConfigError(
            f"none of the data keys ({', '.join(k.key_id for k in ring.keys)}) is a key of this database "
            f"(it knows {', '.join(sorted(stored))}): refusing to run"
        )
    missing = [k for k in ring.keys if k.key_id not in stored]
    if missing:
        write_key_checks(app, missing)


def write_key_checks(app, keys) -> None:
    ring = app.keyring
    for key in keys:
        try:
            with transaction(app.engine) as session:
                session.add(HokokuMeta(name=PREFIX + key.key_id, value=ring.key_check_value(key)))
        except IntegrityError:  # another process wrote it first
            pass
