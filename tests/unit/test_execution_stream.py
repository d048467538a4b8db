"""execute_stream(): failover before the first chunk, usage recorded exactly once."""
# ruff: noqa: F811  (pytest fixtures imported from execution_support)

from __future__ import annotations

import pytest

from tests.unit.execution_support import fresh, key, sim, usage_rows  # noqa: F401
from webapp.adapters.base import ProviderError
from webapp.services.errors import InvalidInput, NoAvailableConnection
from webapp.services.execution import execute_stream

HELLO = [{"role": "user", "content": "stream these five words"}]


def test_stream_fails_over_before_the_first_chunk(any_app, sim):
    with any_app.app_context():
        provider = sim.provider()
        broken = sim.connection(provider, name="broken", scenario="server-error", priority=1)
        good = sim.connection(provider, name="good", priority=2)
        stream = execute_stream(HELLO, provider="openai", feature="chat")
        assert stream.connection_id == good.id and stream.connection_name == "good"
        assert [a.error_class for a in stream.attempts] == ["unavailable"]
        rows = usage_rows()
        assert [(r.connection_id, r.success) for r in rows] == [(broken.id, False)]

        chunks = list(stream)
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        assert text == "Echo: stream these five words"
        assert stream.finish_reason == "stop"
        assert (stream.prompt_tokens, stream.completion_tokens) == (7, 5)
        assert stream.total_tokens == 12 and stream.priced and stream.cost is not None
        assert [a.error_class for a in stream.attempts] == ["unavailable", None]
        stream.close()
        list(stream)
        rows = usage_rows()
        assert [(r.connection_id, r.success) for r in rows] == [(broken.id, False), (good.id, True)]
        assert rows[1].tokens_used == 12 and rows[1].request_id == stream.request_id
        assert rows[1].feature == "chat"
        assert fresh(good.id).success_count == 1


def test_closing_early_records_once(app, sim):
    with app.app_context():
        conn = sim.connection(sim.provider())
        stream = execute_stream(HELLO, provider="openai")
        iterator = iter(stream)
        next(iterator)
        stream.close()
        stream.close()
        [row] = usage_rows()
        assert row.success is True and row.error_message == "closed before the end of the stream"
        assert fresh(conn.id).success_count == 1


def test_closing_unread_stream_records_once(app, sim):
    with app.app_context():
        sim.connection(sim.provider())
        with execute_stream(HELLO, provider="openai"):
            pass
        assert len(usage_rows()) == 1


def test_mid_stream_error_is_recorded_and_raised(app, sim):
    with app.app_context():
        provider = sim.provider(slug="router", kind="openrouter")
        conn = sim.connection(provider, scenario="error-in-200", model="openai/gpt-4o-mini")
        stream = execute_stream(HELLO, provider="router")
        with pytest.raises(ProviderError) as caught:
            list(stream)
        assert caught.value.error_class == "unavailable"
        [row] = usage_rows()
        assert row.success is False and row.error_class == "unavailable"
        state = fresh(conn.id)
        assert state.error_count == 1 and state.consecutive_failures == 1


def test_stream_errors_before_opening(app, sim):
    with app.app_context():
        sim.connection(sim.provider(), scenario="bad-key")
        with pytest.raises(InvalidInput):
            execute_stream([], provider="openai")
        from webapp.services.errors import ExecutionFailed

        with pytest.raises(ExecutionFailed):
            execute_stream(HELLO, provider="openai")
        with pytest.raises(NoAvailableConnection):
            execute_stream(HELLO, provider="openai")
