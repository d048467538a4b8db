"""execute(): answers, usage rows, cost, failover and the attempt trail (simulator over HTTP)."""
# ruff: noqa: F811  (pytest fixtures imported from execution_support)

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.execution_support import fresh, key, sim, usage_rows  # noqa: F401
from webapp.extensions import db
from webapp.models import AiProviderModel
from webapp.services import rotation
from webapp.services.errors import (
    ExecutionFailed,
    InvalidInput,
    NoAvailableConnection,
    RequestRejected,
    UnknownConnection,
    UnknownProvider,
)
from webapp.services.execution import execute


def test_answer_tokens_cost_and_usage_row(any_app, sim):
    with any_app.app_context():
        provider = sim.provider()
        conn = sim.connection(provider)
        result = execute("hello there world", provider="openai", feature="chat")
        assert result.text == "Echo: hello there world"
        assert result.finish_reason == "stop"
        assert result.model == "gpt-4o-mini-2024-07-18"
        assert (result.prompt_tokens, result.completion_tokens, result.total_tokens) == (6, 4, 10)
        # gpt-4o-mini: $0.15 / $0.60 per 1M tokens in the shipped table
        assert result.cost == Decimal("0.0000033000")
        assert result.priced is True
        assert result.connection_id == conn.id and result.connection_name == "primary"
        assert result.provider_slug == "openai"
        assert len(result.request_id) == 32 and result.latency_ms >= 0
        assert [(a.connection_name, a.error_class) for a in result.attempts] == [("primary", None)]

        [row] = usage_rows(request_id=result.request_id)
        assert row.success is True and row.attempt == 1 and row.feature == "chat"
        assert row.model == "gpt-4o-mini-2024-07-18"
        assert (row.prompt_tokens, row.completion_tokens, row.tokens_used) == (6, 4, 10)
        assert row.cost == Decimal("0.0000033000")
        assert row.connection_name == "primary" and row.provider_id == provider.id
        state = fresh(conn.id)
        assert state.success_count == 1 and state.error_count == 0 and state.last_used_at


def test_unpriced_model_gives_no_cost(app, sim):
    with app.app_context():
        provider = sim.provider()
        sim.connection(provider, model="my-local-llama")
        result = execute("hi", provider=provider)
        assert result.cost is None and result.priced is False
        assert usage_rows()[0].cost is None


def test_connection_price_override_and_catalog(app, sim):
    with app.app_context():
        provider = sim.provider(slug="router", kind="openrouter")
        conn = sim.connection(provider, model="openai/gpt-4o-mini")
        # OpenRouter sends its own cost figure: it wins over any price.
        result = execute("one two three", provider=provider)
        assert result.cost is not None and result.priced
        assert usage_rows()[-1].cost == result.cost

        local = sim.provider(slug="local")
        sim.connection(local, name="a", model="house-model",
                       settings={"pricing": {"input": "1", "output": "2"}})
        result = execute("one two three", provider=local)
        assert result.cost == Decimal(result.prompt_tokens * 1 + result.completion_tokens * 2) / 10**6

        db.session.add(AiProviderModel(provider_id=local.id, model_id="catalog-model",
                                       input_price_per_m=Decimal("10"), output_price_per_m=Decimal("20")))
        db.session.commit()
        sim.connection(local, name="b", model="catalog-model", priority=1)
        result = execute("one two three", provider=local, connection="b")
        assert result.cost == (Decimal(result.prompt_tokens * 10 + result.completion_tokens * 20)
                               / 10**6).quantize(Decimal("0.0000000001"))
        assert conn.id


