"""Provider management: validation, toggle, delete (usage kept), default connection, list page."""

import pytest
from sqlalchemy import event, func, select

from webapp.extensions import db
from webapp.models import AiConnection, AiConnectionUsage, AiProvider
from webapp.services import providers
from webapp.services.errors import InvalidInput, UnknownProvider

VALID = {"name": "OpenAI", "slug": "openai", "adapter_kind": "openai", "status": "active"}


@pytest.fixture
def actx(any_app):
    with any_app.app_context():
        yield any_app


def provider_count():
    return db.session.scalar(select(func.count(AiProvider.id)))


def test_create_provider_stores_fields(actx):
    provider = providers.create_provider({**VALID, "settings": {"note": "x"}})
    assert provider.id and provider.slug == "openai" and provider.settings == {"note": "x"}
    assert providers.get_provider(provider.id) is provider


@pytest.mark.parametrize("data, field", [
    ({**VALID, "name": ""}, "name"),
    ({**VALID, "name": "x" * 121}, "name"),
    ({**VALID, "slug": ""}, "slug"),
    ({**VALID, "slug": "Has Space"}, "slug"),
    ({**VALID, "slug": "-leading"}, "slug"),
    ({**VALID, "slug": "a" * 65}, "slug"),
    ({**VALID, "adapter_kind": "foo"}, "adapter_kind"),
    ({**VALID, "status": "maybe"}, "status"),
    ({**VALID, "settings": "nope"}, "settings"),
])
def test_invalid_provider_writes_nothing(actx, data, field):
    with pytest.raises(InvalidInput) as info:
        providers.create_provider(data)
    assert field in info.value.field_errors
    assert provider_count() == 0


def test_slug_must_be_unique(actx):
    providers.create_provider(VALID)
    with pytest.raises(InvalidInput) as info:
        providers.create_provider({**VALID, "name": "Other"})
    assert "already exists" in info.value.field_errors["slug"][0]
    assert provider_count() == 1


def test_update_keeps_own_slug_and_rejects_taken_one(actx):
    first = providers.create_provider(VALID)
    second = providers.create_provider({**VALID, "slug": "gem", "adapter_kind": "gemini"})
    updated = providers.update_provider(first.id, {**VALID, "name": "OpenAI EU"})
    assert updated.name == "OpenAI EU"
    with pytest.raises(InvalidInput):
        providers.update_provider(second.id, {"slug": "openai"})
    db.session.expire_all()
    assert providers.get_provider(second.id).slug == "gem"


def test_unknown_provider(actx):
    with pytest.raises(UnknownProvider):
        providers.get_provider(999)
    with pytest.raises(UnknownProvider):
        providers.toggle_provider(999)


def test_toggle_provider(actx):
    provider = providers.create_provider(VALID)
    assert providers.toggle_provider(provider.id).status == "inactive"
    assert providers.toggle_provider(provider.id).status == "active"


def test_delete_provider_keeps_usage_rows(actx, make_provider, make_connection):
    provider = make_provider()
    connection = make_connection(provider, name="primary")
    make_connection(provider, name="second")
    providers.set_default_connection(provider.id, connection.id)
    db.session.add(AiConnectionUsage(connection_id=connection.id, provider_id=provider.id,
                                     connection_name="primary", request_id="r1", success=True))
    db.session.commit()
    assert providers.delete_summary(provider.id) == {"connections": 2, "usage_rows": 1}

    providers.delete_provider(provider.id)
    assert provider_count() == 0
    assert db.session.scalar(select(func.count(AiConnection.id))) == 0
    usage = db.session.scalars(select(AiConnectionUsage)).one()
    assert usage.connection_id is None and usage.provider_id is None
    assert usage.connection_name == "primary"


def test_default_connection_must_belong_to_provider(actx, make_provider, make_connection):
    openai = make_provider("openai")
    other = make_provider("other")
    foreign = make_connection(other)
    for bad in (foreign.id, 99999, "abc"):
        with pytest.raises(InvalidInput):
            providers.set_default_connection(openai.id, bad)
    own = make_connection(openai)
    assert providers.set_default_connection(openai.id, own.id).default_connection_id == own.id
    assert providers.set_default_connection(openai.id, None).default_connection_id is None


def test_list_providers_counts_in_one_query(actx, make_provider, make_connection):
    openai = make_provider("openai", name="OpenAI")
    first = make_connection(openai, name="a")
    make_connection(openai, name="b", status="inactive")
    make_provider("gemini", name="Gemini", adapter_kind="gemini")
    providers.set_default_connection(openai.id, first.id)
    db.session.expire_all()

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        rows = providers.list_providers()
        assert all(row["provider"].name for row in rows)  # no lazy loads
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s != "BEGIN"]) == 1  # SQLite's explicit BEGIN
    by_slug = {row["provider"].slug: row for row in rows}
    assert by_slug["openai"]["connections_total"] == 2
    assert by_slug["openai"]["connections_active"] == 1
    assert by_slug["openai"]["default_connection_name"] == "a"
    assert by_slug["gemini"]["connections_total"] == 0
    assert by_slug["gemini"]["default_connection_name"] is None
