"""Fixed-window admission: exact, both-or-neither, per window, and with connection limits."""
# ruff: noqa: F811  (pytest fixtures imported from execution_support)

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.unit.execution_support import (  # noqa: F401
    fresh,
    key,
    sim,
    usage_rows,
    wait_for_fresh_minute,
)
from webapp.extensions import db
from webapp.models import RateLimitCounter
from webapp.services import rate_limits
from webapp.services.errors import InvalidInput, NoAvailableConnection
from webapp.services.execution import execute
from webapp.services.rate_limits import Reservation

NOON = datetime(2030, 1, 2, 12, 0, 30)


def test_windows():
    assert rate_limits.window_start("minute", NOON) == datetime(2030, 1, 2, 12, 0)
    assert rate_limits.window_start("day", NOON) == datetime(2030, 1, 2)
    assert rate_limits.next_window("minute", NOON) == datetime(2030, 1, 2, 12, 1)
    assert rate_limits.next_window("day", NOON) == datetime(2030, 1, 3)
    with pytest.raises(InvalidInput):
        rate_limits.window_start("hour", NOON)


def test_try_acquire_admits_exactly_the_limit_per_window(any_app):
    with any_app.app_context():
        admitted = [rate_limits.try_acquire("app_key:1", 3, "minute", NOON) for _ in range(5)]
        assert admitted == [True, True, True, False, False]
        assert rate_limits.headroom("app_key:1", 3, "minute", NOON) == 0
        later = NOON + timedelta(minutes=1)
        assert rate_limits.headroom("app_key:1", 3, "minute", later) == 3
        assert rate_limits.try_acquire("app_key:1", 3, "minute", later)
        assert rate_limits.try_acquire("app_key:2", 1, "day", NOON)
        assert not rate_limits.try_acquire("app_key:2", 1, "day", NOON + timedelta(hours=5))
        assert not rate_limits.try_acquire("app_key:3", 0, "minute", NOON)
        with pytest.raises(InvalidInput):
            rate_limits.try_acquire("app_key:3", -1, "minute", NOON)
        with pytest.raises(InvalidInput):
            rate_limits.try_acquire("app_key:3", 1, "week", NOON)


def test_minute_and_day_are_reserved_together(any_app):
    with any_app.app_context():
        both = [Reservation("c:minute", 10, "minute"), Reservation("c:day", 2, "day")]
        assert rate_limits.acquire_all(both, NOON)
        assert rate_limits.acquire_all(both, NOON)
        assert not rate_limits.acquire_all(both, NOON)  # day full: minute not counted either
        assert rate_limits.used([("c:minute", "minute"), ("c:day", "day")], NOON) == {
            ("c:minute", "minute"): 2, ("c:day", "day"): 2}


def test_old_windows_are_pruned(app):
    with app.app_context():
        rate_limits.try_acquire("old", 5, "minute", NOON - timedelta(days=3))
        rate_limits.try_acquire("new", 5, "minute", NOON)
        from webapp.services.transactions import write_transaction

        with write_transaction():
            assert rate_limits.prune(NOON) == 1
        assert db.session.scalar(select(func.count()).select_from(RateLimitCounter)) == 1


def test_threads_never_admit_more_than_the_limit(any_app):
    limit, results = 30, []

    def hammer():
        with any_app.app_context():
            for _ in range(15):
                results.append(rate_limits.try_acquire("shared", limit, "minute", NOON))

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == limit and len(results) == 90


def test_connection_limits_gate_execute(any_app, sim):
    with any_app.app_context():
        provider = sim.provider()
        limited = sim.connection(provider, name="limited", priority=1, rate_limit_per_minute=2,
                                 rate_limit_per_day=100)
        other = sim.connection(provider, name="other", priority=2, rate_limit_per_day=1)
        wait_for_fresh_minute()
        used = [execute("hi", provider="openai").connection_id for _ in range(3)]
        assert used == [limited.id, limited.id, other.id]
        with pytest.raises(NoAvailableConnection) as caught:
            execute("hi", provider="openai")
        reasons = {r.connection_name: r.reason for r in caught.value.reasons}
        assert reasons == {"limited": "minute limit reached (2/2)", "other": "day limit reached (1/1)"}
        assert caught.value.retry_after_seconds <= 60
        assert len(usage_rows()) == 3
        scope = rate_limits.connection_scope(limited.id, "day")
        assert rate_limits.headroom(scope, 100, "day") in (98, 100)
