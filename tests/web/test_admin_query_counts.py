"""List pages issue the same number of SQL statements whatever the number of rows."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from webapp.extensions import db
from webapp.models import AiConnectionUsage


@contextmanager
def counted_statements(app):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _populate(make_provider, make_connection, providers, per_provider):
    first = None
    for p in range(providers):
        provider = make_provider(slug=f"p{p}", name=f"Provider {p}")
        first = first or provider
        for c in range(per_provider):
            connection = make_connection(provider, name=f"c{c}", priority=c,
                                         rate_limit_per_minute=10, rate_limit_per_day=100,
                                         last_error_class="unavailable", last_error="HTTP 500")
            db.session.add(AiConnectionUsage(connection_id=connection.id,
                                             provider_id=provider.id, connection_name="x",
                                             request_id=f"{p}-{c}", success=True))
        provider.default_connection_id = provider.connections[0].id if per_provider else None
    db.session.commit()
    return first.id


def _statements(app, client, url):
    client.get(url)  # warm-up: lazy imports, first-connection pragmas
    with counted_statements(app) as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(statements)


@pytest.mark.parametrize("page", ["connections", "provider_detail", "providers", "dashboard"])
def test_constant_statement_count(tmp_path, page):
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, _make_app

    counts = []
    for index, (providers, per_provider) in enumerate(((5, 5), (50, 50))):
        apps = _make_app("sqlite", tmp_path / str(index))
        app = next(apps)
        try:
            with app.app_context():
                from webapp.services.accounts import create_admin

                create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
                provider_id = _populate(_provider_factory(), _connection_factory(),
                                        providers if page != "provider_detail" else 1,
                                        per_provider)
            client = app.test_client()
            client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            url = {"connections": "/connections/?order=-success_rate",
                   "provider_detail": f"/providers/{provider_id}",
                   "providers": "/providers/", "dashboard": "/"}[page]
            counts.append(_statements(app, client, url))
        finally:
            next(apps, None)
    assert counts[0] == counts[1], counts


def _provider_factory():
    from webapp.models import AiProvider

    def factory(slug, name):
        provider = AiProvider(slug=slug, name=name, adapter_kind="openai")
        db.session.add(provider)
        db.session.flush()
        return provider

    return factory


def _connection_factory():
    from webapp.models import AiConnection

    def factory(provider, name, **fields):
        connection = AiConnection(provider_id=provider.id, name=name, settings={"model": "m"},
                                  **fields)
        connection.set_credentials("sk-test-000000000000abcd")
        db.session.add(connection)
        db.session.flush()
        return connection

    return factory
