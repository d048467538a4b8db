"""Fixtures in the flaskr style: app, client, runner, plus admin login and factories."""

import pytest
from cryptography.fernet import Fernet

from tests.dbutil import BACKENDS, database_url
from webapp import create_app
from webapp.extensions import db as _db
from webapp.simulator import start_simulator

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"
TEST_CREDENTIALS_KEY = Fernet.generate_key().decode()


def build_app(database_uri: str, instance_path, **overrides):
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "CREDENTIALS_KEYS": [TEST_CREDENTIALS_KEY],
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    config.update(overrides)
    return create_app(config)


def _make_app(backend, tmp_path, **overrides):
    with database_url(backend, tmp_path) as uri:
        app = build_app(uri, tmp_path / "instance", **overrides)
        with app.app_context():
            _db.create_all()
        yield app
        with app.app_context():
            _db.session.remove()
            _db.drop_all()
            _db.engine.dispose()


@pytest.fixture
def app(tmp_path):
    """An app on a fresh SQLite file (CSRF off; tests of CSRF use csrf_app)."""
    yield from _make_app("sqlite", tmp_path)


@pytest.fixture(params=BACKENDS)
def any_app(request, tmp_path):
    """The same test on SQLite and on PostgreSQL (skipped without TEST_DATABASE_URL)."""
    yield from _make_app(request.param, tmp_path)


@pytest.fixture
def csrf_app(tmp_path):
    yield from _make_app("sqlite", tmp_path, WTF_CSRF_ENABLED=True)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An application context on the default app, for tests that use models directly."""
    with app.app_context():
        yield app


@pytest.fixture
def admin(app):
    from webapp.services.accounts import create_admin

    with app.app_context():
        user = create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        return user.id


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email=ADMIN_EMAIL, password=ADMIN_PASSWORD):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client, admin):
    return AuthActions(client)


@pytest.fixture
def logged_in(client, auth):
    """A test client signed in as the administrator."""
    response = auth.login()
    assert response.status_code == 302, response.data
    return client


@pytest.fixture
def make_provider():
    """Create a provider (inside an app context)."""
    from webapp.models import AiProvider

    def factory(slug="openai", name=None, adapter_kind="openai", **fields):
        provider = AiProvider(slug=slug, name=name or slug.title(), adapter_kind=adapter_kind,
                              **fields)
        _db.session.add(provider)
        _db.session.commit()
        return provider

    return factory


@pytest.fixture
def make_connection():
    """Create a connection with an encrypted API key (inside an app context)."""
    from webapp.models import AiConnection

    def factory(provider, name="primary", api_key="sk-test-1234567890abcd", **fields):
        settings = fields.pop("settings", {})
        for key in ("model", "base_url", "timeout_s"):
            if key in fields:
                settings[key] = fields.pop(key)
        connection = AiConnection(provider=provider, name=name, settings=settings, **fields)
        connection.set_credentials({"api_key": api_key})
        _db.session.add(connection)
        _db.session.commit()
        return connection

    return factory


@pytest.fixture(scope="session")
def simulator():
    """The provider simulator over real HTTP on 127.0.0.1: ``.url`` (base),
    ``.openai_url``/``.gemini_url``/``.openrouter_url``, and helpers ``.program(key, [scenario,
    …])``, ``.reset()``, ``.requests()``, ``.stats()``. One per test session."""
    handle = start_simulator("127.0.0.1", 0)
    yield handle
    handle.stop()
