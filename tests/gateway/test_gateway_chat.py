"""/v1/chat/completions and /v1/models with the official openai client over real HTTP."""

from __future__ import annotations

import openai
import pytest
import requests

from tests.gateway.conftest import usage_for_key, usage_rows

MESSAGES = [{"role": "user", "content": "hello gateway"}]


def test_normal_answer_in_openai_format_with_usage_and_trace_headers(
        app, openai_provider, make_key, openai_client):
    key_id, raw = make_key("billing-app")
    client = openai_client(raw)
    raw_response = client.chat.completions.with_raw_response.create(model="sim", messages=MESSAGES)
    completion = raw_response.parse()

    assert completion.object == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert "hello gateway" in completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model.startswith("gpt-4o-mini")
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (completion.usage.prompt_tokens
                                             + completion.usage.completion_tokens)
    headers = raw_response.headers
    assert headers["x-acm-connection"] == "good"
    assert headers["x-acm-attempts"] == "1"
    assert int(headers["x-acm-gateway-overhead-ms"]) >= 0
    assert headers["x-acm-request-id"]

    rows = usage_for_key(app, key_id)
    assert len(rows) == 1 and rows[0].success
    assert rows[0].feature == "billing-app"  # the key's label is the default feature
    assert rows[0].request_id == headers["x-acm-request-id"]


def test_x_feature_header_refines_the_feature_and_model_suffix_picks_the_model(
        app, openai_provider, make_key, openai_client):
    key_id, raw = make_key("billing-app")
    completion = openai_client(raw).chat.completions.create(
        model="sim/gpt-4o", messages=MESSAGES, extra_headers={"X-Feature": "invoice-summary"},
        temperature=0.2, max_tokens=50)
    assert completion.model.startswith("gpt-4o")
    rows = usage_for_key(app, key_id)
    assert rows[-1].feature == "invoice-summary" and rows[-1].model.startswith("gpt-4o")


def test_failover_from_a_failing_connection_to_a_good_one(
        app, make_provider, make_connection, make_key, openai_client, simulator):
    with app.app_context():
        provider = make_provider(slug="pool", adapter_kind="openai")
        make_connection(provider, name="broken", api_key="sk-sim-server-error-0001",
                        model="gpt-4o-mini", base_url=simulator.openai_url, priority=1)
        make_connection(provider, name="healthy", api_key="sk-sim-ok-0000000002",
                        model="gpt-4o-mini", base_url=simulator.openai_url, priority=2)
    key_id, raw = make_key()
    raw_response = openai_client(raw).chat.completions.with_raw_response.create(
        model="pool", messages=MESSAGES)
    assert "hello gateway" in raw_response.parse().choices[0].message.content
    assert raw_response.headers["x-acm-attempts"] == "2"
    assert raw_response.headers["x-acm-connection"] == "healthy"
    rows = usage_for_key(app, key_id)
    assert [(r.connection_name, r.success) for r in rows] == [("broken", False), ("healthy", True)]


def test_the_keys_own_limit_gives_429_with_retry_after(app, openai_provider, make_key,
                                                         openai_client):
    _, raw = make_key(rate_limit_per_minute=1)
    client = openai_client(raw)
    client.chat.completions.create(model="sim", messages=MESSAGES)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="sim", messages=MESSAGES)
    retry_after = int(caught.value.response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert "per minute" in caught.value.message
    assert caught.value.body["code"] == "rate_limit_exceeded"


def test_every_connection_cooling_down_gives_429_with_the_soonest_retry_after(
        app, make_provider, make_connection, make_key, openai_client, simulator):
    with app.app_context():
        provider = make_provider(slug="busy", adapter_kind="openai")
        for n in (1, 2):
            make_connection(provider, name=f"limited-{n}", api_key=f"sk-sim-rate-limited-000{n}",
                            model="gpt-4o-mini", base_url=simulator.openai_url, priority=n)
    _, raw = make_key()
    client = openai_client(raw)
    # The first call tries both connections (each answers 429) and cools them down; whatever
    # it answers, the next call finds none available and says when one will be.
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model="busy", messages=MESSAGES)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="busy", messages=MESSAGES)
    assert int(caught.value.response.headers["retry-after"]) >= 1


def test_revoked_and_unknown_keys_get_401(app, openai_provider, make_key, openai_client):
    from webapp.services.app_keys import revoke_app_key

    key_id, raw = make_key()
    client = openai_client(raw)
    client.chat.completions.create(model="sim", messages=MESSAGES)
    with app.app_context():
        revoke_app_key(key_id)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="sim", messages=MESSAGES)
    assert "revoked" in caught.value.message
    with pytest.raises(openai.AuthenticationError):
        openai_client("acm-not-a-real-key-000000").chat.completions.create(
            model="sim", messages=MESSAGES)
    with pytest.raises(openai.AuthenticationError) as caught:
        openai_client(raw).models.list()
    assert caught.value.body["code"] == "invalid_api_key"
    assert raw not in caught.value.message


