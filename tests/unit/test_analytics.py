"""Analytics figures on small hand-made usage, exact, on SQLite and PostgreSQL."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from webapp.extensions import db
from webapp.models import AiConnectionUsage, utcnow
from webapp.services import analytics, rollups
from webapp.services.analytics_filters import AnalyticsFilters, parse_filters
from webapp.services.errors import InvalidInput

NOW = datetime(2026, 11, 26, 15, 30)
TODAY = NOW.date()


def add_usage(connection, when, *, request_id="r", attempt=1, success=True, feature="chat",
              model="gpt-4o-mini", prompt=10, completion=5, cost="0.001", latency=100,
              error_class=None, message=None):
    row = AiConnectionUsage(
        connection_id=connection.id, provider_id=connection.provider_id,
        connection_name=connection.name, request_id=request_id, attempt=attempt,
        feature=feature, model=model, prompt_tokens=prompt, completion_tokens=completion,
        tokens_used=(prompt or 0) + (completion or 0),
        cost=None if cost is None else Decimal(cost), success=success,
        response_time_ms=latency, error_class=error_class, error_message=message,
        created_at=when)
    db.session.add(row)
    return row


@pytest.fixture
def usage(any_app, make_provider, make_connection):
    """Two connections; usage on two past days and today (times relative to NOW)."""
    with any_app.app_context():
        openai = make_provider("openai")
        gemini = make_provider("gemini", adapter_kind="gemini")
        primary = make_connection(openai, name="primary")
        backup = make_connection(openai, name="backup")
        flash = make_connection(gemini, name="flash")
        day1 = datetime.combine(TODAY - timedelta(days=2), datetime.min.time())
        day2 = day1 + timedelta(days=1)
        today = datetime.combine(TODAY, datetime.min.time())
        # Day 1: a plain success, and a failover (attempt 1 fails, attempt 2 succeeds).
        add_usage(primary, day1 + timedelta(hours=9), request_id="a", latency=100)
        add_usage(primary, day1 + timedelta(hours=10), request_id="b", success=False,
                  error_class="rate_limited", prompt=0, completion=0, cost="0", latency=50)
        add_usage(backup, day1 + timedelta(hours=10, seconds=1), request_id="b", attempt=2,
                  latency=300, cost="0.002")
        # Day 2: an unpriced success on another provider and feature.
        add_usage(flash, day2 + timedelta(hours=12), request_id="c", feature="search",
                  model="mystery-model", cost=None, latency=1000)
        # Today: one success and one invalid request.
        add_usage(primary, today + timedelta(hours=8), request_id="d", latency=200)
        add_usage(primary, today + timedelta(hours=9), request_id="e", success=False,
                  error_class="invalid_request", prompt=0, completion=0, cost="0", latency=20)
        db.session.commit()
        yield {"app": any_app, "primary": primary.id, "backup": backup.id, "flash": flash.id,
               "openai": openai.id, "gemini": gemini.id}


def report(filters, now=NOW):
    return analytics.build_report(filters, "UTC", now=now)


def week(**changes):
    return AnalyticsFilters(TODAY - timedelta(days=6), TODAY, preset="custom", **changes)


def test_headline_figures_are_exact(usage):
    with usage["app"].app_context():
        r = report(week())
        h = r.headline
        assert h.attempts == 6
        assert h.first_attempts == 5  # requests a, b, c, d, e
        assert h.successes == 4 and h.failures == 2
        assert h.success_rate == pytest.approx(66.7)
        assert h.failovers == 1
        assert h.prompt_tokens == 40 and h.completion_tokens == 20 and h.tokens == 60
        assert h.priced_cost == Decimal("0.004")
        assert h.unpriced == 1
        assert h.average_ms == pytest.approx((100 + 50 + 300 + 1000 + 200 + 20) / 6, abs=0.1)
        assert dict(r.error_classes) == {"rate_limited": 1, "invalid_request": 1}


def test_series_per_day_combines_rollups_and_todays_raw_rows(usage):
    with usage["app"].app_context():
        r = report(week())
        assert r.granularity == "day"
        assert len(r.series) == 7
        by_day = {point.label: point.totals for point in r.series}
        assert by_day[str(TODAY - timedelta(days=2))].attempts == 3
        assert by_day[str(TODAY - timedelta(days=1))].attempts == 1
        assert by_day[str(TODAY)].attempts == 2
        assert by_day[str(TODAY)].failures == 1
        # Past days came from the rollups, today from raw rows and the partial rollup.
        state = rollups.read_state()
        assert state.rolled_up_through == TODAY - timedelta(days=1)
        assert state.partial_through == datetime(2026, 11, 26, 15, 0)
        cost = r.chart_data()["cost"]
        assert {series["label"] for series in cost} == {"Openai"}  # gemini's only row is unpriced


def test_same_figures_whether_rolled_up_or_not(usage):
    """Rolling up (days and today's hours) never changes a figure."""
    with usage["app"].app_context():
        before = report(week(), now=datetime(2026, 11, 23, 0, 5))  # nothing of the range rolled up
        after = report(week())
        for name in ("attempts", "first_attempts", "successes", "failovers", "tokens", "cost",
                     "unpriced", "response_time_sum"):
            assert getattr(before.headline, name) == getattr(after.headline, name), name
        again = report(week(), now=NOW + timedelta(hours=3))  # more of today rolled up
        assert again.headline.attempts == after.headline.attempts


def test_breakdowns_by_feature_connection_and_model(usage):
    with usage["app"].app_context():
        r = report(week())
        features = {row.label: row.totals.attempts for row in r.by_feature}
        assert features == {"chat": 5, "search": 1}
        connections = {row.label: row.totals for row in r.by_connection}
        assert connections["primary"].attempts == 4 and connections["primary"].failures == 2
        assert connections["backup"].failovers == 1
        assert connections["flash"].priced_cost is None and connections["flash"].unpriced == 1
        models = {row.label: row.totals.attempts for row in r.by_model}
        assert models == {"gpt-4o-mini": 5, "mystery-model": 1}


def test_filters_apply_to_rollups_and_raw_rows(usage):
    with usage["app"].app_context():
        assert report(week(connection_id=usage["primary"])).headline.attempts == 4
        assert report(week(provider_id=usage["gemini"])).headline.attempts == 1
        assert report(week(feature="search")).headline.attempts == 1
        assert report(week(model="gpt-4o-mini")).headline.attempts == 5
        assert report(week(outcome="success")).headline.attempts == 4
        assert report(week(outcome="failure")).headline.attempts == 2
        only = report(week(outcome="error:rate_limited"))
        assert only.headline.attempts == 1 and dict(only.error_classes) == {"rate_limited": 1}
        assert report(week(feature="' OR 1=1 --")).headline.attempts == 0


@pytest.mark.parametrize("outcome", [None, "success", "failure", "error:rate_limited"])
def test_outcome_filters_same_from_rollups_as_from_raw_rows(usage, outcome):
    """Outcome figures come from the per-outcome rollups; cells mix both outcomes."""
    with usage["app"].app_context():
        before = report(week(outcome=outcome), now=datetime(2026, 11, 23, 0, 5))
        after = report(week(outcome=outcome))
        for name in ("attempts", "first_attempts", "successes", "failovers", "tokens", "cost",
                     "unpriced", "response_time_sum", "histogram"):
            assert getattr(before.headline, name) == getattr(after.headline, name), name
        assert before.error_classes == after.error_classes
        by_connection = {row.label: row.totals.attempts for row in after.by_connection}
        expected = {None: {"primary": 4, "backup": 1, "flash": 1},
                    "success": {"primary": 2, "backup": 1, "flash": 1},
                    "failure": {"primary": 2}, "error:rate_limited": {"primary": 1}}[outcome]
        assert by_connection == expected


def test_single_day_is_hourly_from_raw_rows(usage):
    with usage["app"].app_context():
        r = report(AnalyticsFilters(TODAY, TODAY, preset="today"))
        assert r.granularity == "hour" and len(r.series) == 24
        assert r.series[8].totals.attempts == 1 and r.series[9].totals.failures == 1
        assert r.headline.attempts == 2


def test_p95_from_buckets_is_within_tolerance(any_app, make_provider, make_connection):
    with any_app.app_context():
        connection = make_connection(make_provider("openai"))
        day = datetime.combine(TODAY - timedelta(days=1), datetime.min.time())
        latencies = list(range(10, 2010, 10))  # 200 values: 10 … 2000 ms
        for index, latency in enumerate(latencies):
            add_usage(connection, day + timedelta(seconds=index), request_id=f"p{index}",
                      latency=latency)
        db.session.commit()
        r = report(week())
        h = r.headline
        exact_p95 = sorted(latencies)[int(0.95 * len(latencies)) - 1]
        exact_p50 = sorted(latencies)[len(latencies) // 2 - 1]
        # The page states the resolution: the middle of a 2^(1/4)-wide bucket, within about ±9%.
        tolerance = rollups.LATENCY_RELATIVE_ERROR
        assert h.p95_ms == pytest.approx(exact_p95, rel=tolerance)
        assert h.p50_ms == pytest.approx(exact_p50, rel=tolerance)
        assert "±9%" in r.latency_note


def test_empty_range_has_no_figures(any_app):
    with any_app.app_context():
        r = report(week())
        assert r.headline.attempts == 0 and r.headline.success_rate is None
        assert r.headline.p95_ms is None and r.headline.priced_cost == 0
        assert all(value == 0 for value in r.chart_data()["attempts"])


# --- filter parsing ------------------------------------------------------------------------


def test_presets_and_custom_ranges(app):
    with app.app_context():
        today = date(2026, 11, 26)
        assert parse_filters({}, today).first_day == date(2026, 10, 28)
        assert parse_filters({"preset": "today"}, today).days == 1
        assert parse_filters({"preset": "7d"}, today).first_day == date(2026, 11, 20)
        custom = parse_filters({"from": "2026-01-01", "to": "2026-01-31"}, today)
        assert (custom.preset, custom.days) == ("custom", 31)
        assert custom.query_args() == {"preset": "custom", "from": "2026-01-01",
                                       "to": "2026-01-31"}


@pytest.mark.parametrize("params, field, words", [
    ({"preset": "custom", "from": "2026-02-30"}, "from", "not a date"),
    ({"preset": "custom", "from": "yesterday"}, "from", "not a date"),
    ({"preset": "custom", "from": "2026-11-20", "to": "2026-11-01"}, "to", "before it starts"),
    ({"preset": "custom", "from": "1990-01-01", "to": "2026-01-01"}, "to", "the most is 400"),
    ({"preset": "forever"}, "preset", "Unknown range"),
    ({"provider": "999"}, "provider", "no provider with id 999"),
    ({"provider": "1; DROP TABLE users"}, "provider", "must be the number"),
    ({"connection": "77"}, "connection", "no connection with id 77"),
    ({"outcome": "error:' OR 1=1"}, "outcome", "Outcome is"),
])
def test_bad_filters_name_the_problem(app, params, field, words):
    with app.app_context():
        with pytest.raises(InvalidInput) as info:
            parse_filters(params, date(2026, 11, 26))
        assert field in info.value.field_errors
        assert words in " ".join(info.value.field_errors[field])


def test_timezone_falls_back_to_default_then_utc():
    assert analytics.resolve_timezone("Europe/Paris").key == "Europe/Paris"
    assert analytics.resolve_timezone("Not/AZone", "Asia/Tokyo").key == "Asia/Tokyo"
    assert analytics.resolve_timezone("", "nonsense").key == "UTC"


def test_hourly_labels_follow_the_admins_timezone(app):
    with app.app_context():
        today = utcnow().date()
        r = analytics.build_report(AnalyticsFilters(today, today, preset="today"),
                                   "Asia/Kolkata")
        assert r.series[0].label == "05:30" and r.timezone == "Asia/Kolkata"
