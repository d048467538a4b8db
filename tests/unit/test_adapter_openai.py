"""OpenAI adapter against the provider simulator (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import time
import uuid

import pytest

from webapp.adapters import ErrorClass, ProviderError, SimpleConnection, get_adapter
from webapp.adapters import http as adapter_http
from webapp.simulator import fingerprint

adapter = get_adapter("openai")
HELLO = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there world"}]


def unique_key(scenario: str = "ok") -> str:
    return f"sk-sim-{scenario}-{uuid.uuid4().hex}"


def conn(simulator, key=None, *, model="gpt-4o-mini", conn_id=None, **settings):
    settings.setdefault("timeout_s", 2)
    return SimpleConnection(api_key=key or unique_key(), base_url=simulator.openai_url, model=model,
                            id=conn_id, settings=settings)


def requests_for(simulator, key):
    return [r for r in simulator.requests() if r["key_fingerprint"] == fingerprint(key)]


def test_execute_returns_text_tokens_and_finish_reason(simulator):
    c = conn(simulator)
    result = adapter.execute(c, HELLO, {"max_tokens": 50, "temperature": 0.2})
    assert result.text == "Echo: hello there world"
    assert result.finish_reason == "stop"
    assert result.model == "gpt-4o-mini-2024-07-18"
    assert (result.prompt_tokens, result.completion_tokens) == (11, 4)
    assert result.total_tokens == 15
    assert result.provider_cost is None
    assert result.response_id.startswith("chatcmpl-")
    assert adapter.estimate_cost(result.prompt_tokens, result.completion_tokens, result.model) is not None


def test_request_uses_max_completion_tokens_and_bearer_auth(simulator):
    c = conn(simulator, temperature=0.9, max_tokens=7, organization="org-sim", project="proj-sim")
    adapter.execute(c, HELLO, {"temperature": 0.1, "top_p": 0.5})
    [sent] = requests_for(simulator, c.api_key)
    assert sent["path"] == "/openai/v1/chat/completions"
    assert sent["json"]["max_completion_tokens"] == 7
    assert "max_tokens" not in sent["json"]
    assert sent["json"]["temperature"] == 0.1  # options override settings
    assert sent["json"]["top_p"] == 0.5
    assert sent["headers"]["Authorization"] == f"Bearer {fingerprint(c.api_key)}"
    assert sent["headers"]["OpenAI-Organization"] == "org-sim"
    assert sent["headers"]["OpenAI-Project"] == "proj-sim"


def test_credentials_organization_wins_and_model_option_overrides(simulator):
    c = conn(simulator)
    c.credentials = {"organization": "org-cred"}
    result = adapter.execute(c, HELLO, {"model": "gpt-4.1"})
    assert result.model == "gpt-4.1"
    [sent] = requests_for(simulator, c.api_key)
    assert sent["headers"]["OpenAI-Organization"] == "org-cred"


def test_max_tokens_truncates_with_length(simulator):
    result = adapter.execute(conn(simulator), HELLO, {"max_tokens": 2})
    assert result.finish_reason == "length"
    assert result.text == "Echo: hello"


def test_missing_model_is_invalid_request(simulator):
    with pytest.raises(ProviderError) as err:
        adapter.execute(conn(simulator, model=None), HELLO, {})
    assert err.value.error_class == ErrorClass.INVALID_REQUEST


@pytest.mark.parametrize(
    ("scenario", "error_class", "status", "retry_after"),
    [
        ("bad-key", ErrorClass.AUTH, 401, None),
        ("forbidden", ErrorClass.AUTH, 403, None),
        ("insufficient-quota", ErrorClass.QUOTA, 429, None),
        ("rate-limited", ErrorClass.RATE_LIMITED, 429, 1.5),  # retry-after-ms wins
        ("rate-limited-reset", ErrorClass.RATE_LIMITED, 429, 20.0),  # exhausted requests limit
        ("rate-limited-text", ErrorClass.RATE_LIMITED, 429, 0.644),  # "try again in 644ms"
        ("model-missing", ErrorClass.MODEL_NOT_FOUND, 404, None),
        ("invalid-request", ErrorClass.INVALID_REQUEST, 400, None),
        ("server-error", ErrorClass.UNAVAILABLE, 500, None),
        ("overloaded", ErrorClass.UNAVAILABLE, 503, None),
        ("garbage", ErrorClass.UNAVAILABLE, 200, None),
        ("error-in-200", ErrorClass.UNAVAILABLE, None, None),
        ("filtered", ErrorClass.CONTENT_FILTERED, 200, None),
        ("refusal", ErrorClass.CONTENT_FILTERED, 200, None),
    ],
)
def test_error_scenarios_are_classified(simulator, scenario, error_class, status, retry_after):
    with pytest.raises(ProviderError) as err:
        adapter.execute(conn(simulator, unique_key(scenario)), HELLO, {})
    assert err.value.error_class == error_class
    assert err.value.status == status
    assert err.value.retry_after == pytest.approx(retry_after) if retry_after else err.value.retry_after is None
    assert err.value.should_rotate == (error_class in ErrorClass.ROTATE)


def test_unsupported_max_tokens_is_invalid_request(simulator):
    # Newer models reject the deprecated parameter; passing it through explicitly shows the mapping.
    c = conn(simulator, model="o3-mini", max_tokens_param="max_tokens", max_tokens=5)
    with pytest.raises(ProviderError) as err:
        adapter.execute(c, HELLO, {})
    assert err.value.error_class == ErrorClass.INVALID_REQUEST
    assert "max_completion_tokens" in err.value.message


def test_slow_answer_times_out_as_unavailable(simulator):
    c = conn(simulator, unique_key("slow"), timeout_s=0.3, extra_headers={"X-Sim-Delay-Ms": "1500"})
    started = time.perf_counter()
    with pytest.raises(ProviderError) as err:
        adapter.execute(c, HELLO, {})
    assert err.value.error_class == ErrorClass.UNAVAILABLE
    assert "Timed out" in err.value.message
    assert time.perf_counter() - started < 1.2


def test_dropped_connection_is_unavailable(simulator):
    with pytest.raises(ProviderError) as err:
        adapter.execute(conn(simulator, unique_key("drop")), HELLO, {})
    assert err.value.error_class == ErrorClass.UNAVAILABLE


def test_connection_refused_is_unavailable():
    c = SimpleConnection(api_key="sk-sim-ok", base_url="http://127.0.0.1:9/v1", model="gpt-4o-mini",
                         settings={"connect_timeout_s": 0.5})
    with pytest.raises(ProviderError) as err:
        adapter.execute(c, HELLO, {})
    assert err.value.error_class == ErrorClass.UNAVAILABLE


def test_scenario_header_overrides_key(simulator):
    c = conn(simulator, extra_headers={"X-Sim-Scenario": "overloaded"})
    with pytest.raises(ProviderError) as err:
        adapter.execute(c, HELLO, {})
    assert err.value.status == 503


def test_programmed_responses_then_key_default(simulator):
    c = conn(simulator)
    simulator.program(c.api_key, ["server-error", "rate-limited", "ok"])
    classes = []
    for _ in range(4):
        try:
            adapter.execute(c, HELLO, {})
            classes.append("ok")
        except ProviderError as exc:
            classes.append(exc.error_class)
    assert classes == [ErrorClass.UNAVAILABLE, ErrorClass.RATE_LIMITED, "ok", "ok"]


def test_provider_error_text_never_contains_the_key(simulator):
    key = unique_key("bad-key")
    with pytest.raises(ProviderError) as err:
        adapter.execute(conn(simulator, key), HELLO, {})
    assert "Incorrect API key provided" in err.value.message
    assert key not in err.value.message
    assert key not in str(err.value) and key not in repr(err.value)
    assert key[-4:] in err.value.message  # the masked hint stays useful


def test_list_models_and_test(simulator):
    c = conn(simulator)
    assert "gpt-4o-mini" in [m.id for m in adapter.list_models(c)]
    result = adapter.test(c)
    assert result.ok and "gpt-4o" in result.models and result.error_class is None
    one_token = adapter.test(c, completion=True)
    assert one_token.ok and one_token.models == ["gpt-4o-mini-2024-07-18"]
    sent = requests_for(simulator, c.api_key)[-1]
    assert sent["json"]["max_completion_tokens"] == 1


def test_failed_test_returns_class_and_redacted_message(simulator):
    key = unique_key("bad-key")
    result = adapter.test(conn(simulator, key))
    assert not result.ok
    assert (result.error_class, result.status) == (ErrorClass.AUTH, 401)
    assert key not in result.message
    result = adapter.test(conn(simulator, unique_key("drop")), completion=True)
    assert not result.ok and result.error_class == ErrorClass.UNAVAILABLE


def test_stream_passes_chunks_through_and_reports_usage(simulator):
    c = conn(simulator)
    stream = adapter.stream(c, HELLO, {})
    chunks = list(stream)
    assert all(ch["object"] == "chat.completion.chunk" for ch in chunks)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 15
    assert stream.text == "Echo: hello there world"
    assert stream.finish_reason == "stop"
    assert (stream.prompt_tokens, stream.completion_tokens, stream.total_tokens) == (11, 4, 15)
    assert stream.done
    [sent] = requests_for(simulator, c.api_key)
    assert sent["json"]["stream"] is True
    assert sent["json"]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("scenario", "error_class"),
    [("bad-key", ErrorClass.AUTH), ("rate-limited", ErrorClass.RATE_LIMITED),
     ("server-error", ErrorClass.UNAVAILABLE), ("garbage", ErrorClass.UNAVAILABLE),
     ("drop", ErrorClass.UNAVAILABLE)],
)
def test_stream_errors_raise_before_the_first_chunk(simulator, scenario, error_class):
    with pytest.raises(ProviderError) as err:
        adapter.stream(conn(simulator, unique_key(scenario)), HELLO, {})
    assert err.value.error_class == error_class


def test_stream_with_content_filter_reports_finish_reason(simulator):
    stream = adapter.stream(conn(simulator, unique_key("filtered")), HELLO, {})
    list(stream)
    assert stream.finish_reason == "content_filter"


def test_session_is_reused_per_connection(simulator):
    adapter_http.pool.clear()
    c = conn(simulator, conn_id=4242)
    before = simulator.stats()["connections"]
    for _ in range(5):
        adapter.execute(c, HELLO, {})
    list(adapter.stream(c, HELLO, {}))
    assert simulator.stats()["connections"] - before == 1
    assert len(adapter_http.pool) == 1
    # A new key for the same connection gets a fresh session and the old one is dropped.
    c.api_key = unique_key()
    adapter.execute(c, HELLO, {})
    assert len(adapter_http.pool) == 1


def test_official_openai_client_parses_the_simulator(simulator):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=simulator.openai_url, api_key="sk-sim-ok", max_retries=0, timeout=5)
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_completion_tokens=20)
    assert answer.choices[0].message.content == "Echo: hello there world"
    assert answer.usage.total_tokens == 15
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True,
                                                 stream_options={"include_usage": True}))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "Echo: hello there world"
    assert chunks[-1].usage.completion_tokens == 4
    assert [m.id for m in client.models.list()][:2] == ["gpt-4o", "gpt-4o-mini"]
    bad = openai.OpenAI(base_url=simulator.openai_url, api_key="sk-sim-rate-limited", max_retries=0)
    with pytest.raises(openai.RateLimitError):
        bad.chat.completions.create(model="gpt-4o-mini", messages=HELLO)


def test_closing_a_stream_early_keeps_the_session_usable(simulator):
    c = conn(simulator, conn_id=4343)
    with adapter.stream(c, HELLO, {}) as stream:
        first = next(iter(stream))
        assert first["choices"][0]["delta"]["role"] == "assistant"
    assert adapter.execute(c, HELLO, {}).text == "Echo: hello there world"
