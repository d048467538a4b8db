"""Names with markup are shown as text; CSRF is enforced on every action with a clear 400."""

import json
import re

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from webapp.extensions import db
from webapp.models import AiConnection, AiProvider

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'


@pytest.fixture
def hostile(ctx, make_provider, make_connection):
    provider = make_provider(slug="evil", name=SCRIPT)
    first = make_connection(provider, name=IMG, model=SCRIPT, last_error_class="auth",
                            last_error=IMG, disabled_reason=SCRIPT, status="disabled")
    second = make_connection(provider, name=SCRIPT)
    provider.default_connection_id = first.id
    db.session.commit()
    return provider.id, first.id, second.id


def _assert_escaped(page):
    assert SCRIPT not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page


def test_hostile_names_are_text_on_every_page(logged_in, hostile):
    provider_id, first, second = hostile
    for url in ("/", "/providers/", f"/providers/{provider_id}", f"/providers/{provider_id}/edit",
                f"/providers/{provider_id}/delete", "/connections/", f"/connections/{first}",
                f"/connections/{first}/edit", f"/connections/{first}/delete",
                "/connections/playground", f"/connections/?q={SCRIPT}"):
        response = logged_in.get(url)
        assert response.status_code == 200, url
        _assert_escaped(response.get_data(as_text=True))


def test_hostile_names_are_text_in_fragments(logged_in, hostile):
    provider_id, first, second = hostile
    hx = {"HX-Request": "true"}
    toggled = logged_in.post(f"/connections/{first}/toggle", headers=hx)
    assert SCRIPT not in toggled.get_data(as_text=True)
    # The flash travels as JSON in a header and app.js inserts it with textContent.
    flash = json.loads(toggled.headers["HX-Trigger"])["flash"]
    assert flash["message"] == f"Connection “{IMG}” is now active."
    reordered = logged_in.post(f"/providers/{provider_id}/reorder", headers=hx,
                               data={"ids": [str(second), str(first)]})
    _assert_escaped(reordered.get_data(as_text=True))


def test_flash_messages_escape_names(logged_in, hostile):
    provider_id, first, _ = hostile
    logged_in.post(f"/providers/{provider_id}/toggle")
    _assert_escaped(logged_in.get("/providers/").get_data(as_text=True))


@pytest.fixture
def csrf_client(csrf_app):
    from webapp.services.accounts import create_admin

    with csrf_app.app_context():
        create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        provider = AiProvider(slug="p", name="P", adapter_kind="openai")
        db.session.add(provider)
        db.session.flush()
        connection = AiConnection(provider_id=provider.id, name="c", settings={})
        connection.set_credentials("sk-test-0000000000001111")
        db.session.add(connection)
        db.session.commit()
        ids = provider.id, connection.id
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return client, ids


def test_every_action_refuses_a_missing_or_stale_token(csrf_client, csrf_app):
    client, (provider_id, connection_id) = csrf_client
    actions = [
        f"/providers/{provider_id}/toggle", f"/providers/{provider_id}/reorder",
        f"/providers/{provider_id}/default", f"/providers/{provider_id}/reset-errors",
        f"/providers/{provider_id}/delete", f"/providers/{provider_id}/edit", "/providers/new",
        f"/connections/{connection_id}/toggle", f"/connections/{connection_id}/test",
        f"/connections/{connection_id}/delete", f"/connections/{connection_id}/edit",
        "/connections/new", "/connections/fetch-models", "/connections/playground",
    ]
    for url in actions:
        for headers in ({}, {"X-CSRFToken": "stale-token"}, {"HX-Request": "true"}):
            response = client.post(url, data={"ids": [str(connection_id)]}, headers=headers)
            assert response.status_code == 400, (url, headers)
            assert "Reload the page and try again" in response.get_data(as_text=True)
    with csrf_app.app_context():
        assert db.session.get(AiProvider, provider_id).status == "active"
        assert db.session.get(AiConnection, connection_id).status == "active"


def test_the_page_token_is_accepted_as_a_header_and_a_field(csrf_client):
    client, (provider_id, connection_id) = csrf_client
    page = client.get("/connections/").get_data(as_text=True)
    header_token = page.split('"X-CSRFToken": "')[1].split('"')[0]
    field_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    toggled = client.post(f"/connections/{connection_id}/toggle",
                          headers={"X-CSRFToken": header_token, "HX-Request": "true"})
    assert toggled.status_code == 200 and "badge-inactive" in toggled.get_data(as_text=True)
    back = client.post(f"/connections/{connection_id}/toggle", data={"csrf_token": field_token})
    assert back.status_code == 302
    reordered = client.post(f"/providers/{provider_id}/reorder",
                            headers={"X-CSRFToken": header_token, "HX-Request": "true"},
                            data={"ids": [str(connection_id)]})
    assert reordered.status_code == 200
