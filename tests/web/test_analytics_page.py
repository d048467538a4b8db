"""The analytics page: filters, HTMX fragment with HX-Push-Url, bad input, constant queries."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.unit.test_analytics import add_usage
from webapp.extensions import db
from webapp.models import utcnow


@pytest.fixture
def seeded(app, make_provider, make_connection):
    with app.app_context():
        provider = make_provider("openai")
        connection = make_connection(provider, name="primary")
        other = make_connection(provider, name="other")
        now = utcnow()
        add_usage(connection, now - timedelta(days=3), request_id="x1", latency=120)
        add_usage(connection, now - timedelta(days=2), request_id="x2", success=False,
                  error_class="rate_limited", cost="0", latency=40)
        add_usage(other, now - timedelta(days=2, seconds=-1), request_id="x2", attempt=2)
        add_usage(other, now - timedelta(minutes=1), request_id="x3", feature="search",
                  model="mystery", cost=None)
        db.session.commit()
        return {"provider": provider.id, "connection": connection.id, "other": other.id}


def test_page_renders_figures_charts_and_tables(logged_in, seeded):
    response = logged_in.get("/analytics/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="analytics-chart-data"' in html and 'type="application/json"' in html
    assert "chart.umd.min.js" in html and "js/analytics.js" in html
    assert "Days are UTC days; times are shown in <strong>UTC</strong>" in html
    assert 'id="figure-attempts">4<' in html and 'id="figure-failovers">1<' in html
    assert "1 unpriced" in html and "rate_limited" in html
    assert "breakdown-feature" in html and "breakdown-connection" in html
    assert "breakdown-model" in html and "p95" in html
    assert "<script>" not in html and "style=" not in html  # CSP: no inline script or style


def test_filter_by_connection(logged_in, seeded):
    html = logged_in.get(f"/analytics/?preset=7d&connection={seeded['connection']}").get_data(
        as_text=True)
    assert 'id="figure-attempts">2<' in html


def test_htmx_request_gets_only_the_fragment_and_pushes_the_url(logged_in, seeded):
    url = f"/analytics/?preset=7d&provider={seeded['provider']}"
    response = logged_in.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and "analytics-figures" in html
    assert response.headers["HX-Push-Url"] == url
    assert "HX-Request" in response.headers["Vary"]
    restore = logged_in.get(url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_timezone_of_the_admin_is_stated(app, logged_in, seeded, admin):
    with app.app_context():
        from webapp.models import User

        db.session.get(User, admin).timezone = "Europe/Paris"
        db.session.commit()
    html = logged_in.get("/analytics/").get_data(as_text=True)
    assert "times are shown in <strong>Europe/Paris</strong>" in html


@pytest.mark.parametrize("query, message", [
    ("preset=custom&from=2026-02-31&to=2026-03-01", "is not a date"),
    ("preset=custom&from=2026-11-20&to=2026-11-01", "ends (2026-11-01) before it starts"),
    ("provider=424242", "There is no provider with id 424242"),
    ("preset=custom&from=1900-01-01&to=2026-01-01", "the most is 400"),
    ("provider=1%27%20OR%201%3D1", "must be the number of a provider"),
    ("preset=%3Cscript%3E", "Unknown range"),
])
def test_bad_filters_give_a_message_and_400(logged_in, seeded, query, message):
    response = logged_in.get(f"/analytics/?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html.replace("&#39;", "'") and 'role="alert"' in html
    assert "<script>" not in html
    fragment = logged_in.get(f"/analytics/?{query}", headers={"HX-Request": "true"})
    assert fragment.status_code == 400 and 'role="alert"' in fragment.get_data(as_text=True)


def test_sql_looking_values_are_just_values(app, logged_in, seeded):
    response = logged_in.get("/analytics/?feature=%27%3B%20DROP%20TABLE%20users%3B--"
                             "&model=x%27%20OR%20%271%27%3D%271")
    assert response.status_code == 200
    assert 'id="figure-attempts">0<' in response.get_data(as_text=True)
    with app.app_context():
        assert "users" in sa.inspect(db.engine).get_table_names()


def test_login_required(client):
    assert client.get("/analytics/").status_code == 302
    assert client.get("/analytics/export.csv").status_code == 302


def _count_queries(app, client, url):
    statements = []
    with app.app_context():
        engine = db.engine

    def count(*args):
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_query_count_does_not_depend_on_the_row_count(app, logged_in, seeded):
    logged_in.get("/analytics/")  # rolls up the finished days once
    small = _count_queries(app, logged_in, "/analytics/?preset=30d")
    with app.app_context():
        from webapp.models import AiConnection

        connection = db.session.get(AiConnection, seeded["connection"])
        start = datetime.combine(utcnow().date() - timedelta(days=20), datetime.min.time())
        for n in range(300):
            add_usage(connection, start + timedelta(hours=n), request_id=f"bulk{n}",
                      feature=f"feature-{n % 7}")
        db.session.commit()
        from webapp.services import rollups

        rollups.rollup_days(None, None)
    large = _count_queries(app, logged_in, "/analytics/?preset=30d")
    assert large == small
