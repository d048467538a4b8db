"""OpenRouter adapter against the provider simulator (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from webapp.adapters import ErrorClass, ProviderError, SimpleConnection, get_adapter
from webapp.adapters.openrouter import OpenRouterAdapter
from webapp.simulator import fingerprint

adapter = get_adapter("openrouter")
HELLO = [{"role": "user", "content": "hello there world"}]


def unique_key(scenario: str = "ok") -> str:
    return f"sk-or-v1-sim-{scenario}-{uuid.uuid4().hex}"


def conn(simulator, key=None, *, model="openai/gpt-4o-mini", **settings):
    settings.setdefault("timeout_s", 2)
    return SimpleConnection(api_key=key or unique_key(), base_url=simulator.openrouter_url, model=model,
                            settings=settings)


def requests_for(simulator, key):
    return [r for r in simulator.requests() if r["key_fingerprint"] == fingerprint(key)]


def test_registry_gives_the_openrouter_adapter():
    assert isinstance(adapter, OpenRouterAdapter)
    assert adapter.default_base_url == "https://openrouter.ai/api/v1"


def test_execute_reads_usage_cost(simulator):
    c = conn(simulator, http_referer="https://acm.example", x_title="ACM", max_tokens=64)
    result = adapter.execute(c, HELLO, {})
    assert result.text == "Echo: hello there world"
    assert (result.prompt_tokens, result.completion_tokens, result.total_tokens) == (6, 4, 10)
    assert result.provider_cost == Decimal("0.0000033")  # 6*0.15e-6 + 4*0.6e-6
    assert result.response_id.startswith("gen-")
    [sent] = requests_for(simulator, c.api_key)
    assert sent["json"]["max_tokens"] == 64 and "max_completion_tokens" not in sent["json"]
    assert sent["headers"]["HTTP-Referer"] == "https://acm.example"
    assert sent["headers"]["X-Title"] == "ACM"


@pytest.mark.parametrize(
    ("scenario", "error_class", "status", "scope"),
    [
        ("bad-key", ErrorClass.AUTH, 401, None),
        ("forbidden", ErrorClass.AUTH, 403, None),
        ("moderated", ErrorClass.CONTENT_FILTERED, 403, None),
        ("no-credits", ErrorClass.QUOTA, 402, None),
        ("daily-quota", ErrorClass.QUOTA, 429, "day"),
        ("rate-limited", ErrorClass.RATE_LIMITED, 429, "minute"),
        ("model-missing", ErrorClass.MODEL_NOT_FOUND, 400, None),
        ("invalid-request", ErrorClass.INVALID_REQUEST, 400, None),
        ("server-error", ErrorClass.UNAVAILABLE, 500, None),
        ("overloaded", ErrorClass.UNAVAILABLE, 503, None),
        ("error-in-200", ErrorClass.UNAVAILABLE, 502, None),
        ("garbage", ErrorClass.UNAVAILABLE, 200, None),
        ("filtered", ErrorClass.CONTENT_FILTERED, 200, None),
        ("drop", ErrorClass.UNAVAILABLE, None, None),
    ],
)
def test_error_scenarios_are_classified(simulator, scenario, error_class, status, scope):
    with pytest.raises(ProviderError) as err:
        adapter.execute(conn(simulator, unique_key(scenario)), HELLO, {})
    assert err.value.error_class == error_class
    assert err.value.status == status
    assert err.value.quota_scope == scope


def test_retry_hints(simulator):
    with pytest.raises(ProviderError) as err:
        adapter.execute(conn(simulator, unique_key("rate-limited")), HELLO, {})
    assert err.value.retry_after == 3.0  # Retry-After header
    with pytest.raises(ProviderError) as err:
        adapter.execute(conn(simulator, unique_key("daily-quota")), HELLO, {})
    assert 0 < err.value.retry_after <= 86400  # X-RateLimit-Reset in metadata: next UTC midnight


def test_slow_answer_times_out(simulator):
    c = conn(simulator, unique_key("slow"), timeout_s=0.3, extra_headers={"X-Sim-Delay-Ms": "1500"})
    with pytest.raises(ProviderError) as err:
        adapter.execute(c, HELLO, {})
    assert err.value.error_class == ErrorClass.UNAVAILABLE


def test_marketplace_prices_per_million(simulator):
    models = {m.id: m for m in adapter.fetch_marketplace(conn(simulator))}
    mini = models["openai/gpt-4o-mini"]
    assert mini.input_price_per_m == Decimal("0.15")
    assert mini.output_price_per_m == Decimal("0.6")
    assert mini.context_length == 128000
    assert models["meta-llama/llama-3.3-70b-instruct:free"].input_price_per_m == Decimal("0")


def test_key_info_and_legacy_endpoint(simulator):
    info = adapter.key_info(conn(simulator))
    assert info.limit == Decimal("5") and info.limit_remaining == Decimal("4.8984355238")
    assert info.usage == Decimal("0.1015644762") and info.is_free_tier is False
    c = conn(simulator, unique_key("legacy-key-endpoint"))
    assert adapter.key_info(c).limit == Decimal("5")
    assert [r["path"] for r in requests_for(simulator, c.api_key)] == [
        "/openrouter/api/v1/key", "/openrouter/api/v1/auth/key"]
    with pytest.raises(ProviderError) as err:
        adapter.key_info(conn(simulator, unique_key("bad-key")))
    assert err.value.error_class == ErrorClass.AUTH


def test_test_ok_and_failed(simulator):
    assert adapter.test(conn(simulator)).ok
    result = adapter.test(conn(simulator, unique_key("no-credits")), completion=True)
    assert (result.ok, result.error_class, result.status) == (False, ErrorClass.QUOTA, 402)


def test_stream_skips_keepalive_comments_and_reports_cost(simulator):
    stream = adapter.stream(conn(simulator), HELLO, {})
    chunks = list(stream)
    assert stream.text == "Echo: hello there world"
    assert stream.finish_reason == "stop"
    assert stream.provider_cost == Decimal("0.0000033")
    assert stream.total_tokens == 10
    assert chunks[-1]["choices"] == []


def test_mid_stream_error_raises_from_iterator(simulator):
    stream = adapter.stream(conn(simulator, unique_key("error-in-200")), HELLO, {})
    received = []
    with pytest.raises(ProviderError) as err:
        for chunk in stream:
            received.append(chunk)
    assert received  # the first chunks arrived before the error
    assert err.value.error_class == ErrorClass.UNAVAILABLE and err.value.status == 502


def test_stream_error_status_raises_at_stream_time(simulator):
    with pytest.raises(ProviderError) as err:
        adapter.stream(conn(simulator, unique_key("no-credits")), HELLO, {})
    assert err.value.error_class == ErrorClass.QUOTA


def test_official_openai_client_parses_openrouter_shapes(simulator):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=simulator.openrouter_url, api_key="sk-or-v1-sim-ok", max_retries=0)
    answer = client.chat.completions.create(model="openai/gpt-4o-mini", messages=HELLO)
    assert answer.choices[0].message.content == "Echo: hello there world"
    chunks = list(client.chat.completions.create(model="openai/gpt-4o-mini", messages=HELLO, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: hello there world"
