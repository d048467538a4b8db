"""Try order (explicit, default, priority, weights) and exact counters under threads."""
# ruff: noqa: F811  (pytest fixtures imported from execution_support)

from __future__ import annotations

import random
import threading
from collections import Counter

from sqlalchemy import func, select

from tests.unit.execution_support import fresh, key, sim, usage_rows  # noqa: F401
from webapp.extensions import db
from webapp.models import AiConnectionUsage
from webapp.services import rotation
from webapp.services.execution import execute


def candidate(cid, priority=1, weight=1):
    return rotation.Candidate(cid, f"c{cid}", 1, "active", None, priority, weight, None, None,
                              None, None, None, {}, "")


def test_priority_then_weighted_order_with_zero_weight_last():
    source = random.Random(7)
    cands = [candidate(1, 2), candidate(2, 1), candidate(3, 1, weight=0), candidate(4, 3)]
    for _ in range(20):
        ordered = [c.id for c in rotation.order(cands, source=source)]
        assert ordered == [2, 1, 4, 3]
    assert [c.id for c in rotation.order(cands, first_id=4, source=source)] == [4, 2, 1, 3]


def test_weights_share_first_place_proportionally():
    source = random.Random(12345)
    cands = [candidate(1, weight=3), candidate(2, weight=1), candidate(3, weight=0)]
    firsts = Counter(rotation.order(cands, source=source)[0].id for _ in range(20000))
    assert firsts[3] == 0
    assert abs(firsts[1] / 20000 - 0.75) < 0.015


def test_explicit_connection_first_then_default_then_priority(app, sim):
    with app.app_context():
        provider = sim.provider()
        first = sim.connection(provider, name="first", priority=1)
        second = sim.connection(provider, name="second", priority=2)
        third = sim.connection(provider, name="third", priority=3)
        assert execute("hi", provider="openai").connection_id == first.id
        assert execute("hi", provider="openai", connection="third").connection_id == third.id
        assert execute("hi", provider="openai", connection=second.id).connection_id == second.id
        provider.default_connection_id = third.id
        db.session.commit()
        assert execute("hi", provider="openai").connection_id == third.id
        assert execute("hi", provider="openai", connection="second").connection_id == second.id


def test_weights_spread_traffic_and_zero_weight_waits(app, sim):
    with app.app_context():
        provider = sim.provider()
        heavy = sim.connection(provider, name="heavy", weight=3)
        light = sim.connection(provider, name="light", weight=1)
        spare = sim.connection(provider, name="spare", weight=0)
        rotation.rng.seed(2024)
        used = Counter(execute("hi", provider="openai").connection_id for _ in range(120))
        assert used[spare.id] == 0
        assert used[heavy.id] > used[light.id] > 0
        light.status = heavy.status = "inactive"
        db.session.commit()
        assert execute("hi", provider="openai").connection_id == spare.id


def test_counters_and_usage_rows_exact_under_threads(any_app, sim):
    threads_n, calls = 6, 8
    with any_app.app_context():
        conn = sim.connection(sim.provider(), rate_limit_per_minute=1000)
        conn_id = conn.id
    errors = []

    def worker():
        with any_app.app_context():
            for _ in range(calls):
                try:
                    execute("hi", provider="openai")
                except Exception as exc:  # pragma: no cover - reported below
                    errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with any_app.app_context():
        state = fresh(conn_id)
        assert state.success_count == threads_n * calls
        assert db.session.scalar(select(func.count(AiConnectionUsage.id))) == threads_n * calls
        from webapp.services import rate_limits

        assert rate_limits.headroom(rate_limits.connection_scope(conn_id, "minute"), 1000) in (
            1000 - threads_n * calls, 1000)  # 1000 only if the minute turned meanwhile
