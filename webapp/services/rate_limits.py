"""Fixed-window request admission shared by every process through the database.

A counter row per (scope, window_start) holds how many requests a scope admitted in that
window. Admission is one atomic upsert per counter (INSERT … ON CONFLICT DO UPDATE SET
count = count + 1 WHERE count < limit) whose row count says yes or no, so any number of
processes on one database never admit more than the limit.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import and_, bindparam, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ..extensions import db
from ..models import RateLimitCounter, utcnow
from .errors import InvalidInput
from .fixed_sql import fixed
from .transactions import HeldConnection, write_transaction

WINDOWS = ("minute", "day")
# Counter rows older than this are deleted now and then (cheaply, during an admission).
KEEP_WINDOWS_FOR = timedelta(days=2)
PRUNE_PROBABILITY = 0.001

_table = RateLimitCounter.__table__


@dataclass(frozen=True)
class Reservation:
    """One counter to increment: ``scope`` may admit ``limit`` requests per ``window``."""

    scope: str
    limit: int
    window: str = "minute"


def window_start(window: str, now: datetime | None = None) -> datetime:
    """The start of the fixed window containing ``now`` (naive UTC)."""
    now = now or utcnow()
    if window == "minute":
        return now.replace(second=0, microsecond=0)
    if window == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    raise InvalidInput(f"unknown rate-limit window {window!r}; use one of: {', '.join(WINDOWS)}")


def next_window(window: str, now: datetime | None = None) -> datetime:
    """When the window after the one containing ``now`` starts."""
    start = window_start(window, now)
    return start + (timedelta(minutes=1) if window == "minute" else timedelta(days=1))


def connection_scope(connection_id: int, window: str) -> str:
    return f"connection:{connection_id}:{window}"


@cache
def _admit_statement(dialect_name: str):
    """One atomic statement per counter: create the window's row at 1, or add 1 while it is
    below the limit. It returns the new count when admitted and no row when the window is full
    (the conflicting row is locked while the WHERE is checked, on SQLite and PostgreSQL alike;
    RETURNING is used because psycopg reports no row count for an upsert)."""
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    statement = insert(_table).values(scope=bindparam("scope"), window_start=bindparam("start"),
                                      count=1)
    return statement.on_conflict_do_update(
        index_elements=[_table.c.scope, _table.c.window_start],
        set_={"count": _table.c.count + 1},
        where=_table.c.count < bindparam("limit"),
    ).returning(_table.c.count)


# PostgreSQL: two counters' upserts in one statement (data-modifying CTEs), one round trip
# instead of two; each returns a row only when admitted. Two different rows, so the two
# upserts never touch the same row; the caller's transaction still makes it both or neither.
_ADMIT_PAIR_POSTGRESQL = """
WITH first_counter AS (
    INSERT INTO rate_limit_counters (scope, window_start, count)
    VALUES (%(scope_1)s, %(start_1)s, 1)
    ON CONFLICT (scope, window_start) DO UPDATE SET count = rate_limit_counters.count + 1
    WHERE rate_limit_counters.count < %(limit_1)s
    RETURNING 1
), second_counter AS (
    INSERT INTO rate_limit_counters (scope, window_start, count)
    VALUES (%(scope_2)s, %(start_2)s, 1)
    ON CONFLICT (scope, window_start) DO UPDATE SET count = rate_limit_counters.count + 1
    WHERE rate_limit_counters.count < %(limit_2)s
    RETURNING 1
)
SELECT (SELECT count(*) FROM first_counter), (SELECT count(*) FROM second_counter)
"""


def _reserve_pair(connection, first: Reservation, second: Reservation,
                  now: datetime) -> Reservation | None:
    """Both counters in one statement (PostgreSQL, on a HeldConnection); the first full one."""
    admitted_first, admitted_second = connection.run_driver_sql(_ADMIT_PAIR_POSTGRESQL, {
        "scope_1": first.scope, "start_1": window_start(first.window, now),
        "limit_1": first.limit,
        "scope_2": second.scope, "start_2": window_start(second.window, now),
        "limit_2": second.limit,
    })[0]
    if not admitted_first:
        return first
    if not admitted_second:
        return second
    return None


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidInput(f"a rate limit must be a whole number ≥ 0, not {limit!r}")
    return limit


def reserve_first_full(reservations: Sequence[Reservation], now: datetime | None = None,
                       connection: Connection | HeldConnection | None = None) -> Reservation | None:
    """Increment every counter inside the caller's open transaction (on ``connection``, or
    the session's; not committed here).

    Returns None when all were admitted, else the first full one; the caller must then roll
    back so the increments already made are undone (both or neither).
    """
    now = now or utcnow()
    connection = connection or db.session.connection()
    dialect = connection.dialect
    if (len(reservations) == 2 and dialect.name == "postgresql"
            and hasattr(connection, "run_driver_sql")
            and all(_check_limit(item.limit) > 0 for item in reservations)):
        full = _reserve_pair(connection, reservations[0], reservations[1], now)
        if full is None and random.random() < PRUNE_PROBABILITY:
            prune(now, connection)
        return full
    statement = fixed("admit", lambda: _admit_statement(dialect.name), dialect)
    for item in reservations:
        limit = _check_limit(item.limit)
        if limit == 0:
            return item
        admitted = statement.first(connection, {"scope": item.scope, "limit": limit,
                                                "start": window_start(item.window, now)})
        if admitted is None:
            return item
    if random.random() < PRUNE_PROBABILITY:
        prune(now, connection)
    return None


def reserve(reservations: Sequence[Reservation], now: datetime | None = None) -> bool:
    """True when every counter was incremented (see reserve_first_full)."""
    return reserve_first_full(reservations, now) is None


def acquire_all(reservations: Sequence[Reservation], now: datetime | None = None) -> bool:
    """Reserve every counter in one transaction of its own: all admitted, or none counted."""
    if not reservations:
        return True
    with write_transaction() as session:
        if reserve(reservations, now):
            return True
        session.rollback()
        return False


def try_acquire(scope: str, limit: int, window: str = "minute", now: datetime | None = None) -> bool:
    """Admit one request for ``scope`` if it has admitted fewer than ``limit`` in this window."""
    window_start(window)  # validates the window name
    return acquire_all([Reservation(scope, limit, window)], now)


def used(keys: Iterable[tuple[str, str]], now: datetime | None = None) -> dict[tuple[str, str], int]:
    """How many requests each (scope, window) admitted in the current window (one query)."""
    now = now or utcnow()
    wanted = {(scope, window_start(window, now)): (scope, window) for scope, window in keys}
    if not wanted:
        return {}
    rows = db.session.execute(
        select(_table.c.scope, _table.c.window_start, _table.c.count).where(
            or_(*[and_(_table.c.scope == scope, _table.c.window_start == start)
                  for scope, start in wanted])
        )
    ).all()
    counts = {key: 0 for key in wanted.values()}
    for scope, start, count in rows:
        key = wanted.get((scope, start))
        if key is not None:
            counts[key] = count
    return counts


def headroom(scope: str, limit: int, window: str = "minute", now: datetime | None = None) -> int:
    """How many more requests ``scope`` may make in the current window."""
    count = used([(scope, window)], now)[(scope, window)]
    return max(_check_limit(limit) - count, 0)


def prune(now: datetime | None = None, connection: Connection | HeldConnection | None = None) -> int:
    """Delete counter rows of windows that ended long ago (inside the caller's transaction)."""
    cutoff = (now or utcnow()) - KEEP_WINDOWS_FOR
    statement = delete(_table).where(_table.c.window_start < cutoff)
    return (connection or db.session.connection()).execute(statement).rowcount
