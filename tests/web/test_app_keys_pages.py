"""App keys pages: create (shown once), list with usage, edit, revoke with confirmation."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AiConnectionUsage, AppKey
from webapp.models.app_key import hash_app_key


def _keys(app) -> list[AppKey]:
    with app.app_context():
        keys = list(db.session.scalars(select(AppKey).order_by(AppKey.id)))
        db.session.expunge_all()
        return keys


def test_pages_require_login(client):
    response = client.get("/app-keys/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/app-keys/new", data={"label": "x"}).status_code == 302


def test_create_shows_the_key_once_and_stores_only_a_hash(app, logged_in, make_provider):
    with app.app_context():
        make_provider(slug="openai")
        make_provider(slug="gem", adapter_kind="gemini")
    page = logged_in.get("/app-keys/new")
    assert page.status_code == 200 and b'name="label"' in page.data
    response = logged_in.post("/app-keys/new", data={
        "label": "Support bot", "providers": ["gem"], "rate_limit_per_minute": "30"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    raw = re.search(rb'value="(acm-[A-Za-z0-9_\-]+)"', response.data).group(1).decode()
    assert b"shown only once" in response.data
    (key,) = _keys(app)
    assert key.label == "Support bot" and key.allowed_providers == ["gem"]
    assert key.rate_limit_per_minute == 30
    assert key.key_hash == hash_app_key(raw) and raw not in (key.prefix + key.key_hash)
    assert raw.startswith(key.prefix)

    listing = logged_in.get("/app-keys/")
    assert listing.status_code == 200
    assert key.prefix.encode() in listing.data and b"Support bot" in listing.data
    assert raw.encode() not in listing.data


def test_create_form_errors_are_shown_inline_and_nothing_is_saved(app, logged_in, make_provider):
    with app.app_context():
        make_provider(slug="openai")
    response = logged_in.post("/app-keys/new", data={"label": "", "rate_limit_per_minute": "0"})
    assert response.status_code == 200
    assert b"field-error" in response.data
    response = logged_in.post("/app-keys/new", data={"label": "x" * 101})
    assert b"field-error" in response.data
    response = logged_in.post("/app-keys/new", data={"label": "ok", "providers": ["missing"]})
    assert b"field-error" in response.data and b"acm-" not in response.data
    assert _keys(app) == []


def test_list_shows_requests_and_cost_to_date(app, logged_in):
    from webapp.services.app_keys import create_app_key

    with app.app_context():
        key, _ = create_app_key("reporting")
        for request_id, attempt, cost in (("r1", 1, None), ("r1", 2, "0.0015"), ("r2", 1, "0.001")):
            db.session.add(AiConnectionUsage(
                app_key_id=key.id, request_id=request_id, attempt=attempt,
                success=cost is not None, cost=Decimal(cost) if cost else None))
        db.session.commit()
    listing = logged_in.get("/app-keys/")
    row = re.search(rb'<tr id="app-key-\d+">(.*?)</tr>', listing.data, re.S).group(1)
    cells = [re.sub(rb"<[^>]+>", b"", c).strip() for c in re.findall(rb"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[6] == b"2"  # two requests (three attempts)
    assert cells[7] == b"$0.0025"


def test_edit_changes_label_providers_and_limit(app, logged_in, make_provider):
    from webapp.services.app_keys import create_app_key

    with app.app_context():
        make_provider(slug="openai")
        key, _ = create_app_key("old name", ["openai"], 5)
        key_id = key.id
    page = logged_in.get(f"/app-keys/{key_id}/edit")
    assert page.status_code == 200 and b"old name" in page.data
    response = logged_in.post(f"/app-keys/{key_id}/edit",
                              data={"label": "new name", "rate_limit_per_minute": ""})
    assert response.status_code == 302
    (key,) = _keys(app)
    assert key.label == "new name" and key.allowed_providers is None
    assert key.rate_limit_per_minute is None
    assert logged_in.get("/app-keys/999/edit").status_code == 404


def test_revoke_asks_for_confirmation_then_revokes(app, logged_in):
    from webapp.services.app_keys import authenticate, create_app_key

    with app.app_context():
        key, raw = create_app_key("to revoke")
        key_id = key.id
    confirm = logged_in.get(f"/app-keys/{key_id}/revoke")
    assert confirm.status_code == 200 and b"Revoke key" in confirm.data
    assert _keys(app)[0].revoked_at is None
    response = logged_in.post(f"/app-keys/{key_id}/revoke", follow_redirects=True)
    assert response.status_code == 200 and b"Revoked app key" in response.data
    assert _keys(app)[0].revoked_at is not None
    with app.app_context():
        assert authenticate(raw) is None


def test_revoke_needs_a_csrf_token(csrf_app):
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
    from webapp.services.accounts import create_admin
    from webapp.services.app_keys import create_app_key

    with csrf_app.app_context():
        create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        key, _ = create_app_key("guarded")
        key_id = key.id
    client = csrf_app.test_client()
    login_page = client.get("/login")
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', login_page.data)
    token = token or re.search(rb'name="csrf_token" value="([^"]+)"', login_page.data)
    client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                "csrf_token": token.group(1).decode()})
    response = client.post(f"/app-keys/{key_id}/revoke")
    assert response.status_code == 400
    with csrf_app.app_context():
        assert db.session.get(AppKey, key_id).revoked_at is None
