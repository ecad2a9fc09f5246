"""The database's own errors, named for the edges (web, CLI), which never import the database
driver or SQLAlchemy themselves."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

#: Any error the database driver raised (connection lost, missing table, constraint, ...).
DatabaseError = DBAPIError
