"""The admin in a real browser: providers, connections, HTMX actions, drag-to-reorder.

The steps share one signed-in tab and build on each other, in file order.
"""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

GOOD_KEY = "sk-sim-ok-browser-000000000001"
BAD_KEY = "sk-sim-bad-key-browser-0000002"
STRAY_KEY = "sk-should-never-come-back-000003"


def row(page, name):
    return page.locator("tbody tr", has=page.locator(f"a.connection-name:text-is('{name}')"))


def stay_marker(page):
    """Set a value on window that a full page load would wipe out."""
    page.evaluate("window.__noNavigation = true")


def assert_no_navigation(page):
    assert page.evaluate("window.__noNavigation === true")


def test_create_provider(page, screenshot):
    page.goto("/providers/new")
    page.fill("#name", "Simulated OpenAI")
    page.fill("#slug", "sim")
    page.select_option("#adapter_kind", "openai")
    screenshot("provider-form")
    page.click("button:text('Create provider')")
    expect(page.locator(".flash-success")).to_contain_text("Provider “Simulated OpenAI” was created.")
    expect(page).to_have_url(re.compile(r"/providers/\d+$"))


def _create_connection(page, simulator, name, key, priority, *, fetch_models):
    page.goto("/providers/")
    page.click("a:text('Simulated OpenAI')")
    page.click("a:text('Add connection')")
    page.fill("#name", name)
    page.fill("#api_key", key)
    page.fill("#base_url", simulator.openai_url)
    page.fill("#priority", str(priority))
    if fetch_models:
        stay_marker(page)
        page.click("#fetch-models")
        pick = page.locator("#model-pick")
        expect(pick).to_be_visible()
        pick.select_option("gpt-4o-mini")
        expect(page.locator("#model")).to_have_value("gpt-4o-mini")
        assert_no_navigation(page)
        assert key not in page.content()
    else:
        page.fill("#model", "gpt-4o-mini")
    page.click("button:text('Create connection')")
    expect(page.locator(".flash-success")).to_contain_text(f"Connection “{name}” was created.")


def test_create_two_connections_against_the_simulator(page, browser_simulator, screenshot):
    _create_connection(page, browser_simulator, "good", GOOD_KEY, 10, fetch_models=True)
    screenshot("connection-detail")
    _create_connection(page, browser_simulator, "bad", BAD_KEY, 20, fetch_models=False)
    page.goto("/connections/")
    expect(page.locator("#connections-table tbody tr")).to_have_count(2)
    assert GOOD_KEY not in page.content() and "sk-…0001" in page.content()


def test_test_buttons_show_results_inline(page, screenshot):
    page.goto("/connections/")
    stay_marker(page)
    row(page, "good").locator("button:text('Test')").click()
    row(page, "bad").locator("button:text('Test')").click()
    expect(row(page, "good").locator(".test-result .badge-ok")).to_have_text("ok")
    expect(row(page, "good").locator(".test-result")).to_contain_text("models")
    expect(row(page, "bad").locator(".test-result .badge-error")).to_have_text("auth")
    assert BAD_KEY not in page.content()
    assert_no_navigation(page)
    screenshot("connections-tested")


def test_toggle_swaps_the_badge_in_place(page):
    page.goto("/connections/")
    stay_marker(page)
    good = row(page, "good")
    expect(good.locator("[id^=conn-status-]")).to_have_text("active")
    good.locator("button:text('Toggle')").click()
    expect(good.locator("[id^=conn-status-]")).to_have_text("inactive")
    expect(good.locator("[id^=conn-health-]")).to_have_text("inactive")
    expect(page.locator("#flash-messages")).to_contain_text("Connection “good” is now inactive.")
    good.locator("button:text('Toggle')").click()
    expect(good.locator("[id^=conn-status-]")).to_have_text("active")
    assert_no_navigation(page)


def _order(page):
    return page.locator("#connection-order a.connection-name").all_inner_texts()