def test_provider_not_allowed_for_the_key_gets_403(app, openai_provider, make_provider, make_key,
                                                   openai_client):
    with app.app_context():
        make_provider(slug="other", adapter_kind="openai")
    _, raw = make_key(providers=["other"])
    before = usage_rows(app)
    with pytest.raises(openai.PermissionDeniedError) as caught:
        openai_client(raw).chat.completions.create(model="sim", messages=MESSAGES)
    assert "may not use provider 'sim'" in caught.value.message
    assert usage_rows(app) == before


def test_unknown_provider_or_listed_model_gets_404(app, openai_provider, make_key, openai_client):
    from webapp.extensions import db
    from webapp.models import AiProvider, AiProviderModel

    _, raw = make_key()
    client = openai_client(raw)
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="nope", messages=MESSAGES)
    assert "does not exist" in caught.value.message
    with app.app_context():  # once the catalogue is known, unknown models are refused up front
        provider = AiProvider.by_slug("sim")
        db.session.add(AiProviderModel(provider_id=provider.id, model_id="gpt-4o"))
        db.session.commit()
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="sim/gpt-99", messages=MESSAGES)
    assert usage_rows(app) == 0


def test_models_lists_what_the_key_may_use(app, openai_provider, make_provider, make_connection,
                                           make_key, openai_client, simulator):
    with app.app_context():
        gem = make_provider(slug="gem", adapter_kind="gemini")
        make_connection(gem, name="g1", api_key="AIza-sim-ok-000000001",
                        model="gemini-2.5-flash", base_url=simulator.gemini_url)
    _, everything = make_key()
    ids = [m.id for m in openai_client(everything).models.list()]
    assert ids == ["gem", "gem/gemini-2.5-flash", "sim", "sim/gpt-4o-mini"]
    _, only_gem = make_key(providers=["gem"])
    models = openai_client(only_gem).models.list().data
    assert [m.id for m in models] == ["gem", "gem/gemini-2.5-flash"]
    assert models[0].object == "model" and models[0].owned_by == "gem"


def test_gemini_is_translated_to_openai_format(app, make_provider, make_connection, make_key,
                                               openai_client, simulator):
    with app.app_context():
        gem = make_provider(slug="gem", adapter_kind="gemini")
        make_connection(gem, name="g1", api_key="AIza-sim-ok-000000001",
                        model="gemini-2.5-flash", base_url=simulator.gemini_url)
    key_id, raw = make_key()
    completion = openai_client(raw).chat.completions.create(
        model="gem", messages=[{"role": "system", "content": "be brief"},
                               {"role": "user", "content": "hello gemini"}], max_tokens=64)
    assert completion.object == "chat.completion"
    assert "hello gemini" in completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens > 0
    sent = [r for r in simulator.requests() if "generateContent" in r.get("path", "")]
    assert sent and "contents" in sent[-1]["json"]  # the simulator got Gemini's wire format
    assert usage_for_key(app, key_id)[-1].success


def test_admin_session_is_not_an_app_key(logged_in, openai_provider):
    response = logged_in.get("/v1/models")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_api_key"
    response = logged_in.post("/v1/chat/completions", json={"model": "sim", "messages": MESSAGES})
    assert response.status_code == 401


def test_gateway_does_not_need_a_csrf_token(csrf_app, make_provider, make_connection, simulator):
    from webapp.services.app_keys import create_app_key

    with csrf_app.app_context():
        provider = make_provider(slug="sim", adapter_kind="openai")
        make_connection(provider, name="good", api_key="sk-sim-ok-0000000001",
                        model="gpt-4o-mini", base_url=simulator.openai_url)
        _, raw = create_app_key("csrf-check")
    response = csrf_app.test_client().post(
        "/v1/chat/completions", json={"model": "sim", "messages": MESSAGES},
        headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200, response.json


def test_unknown_paths_under_v1_answer_in_openai_format(live_server):
    response = requests.get(live_server.v1 + "/embeddings", timeout=5)
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_concurrent_first_use_of_keys_does_not_fail(app, openai_provider, make_key, live_server):
    """last_used_at is written by many requests at once on first use; none may fail."""
    from concurrent.futures import ThreadPoolExecutor

    raws = [make_key(f"app-{n}")[1] for n in range(4)]

    def call(n: int) -> int:
        return requests.get(live_server.v1 + "/models", timeout=20,
                            headers={"Authorization": f"Bearer {raws[n % 4]}"}).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert set(pool.map(call, range(48))) == {200}
