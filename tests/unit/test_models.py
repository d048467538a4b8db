"""Model behaviour from the seed, on SQLite and PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select, text

from webapp.extensions import db
from webapp.models import AiConnection, AiConnectionUsage, AiProvider, utcnow


def _usage(connection, success=True, ms=100, feature="chat", days_ago=0, tokens=10):
    return AiConnectionUsage(
        connection_id=connection.id, provider_id=connection.provider_id,
        connection_name=connection.name, request_id="r", feature=feature, success=success,
        response_time_ms=ms, tokens_used=tokens, created_at=utcnow() - timedelta(days=days_ago))


def test_credentials_helpers_and_settings(any_app, make_provider, make_connection):
    with any_app.app_context():
        provider = make_provider()
        connection = make_connection(provider, api_key="sk-abc-123456789", model="gpt-4o-mini",
                                     base_url="http://127.0.0.1:1/v1")
        connection.set_credentials({"api_key": "sk-abc-123456789", "organization": "org-9"})
        db.session.commit()
        fresh = db.session.get(AiConnection, connection.id)
        db.session.expire_all()
        assert fresh.api_key == "sk-abc-123456789"
        assert fresh.get_credential("organization") == "org-9"
        assert fresh.get_credential("project", "none") == "none"
        assert fresh.model == "gpt-4o-mini"
        assert fresh.base_url == "http://127.0.0.1:1/v1"
        assert fresh.key_hint and "123456789" not in fresh.key_hint
        stored = db.session.execute(
            text("SELECT credentials FROM ai_connections WHERE id = :i"), {"i": fresh.id}
        ).scalar()
        assert "sk-abc" not in stored


def test_state_properties(any_app, make_provider, make_connection):
    with any_app.app_context():
        connection = make_connection(make_provider())
        assert connection.is_active and not connection.has_errors
        assert connection.success_rate is None and connection.health_status == "unknown"
        AiConnection.record_success(connection.id)
        AiConnection.record_success(connection.id)
        AiConnection.record_failure(connection.id, "unavailable", "boom")
        db.session.commit()
        db.session.refresh(connection)
        assert connection.success_rate == 66.7
        assert connection.has_errors and connection.health_status == "degraded"
        connection.cooldown_until = utcnow() + timedelta(minutes=1)
        assert connection.health_status == "cooling_down"
        connection.status = "disabled"
        assert connection.health_status == "disabled" and not connection.is_active


def test_query_helpers_and_provider_connections(any_app, make_provider, make_connection):
    with any_app.app_context():
        provider = make_provider()
        other = make_provider(slug="gemini", adapter_kind="gemini")
        second = make_connection(provider, name="b", priority=2)
        first = make_connection(provider, name="a", priority=1)
        off = make_connection(provider, name="c", priority=0, status="inactive")
        make_connection(other, name="x")
        cooling = make_connection(provider, name="d", priority=3,
                                  cooldown_until=utcnow() + timedelta(minutes=5))
        provider.default_connection = second
        db.session.commit()
        ordered = db.session.scalars(
            AiConnection.by_priority(AiConnection.by_provider(provider.id))).all()
        assert [c.name for c in ordered] == ["c", "a", "b", "d"]
        active = db.session.scalars(AiConnection.active().where(
            AiConnection.provider_id == provider.id)).all()
        assert off not in active and first in active
        healthy = db.session.scalars(AiConnection.healthy().where(
            AiConnection.provider_id == provider.id)).all()
        assert cooling not in healthy and first in healthy
        db.session.expire_all()
        provider = db.session.get(AiProvider, provider.id)
        assert provider.default_connection.name == "b"
        assert [c.name for c in provider.active_connections] == ["a", "b", "d"]


def test_usage_helpers(any_app, make_provider, make_connection):
    with any_app.app_context():
        provider = make_provider()
        one, two = make_connection(provider, name="one"), make_connection(provider, name="two")
        db.session.add_all([
            _usage(one, ms=100), _usage(one, ms=300, success=False, feature="search"),
            _usage(two, ms=200), _usage(two, ms=900, days_ago=10),
        ])
        db.session.commit()
        by_connection = {row.connection_name: row for row in
                         AiConnectionUsage.totals_by_connection(days=7)}
        assert by_connection["one"].requests == 2 and by_connection["one"].successes == 1
        assert by_connection["two"].requests == 1
        by_feature = {row.feature: row.requests for row in AiConnectionUsage.totals_by_feature(7)}
        assert by_feature == {"chat": 2, "search": 1}
        assert AiConnectionUsage.average_response_time(days=7) == 200.0
        assert AiConnectionUsage.average_response_time(days=30, connection_id=two.id) == 550.0


def test_usage_history_survives_deleting_the_connection(any_app, make_provider, make_connection):
    with any_app.app_context():
        connection = make_connection(make_provider())
        db.session.add(_usage(connection))
        db.session.commit()
        db.session.delete(connection)
        db.session.commit()
        row = db.session.scalars(select(AiConnectionUsage)).one()
        assert row.connection_id is None and row.connection_name == "primary"


def test_counters_are_atomic_under_concurrent_updates(any_app, make_provider, make_connection):
    """Many threads, each with its own session: no increment is lost."""
    with any_app.app_context():
        connection_id = make_connection(make_provider()).id

    def bump(_):
        with any_app.app_context():
            AiConnection.record_success(connection_id)
            db.session.commit()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(bump, range(80)))
    with any_app.app_context():
        assert db.session.get(AiConnection, connection_id).success_count == 80
