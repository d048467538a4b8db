"""Short transactions: on the ORM session (general use) or on a pooled connection of their own
(execute()'s hot path, where the session's bookkeeping costs more than the SQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..extensions import db


@contextmanager
def write_transaction() -> Iterator[Session]:
    """One short transaction on ``db.session`` that commits on success, rolls back on error.

    Whatever the session had open is committed first: a read transaction that was already
    running would otherwise turn into a lock upgrade on SQLite (which fails at once instead of
    waiting), and the ``sqlite_immediate`` option only applies to a transaction that starts
    here. On PostgreSQL the option is ignored; row locks taken by the UPDATEs do the work.
    """
    session = db.session()
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_immediate": True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def end_read_transaction() -> None:
    """Close the session's read transaction (nothing is pending), so no snapshot or
    connection is held while a provider is called."""
    session = db.session()
    if session.in_transaction():
        session.commit()


@contextmanager
def core_write() -> Iterator[Connection]:
    """One short write transaction on a pooled connection of its own (commit on success,
    rollback on error), with the write lock taken up front on SQLite like write_transaction.

    The session's own transaction is committed first, as write_transaction does, so the
    caller's pending work is visible and no second writer waits on it."""
    end_read_transaction()
    with db.engine.connect() as connection:
        connection.execution_options(sqlite_immediate=True)
        with connection.begin():
            yield connection


def read_rows(statement: Any, params: dict) -> list:
    """All rows of one read-only statement, on a pooled connection of its own that is back in
    the pool when this returns (no transaction stays open).

    On PostgreSQL the statement runs in autocommit mode: a single SELECT sees one consistent
    snapshot anyway, and this saves the BEGIN and COMMIT round trips."""
    end_read_transaction()
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
            return connection.execute(statement, params).all()
        with connection.begin():
            return connection.execute(statement, params).all()


@contextmanager
def single_statement_connection() -> Iterator[Connection]:
    """A pooled connection in autocommit mode, for one statement that is atomic by itself
    (PostgreSQL only: each statement commits on its own, with no BEGIN/COMMIT round trips)."""
    end_read_transaction()
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection
