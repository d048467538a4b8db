"""Model catalogs against the simulator: fetch for the form, refresh into the table, prices."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AiProvider, AiProviderModel
from webapp.services import catalog
from webapp.services.errors import InvalidInput, ServiceError
from webapp.simulator.scenarios import GEMINI_MODELS, OPENAI_MODELS, OPENROUTER_MODELS

GOOD = "sk-sim-ok-catalog-0001"


@pytest.fixture
def actx(ctx):
    return ctx


def test_fetch_models_with_an_unsaved_key(actx, simulator, make_provider):
    provider = make_provider("openai")
    models = catalog.fetch_models(provider.id, api_key=GOOD, base_url=simulator.openai_url)
    assert models == sorted(OPENAI_MODELS)


def test_fetch_models_with_the_stored_connection_pages_through_gemini(
        actx, simulator, make_provider, make_connection):
    provider = make_provider("gemini", adapter_kind="gemini")
    connection = make_connection(provider, api_key="AIzaSimOk-catalog-000000",
                                 base_url=simulator.gemini_url)
    models = catalog.fetch_models(provider.id, connection_id=connection.id)
    expected = sorted(name for name, _, methods in GEMINI_MODELS if "generateContent" in methods)
    assert models == expected


def test_fetch_models_failure_is_redacted(actx, simulator, make_provider):
    provider = make_provider("openai")
    key = "sk-sim-bad-key-secret-999999"
    with pytest.raises(ServiceError) as info:
        catalog.fetch_models(provider.id, api_key=key, base_url=simulator.openai_url)
    assert "auth" in info.value.message
    assert key not in info.value.message


def test_fetch_models_needs_a_key(actx, make_provider):
    provider = make_provider("openai")
    with pytest.raises(InvalidInput):
        catalog.fetch_models(provider.id, base_url="http://127.0.0.1:9/v1")


def test_fetch_models_rejects_another_providers_connection(actx, make_provider, make_connection):
    openai = make_provider("openai")
    other = make_connection(make_provider("other"))
    with pytest.raises(InvalidInput):
        catalog.fetch_models(openai.id, connection_id=other.id)


def test_refresh_openrouter_stores_per_million_prices(actx, simulator, make_provider,
                                                      make_connection):
    provider = make_provider("openrouter", adapter_kind="openrouter")
    make_connection(provider, name="broken", priority=1, api_key="sk-or-sim-bad-key-000001",
                    base_url=simulator.openrouter_url)
    make_connection(provider, name="works", priority=2, api_key="sk-or-sim-ok-000002",
                    base_url=simulator.openrouter_url)
    db.session.add(AiProviderModel(provider_id=provider.id, model_id="retired/model"))
    db.session.commit()

    report = catalog.refresh_models(provider.id)
    assert report.error is None
    assert report.models == report.priced == len(OPENROUTER_MODELS)
    assert db.session.get(AiProvider, provider.id).models_refreshed_at is not None
    assert catalog.known_models(provider.id) == sorted(m[0] for m in OPENROUTER_MODELS)

    prices = catalog.price_catalog(provider.id)
    mini = prices["openai/gpt-4o-mini"]
    assert (mini.input_per_m, mini.output_per_m) == (Decimal("0.15"), Decimal("0.6"))
    assert prices["meta-llama/llama-3.3-70b-instruct:free"].input_per_m == 0
    row = db.session.scalar(select(AiProviderModel).where(
        AiProviderModel.model_id == "google/gemini-2.5-flash"))
    assert row.context_length == 1048576 and row.name == "Google: Gemini 2.5 Flash"

    assert catalog.refresh_models(provider.id).models == len(OPENROUTER_MODELS)  # upsert
    assert len(catalog.known_models(provider.id)) == len(OPENROUTER_MODELS)


def test_refresh_openai_has_no_prices(actx, simulator, make_provider, make_connection):
    provider = make_provider("openai")
    make_connection(provider, api_key=GOOD, base_url=simulator.openai_url)
    report = catalog.refresh_models(provider.id)
    assert (report.models, report.priced, report.error) == (len(OPENAI_MODELS), 0, None)
    assert catalog.price_catalog(provider.id) == {}


def test_refresh_failure_keeps_the_stored_list(actx, simulator, make_provider, make_connection):
    provider = make_provider("openai")
    key = "sk-sim-bad-key-hidden-123456"
    make_connection(provider, api_key=key, base_url=simulator.openai_url)
    db.session.add(AiProviderModel(provider_id=provider.id, model_id="gpt-4o"))
    db.session.commit()
    report = catalog.refresh_models(provider.id)
    assert report.error and "auth" in report.error and key not in report.error
    assert catalog.known_models(provider.id) == ["gpt-4o"]


def test_refresh_without_active_connection(actx, make_provider, make_connection):
    provider = make_provider("openai")
    make_connection(provider, status="inactive")
    assert "no active connection" in catalog.refresh_models(provider.id).error
