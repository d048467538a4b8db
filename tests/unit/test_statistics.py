"""Per-connection statistics, rotation state, reset and reorder."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, update

from webapp.extensions import db
from webapp.models import AiConnection, AiConnectionUsage, utcnow
from webapp.services import rate_limits, statistics
from webapp.services.errors import InvalidInput, UnknownProvider


@contextmanager
def counting_queries():
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def add_usage(connection, *, success=True, ms=100, cost=None, days_ago=0, tokens=(5, 5)):
    db.session.add(AiConnectionUsage(
        connection_id=connection.id, provider_id=connection.provider_id,
        connection_name=connection.name, request_id="r", success=success, response_time_ms=ms,
        prompt_tokens=tokens[0], completion_tokens=tokens[1], tokens_used=sum(tokens), cost=cost,
        error_class=None if success else "unavailable",
        created_at=utcnow() - timedelta(days=days_ago)))


def test_usage_statistics(any_app, make_provider, make_connection):
    with any_app.app_context():
        conn = make_connection(make_provider())
        for ms in range(1, 21):
            add_usage(conn, ms=ms * 10, cost=Decimal("0.001") if ms % 2 else None)
        add_usage(conn, success=False, ms=1000, tokens=(0, 0))
        add_usage(conn, days_ago=10, ms=5)
        db.session.commit()
        stats = statistics.get_usage_statistics(conn.id, 7)
        assert stats["requests"] == 21 and stats["successes"] == 20 and stats["failures"] == 1
        assert stats["success_rate"] == 95.2
        assert (stats["prompt_tokens"], stats["completion_tokens"], stats["total_tokens"]) == (
            100, 100, 200)
        assert stats["cost"] == Decimal("0.01") and stats["unpriced_requests"] == 10
        assert stats["p95_response_time_ms"] == 200
        assert stats["avg_response_time_ms"] == round((sum(range(10, 201, 10)) + 1000) / 21, 1)
        assert statistics.get_usage_statistics(conn.id, 30)["requests"] == 22
        empty = statistics.get_usage_statistics(conn.id + 99, 7)
        assert empty["requests"] == 0 and empty["success_rate"] is None
        assert empty["cost"] is None and empty["p95_response_time_ms"] is None
        with pytest.raises(InvalidInput):
            statistics.get_usage_statistics(conn.id, 0)


def test_rotation_states_use_a_constant_number_of_queries(any_app, make_provider,
                                                          make_connection):
    with any_app.app_context():
        provider = make_provider()
        connections = [make_connection(provider, name=f"c{n}", rate_limit_per_minute=5,
                                       rate_limit_per_day=50) for n in range(12)]
        rate_limits.try_acquire(rate_limits.connection_scope(connections[0].id, "minute"), 5)
        db.session.execute(update(AiConnection).where(AiConnection.id == connections[1].id)
                           .values(cooldown_until=utcnow() + timedelta(minutes=5),
                                   cooldown_reason="quota"))
        db.session.execute(update(AiConnection).where(AiConnection.id == connections[2].id)
                           .values(status="disabled", disabled_reason="model not found: x"))
        db.session.commit()
        with counting_queries() as small:
            statistics.rotation_states(connections[:2])
        with counting_queries() as big:
            states = statistics.rotation_states(connections)
        selects = [[q for q in run if q.lstrip().upper().startswith("SELECT")] for run in (small, big)]
        assert len(selects[0]) == len(selects[1]) == 1
        first = states[connections[0].id]
        assert first.takes_traffic and (first.minute_used, first.minute_limit) == (1, 5)
        assert (first.day_used, first.day_limit) == (0, 50)
        assert states[connections[1].id].reason.endswith("(quota)")
        assert states[connections[1].id].cooldown_until is not None
        assert states[connections[2].id].reason == "disabled: model not found: x"
        assert statistics.has_available_connections(provider.id)
        rows = statistics.get_connection_statistics(provider.id)
        assert [r["name"] for r in rows][:3] == ["c0", "c1", "c2"]
        assert rows[0]["rotation"].takes_traffic and rows[0]["recent_requests"] == 0
        with pytest.raises(UnknownProvider):
            statistics.has_available_connections(999)


def test_has_available_connections(app, make_provider, make_connection):
    with app.app_context():
        provider = make_provider()
        assert not statistics.has_available_connections(provider.id)
        conn = make_connection(provider, rate_limit_per_minute=0)
        assert not statistics.has_available_connections(provider.id)
        conn.rate_limit_per_minute = None
        db.session.commit()
        assert statistics.has_available_connections(provider.id)
        provider.status = "inactive"
        db.session.commit()
        assert not statistics.has_available_connections(provider.id)


def test_reset_error_counts_keeps_disabled_status(any_app, make_provider, make_connection):
    with any_app.app_context():
        provider = make_provider()
        other = make_provider(slug="other")
        a = make_connection(provider, name="a", error_count=4, consecutive_failures=4,
                            circuit_open_count=2, cooldown_reason="circuit_open",
                            cooldown_until=utcnow() + timedelta(minutes=1))
        b = make_connection(provider, name="b", status="disabled", disabled_reason="auth",
                            error_count=1)
        c = make_connection(other, name="c", error_count=7)
        assert statistics.reset_error_counts(provider.id) == 2
        db.session.expire_all()
        assert (a.error_count, a.consecutive_failures, a.circuit_open_count) == (0, 0, 0)
        assert a.cooldown_until is None and a.cooldown_reason is None
        assert b.status == "disabled" and b.error_count == 0
        assert c.error_count == 7


def test_reorder_connections(any_app, make_provider, make_connection):
    with any_app.app_context():
        provider = make_provider()
        other = make_provider(slug="other")
        a, b, c = (make_connection(provider, name=n, priority=50) for n in "abc")
        foreign = make_connection(other, name="x")
        statistics.reorder_connections(provider.id, [c.id, a.id, b.id])
        assert [(x.name, x.priority) for x in (c, a, b)] == [("c", 1), ("a", 2), ("b", 3)]
        for bad in ([c.id, a.id], [c.id, a.id, b.id, foreign.id], [c.id, a.id, a.id],
                    [c.id, a.id, 999], ["1", a.id, b.id]):
            with pytest.raises(InvalidInput):
                statistics.reorder_connections(provider.id, bad)
        db.session.expire_all()
        assert [x.priority for x in (c, a, b)] == [1, 2, 3]
