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


class HeldConnection:
    """A pooled connection for the database steps of one execute() call (plan read,
    admission, outcome). It is given back to the pool while the provider is called
    (``released``), so a slow provider never ties up a database connection, and no
    transaction is ever open across the call.

    The hot statements (FixedStatement) run on the driver's own cursor; anything else goes
    through ``execute`` (SQLAlchemy) on the same connection and transaction.

    PostgreSQL: the connection is in autocommit mode; a lone statement commits by itself and
    ``write()`` wraps several in BEGIN/COMMIT. SQLite: the driver runs in autocommit mode
    (see extensions.py), so the plan read needs no BEGIN/COMMIT; ``write()`` takes the write
    lock up front (BEGIN IMMEDIATE)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.dialect = engine.dialect
        self.postgres = engine.dialect.name == "postgresql"
        self._checkout()

    def _checkout(self) -> None:
        connection = self._engine.connect()
        if self.postgres:
            connection.execution_options(isolation_level="AUTOCOMMIT")
        else:
            connection.execution_options(sqlite_immediate=True)
        self.connection = connection
        self._cursor = connection.connection.driver_connection.cursor()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Give the connection back to the pool for the block (the provider call), so a
        process never holds more pooled connections than it has database work under way."""
        self.close()
        try:
            yield
        finally:
            self._checkout()

    def run_driver_sql(self, sql: str, parameters: Any) -> list:
        """One statement on the driver's cursor; its rows (empty when it returns none)."""
        cursor = self._cursor
        cursor.execute(sql, parameters)
        return cursor.fetchall() if cursor.description is not None else []

    def execute(self, statement: Any, parameters: Any = None):
        """A SQLAlchemy statement on the same connection (and transaction)."""
        return self.connection.execute(statement, parameters)

    def read(self, statement: Any, params: dict) -> list:
        """All rows of one read-only FixedStatement, outside any transaction."""
        return statement.rows(self, params)

    @contextmanager
    def write(self) -> Iterator[HeldConnection]:
        """One short write transaction: committed on success, rolled back on any exception."""
        connection = self.connection
        if not self.postgres:
            with connection.begin():  # BEGIN IMMEDIATE (extensions.py)
                yield self
            return
        self._cursor.execute("BEGIN")
        try:
            yield self
        except BaseException:
            self._cursor.execute("ROLLBACK")
            raise
        self._cursor.execute("COMMIT")

    def close(self) -> None:
        self._cursor.close()
        self.connection.close()


@contextmanager
def held_connection() -> Iterator[HeldConnection]:
    """A HeldConnection, back in the pool when the block ends (the session's own transaction,
    if any, is committed first, as core_write does)."""
    end_read_transaction()
    held = HeldConnection(db.engine)
    try:
        yield held
    finally:
        held.close()
