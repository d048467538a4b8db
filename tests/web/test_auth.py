"""Login, logout, throttling, CSRF, the anonymous-access walk and security headers."""

import pytest
from flask import url_for

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

PUBLIC_ENDPOINTS = {"static", "auth.login", "health.healthz"}


def test_login_page_renders_and_explains_first_run(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Log in" in response.data
    assert b"create-admin" in response.data  # no admin yet: say how to make one


def test_login_and_logout(client, auth):
    response = auth.login()
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, auth):
    response = auth.login(password="wrong password")
    assert response.status_code == 400
    assert b"E-mail or password is not correct." in response.data


def test_next_parameter_cannot_redirect_off_site(client, admin):
    response = client.post("/login?next=https://evil.example/x",
                           data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.headers["Location"] == "/"


def test_every_non_public_endpoint_redirects_anonymous_users(app, client):
    """Walk the URL map: each admin endpoint sends an anonymous visitor to the login page."""
    checked = 0
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith("gateway."):
                continue
            values = {arg: 1 for arg in rule.arguments}
            url = url_for(rule.endpoint, **values)
            method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS"})[0]
            response = client.open(url, method=method)
            assert response.status_code == 302, (rule.endpoint, response.status_code)
            assert "/login" in response.headers["Location"], rule.endpoint
            checked += 1
    assert checked >= 2


def test_login_throttled_per_account(client, admin):
    for _ in range(5):
        client.post("/login", data={"email": ADMIN_EMAIL, "password": "nope-nope"})
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 429
    assert b"Too many login attempts" in response.data
    # Another account from the same address is still allowed (until the per-IP limit).
    other = client.post("/login", data={"email": "other@example.com", "password": "x"})
    assert other.status_code == 400


def test_login_throttled_per_ip(client, admin):
    for number in range(10):
        client.post("/login", data={"email": f"user{number}@example.com", "password": "x"})
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 429


def test_csrf_missing_token_gets_a_clear_400(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 400
    assert b"Reload the page and try again" in response.data


def test_csrf_token_from_the_page_is_accepted(csrf_app):
    from webapp.services.accounts import create_admin

    with csrf_app.app_context():
        create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    client = csrf_app.test_client()
    page = client.get("/login").data.decode()
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    # HTMX requests carry the token as a header taken from base.html.
    home = client.get("/").data.decode()
    assert '"X-CSRFToken": "' in home
    header_token = home.split('"X-CSRFToken": "')[1].split('"')[0]
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", headers={"X-CSRFToken": header_token}).status_code == 302


def test_security_headers_and_cookie_flags(client, auth):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    login = auth.login()
    cookie = next(c for c in login.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = client.application.test_client().post("/login", base_url="https://localhost",
                         data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert any(c.startswith("session=") and "Secure" in c
               for c in secure.headers.getlist("Set-Cookie"))


def test_healthz(app, client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_healthz_reports_503_when_the_database_is_gone(tmp_path):
    from tests.conftest import build_app

    app = build_app("sqlite:////nonexistent-folder/none.sqlite3", tmp_path / "inst")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}


@pytest.mark.parametrize("path", ["/no-such-page"])
def test_friendly_404(logged_in, path):
    response = logged_in.get(path)
    assert response.status_code == 404
    assert b"There is nothing at this address." in response.data


def test_static_assets_are_vendored(client):
    page = client.get("/login").data.decode()
    assert "/static/vendor/htmx-2.0.11/htmx.min.js" in page
    assert "http://" not in page.split("<body")[0] and "https://" not in page.split("<body")[0]
    assert client.get("/static/vendor/htmx-2.0.11/htmx.min.js").status_code == 200
