"""The schema revision this code needs, without importing Alembic (the CLI checks it on every
call). ``tests/test_migrations.py`` asserts it equals the newest migration, so it cannot drift:
bump it with every new revision in ``hokoku/migrations/versions/``."""

EXPECTED_HEAD = "0008"