def test_drag_reorders_and_the_order_survives_a_reload(page, screenshot):
    page.goto("/providers/")
    page.click("a:text('Simulated OpenAI')")
    assert _order(page) == ["good", "bad"]
    stay_marker(page)
    handle = row(page, "bad").locator(".drag-handle")
    target = row(page, "good")
    box = target.bounding_box()
    handle.hover()
    page.mouse.down()
    page.mouse.move(box["x"] + 40, box["y"] + 4, steps=12)
    page.mouse.move(box["x"] + 40, box["y"] + 2, steps=4)
    page.mouse.up()
    expect(page.locator("#flash-messages")).to_contain_text("order", timeout=5000)
    assert_no_navigation(page)
    assert _order(page) == ["bad", "good"]
    page.reload()
    assert _order(page) == ["bad", "good"]
    screenshot("provider-detail")


def test_playground_shows_failover(page, screenshot):
    page.goto("/connections/playground")
    page.select_option("#target", label="Simulated OpenAI")
    page.fill("#prompt", "ping from the browser")
    page.click("button:text('Send')")
    result = page.locator("#playground-result")
    expect(result).to_contain_text("Echo: ping from the browser")
    expect(result.locator(".attempt-trail")).to_contain_text("bad")
    expect(result.locator(".attempt-trail")).to_contain_text("auth")
    screenshot("playground")


def test_filter_and_search(page, screenshot):
    page.goto("/connections/")
    rows = page.locator("#connections-table tbody tr")
    expect(rows).to_have_count(2)
    page.fill("#q", "goo")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("good")
    expect(page).to_have_url(re.compile(r"q=goo"))
    page.fill("#q", "")
    expect(rows).to_have_count(2)
    page.select_option("#health", "disabled")  # the auth failure disabled "bad"
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("bad")
    page.select_option("#health", "")
    page.select_option("#order", "name")
    expect(rows).to_have_count(2)
    assert page.locator("#connections-table a.connection-name").all_inner_texts() == ["bad", "good"]
    screenshot("connections-list")


def test_bad_values_show_inline_errors_and_an_empty_key(page, screenshot):
    page.goto("/connections/new")
    page.fill("#name", "broken")
    page.fill("#api_key", STRAY_KEY)
    page.fill("#base_url", "ftp://example.com")
    page.fill("#temperature", "5")
    page.fill("#timeout_s", "0")
    page.fill("#rate_limit_per_minute", "-1")
    page.click("button:text('Create connection')")
    errors = page.locator(".field-error")
    expect(errors.first).to_be_visible()
    text = " ".join(errors.all_inner_texts())
    for message in ("Use an http:// or https:// address.", "Temperature must be between 0 and 2.",
                    "Timeout must be between 1 and 600 seconds.", "Limits must be 0 or more."):
        assert message in text
    expect(page.locator("#api_key")).to_have_value("")
    assert STRAY_KEY not in page.content()
    screenshot("connection-form-errors")


def test_delete_with_confirmation(page, screenshot):
    page.goto("/connections/")
    row(page, "good").locator("a:text('Delete')").click()
    expect(page.locator("h1")).to_have_text("Delete connection “good”?")
    page.click("button:text('Yes, delete the connection')")
    expect(page.locator(".flash-success")).to_contain_text("usage history is kept")
    expect(page.locator("#connections-table tbody tr")).to_have_count(1)
    page.goto("/providers/")
    page.click("tr:has-text('Simulated OpenAI') a:text('Delete')")
    expect(page.locator(".notice")).to_contain_text("1 connection")
    expect(page.locator("article")).to_contain_text("Usage history is kept")
    screenshot("provider-delete-confirmation")
    page.click("button:text('Yes, delete the provider')")
    expect(page.locator(".flash-success")).to_contain_text("were deleted")
    expect(page.locator("body")).to_contain_text("No providers yet")
    page.goto("/")
    screenshot("dashboard")


def test_no_content_security_policy_violations(page):
    violations = [m for m in page.console_errors if "Content Security Policy" in m]
    assert not violations, violations
