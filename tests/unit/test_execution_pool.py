"""A slow provider never ties up a database connection: execute() gives its pooled
connection back while the provider is called."""
# ruff: noqa: F811  (pytest fixtures imported from execution_support)

from concurrent.futures import ThreadPoolExecutor

from tests.conftest import build_app
from tests.unit.execution_support import key, sim  # noqa: F401
from webapp.extensions import db
from webapp.models import AiConnection, AiProvider
from webapp.services.execution import execute


def test_more_concurrent_calls_than_pooled_connections(tmp_path, simulator):
    app = build_app(f"sqlite:///{tmp_path / 'pool.sqlite3'}", tmp_path / "instance",
                    SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0,
                                               "pool_timeout": 2})
    with app.app_context():
        db.create_all()
        provider = AiProvider(slug="slow", name="Slow", adapter_kind="openai")
        connection = AiConnection(provider=provider, name="slow", settings={
            "base_url": simulator.openai_url, "model": "gpt-4o-mini", "timeout_s": 10,
            "extra_headers": {"X-Sim-Delay-Ms": "700"}})
        connection.set_credentials(key("ok"))
        db.session.add(connection)
        db.session.commit()

    def call(number):
        with app.app_context():
            return execute(f"call {number}", provider="slow").text

    # Four calls of 0.7 s at once on a one-connection pool with a 2 s checkout timeout: if a
    # call held its connection while waiting on the provider, the fourth would time out.
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(call, range(4)))
    assert all(answer.startswith("Echo: call") for answer in answers)
    with app.app_context():
        assert db.session.scalar(db.select(AiConnection.success_count)) == 4
        db.engine.dispose()
