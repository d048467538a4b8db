"""Declarative import/export: plans, problems with their place, idempotency, round trip."""

import json

import pytest
import yaml
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import AiConnection, AiProvider
from webapp.services import config_file, connection_admin, providers

KEY_1 = "sk-file-key-one-1111111111"
KEY_2 = "sk-file-key-two-2222222222"

CONFIG = """
providers:
  - slug: openai
    name: OpenAI
    adapter: openai
    status: active
    default_connection: primary
    connections:
      - name: primary
        api_key: env:TEST_OPENAI_KEY_1
        base_url: https://api.openai.com/v1
        model: gpt-4o-mini
        priority: 1
        weight: 1
        rate_limit_per_minute: 60
        rate_limit_per_day: 10000
        status: active
        temperature: 0.2
        timeout_s: 30
        pricing: {input: 0.15, output: 0.6}
        extra_headers: {X-Team: search}
      - name: backup
        api_key: env:TEST_OPENAI_KEY_2
        model: gpt-4o-mini
        priority: 2
  - slug: router
    name: OpenRouter
    adapter: openrouter
    connections:
      - name: main
        api_key: sk-or-literal-key-333333333
        model: openai/gpt-4o-mini
        http_referer: https://example.com
        x_title: Example
"""


@pytest.fixture
def actx(any_app, monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY_1", KEY_1)
    monkeypatch.setenv("TEST_OPENAI_KEY_2", KEY_2)
    with any_app.app_context():
        yield any_app


def counts():
    return (db.session.scalar(select(func.count(AiProvider.id))),
            db.session.scalar(select(func.count(AiConnection.id))))


def test_plan_writes_nothing(actx):
    plan = config_file.plan_import(CONFIG)
    assert plan.problems == []
    assert plan.changes == [
        "create provider openai (OpenAI, adapter openai)",
        "create connection openai/primary (model gpt-4o-mini)",
        "create connection openai/backup (model gpt-4o-mini)",
        "set default connection of openai to primary",
        "create provider router (OpenRouter, adapter openrouter)",
        "create connection router/main (model openai/gpt-4o-mini)",
    ]
    assert counts() == (0, 0)


def test_apply_creates_everything_then_changes_nothing(actx, monkeypatch):
    plan = config_file.apply_import(CONFIG)
    assert plan.problems == [] and len(plan.changes) == 6
    assert counts() == (2, 3)
    openai = AiProvider.by_slug("openai")
    primary = openai.default_connection
    assert primary.name == "primary" and primary.api_key == KEY_1
    assert primary.settings["pricing"] == {"input": "0.15", "output": "0.6"}
    assert (primary.priority, primary.rate_limit_per_minute, primary.rate_limit_per_day) == (1, 60, 10000)

    db.session.expire_all()
    again = config_file.apply_import(CONFIG)
    assert again.changes == [] and again.problems == []

    monkeypatch.setenv("TEST_OPENAI_KEY_1", "sk-file-key-new-4444444444")
    changed = config_file.apply_import(CONFIG.replace("priority: 2", "priority: 3"))
    assert changed.changes == ["update connection openai/primary: api key",
                               "update connection openai/backup: priority"]
    assert "4444" not in " ".join(changed.changes)
    db.session.expire_all()
    assert AiProvider.by_slug("openai").default_connection.api_key == "sk-file-key-new-4444444444"


def test_connections_not_in_the_file_are_left_alone(actx):
    config_file.apply_import(CONFIG)
    openai = AiProvider.by_slug("openai")
    connection_admin.create_connection(openai.id, {"name": "manual", "api_key": KEY_2})
    assert config_file.apply_import(CONFIG).changes == []
    assert counts() == (2, 4)


def test_keys_left_out_keep_their_values(actx):
    config_file.apply_import(CONFIG)
    short = "providers:\n  - slug: openai\n    connections:\n      - name: primary\n"
    assert config_file.apply_import(short).changes == []
    assert AiProvider.by_slug("openai").default_connection.api_key == KEY_1


BROKEN = """
providers:
  - slug: good
    adapter: openai
    connections:
      - name: one
        api_key: env:TEST_UNSET_VARIABLE
      - name: two
        api_key: sk-literal-secret-555555555
        rate_limit_per_minute: ten
        temperature: 9
        base_url: ftp://nowhere
        colour: blue
      - name: two
        api_key: sk-x-000000000000
      - name: three
  - slug: bad
    adapter: foo
    default_connection: missing
  - slug: good
    adapter: openai
  - slug: Not Valid
    adapter: gemini
"""


def test_every_problem_is_listed_with_its_place(actx, monkeypatch):
    monkeypatch.delenv("TEST_UNSET_VARIABLE", raising=False)
    plan = config_file.apply_import(BROKEN)
    assert plan.changes == []
    expected = [
        "providers[0].connections[0].api_key: environment variable TEST_UNSET_VARIABLE is not set",
        "providers[0].connections[1].colour: unknown key",
        "providers[0].connections[1].rate_limit_per_minute: 'ten' is not a whole number",
        "providers[0].connections[1].temperature: must be between 0 and 2",
        "providers[0].connections[1].base_url: base URL must be an http",
        "providers[0].connections[2].name: duplicate connection name 'two' (also providers[0].connections[1])",
        "providers[0].connections[3].api_key: API key is required",
        "providers[1].adapter: unknown adapter 'foo' (choose openai, gemini, openrouter)",
        "providers[1].default_connection: no connection named 'missing'",
        "providers[2].slug: duplicate slug 'good' (also providers[0])",
        "providers[3].slug: slug must be",
    ]
    for text in expected:
        assert any(problem.startswith(text) for problem in plan.problems), (text, plan.problems)
    assert "sk-literal-secret-555555555" not in "\n".join(plan.problems)
    assert counts() == (0, 0)


def test_malformed_yaml_and_json_name_the_line(actx):
    plan = config_file.plan_import("providers:\n  - slug: a\n    name: [unclosed\n")
    assert len(plan.problems) == 1 and plan.problems[0].startswith("line ")
    plan = config_file.plan_import('{\n  "providers": [,]\n}')
    assert plan.problems == ["line 2, column 17: malformed JSON: Expecting value"]
    assert config_file.plan_import("- just a list").problems == [
        "the file must be a mapping with a 'providers' list at the top"]


def test_json_file_by_path(actx, tmp_path):
    document = yaml.safe_load(CONFIG)
    path = tmp_path / "providers.json"
    path.write_text(json.dumps(document))
    assert len(config_file.apply_import(path).changes) == 6
    assert config_file.plan_import(str(path)).changes == []


def test_export_round_trip_without_secrets(actx, monkeypatch):
    config_file.apply_import(CONFIG)
    openai = AiProvider.by_slug("openai")
    connection_admin.create_connection(openai.id, {
        "name": "EU key #2", "api_key": "sk-eu-secret-6666666666", "organization": "org-eu",
        "extra_headers": {"X-Api-Key": "hdr-secret-7777"}, "extra": {"connect_timeout_s": 3}})
    providers.update_provider(openai.id, {"settings": {"region": "eu"}})

    text = config_file.export_config()
    for secret in (KEY_1, KEY_2, "sk-or-literal-key-333333333", "sk-eu-secret-6666666666",
                   "hdr-secret-7777", "org-eu"):
        assert secret not in text
    exported = yaml.safe_load(text)
    eu = exported["providers"][0]["connections"][-1]
    assert eu["api_key"] == "env:OPENAI_EU_KEY_2_API_KEY"
    assert eu["extra"] == {"connect_timeout_s": 3}
    assert "OPENAI_PRIMARY_API_KEY" in text.split("providers:")[0]  # listed in the header

    for name, value in {
        "OPENAI_PRIMARY_API_KEY": KEY_1, "OPENAI_BACKUP_API_KEY": KEY_2,
        "ROUTER_MAIN_API_KEY": "sk-or-literal-key-333333333",
        "OPENAI_EU_KEY_2_API_KEY": "sk-eu-secret-6666666666",
        "OPENAI_EU_KEY_2_ORGANIZATION": "org-eu", "OPENAI_EU_KEY_2_X_API_KEY": "hdr-secret-7777",
    }.items():
        monkeypatch.setenv(name, value)
    db.session.expire_all()
    assert config_file.plan_import(text) == config_file.ImportPlan([], [])

    monkeypatch.delenv("ROUTER_MAIN_API_KEY")
    problems = config_file.plan_import(text).problems
    assert problems == ["providers[1].connections[0].api_key: "
                        "environment variable ROUTER_MAIN_API_KEY is not set"]