def test_failover_records_every_attempt(any_app, sim):
    with any_app.app_context():
        provider = sim.provider()
        broken = sim.connection(provider, name="broken", scenario="server-error", priority=1)
        good = sim.connection(provider, name="good", priority=2)
        result = execute("hello", provider="openai")
        assert result.connection_name == "good"
        trail = [(a.attempt, a.connection_name, a.error_class) for a in result.attempts]
        assert trail == [(1, "broken", "unavailable"), (2, "good", None)]
        assert "HTTP 500" in result.attempts[0].message
        rows = usage_rows(request_id=result.request_id)
        assert [(r.attempt, r.connection_id, r.success, r.error_class) for r in rows] == [
            (1, broken.id, False, "unavailable"), (2, good.id, True, None)]
        state = fresh(broken.id)
        assert (state.error_count, state.consecutive_failures) == (1, 1)
        assert state.last_error_class == "unavailable"


def test_invalid_request_does_not_rotate_or_hurt_health(app, sim):
    with app.app_context():
        provider = sim.provider()
        first = sim.connection(provider, name="first", scenario="invalid-request", priority=1)
        sim.connection(provider, name="second", priority=2)
        with pytest.raises(RequestRejected) as caught:
            execute("too long", provider="openai")
        assert caught.value.error_class == "invalid_request"
        assert [a.connection_name for a in caught.value.attempts] == ["first"]
        [row] = usage_rows()
        assert row.success is False and row.error_class == "invalid_request"
        state = fresh(first.id)
        assert state.status == "active" and state.consecutive_failures == 0
        assert state.error_count == 0 and state.cooldown_until is None


def test_content_filter_is_rejected_without_rotation(app, sim):
    with app.app_context():
        provider = sim.provider()
        sim.connection(provider, name="first", scenario="filtered", priority=1)
        sim.connection(provider, name="second", priority=2)
        with pytest.raises(RequestRejected) as caught:
            execute("something", provider="openai")
        assert caught.value.error_class == "content_filtered"
        assert len(usage_rows()) == 1


def test_auth_failure_disables_with_redacted_reason(app, sim):
    with app.app_context():
        provider = sim.provider()
        secret = key("bad-key")
        bad = sim.connection(provider, name="bad", api_key=secret, priority=1)
        sim.connection(provider, name="good", priority=2)
        result = execute("hi", provider="openai")
        assert result.connection_name == "good"
        state = fresh(bad.id)
        assert state.status == "disabled"
        assert state.disabled_reason.startswith("authentication failed: HTTP 401")
        assert secret not in state.disabled_reason and secret not in (state.last_error or "")
        for row in usage_rows():
            assert secret not in (row.error_message or "")
        assert secret not in result.attempts[0].message
        # A disabled connection gets no more traffic, even when asked for, and says why.
        again = execute("hi", provider="openai", connection="bad")
        assert again.connection_name == "good"
        assert again.skipped[0].connection_name == "bad"
        assert again.skipped[0].reason.startswith("disabled: authentication failed")


def test_model_not_found_disables_unless_the_caller_chose_the_model(app, sim):
    with app.app_context():
        provider = sim.provider()
        conn = sim.connection(provider, model="gpt-nonexistent")
        with pytest.raises(ExecutionFailed):
            execute("hi", provider="openai", options={"model": "gpt-nonexistent-2"})
        assert fresh(conn.id).status == "active"
        with pytest.raises(ExecutionFailed) as caught:
            execute("hi", provider="openai")
        assert caught.value.attempts[0].error_class == "model_not_found"
        state = fresh(conn.id)
        assert state.status == "disabled"
        assert "gpt-nonexistent" in state.disabled_reason


def test_unknown_provider_and_connection(app, sim):
    with app.app_context():
        provider = sim.provider()
        other = sim.provider(slug="other")
        foreign = sim.connection(other, name="foreign")
        sim.connection(provider)
        with pytest.raises(UnknownProvider):
            execute("hi", provider="nope")
        with pytest.raises(UnknownConnection):
            execute("hi", provider="openai", connection="missing")
        with pytest.raises(UnknownConnection):
            execute("hi", provider="openai", connection=foreign.id)
        with pytest.raises(UnknownConnection):
            execute("hi", connection=987654)
        # A connection id alone selects its provider.
        assert execute("hi", connection=foreign.id).provider_slug == "other"


