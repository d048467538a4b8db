"""flask app-keys create|list|revoke."""

from __future__ import annotations

from webapp.extensions import db
from webapp.models import AppKey
from webapp.models.app_key import hash_app_key


def test_create_prints_the_key_once(runner, app, make_provider):
    with app.app_context():
        make_provider(slug="openai")
        make_provider(slug="gem", adapter_kind="gemini")
    result = runner.invoke(args=["app-keys", "create", "Reports", "--providers", "openai, gem",
                                 "--rate-limit-per-minute", "12"])
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip().splitlines()[-1]
    assert raw.startswith("acm-")
    with app.app_context():
        key = AppKey.find_by_raw_key(raw)
        assert key.label == "Reports" and key.allowed_providers == ["openai", "gem"]
        assert key.rate_limit_per_minute == 12 and key.key_hash == hash_app_key(raw)

    listing = runner.invoke(args=["app-keys", "list"])
    assert listing.exit_code == 0
    assert key.prefix in listing.output and "Reports" in listing.output
    assert raw not in listing.output


def test_create_refuses_bad_input(runner, app):
    unknown = runner.invoke(args=["app-keys", "create", "x", "--providers", "nope"])
    assert unknown.exit_code != 0 and "Unknown provider slug(s): nope" in unknown.output
    zero = runner.invoke(args=["app-keys", "create", "x", "--rate-limit-per-minute", "0"])
    assert zero.exit_code != 0 and "at least 1" in zero.output
    blank = runner.invoke(args=["app-keys", "create", "  "])
    assert blank.exit_code != 0 and "label is required" in blank.output
    with app.app_context():
        assert db.session.query(AppKey).count() == 0


def test_revoke_by_prefix_and_by_id(runner, app):
    from webapp.services.app_keys import create_app_key

    with app.app_context():
        first, _ = create_app_key("one")
        second, _ = create_app_key("two")
        prefixes = first.prefix, second.id
    result = runner.invoke(args=["app-keys", "revoke", prefixes[0]])
    assert result.exit_code == 0 and "Revoked app key" in result.output
    result = runner.invoke(args=["app-keys", "revoke", str(prefixes[1])])
    assert result.exit_code == 0
    listing = runner.invoke(args=["app-keys", "list"])
    assert listing.output.count("revoked") == 2
    assert "No app keys" in runner.invoke(args=["app-keys", "list", "--active"]).output
    missing = runner.invoke(args=["app-keys", "revoke", "acm-doesnotexist"])
    assert missing.exit_code != 0 and "no app key has prefix" in missing.output
    nonsense = runner.invoke(args=["app-keys", "revoke", "xyz"])
    assert nonsense.exit_code != 0 and "not an app key prefix" in nonsense.output


def test_list_when_empty(runner, app):
    result = runner.invoke(args=["app-keys", "list"])
    assert result.exit_code == 0 and "No app keys" in result.output
