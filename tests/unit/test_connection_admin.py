"""Connection management: validation, secrets kept on edit, toggle, and the list page query."""

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from webapp.extensions import db
from webapp.models import AiConnection, utcnow
from webapp.services import connection_admin as admin
from webapp.services.errors import InvalidInput, UnknownConnection

KEY = "sk-test-secret-abcdef123456"


@pytest.fixture
def actx(any_app):
    with any_app.app_context():
        yield any_app


@pytest.fixture
def provider(actx, make_provider):
    return make_provider("openai")


def connection_count():
    return db.session.scalar(select(func.count(AiConnection.id)))


def create(provider, **data):
    return admin.create_connection(provider.id, {"name": "primary", "api_key": KEY, **data})


def test_create_stores_settings_columns_and_encrypted_key(provider):
    connection = create(
        provider, model="gpt-4o-mini", base_url="https://api.example.com/v1/", temperature="0.7",
        max_tokens="256", timeout_s="30", priority="2", weight="3", rate_limit_per_minute="60",
        rate_limit_per_day="", extra_headers="X-Team: search", organization="org-1",
        pricing={"input": "0.15", "output": "0.60"}, extra={"connect_timeout_s": 3},
        http_referer="https://example.com", x_title="Example")
    assert connection.settings == {
        "model": "gpt-4o-mini", "base_url": "https://api.example.com/v1", "temperature": 0.7,
        "max_tokens": 256, "timeout_s": 30, "extra_headers": {"X-Team": "search"},
        "pricing": {"input": "0.15", "output": "0.60"}, "connect_timeout_s": 3,
        "http_referer": "https://example.com", "x_title": "Example"}
    assert (connection.priority, connection.weight) == (2, 3)
    assert (connection.rate_limit_per_minute, connection.rate_limit_per_day) == (60, None)
    assert KEY not in connection.credentials
    assert connection.api_key == KEY and connection.get_credential("organization") == "org-1"
    assert connection.key_hint == "sk-…3456"


@pytest.mark.parametrize("data, field", [
    ({"name": ""}, "name"),
    ({"name": "n" * 121}, "name"),
    ({"api_key": ""}, "api_key"),
    ({"base_url": "ftp://example.com"}, "base_url"),
    ({"base_url": "https://"}, "base_url"),
    ({"temperature": "2.5"}, "temperature"),
    ({"temperature": "warm"}, "temperature"),
    ({"max_tokens": "0"}, "max_tokens"),
    ({"timeout_s": "601"}, "timeout_s"),
    ({"timeout_s": "0.5"}, "timeout_s"),
    ({"priority": "-1"}, "priority"),
    ({"priority": "1.5"}, "priority"),
    ({"weight": "-2"}, "weight"),
    ({"rate_limit_per_minute": "ten"}, "rate_limit_per_minute"),
    ({"rate_limit_per_day": "-5"}, "rate_limit_per_day"),
    ({"status": "sleeping"}, "status"),
    ({"extra_headers": "no colon here"}, "extra_headers"),
    ({"pricing": {"input": "x", "output": "1"}}, "pricing"),
    ({"pricing": {"input": "1"}}, "pricing"),
])
def test_invalid_input_writes_nothing_and_hides_the_key(provider, data, field):
    with pytest.raises(InvalidInput) as info:
        create(provider, **data)
    assert field in info.value.field_errors
    assert KEY not in str(info.value.field_errors) and KEY not in info.value.message
    assert connection_count() == 0


def test_numeric_message_is_clear(provider):
    with pytest.raises(InvalidInput) as info:
        create(provider, rate_limit_per_minute="ten")
    assert info.value.field_errors["rate_limit_per_minute"] == ["'ten' is not a whole number."]


def test_key_pasted_into_another_field_is_masked(provider):
    with pytest.raises(InvalidInput) as info:
        create(provider, temperature=KEY)
    assert KEY not in str(info.value.field_errors)


def test_names_are_unique_within_a_provider(provider, make_provider):
    create(provider)
    with pytest.raises(InvalidInput) as info:
        create(provider)
    assert "already has" in info.value.field_errors["name"][0]
    other = make_provider("other")
    assert create(other).name == "primary"
    second = create(provider, name="second")
    with pytest.raises(InvalidInput):
        admin.update_connection(second.id, {"name": "primary"})
    assert connection_count() == 3


def test_blank_key_on_edit_keeps_the_stored_secrets(provider):
    connection = create(provider, organization="org-1", model="a")
    hint = connection.key_hint
    admin.update_connection(connection.id, {"api_key": "", "organization": None, "model": "b"})
    db.session.expire_all()
    connection = admin.get_connection(connection.id)
    assert connection.api_key == KEY and connection.key_hint == hint
    assert connection.get_credential("organization") == "org-1"
    assert connection.model == "b"

    admin.update_connection(connection.id, {"api_key": "sk-new-key-0000000099"})
    db.session.expire_all()
    connection = admin.get_connection(connection.id)
    assert connection.api_key == "sk-new-key-0000000099"
    assert connection.get_credential("organization") == "org-1"


