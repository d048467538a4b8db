"""The playground: an answer with tokens and cost, or the error with the attempt trail."""

import pytest

from webapp.extensions import db
from webapp.models import AiConnectionUsage

HX = {"HX-Request": "true"}


@pytest.fixture
def failover(ctx, make_provider, make_connection, simulator):
    provider = make_provider(slug="sim", name="Simulated")
    broken = make_connection(provider, name="broken", api_key="sk-sim-server-error-000001",
                             base_url=simulator.openai_url, model="gpt-4o-mini", priority=1)
    working = make_connection(provider, name="working", api_key="sk-sim-ok-00000000000002",
                              base_url=simulator.openai_url, model="gpt-4o-mini", priority=2)
    return provider.id, broken.id, working.id


def test_page_lists_providers_and_connections(logged_in, failover):
    page = logged_in.get("/connections/playground").get_data(as_text=True)
    assert 'optgroup label="Providers"' in page and "Simulated · broken" in page


def test_failover_shows_the_answer_and_the_trail(logged_in, failover):
    provider_id, broken, working = failover
    response = logged_in.post("/connections/playground", headers=HX, data={
        "target": f"p:{provider_id}", "prompt": "hello there", "feature": "smoke-test"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in page
    assert "Echo: hello there" in page
    assert "answered</span> by <strong>working</strong>" in page
    assert "Attempt trail" in page and "broken" in page and "unavailable" in page
    assert "Tokens" in page
    features = set(db.session.scalars(db.select(AiConnectionUsage.feature)))
    assert features == {"smoke-test"}


def test_one_connection_alone_reports_its_failure(logged_in, failover):
    _, broken, _ = failover
    response = logged_in.post("/connections/playground", headers=HX, data={
        "target": f"c:{broken}", "prompt": "hi"})
    page = response.get_data(as_text=True)
    assert "ExecutionFailed" in page and "broken" in page and "working" not in page.split(
        "Attempt trail")[1].split("Not tried")[0]


def test_full_page_post_without_javascript(logged_in, failover):
    provider_id, _, _ = failover
    page = logged_in.post("/connections/playground", data={
        "target": f"p:{provider_id}", "prompt": "plain post"}).get_data(as_text=True)
    assert "<html" in page and "Echo: plain post" in page


def test_bad_input_is_explained(logged_in, failover):
    missing = logged_in.post("/connections/playground", data={"target": "p:1", "prompt": ""})
    assert missing.status_code == 400 and "This field is required." in missing.get_data(
        as_text=True)
    bogus = logged_in.post("/connections/playground", data={"target": "zz", "prompt": "x"})
    assert bogus.status_code == 400 and "Choose a provider or a connection." in bogus.get_data(
        as_text=True)
    unknown = logged_in.post("/connections/playground", headers=HX,
                             data={"target": "p:9999", "prompt": "x"})
    assert "UnknownProvider" in unknown.get_data(as_text=True)
