"""HTMX actions (test, toggle, reorder, fetch models): fragments for HTMX, redirects without."""

import json

import pytest

from webapp.extensions import db
from webapp.models import AiConnection

HX = {"HX-Request": "true"}


@pytest.fixture
def sim_provider(ctx, make_provider, make_connection, simulator):
    provider = make_provider(slug="sim", name="Simulated")
    good = make_connection(provider, name="good", api_key="sk-sim-ok-0000000000001",
                           base_url=simulator.openai_url, model="gpt-4o-mini", priority=1)
    bad = make_connection(provider, name="bad", api_key="sk-sim-bad-key-00000000002",
                          base_url=simulator.openai_url, model="gpt-4o-mini", priority=2)
    return provider.id, good.id, bad.id


def _flash(response):
    return json.loads(response.headers["HX-Trigger"])["flash"]


def test_test_action_answers_an_inline_result(logged_in, sim_provider):
    _, good, bad = sim_provider
    ok = logged_in.post(f"/connections/{good}/test", headers=HX)
    page = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "<html" not in page
    assert f'id="test-result-{good}"' in page and "badge-ok" in page and " ms" in page
    assert "models" in page
    failed = logged_in.post(f"/connections/{bad}/test", headers=HX).get_data(as_text=True)
    assert "badge-error" in failed and "auth" in failed
    assert "sk-sim-bad-key-00000000002" not in failed


def test_test_action_without_javascript_redirects_with_a_flash(logged_in, sim_provider):
    _, good, bad = sim_provider
    response = logged_in.post(f"/connections/{bad}/test", data={"next": "/connections/"})
    assert response.status_code == 302 and response.headers["Location"] == "/connections/"
    page = logged_in.get("/connections/").get_data(as_text=True)
    assert "Test of “bad” failed: auth" in page
    off_site = logged_in.post(f"/connections/{good}/test", data={"next": "https://evil.example/"})
    assert off_site.headers["Location"] == f"/connections/{good}"


def test_toggle_swaps_the_badges_and_sends_a_flash(logged_in, sim_provider):
    _, good, _ = sim_provider
    response = logged_in.post(f"/connections/{good}/toggle", headers=HX)
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith(f'<span id="conn-status-{good}" class="badge badge-inactive"')
    assert f'id="conn-health-{good}"' in page and 'hx-swap-oob="true"' in page
    assert _flash(response) == {"message": "Connection “good” is now inactive.",
                                "category": "success"}
    again = logged_in.post(f"/connections/{good}/toggle", headers=HX,
                           data={"context": "provider"})
    assert "badge-active" in again.get_data(as_text=True)
    assert f'id="rotation-{good}"' in again.get_data(as_text=True)


