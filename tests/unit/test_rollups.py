"""Daily rollups: idempotent, kept current, and the totals survive pruning raw rows."""

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select

from tests.unit.test_analytics import NOW, TODAY, add_usage, report, week
from webapp.extensions import db
from webapp.models import AiConnectionUsage, UsageDailyRollup
from webapp.services import retention, rollups


def _seed(app, make_provider, make_connection, days=5, per_day=3):
    with app.app_context():
        connection = make_connection(make_provider("openai"))
        for offset in range(days):
            day = datetime.combine(TODAY - timedelta(days=offset), datetime.min.time())
            for n in range(per_day):
                add_usage(connection, day + timedelta(hours=1 + n), request_id=f"{offset}-{n}",
                          latency=100 + 10 * n, success=n != 2,
                          error_class=None if n != 2 else "unavailable")
        db.session.commit()


def test_rollup_is_idempotent_and_incremental(any_app, make_provider, make_connection):
    _seed(any_app, make_provider, make_connection)
    with any_app.app_context():
        first = rollups.rollup_pending(NOW)
        assert first.days == 4 and first.last == TODAY - timedelta(days=1)
        count = db.session.scalar(select(func.count()).select_from(UsageDailyRollup))
        totals = db.session.scalar(select(func.sum(UsageDailyRollup.attempts)))
        # Four complete days (3 attempts each) plus today's complete hours (01:00-03:00).
        assert totals == 4 * 3 + 3
        assert rollups.rollup_pending(NOW).days == 0  # nothing new
        again = rollups.rollup_days(None, None, now=NOW)  # recompute everything
        assert again.days == 4
        assert db.session.scalar(select(func.count()).select_from(UsageDailyRollup)) == count
        assert db.session.scalar(select(func.sum(UsageDailyRollup.attempts))) == totals


def test_a_late_row_is_counted_after_a_forced_rollup(any_app, make_provider, make_connection):
    _seed(any_app, make_provider, make_connection, days=3)
    with any_app.app_context():
        rollups.rollup_pending(NOW)
        connection_id = db.session.scalar(select(AiConnectionUsage.connection_id).limit(1))
        from webapp.models import AiConnection

        connection = db.session.get(AiConnection, connection_id)
        yesterday = TODAY - timedelta(days=1)
        add_usage(connection, datetime.combine(yesterday, datetime.min.time()) +
                  timedelta(hours=20), request_id="late")
        db.session.commit()
        assert report(week()).headline.attempts == 9  # rolled-up day does not see it yet
        rollups.rollup_days(yesterday, yesterday, now=NOW)
        assert report(week()).headline.attempts == 10


def test_prune_keeps_totals_of_old_periods(any_app, make_provider, make_connection):
    _seed(any_app, make_provider, make_connection, days=10)
    with any_app.app_context():
        before = report(week().with_(first_day=TODAY - timedelta(days=9)))
        result = retention.prune(3, now=NOW, batch=4)
        assert result.cutoff_day == TODAY - timedelta(days=3)
        assert result.deleted == 6 * 3  # days 4 … 9 before today
        remaining = db.session.scalar(select(func.count()).select_from(AiConnectionUsage))
        assert remaining == 4 * 3
        after = report(week().with_(first_day=TODAY - timedelta(days=9)))
        for name in ("attempts", "successes", "tokens", "cost", "response_time_sum"):
            assert getattr(after.headline, name) == getattr(before.headline, name), name
        assert after.raw_kept_from == TODAY - timedelta(days=3) and after.pruned_days_in_range
        # A forced rollup never rebuilds pruned days from the few rows left.
        rollups.rollup_days(None, None, now=NOW)
        assert report(week().with_(first_day=TODAY - timedelta(days=9))).headline.attempts == 30


def test_prune_dry_run_deletes_nothing(app, make_provider, make_connection):
    _seed(app, make_provider, make_connection, days=4)
    with app.app_context():
        result = retention.prune(1, now=NOW, dry_run=True)
        assert result.deleted == 6  # days 2 and 3 before today
        assert db.session.scalar(select(func.count()).select_from(AiConnectionUsage)) == 12


def test_parse_age():
    import pytest

    from webapp.services.errors import InvalidInput

    assert retention.parse_age("90d") == 90 and retention.parse_age("7") == 7
    for bad in ("0d", "-5d", "ninety", "90w", ""):
        with pytest.raises(InvalidInput):
            retention.parse_age(bad)


def test_percentile_from_histogram():
    histogram = [1] * rollups.LATENCY_BUCKETS
    value = rollups.percentile(histogram, 0.95)
    assert value == rollups.bucket_value(math.ceil(0.95 * rollups.LATENCY_BUCKETS) - 1)
    assert rollups.percentile(rollups.empty_histogram(), 0.5) is None


def test_latency_buckets_have_exact_integer_edges():
    """Every response time lands in the bucket whose edges the page states."""
    edges = rollups.LATENCY_EDGES_MS
    assert edges[:12] == (4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 23, 27) and edges[-1] == 185364
    assert len(set(edges)) == len(edges) == rollups.LATENCY_BUCKETS - 1
    for index in range(1, rollups.LATENCY_BUCKETS - 1):
        middle = rollups.bucket_value(index)
        assert edges[index - 1] - 1 <= middle <= edges[index]
        # The geometric middle is within a factor 2**(1/8) of any value in the bucket.
        lower = 4 * 2 ** ((index - 1) / 4)
        assert middle / lower <= 1 + rollups.LATENCY_RELATIVE_ERROR + 1e-9
