"""CSV export: streamed, header, filename, filtered rows only, formulas neutralised, no keys."""

import csv
import io
from datetime import timedelta

import pytest

from tests.unit.test_analytics import add_usage
from webapp.extensions import db
from webapp.models import utcnow
from webapp.services.usage_export import neutralise

API_KEY = "sk-test-supersecretkey1234567890"


@pytest.fixture
def rows(app, make_provider, make_connection):
    with app.app_context():
        provider = make_provider("openai")
        connection = make_connection(provider, name="=HYPERLINK(\"http://evil\")", api_key=API_KEY)
        other = make_connection(provider, name="other")
        now = utcnow()
        add_usage(connection, now - timedelta(days=1), request_id="r1", feature="@SUM(A1)",
                  model="+cmd", success=False, error_class="auth",
                  message=f"Incorrect API key provided: {API_KEY}", cost="0")
        add_usage(connection, now - timedelta(hours=1), request_id="r2", feature="-2+3",
                  cost="0.0012345")
        add_usage(other, now - timedelta(hours=2), request_id="r3", feature="chat", cost=None)
        add_usage(other, now - timedelta(days=40), request_id="old", feature="chat")
        db.session.commit()
        return {"connection": connection.id, "other": other.id}


def _csv(response):
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_raw_export_streams_header_and_rows(logged_in, rows):
    response = logged_in.get("/analytics/export.csv?preset=7d")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = utcnow().date()
    start = today - timedelta(days=6)
    assert (f'filename="usage-{start.isoformat()}_to_{today.isoformat()}.csv"'
            in response.headers["Content-Disposition"])
    table = _csv(response)
    assert table[0][:4] == ["timestamp", "provider", "connection", "feature"]
    assert len(table) == 4  # header + 3 rows in the last 7 days (the 40-day-old one is out)
    assert all(row[0].endswith("+00:00") and "T" in row[0] for row in table[1:])
    assert {row[5] for row in table[1:]} == {"r1", "r2", "r3"}
    costs = {row[5]: row[13] for row in table[1:]}
    assert costs["r3"] == "" and costs["r2"].startswith("0.0012345")


def test_formulas_are_neutralised_and_keys_never_exported(logged_in, rows):
    text = logged_in.get("/analytics/export.csv?preset=7d").get_data(as_text=True)
    assert API_KEY not in text
    table = _csv(logged_in.get("/analytics/export.csv?preset=7d"))
    cells = [cell for row in table[1:] for cell in row]
    assert "'=HYPERLINK(\"http://evil\")" in cells
    assert "'@SUM(A1)" in cells and "'+cmd" in cells and "'-2+3" in cells
    assert not any(cell[:1] in ("=", "+", "@") for cell in cells)


def test_export_follows_the_filters(logged_in, rows):
    table = _csv(logged_in.get(f"/analytics/export.csv?preset=7d&connection={rows['other']}"))
    assert [row[5] for row in table[1:]] == ["r3"]
    table = _csv(logged_in.get("/analytics/export.csv?preset=7d&outcome=error:auth"))
    assert [row[5] for row in table[1:]] == ["r1"]


def test_breakdown_export(logged_in, rows):
    response = logged_in.get("/analytics/export.csv?preset=7d&kind=by_connection")
    assert "usage-by-connection-" in response.headers["Content-Disposition"]
    table = _csv(response)
    assert table[0][:3] == ["connection", "attempts", "requests"]
    labels = {row[0]: row for row in table[1:]}
    assert "'=HYPERLINK(\"http://evil\")" in labels and labels["other"][1] == "1"


@pytest.mark.parametrize("query, words", [
    ("preset=custom&from=2026-13-01", "is not a date"),
    ("preset=custom&from=2026-11-20&to=2026-11-01", "before it starts"),
    ("provider=31337", "no provider with id 31337"),
    ("preset=custom&from=1800-01-01&to=2026-01-01", "the most is 400"),
    ("kind=everything", "Unknown export kind"),
])
def test_bad_input_is_a_400_with_the_reason(logged_in, rows, query, words):
    response = logged_in.get(f"/analytics/export.csv?{query}")
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)


def test_neutralise():
    for value in ("=1+1", "+1", "-1", "@x", "\tx", "\rx"):
        assert neutralise(value) == "'" + value
    assert neutralise("plain") == "plain" and neutralise(5) == 5 and neutralise("") == ""
