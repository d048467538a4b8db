"""flask execute and flask connections test, against the simulator."""
# ruff: noqa: F811  (pytest fixtures imported from execution_support)

from __future__ import annotations

import json

from tests.unit.execution_support import fresh, key, sim, usage_rows  # noqa: F401


def test_execute_json(app, runner, sim):
    with app.app_context():
        provider = sim.provider()
        sim.connection(provider, name="broken", scenario="server-error", priority=1)
        sim.connection(provider, name="good", priority=2)
    result = runner.invoke(args=["execute", "--provider", "openai", "--feature", "cli", "--json",
                                 "hello there world"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["text"] == "Echo: hello there world"
    assert data["connection"] == "good" and data["provider"] == "openai"
    assert data["model"] == "gpt-4o-mini-2024-07-18"
    assert data["usage"] == {"prompt_tokens": 6, "completion_tokens": 4, "total_tokens": 10}
    assert data["cost"] == "0.0000033000" and data["priced"] is True
    assert len(data["request_id"]) == 32 and isinstance(data["latency_ms"], int)
    assert [(a["connection"], a["error_class"]) for a in data["attempts"]] == [
        ("broken", "unavailable"), ("good", None)]
    assert set(data["attempts"][0]) == {"connection", "error_class", "response_time_ms", "message"}
    with app.app_context():
        assert {row.feature for row in usage_rows()} == {"cli"}


def test_execute_text_with_options(app, runner, sim):
    with app.app_context():
        sim.connection(sim.provider(), model="my-local-model")
    result = runner.invoke(args=["execute", "--provider", "openai", "--model", "gpt-4o",
                                 "--max-tokens", "2", "--connection", "primary", "one two three"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Echo: one\n")
    assert "connection primary (openai) · model gpt-4o" in result.output
    assert "#1 primary ok" in result.output


def test_execute_failures_are_one_line_errors(app, runner, sim):
    with app.app_context():
        sim.connection(sim.provider(), scenario="server-error")
    result = runner.invoke(args=["execute", "--provider", "openai", "hi"])
    assert result.exit_code == 1
    assert "Error: all 1 attempt(s) failed" in result.output
    assert "Traceback" not in result.output

    result = runner.invoke(args=["execute", "--provider", "nope", "hi"])
    assert result.exit_code == 1 and "unknown provider 'nope'" in result.output

    result = runner.invoke(args=["execute", "--provider", "openai", "--json", "  "])
    assert result.exit_code == 1
    assert json.loads(result.output.splitlines()[0])["error"] == "prompt: the prompt is empty"

    result = runner.invoke(args=["execute", "--provider", "openai", "--temperature", "9", "hi"])
    assert result.exit_code == 2 and "temperature" in result.output


def test_connections_test_table_and_exit_code(app, runner, sim):
    with app.app_context():
        provider = sim.provider()
        good = sim.connection(provider, name="good")
        bad_key = key("bad-key")
        bad = sim.connection(provider, name="bad", api_key=bad_key)
        good_id, bad_id = good.id, bad.id
    result = runner.invoke(args=["connections", "test", str(good_id)])
    assert result.exit_code == 0, result.output
    assert "good" in result.output and "ok" in result.output and "6 model(s)" in result.output
    assert "1 passed, 0 failed." in result.output
    with app.app_context():
        state = fresh(good_id)
        assert state.last_test_ok is True and state.last_test_latency_ms is not None
        assert state.last_test_message.startswith("OK: 6 model(s)")

    result = runner.invoke(args=["connections", "test", "--all"])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "auth: HTTP 401" in result.output
    assert bad_key not in result.output
    assert "1 passed, 1 failed." in result.output
    with app.app_context():
        state = fresh(bad_id)
        assert state.last_test_ok is False and bad_key not in state.last_test_message
        assert state.status == "active"  # a test does not change the rotation

    result = runner.invoke(args=["connections", "test", "--completion", "--provider", "openai"])
    assert result.exit_code == 1 and "gpt-4o-mini" in result.output


def test_connections_test_bad_arguments(app, runner, sim):
    result = runner.invoke(args=["connections", "test"])
    assert result.exit_code == 2 and "give connection IDs" in result.output
    result = runner.invoke(args=["connections", "test", "4242"])
    assert result.exit_code == 1 and "no connection with id 4242" in result.output
    result = runner.invoke(args=["connections", "test", "abc"])
    assert result.exit_code == 2
    result = runner.invoke(args=["connections", "test", "--provider", "nope"])
    assert result.exit_code == 1 and "unknown provider" in result.output


def test_testing_service_handles_undecryptable_credentials(app, sim):
    from webapp.extensions import db
    from webapp.services.testing import test_connection

    with app.app_context():
        conn = sim.connection(sim.provider())
        conn.credentials = "garbage"
        db.session.commit()
        result = test_connection(conn.id)
        assert not result.ok and result.error_class == "credentials"
        assert fresh(conn.id).last_test_ok is False
