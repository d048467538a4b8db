"""Outcomes on the connection: cooldowns, the circuit breaker and its half-open trial."""
# ruff: noqa: F811  (pytest fixtures imported from execution_support)

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from tests.unit.execution_support import fresh, key, sim, usage_rows  # noqa: F401
from webapp.extensions import db
from webapp.models import AiConnection, utcnow
from webapp.services import health, rotation
from webapp.services.errors import ExecutionFailed, NoAvailableConnection
from webapp.services.execution import execute


def close_to(value: datetime, expected: datetime, seconds: float = 3) -> bool:
    return abs((value - expected).total_seconds()) <= seconds


def expire_cooldown(connection_id: int) -> None:
    db.session.execute(update(AiConnection).where(AiConnection.id == connection_id)
                       .values(cooldown_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_rate_limited_cools_down_for_retry_after(app, sim):
    with app.app_context():
        provider = sim.provider()
        limited = sim.connection(provider, name="limited", scenario="rate-limited", priority=1)
        sim.connection(provider, name="spare", priority=2)
        before = utcnow()
        result = execute("hi", provider="openai")
        assert result.connection_name == "spare"
        state = fresh(limited.id)
        assert state.cooldown_reason == "rate_limited"
        # The simulator sends retry-after-ms: 1500 (and Retry-After: 2).
        assert close_to(state.cooldown_until, before + timedelta(seconds=1.5), 1)
        assert state.status == "active"
        # While it cools down, even an explicit request for it goes elsewhere, with the reason.
        again = execute("hi", provider="openai", connection="limited")
        assert again.connection_name == "spare"
        assert again.skipped[0].reason.startswith("cooling down until")


def test_rate_limited_without_hint_uses_the_default(app, sim):
    app.config["RATE_LIMITED_COOLDOWN_SECONDS"] = 45
    with app.app_context():
        provider = sim.provider(slug="gem", kind="gemini")
        conn = sim.connection(provider, scenario="rate-limited")
        before = utcnow()
        with pytest.raises(ExecutionFailed):
            execute("hi", provider="gem")
        state = fresh(conn.id)
        assert state.cooldown_reason == "rate_limited"
        # Gemini's per-minute quota carries a retryDelay; whichever applies, it is in the future.
        assert state.cooldown_until > before


def test_quota_cools_down_for_the_default_or_until_the_day_resets(app, sim):
    with app.app_context():
        provider = sim.provider()
        conn = sim.connection(provider, scenario="insufficient-quota")
        before = utcnow()
        with pytest.raises(ExecutionFailed) as caught:
            execute("hi", provider="openai")
        assert caught.value.attempts[0].error_class == "quota"
        state = fresh(conn.id)
        assert state.cooldown_reason == "quota"
        assert close_to(state.cooldown_until, before + timedelta(hours=1))

        router = sim.provider(slug="router", kind="openrouter")
        daily = sim.connection(router, name="daily", scenario="daily-quota",
                               model="meta-llama/llama-3.3-70b-instruct:free")
        with pytest.raises(ExecutionFailed):
            execute("hi", provider="router")
        state = fresh(daily.id)
        midnight = (before + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        assert state.cooldown_reason == "quota" and close_to(state.cooldown_until, midnight)

        gemini = sim.provider(slug="gem", kind="gemini")
        gem = sim.connection(gemini, name="gem", scenario="daily-quota")
        with pytest.raises(ExecutionFailed):
            execute("hi", provider="gem")
        state = fresh(gem.id)
        assert state.cooldown_until == health.next_day_reset(state.last_error_at, "gemini") or \
            close_to(state.cooldown_until, health.next_day_reset(utcnow(), "gemini"))


def test_a_longer_cooldown_is_never_shortened(app, sim):
    with app.app_context():
        provider = sim.provider()
        api_key = key()
        conn = sim.connection(provider, api_key=api_key)
        later = utcnow() + timedelta(hours=2)
        db.session.execute(update(AiConnection).where(AiConnection.id == conn.id).values(
            cooldown_until=later, cooldown_reason="quota"))
        db.session.commit()
        from webapp.adapters.base import ProviderError

        with app.test_request_context():
            health.record_failure(conn.id, ProviderError("rate_limited", "slow down", retry_after=5),
                                  utcnow(), model=None, model_from_caller=False)
            db.session.commit()
        state = fresh(conn.id)
        assert state.cooldown_until == later and state.cooldown_reason == "quota"


def test_circuit_opens_backs_off_and_closes_after_a_trial(any_app, sim, simulator):
    with any_app.app_context():
        provider = sim.provider()
        api_key = key()
        conn = sim.connection(provider, api_key=api_key)
        simulator.program(api_key, ["server-error"] * 3)
        for n in range(3):
            with pytest.raises(ExecutionFailed):
                execute("hi", provider="openai")
            state = fresh(conn.id)
            assert state.consecutive_failures == n + 1
        assert state.cooldown_reason == "circuit_open" and state.circuit_open_count == 1
        assert close_to(state.cooldown_until, utcnow() + timedelta(seconds=30))

        with pytest.raises(NoAvailableConnection) as caught:
            execute("hi", provider="openai")
        assert caught.value.reasons[0].reason.startswith("circuit open until")
        assert 25 <= caught.value.retry_after_seconds <= 30

        # Half-open: one trial; it fails, so the circuit re-opens for twice as long.
        expire_cooldown(conn.id)
        simulator.program(api_key, ["server-error"])
        with pytest.raises(ExecutionFailed):
            execute("hi", provider="openai")
        state = fresh(conn.id)
        assert state.circuit_open_count == 2 and state.trial_started_at is None
        assert close_to(state.cooldown_until, utcnow() + timedelta(seconds=60))

        # The next trial succeeds and closes the circuit.
        expire_cooldown(conn.id)
        result = execute("hi", provider="openai")
        assert result.connection_id == conn.id
        state = fresh(conn.id)
        assert (state.consecutive_failures, state.circuit_open_count) == (0, 0)
        assert state.cooldown_until is None and state.cooldown_reason is None
        assert state.trial_started_at is None


def test_backoff_is_capped(app):
    app.config.update(CIRCUIT_BREAKER_BASE_SECONDS=30, CIRCUIT_BREAKER_MAX_SECONDS=100)
    with app.app_context():
        now = utcnow()
        table, longest = health.circuit_backoffs(now)
        assert [int((t - now).total_seconds()) for _, t in table] == [30, 60, 100]
        assert longest == now + timedelta(seconds=100)


def test_threshold_is_configurable(app, sim):
    app.config["CIRCUIT_BREAKER_THRESHOLD"] = 1
    with app.app_context():
        conn = sim.connection(sim.provider(), scenario="server-error")
        with pytest.raises(ExecutionFailed):
            execute("hi", provider="openai")
        assert fresh(conn.id).cooldown_reason == "circuit_open"


def test_running_trial_is_skipped_and_stale_trial_reclaimed(app, sim):
    with app.app_context():
        provider = sim.provider()
        conn = sim.connection(provider)
        db.session.execute(update(AiConnection).where(AiConnection.id == conn.id).values(
            cooldown_until=utcnow() - timedelta(seconds=1), cooldown_reason="circuit_open",
            consecutive_failures=3, circuit_open_count=1, trial_started_at=utcnow()))
        db.session.commit()
        with pytest.raises(NoAvailableConnection) as caught:
            execute("hi", provider="openai")
        assert "trial request is running" in caught.value.reasons[0].reason
        assert caught.value.retry_after_seconds is not None

        db.session.execute(update(AiConnection).where(AiConnection.id == conn.id).values(
            trial_started_at=utcnow() - timedelta(seconds=600)))
        db.session.commit()
        assert execute("hi", provider="openai").connection_id == conn.id


def test_only_one_process_claims_the_trial(any_app, sim):
    with any_app.app_context():
        conn = sim.connection(sim.provider())
        db.session.execute(update(AiConnection).where(AiConnection.id == conn.id).values(
            cooldown_until=utcnow() - timedelta(seconds=1), cooldown_reason="circuit_open"))
        db.session.commit()
        conn_id = conn.id
    wins, barrier = [], threading.Barrier(8)

    def claim():
        with any_app.app_context():
            from webapp.services.transactions import write_transaction

            barrier.wait()
            with write_transaction():
                won = rotation.claim_trial(conn_id, utcnow(), timedelta(seconds=120))
            wins.append(won)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_no_available_connection_lists_every_reason(app, sim):
    with app.app_context():
        provider = sim.provider()
        disabled = sim.connection(provider, name="off", status="disabled",
                                  disabled_reason="authentication failed: bad key")
        sim.connection(provider, name="paused", status="inactive")
        cooling = sim.connection(provider, name="cool")
        limited = sim.connection(provider, name="full", rate_limit_per_minute=0)
        db.session.execute(update(AiConnection).where(AiConnection.id == cooling.id).values(
            cooldown_until=utcnow() + timedelta(seconds=20), cooldown_reason="rate_limited"))
        db.session.commit()
        with pytest.raises(NoAvailableConnection) as caught:
            execute("hi", provider="openai")
        reasons = {r.connection_name: r.reason for r in caught.value.reasons}
        assert reasons["off"] == "disabled: authentication failed: bad key"
        assert reasons["paused"] == "inactive"
        assert reasons["cool"].startswith("cooling down until") and "(rate_limited)" in reasons["cool"]
        assert reasons["full"].startswith("minute limit reached")
        assert caught.value.retry_after_seconds is None  # some never come back by themselves
        assert "off: disabled" in caught.value.message
        assert usage_rows() == []

        # Only waiting connections: the error says when to come back.
        db.session.delete(db.session.get(AiConnection, disabled.id))
        db.session.execute(update(AiConnection).where(AiConnection.name == "paused")
                           .values(status="active", rate_limit_per_day=0))
        db.session.commit()
        with pytest.raises(NoAvailableConnection) as caught:
            execute("hi", provider="openai")
        assert 0 <= caught.value.retry_after_seconds <= 60
        assert caught.value.status == 429
        assert limited.id


def test_inactive_provider(app, sim):
    with app.app_context():
        provider = sim.provider(status="inactive")
        sim.connection(provider)
        with pytest.raises(NoAvailableConnection) as caught:
            execute("hi", provider="openai")
        assert caught.value.reasons[0].reason == "provider is inactive"
        assert caught.value.retry_after_seconds is None