def test_blank_setting_on_edit_removes_it_and_invalid_edit_changes_nothing(provider):
    connection = create(provider, temperature="0.3", rate_limit_per_minute="10")
    admin.update_connection(connection.id, {"temperature": "", "rate_limit_per_minute": ""})
    db.session.expire_all()
    connection = admin.get_connection(connection.id)
    assert "temperature" not in connection.settings and connection.rate_limit_per_minute is None
    with pytest.raises(InvalidInput):
        admin.update_connection(connection.id, {"name": "renamed", "weight": "heavy"})
    db.session.expire_all()
    assert admin.get_connection(connection.id).name == "primary"


def test_toggle_semantics(provider):
    connection = create(provider)
    assert admin.toggle_connection(connection.id).status == "inactive"
    assert admin.toggle_connection(connection.id).status == "active"
    connection.status = "disabled"
    connection.disabled_reason = "auth: invalid API key"
    connection.cooldown_until = utcnow() + timedelta(minutes=5)
    connection.cooldown_reason = "rate_limited"
    connection.consecutive_failures = 4
    connection.trial_started_at = utcnow()
    db.session.commit()
    toggled = admin.toggle_connection(connection.id)
    assert toggled.status == "active"
    assert (toggled.disabled_reason, toggled.cooldown_until, toggled.cooldown_reason,
            toggled.consecutive_failures, toggled.trial_started_at) == (None, None, None, 0, None)


def test_delete_and_unknown(provider):
    connection = create(provider)
    admin.delete_connection(connection.id)
    assert connection_count() == 0
    with pytest.raises(UnknownConnection):
        admin.get_connection(connection.id)
    with pytest.raises(UnknownConnection):
        admin.toggle_connection(12345)


# --- list page -------------------------------------------------------------------------------


def seed(provider, make_provider, make_connection):
    now = utcnow()
    gemini = make_provider("gemini", name="Gemini", adapter_kind="gemini")
    make_connection(provider, name="alpha", priority=1, success_count=90, error_count=10,
                    last_used_at=now - timedelta(minutes=1), model="gpt-4o")
    make_connection(provider, name="beta", priority=2, success_count=10, error_count=0,
                    last_used_at=now - timedelta(minutes=5))
    make_connection(provider, name="gamma", priority=3, status="inactive")
    make_connection(provider, name="delta", priority=4, status="disabled")
    make_connection(provider, name="epsilon", priority=5, consecutive_failures=3,
                    success_count=1, error_count=3)
    make_connection(gemini, name="zeta", priority=6, cooldown_until=now + timedelta(minutes=3))
    return gemini


def names(page):
    return [c.name for c in page.items]


def test_list_filters_search_and_order(provider, make_provider, make_connection):
    gemini = seed(provider, make_provider, make_connection)
    assert names(admin.list_connections()) == ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    assert names(admin.list_connections(provider_id=gemini.id)) == ["zeta"]
    assert names(admin.list_connections(search="gem")) == ["zeta"]  # provider name
    assert names(admin.list_connections(search="GPT-4O")) == ["alpha"]  # model setting
    assert names(admin.list_connections(search="%")) == []  # LIKE wildcards are literal
    assert names(admin.list_connections(status="inactive")) == ["gamma"]
    assert names(admin.list_connections(health="disabled")) == ["delta"]
    assert names(admin.list_connections(health="cooling_down")) == ["zeta"]
    assert names(admin.list_connections(health="unhealthy")) == ["epsilon"]
    assert names(admin.list_connections(health="healthy")) == ["alpha", "beta"]
    assert names(admin.list_connections(order="-priority"))[0] == "zeta"
    assert names(admin.list_connections(order="name"))[:2] == ["alpha", "beta"]
    assert names(admin.list_connections(order="-last_used"))[:2] == ["alpha", "beta"]
    assert names(admin.list_connections(order="-success_rate"))[:3] == ["beta", "alpha", "epsilon"]
    assert names(admin.list_connections(order="success_rate"))[:3] == ["epsilon", "alpha", "beta"]


def test_list_pagination(provider, make_provider, make_connection):
    seed(provider, make_provider, make_connection)
    page = admin.list_connections(per_page=4, page=2)
    assert (page.total, page.page, page.pages) == (6, 2, 2)
    assert names(page) == ["epsilon", "zeta"] and page.has_prev and not page.has_next
    assert admin.list_connections(per_page=4, page=99).page == 2


@pytest.mark.parametrize("kwargs", [{"order": "colour"}, {"status": "x"}, {"health": "x"},
                                    {"page": "two"}, {"provider_id": "abc"}])
def test_list_rejects_bad_filters(provider, kwargs):
    with pytest.raises(InvalidInput):
        admin.list_connections(**kwargs)


def count_list_queries(**kwargs):
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        page = admin.list_connections(**kwargs)
        # What the list template reads: none of it may trigger a lazy load.
        rendered = [(c.provider.name, c.health_status, c.success_rate) for c in page.items]
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(rendered) == len(page.items)
    return len([s for s in statements if s != "BEGIN"])  # SQLite's explicit BEGIN


def test_list_query_count_is_constant(provider, make_provider, make_connection):
    for number in range(5):
        make_connection(provider, name=f"c{number}")
    few = count_list_queries(per_page=100)
    gemini = make_provider("gemini", adapter_kind="gemini")
    for number in range(45):
        make_connection(gemini if number % 2 else provider, name=f"d{number}")
    many = count_list_queries(per_page=100, health="healthy", search="c", order="-success_rate")
    assert few == many == 2
