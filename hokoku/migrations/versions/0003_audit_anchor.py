"""audit anchor: recorded_at, signed head, key-check values, row-bound ciphertexts

Revision ID: 0003
Revises: 0004

Schema: ``audit_event.recorded_at`` (real wall-clock time), ``audit_head.key_id/signature``
(the signed head), table ``hokoku_meta`` (data-key check values, demo flag).

Data: every ciphertext is re-encrypted with associated data that binds it to its row (see
:mod:`hokoku.security.crypto`), which needs the data keyring (``HOKOKU_SECRET_KEY`` or the key file; or
``config.attributes["keyring"]``). A key-check value is stored for each data key. The head is
signed, and the legacy audit key recorded in the chain, by the first append after the upgrade
(``hokoku db upgrade`` and ``hokoku init`` make it at once).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0003'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, row identity column, [(ciphertext column, field name)]) as of this revision.
BOUND = [
    ("incident", "public_id", [("summary_enc", "incident.summary"), ("details_enc", "incident.details"),
                               ("reported_data_items_enc", "incident.data_items")]),
    ("stage", "id", [("note_enc", "stage.note"), ("skip_reason_enc", "stage.skip_reason")]),
    ("notification", "idempotency_key", [("subject_enc", "notification.subject"), ("body_enc", "notification.body")]),
    ("task", "id", [("title_enc", "task.title"), ("note_enc", "task.note"), ("evidence_enc", "task.evidence")]),
    ("finding", "id", [("text_enc", "finding.text")]),
    ("individual_notice", "id", [("method_enc", "notice.method"), ("substitute_enc", "notice.substitute"),
                                 ("difficulty_enc", "notice.difficulty")]),
    ("incident_amendment", "id", [("reason_enc", "amendment.reason")]),
    ("public_text", "id", [("text_enc", "public_text.text")]),
    # Already row-bound before, through the field name (``flow_input.payload:<id>``).
    ("flow_input", "id", [("payload_enc", "flow_input.payload"), ("outcome_enc", "flow_input.outcome")]),
    ("document_snapshot", "id", [("items_enc", "snapshot.items")]),
    ("statutory_decision", "id", [("reason_enc", "decision.reason")]),
    ("alert", "id", [("payload_enc", "alert.payload")]),
]


def _keyring():
    ring = op.get_context().config.attributes.get("keyring")
    if ring is None:
        from hokoku.app import open_app

        ring = open_app().keyring
    return ring


def _legacy_field(table: str, field: str, ident) -> str:
    return f"{field}:{ident}" if table == "flow_input" else field


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
    op.create_table('hokoku_meta',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    _rebind_ciphertexts()
    _mark_demo()


def _mark_demo() -> None:
    """A database whose organisation is the bundled fictional one is a demo (simulated time allowed)."""
    conn = op.get_bind()
    source = conn.execute(sa.text("SELECT source FROM org_snapshot ORDER BY id DESC LIMIT 1")).scalar()
    if source is not None:
        demo = source.replace("\\", "/").endswith("hokoku/data/demo-org.yaml")
        conn.execute(sa.text("INSERT INTO hokoku_meta (name, value) VALUES ('demo', :v)"), {"v": "1" if demo else "0"})


def _rebind_ciphertexts() -> None:
    conn = op.get_bind()
    ring = None
    for table, ident, columns in BOUND:
        names = ", ".join(c for c, _ in columns)
        rows = conn.execute(sa.text(f"SELECT {ident}, {names} FROM {table}")).fetchall()  # fixed names, not input
        for row in rows:
            values = {}
            for (column, field), blob in zip(columns, row[1:]):
                if blob is None or bytes(blob).startswith(b"h2"):
                    continue
                if ring is None:
                    ring = _keyring()
                plain = ring.decrypt_legacy(blob, field=_legacy_field(table, field, row[0]))
                values[column] = ring.encrypt(plain, field=field, bind=row[0])
            if values:
                sets = ", ".join(f"{c} = :{c}" for c in values)
                conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE {ident} = :ident"),
                             {**values, "ident": row[0]})
    if ring is not None:
        for key in ring.keys:
            conn.execute(sa.text("INSERT INTO hokoku_meta (name, value) VALUES (:n, :v)"),
                         {"n": f"key_check:{key.key_id}", "v": ring.key_check_value(key)})


def _unbind_ciphertexts() -> None:
    """Back to the ``h1`` format (associated data: the field only) that the code of the revision before reads."""
    import os

    conn = op.get_bind()
    ring = None
    for table, ident, columns in BOUND:
        names = ", ".join(c for c, _ in columns)
        for row in conn.execute(sa.text(f"SELECT {ident}, {names} FROM {table}")).fetchall():
            values = {}
            for (column, field), blob in zip(columns, row[1:]):
                if blob is None or not bytes(blob).startswith(b"h2"):
                    continue
                ring = ring or _keyring()
                plain = ring.decrypt(blob, field=field, bind=row[0]).encode()
                key, nonce = ring.current, os.urandom(12)
                kid = key.key_id.encode()
                values[column] = b"h1" + bytes([len(kid)]) + kid + nonce + key.aead.encrypt(
                    nonce, plain, _legacy_field(table, field, row[0]).encode())
            if values:
                sets = ", ".join(f"{c} = :{c}" for c in values)
                conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE {ident} = :ident"),
                             {**values, "ident": row[0]})


def downgrade() -> None:
    _unbind_ciphertexts()
    op.drop_table('hokoku_meta')
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('signature')
        batch_op.drop_column('key_id')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('recorded_at')