@pytest.mark.parametrize("args, kwargs", [
    (("",), {}),
    (("   ",), {}),
    (([],), {}),
    (([{"role": "user"}],), {}),
    (([{"role": "wizard", "content": "x"}],), {}),
    (([{"role": "user", "content": 5}],), {}),
    (("hi",), {"options": {"temperature": "hot"}}),
    (("hi",), {"options": {"temperature": 2.5}}),
    (("hi",), {"options": {"temperature": True}}),
    (("hi",), {"options": {"max_tokens": "10"}}),
    (("hi",), {"options": {"max_tokens": 0}}),
    (("hi",), {"options": {"max_tokens": 1.5}}),
    (("hi",), {"options": {"top_p": 3}}),
    (("hi",), {"options": {"stop": 7}}),
    (("hi",), {"options": "fast"}),
    (("hi",), {"max_attempts": 0}),
    (("hi",), {"max_attempts": "3"}),
    ((None,), {}),
])
def test_bad_input_is_invalid_input(app, sim, args, kwargs):
    with app.app_context():
        sim.connection(sim.provider())
        with pytest.raises(InvalidInput) as caught:
            execute(*args, provider="openai", **kwargs)
        assert caught.value.message
        assert usage_rows() == []


def test_options_reach_the_provider(app, sim, simulator):
    with app.app_context():
        api_key = key()
        sim.connection(sim.provider(), api_key=api_key)
        result = execute([{"role": "system", "content": "Be brief."},
                          {"role": "user", "content": "one two three four five"}],
                         provider="openai",
                         options={"temperature": 0.5, "max_tokens": 3, "top_p": 0.9, "stop": ["x"],
                                  "model": "gpt-4o"})
        assert result.finish_reason == "length" and result.model == "gpt-4o"
        from webapp.simulator import fingerprint

        [sent] = [r for r in simulator.requests() if r["key_fingerprint"] == fingerprint(api_key)]
        body = sent["json"]
        assert body["temperature"] == 0.5 and body["top_p"] == 0.9 and body["stop"] == ["x"]
        assert body["max_completion_tokens"] == 3 and body["model"] == "gpt-4o"


def test_undecryptable_credentials_are_skipped_with_reason(app, sim):
    with app.app_context():
        provider = sim.provider()
        broken = sim.connection(provider, name="broken", priority=1)
        sim.connection(provider, name="good", priority=2)
        broken.credentials = "not-a-fernet-token"
        db.session.commit()
        result = execute("hi", provider="openai")
        assert result.connection_name == "good"
        assert [a.connection_name for a in result.attempts] == ["good"]
        [skip] = result.skipped
        assert skip.connection_name == "broken" and "cannot be decrypted" in skip.reason

        broken_only = sim.provider(slug="solo")
        lone = sim.connection(broken_only, name="lone")
        lone.credentials = "garbage"
        db.session.commit()
        with pytest.raises(NoAvailableConnection) as caught:
            execute("hi", provider="solo")
        assert "cannot be decrypted" in caught.value.reasons[0].reason
        assert caught.value.retry_after_seconds is None


def test_max_attempts_limits_the_trail(app, sim):
    with app.app_context():
        provider = sim.provider()
        for n in range(4):
            sim.connection(provider, name=f"down{n}", scenario="server-error", priority=n)
        with pytest.raises(ExecutionFailed) as caught:
            execute("hi", provider="openai", max_attempts=2)
        assert [a.connection_name for a in caught.value.attempts] == ["down0", "down1"]
        assert "down0" in caught.value.message and "unavailable" in caught.value.message
        with pytest.raises(ExecutionFailed) as caught:
            execute("hi", provider="openai")  # EXECUTE_MAX_ATTEMPTS defaults to 3
        assert len(caught.value.attempts) == 3


def test_rotation_rng_is_seedable():
    rotation.rng.seed(1)
    assert 0 <= rotation.rng.random() < 1
