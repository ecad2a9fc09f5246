"""The database: engines and sessions, the lock order, the schema version."""
