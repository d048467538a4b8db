"""The reviewed migration builds and tears down the schema on SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa

from tests.conftest import build_app
from tests.dbutil import BACKENDS, database_url


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_matches_models_and_downgrade_is_clean(backend, tmp_path):
    with database_url(backend, tmp_path) as uri:
        app = build_app(uri, tmp_path / "instance")
        runner = app.test_cli_runner()
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            from webapp.extensions import db

            tables = set(sa.inspect(db.engine).get_table_names())
            assert {"ai_providers", "ai_connections", "ai_connection_usage", "users",
                    "app_keys", "rate_limit_counters"} <= tables
            indexes = {ix["name"] for ix in sa.inspect(db.engine).get_indexes(
                "ai_connection_usage")}
            assert "ix_ai_connection_usage_created_at" in indexes
            db.engine.dispose()
        result = runner.invoke(args=["db", "check"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(args=["db", "downgrade", "base"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            from webapp.extensions import db

            assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
            db.engine.dispose()
