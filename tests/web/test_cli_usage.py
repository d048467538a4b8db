"""flask usage export|prune|rollup and flask demo."""

import csv
from datetime import timedelta

from sqlalchemy import func, select

from tests.unit.test_analytics import add_usage
from webapp.extensions import db
from webapp.models import AiConnection, AiConnectionUsage, AiProvider, UsageDailyRollup, utcnow


def _seed(app, make_provider, make_connection):
    with app.app_context():
        provider = make_provider("openai")
        connection = make_connection(provider)
        now = utcnow()
        for n in range(5):
            add_usage(connection, now - timedelta(days=n, minutes=1), request_id=f"r{n}")
        add_usage(connection, now - timedelta(days=100), request_id="ancient")
        db.session.commit()


def test_export_to_a_file_with_progress(app, runner, make_provider, make_connection, tmp_path):
    _seed(app, make_provider, make_connection)
    target = tmp_path / "out.csv"
    today = utcnow().date()
    result = runner.invoke(args=["usage", "export", "--from", str(today - timedelta(days=6)),
                                 "--to", str(today), "--provider", "openai",
                                 "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "Exporting" in result.output and "Wrote 5 row(s)" in result.output
    with target.open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0][0] == "timestamp" and len(table) == 6


def test_export_bad_input_fails_with_the_reason(app, runner):
    result = runner.invoke(args=["usage", "export", "--from", "2026-11-30", "--to", "2026-11-01"])
    assert result.exit_code != 0 and "before it starts" in result.output
    result = runner.invoke(args=["usage", "export", "--from", "2026-01-01", "--provider", "nope"])
    assert result.exit_code != 0 and "no provider with the slug or id 'nope'" in result.output
    result = runner.invoke(args=["usage", "export"])
    assert result.exit_code != 0 and "--from" in result.output


def test_prune_and_rollup(app, runner, make_provider, make_connection):
    _seed(app, make_provider, make_connection)
    result = runner.invoke(args=["usage", "rollup"])
    assert result.exit_code == 0 and "Rolled up" in result.output
    result = runner.invoke(args=["usage", "prune", "--older-than", "90d"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 raw usage row(s)" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AiConnectionUsage)) == 5
        kept = db.session.scalar(select(func.sum(UsageDailyRollup.attempts)))
        assert kept >= 5  # the pruned day's total is still in the rollups
    bad = runner.invoke(args=["usage", "prune", "--older-than", "soon"])
    assert bad.exit_code != 0 and "not an age in days" in bad.output
    assert runner.invoke(args=["usage", "rollup"]).output.startswith("Nothing to roll up")


def test_demo_seeds_a_small_history(any_app):
    """Bulk insert: executemany on SQLite, COPY on PostgreSQL."""
    app = any_app
    result = app.test_cli_runner().invoke(
        args=["demo", "--rows", "500", "--days", "10", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "500 usage rows" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AiConnectionUsage)) == 500
        assert db.session.scalar(select(func.count()).select_from(AiProvider)) == 4
        connections = db.session.scalars(select(AiConnection)).all()
        assert len(connections) == 8
        assert all(c.api_key and c.api_key not in c.credentials for c in connections)
        usage = AiConnectionUsage
        assert db.session.scalar(select(func.count()).where(usage.cost.is_(None))) > 0
        assert db.session.scalar(select(func.count()).where(usage.success.is_(False))) > 0
        assert db.session.scalar(select(func.count()).where(usage.attempt > 1)) > 0
        assert db.session.scalar(select(func.count(func.distinct(usage.feature)))) >= 4
        assert db.session.scalar(select(func.max(usage.created_at))) <= utcnow()
        assert db.session.scalar(select(func.count()).select_from(UsageDailyRollup)) > 0
        # Each connection's counters agree with its history, so health is not "unknown".
        for connection in connections:
            rows = db.session.scalar(select(func.count()).where(
                usage.connection_id == connection.id))
            assert connection.success_count + connection.error_count == rows
        assert any(c.health_status != "unknown" for c in connections)