def test_toggle_without_javascript_redirects(logged_in, sim_provider):
    provider_id, good, _ = sim_provider
    response = logged_in.post(f"/connections/{good}/toggle",
                              data={"next": f"/providers/{provider_id}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/providers/{provider_id}"
    assert "is now inactive" in logged_in.get(f"/providers/{provider_id}").get_data(as_text=True)


def test_provider_toggle_swaps_its_badge(logged_in, sim_provider):
    provider_id, _, _ = sim_provider
    response = logged_in.post(f"/providers/{provider_id}/toggle", headers=HX)
    assert response.get_data(as_text=True).strip() == (
        f'<span id="provider-status-{provider_id}" class="badge badge-inactive">inactive</span>')
    assert _flash(response)["message"] == "Provider “Simulated” is now inactive."


def _order(provider_id):
    db.session.expire_all()
    return list(db.session.scalars(
        AiConnection.by_priority(db.select(AiConnection.id)
                                 .where(AiConnection.provider_id == provider_id))))


def test_reorder_saves_the_dropped_order(logged_in, sim_provider):
    provider_id, good, bad = sim_provider
    response = logged_in.post(f"/providers/{provider_id}/reorder", headers=HX,
                              data={"ids": [str(bad), str(good)]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.lstrip().startswith('<tbody id="connection-order"')
    assert page.index(f'data-id="{bad}"') < page.index(f'data-id="{good}"')
    assert "was saved" in _flash(response)["message"]
    assert _order(provider_id) == [bad, good]
    reload = logged_in.get(f"/providers/{provider_id}").get_data(as_text=True)
    assert reload.index(f'data-id="{bad}"') < reload.index(f'data-id="{good}"')


def test_reorder_without_javascript_moves_one_row(logged_in, sim_provider):
    provider_id, good, bad = sim_provider
    response = logged_in.post(f"/providers/{provider_id}/reorder",
                              data={"move": str(bad), "direction": "up"})
    assert response.status_code == 302
    assert _order(provider_id) == [bad, good]
    logged_in.post(f"/providers/{provider_id}/reorder", data={"move": str(bad),
                                                              "direction": "down"})
    assert _order(provider_id) == [good, bad]


@pytest.mark.parametrize("ids", [
    "duplicate", "unknown", "foreign", "incomplete", "not-a-number"])
def test_bad_reorder_is_refused_and_changes_nothing(logged_in, ctx, sim_provider,
                                                    make_provider, make_connection, ids):
    provider_id, good, bad = sim_provider
    other = make_connection(make_provider(slug="other"), name="foreign")
    values = {"duplicate": [bad, bad, good], "unknown": [bad, good, 99999],
              "foreign": [bad, good, other.id], "incomplete": [bad],
              "not-a-number": [bad, "x"]}[ids]
    before = _order(provider_id)
    response = logged_in.post(f"/providers/{provider_id}/reorder", headers=HX,
                              data={"ids": [str(v) for v in values]})
    assert response.status_code == 400
    assert "<html" not in response.get_data(as_text=True)  # an error fragment for HTMX
    assert _order(provider_id) == before
    moved = logged_in.post(f"/providers/{provider_id}/reorder",
                           data={"move": str(other.id), "direction": "up"})
    assert moved.status_code == 400 and _order(provider_id) == before


def test_fetch_models_fills_a_pick_list(logged_in, sim_provider, simulator):
    provider_id, good, _ = sim_provider
    response = logged_in.post("/connections/fetch-models", headers=HX, data={
        "provider_id": str(provider_id), "api_key": "sk-sim-ok-typed-in-form-01",
        "base_url": simulator.openai_url, "model": "gpt-4o"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and '<select id="model-pick" data-fills="model">' in page
    assert '<option value="gpt-4o" selected>' in page and "gpt-4o-mini" in page
    assert "sk-sim-ok-typed-in-form-01" not in page
    stored = logged_in.post("/connections/fetch-models", headers=HX, data={
        "provider_id": str(provider_id), "connection_id": str(good)})
    assert "gpt-4.1" in stored.get_data(as_text=True)
    failed = logged_in.post("/connections/fetch-models", headers=HX, data={
        "provider_id": str(provider_id), "api_key": "sk-sim-bad-key-typed-000001",
        "base_url": simulator.openai_url}).get_data(as_text=True)
    assert "field-error" in failed and "did not list its models" in failed
    assert "sk-sim-bad-key-typed-000001" not in failed


def test_fetch_models_without_javascript_shows_the_form_again(logged_in, sim_provider,
                                                             simulator):
    provider_id, _, _ = sim_provider
    response = logged_in.post("/connections/new", data={
        "provider_id": str(provider_id), "name": "new", "api_key": "sk-sim-ok-nojs-000000001",
        "base_url": simulator.openai_url, "fetch_models": "1", "priority": "5"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "model-pick" in page and "gpt-4o-mini" in page
    assert "sk-sim-ok-nojs-000000001" not in page
    assert db.session.scalar(db.select(db.func.count(AiConnection.id))) == 2  # nothing saved
