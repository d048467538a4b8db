"""Streaming through the gateway: OpenAI chunks passed through, Gemini translated, usage kept."""

from __future__ import annotations

import json
import time

import requests

from tests.gateway.conftest import usage_for_key

MESSAGES = [{"role": "user", "content": "stream this answer please"}]


def _wait_for_usage(app, key_id, count=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = usage_for_key(app, key_id)
        if len(rows) >= count:
            return rows
        time.sleep(0.05)
    return usage_for_key(app, key_id)


def test_stream_with_include_usage(app, openai_provider, make_key, openai_client):
    key_id, raw = make_key("chat-ui")
    client = openai_client(raw)
    with client.chat.completions.with_streaming_response.create(
            model="sim", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        assert response.headers["x-acm-connection"] == "good"
        assert response.headers["x-acm-attempts"] == "1"
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "stream this answer please" in text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1] and not chunks[-1].choices
    assert usage_chunks[0].usage.completion_tokens > 0

    rows = _wait_for_usage(app, key_id)
    assert len(rows) == 1 and rows[0].success and rows[0].feature == "chat-ui"
    assert rows[0].completion_tokens == usage_chunks[0].usage.completion_tokens


def test_stream_without_include_usage_sends_no_usage_chunk(app, openai_provider, make_key,
                                                           live_server):
    key_id, raw = make_key()
    response = requests.post(live_server.v1 + "/chat/completions", stream=True, timeout=20,
                             headers={"Authorization": f"Bearer {raw}"},
                             json={"model": "sim", "messages": MESSAGES, "stream": True})
    assert response.status_code == 200
    lines = [line for line in response.iter_lines(decode_unicode=True) if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert chunks and all(c["choices"] for c in chunks)
    assert all("usage" not in c for c in chunks)
    rows = _wait_for_usage(app, key_id)
    assert rows[0].success and rows[0].completion_tokens  # recorded even when not sent


def test_stream_failover_before_the_first_byte(app, make_provider, make_connection, make_key,
                                                openai_client, simulator):
    with app.app_context():
        provider = make_provider(slug="pool", adapter_kind="openai")
        make_connection(provider, name="broken", api_key="sk-sim-server-error-0003",
                        model="gpt-4o-mini", base_url=simulator.openai_url, priority=1)
        make_connection(provider, name="healthy", api_key="sk-sim-ok-0000000004",
                        model="gpt-4o-mini", base_url=simulator.openai_url, priority=2)
    key_id, raw = make_key()
    with openai_client(raw).chat.completions.with_streaming_response.create(
            model="pool", messages=MESSAGES, stream=True) as response:
        assert response.headers["x-acm-attempts"] == "2"
        assert response.headers["x-acm-connection"] == "healthy"
        text = "".join(c.choices[0].delta.content or "" for c in response.parse() if c.choices)
    assert "stream this answer please" in text
    rows = _wait_for_usage(app, key_id, count=2)
    assert [(r.connection_name, r.success) for r in rows] == [("broken", False), ("healthy", True)]


def test_gemini_stream_is_translated_to_openai_chunks(app, make_provider, make_connection,
                                                      make_key, openai_client, simulator):
    with app.app_context():
        gem = make_provider(slug="gem", adapter_kind="gemini")
        make_connection(gem, name="g1", api_key="AIza-sim-ok-000000001",
                        model="gemini-2.5-flash", base_url=simulator.gemini_url)
    key_id, raw = make_key()
    stream = openai_client(raw).chat.completions.create(
        model="gem/gemini-2.5-flash", messages=MESSAGES, stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "stream this answer please" in text
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    sent = [r for r in simulator.requests() if "streamGenerateContent" in r.get("path", "")]
    assert sent and sent[-1]["query"].get("alt") in ("sse", ["sse"])
    rows = _wait_for_usage(app, key_id)
    assert rows[0].success and rows[0].model == "gemini-2.5-flash"


def _openrouter(app, make_provider, make_connection, simulator, api_key):
    with app.app_context():
        router = make_provider(slug="router", adapter_kind="openrouter")
        make_connection(router, name="or1", api_key=api_key, model="openai/gpt-4o-mini",
                        base_url=simulator.openrouter_url)


def test_openrouter_stream_skips_keep_alive_comments(app, make_provider, make_connection,
                                                      make_key, live_server, simulator):
    _openrouter(app, make_provider, make_connection, simulator, "sk-or-v1-sim-ok-000000000001")
    _, raw = make_key()
    response = requests.post(live_server.v1 + "/chat/completions", stream=True, timeout=20,
                             headers={"Authorization": f"Bearer {raw}"},
                             json={"model": "router", "messages": MESSAGES, "stream": True})
    lines = [line for line in response.iter_lines(decode_unicode=True) if line]
    assert all(line.startswith("data: ") for line in lines)  # no ": OPENROUTER PROCESSING"
    assert lines[-1] == "data: [DONE]"


def test_mid_stream_error_becomes_an_openai_error_event(app, make_provider, make_connection,
                                                        make_key, openai_client, simulator):
    import openai

    _openrouter(app, make_provider, make_connection, simulator, "sk-or-v1-sim-error-in-200-0001")
    key_id, raw = make_key()
    received = []
    try:
        for chunk in openai_client(raw).chat.completions.create(
                model="router", messages=MESSAGES, stream=True):
            received.append(chunk)
    except openai.APIError as exc:
        assert "upstream reset" in exc.message
    else:
        raise AssertionError("the client should have raised on the error event")
    assert received  # the text before the error was delivered; no failover after the first byte
    rows = _wait_for_usage(app, key_id)
    assert len(rows) == 1 and not rows[0].success and rows[0].error_class
