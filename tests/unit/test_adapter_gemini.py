"""Gemini adapter against the provider simulator (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import uuid

import pytest

from webapp.adapters import ErrorClass, ProviderError, SimpleConnection, get_adapter
from webapp.adapters.gemini import map_finish_reason, to_gemini_contents
from webapp.simulator import fingerprint

adapter = get_adapter("gemini")
HELLO = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there world"}]


def unique_key(scenario: str = "ok") -> str:
    return f"AIza-sim-{scenario}-{uuid.uuid4().hex}"


def conn(simulator, key=None, *, model="gemini-2.5-flash", **settings):
    settings.setdefault("timeout_s", 2)
    return SimpleConnection(api_key=key or unique_key(), base_url=simulator.gemini_url, model=model,
                            settings=settings)


def requests_for(simulator, key):
    return [r for r in simulator.requests() if r["key_fingerprint"] == fingerprint(key)]


def test_execute_joins_parts_and_counts_thoughts(simulator):
    c = conn(simulator)
    result = adapter.execute(c, HELLO, {"max_tokens": 50})
    assert result.text == "Echo: hello there world"  # the simulator splits it into two parts
    assert result.finish_reason == "stop"
    assert result.model == "gemini-2.5-flash"
    assert result.prompt_tokens == 5
    assert result.completion_tokens == 4 + 2  # candidates + thoughts
    assert result.total_tokens == 11
    assert result.response_id


def test_request_shape_key_in_header_not_url(simulator):
    c = conn(simulator, model="models/gemini-2.5-flash", temperature=0.3)
    adapter.execute(c, HELLO + [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "again"}],
                    {"max_tokens": 9, "top_p": 0.8, "stop": "END"})
    [sent] = requests_for(simulator, c.api_key)
    assert sent["path"] == "/gemini/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent["key_in_query"] is False
    assert sent["headers"]["x-goog-api-key"] == fingerprint(c.api_key)
    body = sent["json"]
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert [m["role"] for m in body["contents"]] == ["user", "model", "user"]
    assert body["generationConfig"] == {"temperature": 0.3, "maxOutputTokens": 9, "topP": 0.8,
                                        "stopSequences": ["END"]}


def test_max_tokens_maps_to_length():
    assert map_finish_reason("MAX_TOKENS") == "length"
    assert map_finish_reason("SAFETY") == "content_filter"
    assert map_finish_reason("STOP") == "stop"
    assert map_finish_reason(None) is None


def test_consecutive_user_messages_are_merged():
    system, contents = to_gemini_contents([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    assert system is None
    assert contents == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


@pytest.mark.parametrize(
    ("scenario", "error_class", "status", "retry_after", "scope"),
    [
        ("bad-key", ErrorClass.AUTH, 400, None, None),
        ("forbidden", ErrorClass.AUTH, 403, None, None),
        ("rate-limited", ErrorClass.RATE_LIMITED, 429, 12.0, "minute"),
        ("daily-quota", ErrorClass.QUOTA, 429, 48.0, "day"),
        ("model-missing", ErrorClass.MODEL_NOT_FOUND, 404, None, None),
        ("invalid-request", ErrorClass.INVALID_REQUEST, 400, None, None),
        ("server-error", ErrorClass.UNAVAILABLE, 500, None, None),
        ("overloaded", ErrorClass.UNAVAILABLE, 503, None, None),
        ("garbage", ErrorClass.UNAVAILABLE, 200, None, None),
        ("error-in-200", ErrorClass.UNAVAILABLE, 500, None, None),
        ("filtered", ErrorClass.CONTENT_FILTERED, 200, None, None),
        ("prompt-blocked", ErrorClass.CONTENT_FILTERED, 200, None, None),
        ("drop", ErrorClass.UNAVAILABLE, None, None, None),
    ],
)
def test_error_scenarios_are_classified(simulator, scenario, error_class, status, retry_after, scope):
    with pytest.raises(ProviderError) as err:
        adapter.execute(conn(simulator, unique_key(scenario)), HELLO, {})
    assert err.value.error_class == error_class
    assert err.value.status == status
    assert err.value.retry_after == retry_after
    assert err.value.quota_scope == scope


def test_missing_key_is_auth(simulator):
    c = SimpleConnection(api_key="", base_url=simulator.gemini_url, model="gemini-2.5-flash")
    with pytest.raises(ProviderError) as err:
        adapter.execute(c, HELLO, {})
    assert (err.value.error_class, err.value.status) == (ErrorClass.AUTH, 403)


def test_bad_key_is_redacted(simulator):
    key = unique_key("bad-key")
    with pytest.raises(ProviderError) as err:
        adapter.execute(conn(simulator, key), HELLO, {})
    assert "API key not valid" in err.value.message
    assert key not in err.value.message


def test_slow_answer_times_out(simulator):
    c = conn(simulator, unique_key("slow"), timeout_s=0.3, extra_headers={"X-Sim-Delay-Ms": "1500"})
    with pytest.raises(ProviderError) as err:
        adapter.execute(c, HELLO, {})
    assert err.value.error_class == ErrorClass.UNAVAILABLE


def test_list_models_paginates_and_keeps_generate_content(simulator):
    c = conn(simulator)
    models = adapter.list_models(c)
    ids = [m.id for m in models]
    assert ids == ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash", "gemini-2.0-flash-lite",
                   "gemini-1.5-flash", "gemini-1.5-pro", "gemma-3-27b-it"]
    assert models[0].name == "Gemini 2.5 Flash" and models[0].context_length == 1048576
    pages = [r for r in requests_for(simulator, c.api_key) if r["path"].endswith("/models")]
    assert len(pages) == 3
    assert "pageToken" not in pages[0]["query"] and pages[1]["query"]["pageToken"] == ["5"]


def test_test_ok_and_failed(simulator):
    assert adapter.test(conn(simulator)).ok
    result = adapter.test(conn(simulator, unique_key("bad-key")))
    assert (result.ok, result.error_class, result.status) == (False, ErrorClass.AUTH, 400)
    result = adapter.test(conn(simulator, unique_key("daily-quota")), completion=True)
    assert (result.ok, result.error_class) == (False, ErrorClass.QUOTA)


def test_stream_translates_to_openai_chunks(simulator):
    c = conn(simulator)
    stream = adapter.stream(c, HELLO, {})
    chunks = list(stream)
    assert all(ch["object"] == "chat.completion.chunk" and ch["id"].startswith("chatcmpl-") for ch in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}
    assert stream.text == "Echo: hello there world"
    assert stream.finish_reason == "stop"
    assert stream.total_tokens == 11
    [sent] = requests_for(simulator, c.api_key)
    assert sent["path"].endswith("/models/gemini-2.5-flash:streamGenerateContent")
    assert sent["query"] == {"alt": ["sse"]}


def test_stream_safety_becomes_content_filter(simulator):
    stream = adapter.stream(conn(simulator, unique_key("filtered")), HELLO, {})
    list(stream)
    assert stream.finish_reason == "content_filter"


@pytest.mark.parametrize(("scenario", "error_class"), [
    ("rate-limited", ErrorClass.RATE_LIMITED), ("bad-key", ErrorClass.AUTH), ("overloaded", ErrorClass.UNAVAILABLE),
])
def test_stream_error_raises_at_stream_time(simulator, scenario, error_class):
    with pytest.raises(ProviderError) as err:
        adapter.stream(conn(simulator, unique_key(scenario)), HELLO, {})
    assert err.value.error_class == error_class


def test_estimate_cost_uses_table():
    cost = adapter.estimate_cost(1_000_000, 1_000_000, "models/gemini-2.5-flash")
    assert str(cost) == "2.8000000000"
    assert adapter.estimate_cost(10, 10, "gemini-unknown") is None
