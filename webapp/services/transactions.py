"""Short write transactions that take the write lock up front on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
