"""flask providers import / export / refresh-models."""

import pytest
import yaml

from webapp.models import AiProvider

KEY = "sk-sim-ok-cli-0000000001"


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("CLI_OPENAI_KEY", KEY)
    path = tmp_path / "providers.yaml"
    path.write_text(
        "providers:\n"
        "  - slug: openai\n"
        "    name: OpenAI\n"
        "    adapter: openai\n"
        "    connections:\n"
        "      - name: primary\n"
        "        api_key: env:CLI_OPENAI_KEY\n"
        "        model: gpt-4o-mini\n"
    )
    return path


def provider_count(app):
    with app.app_context():
        return len(AiProvider.query.all())


def test_import_dry_run_then_apply_then_no_changes(app, runner, config):
    result = runner.invoke(args=["providers", "import", str(config), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "create provider openai" in result.output and "nothing was written" in result.output
    assert provider_count(app) == 0

    result = runner.invoke(args=["providers", "import", str(config)])
    assert result.exit_code == 0, result.output
    assert "Applied:" in result.output and "create connection openai/primary" in result.output
    assert KEY not in result.output
    assert provider_count(app) == 1

    result = runner.invoke(args=["providers", "import", str(config)])
    assert result.exit_code == 0 and result.output.strip() == "No changes."


def test_import_problems_exit_1_and_write_nothing(app, runner, config, monkeypatch):
    monkeypatch.delenv("CLI_OPENAI_KEY")
    config.write_text(config.read_text() + "  - slug: x\n    adapter: foo\n")
    result = runner.invoke(args=["providers", "import", str(config)])
    assert result.exit_code == 1
    assert "providers[0].connections[0].api_key: environment variable CLI_OPENAI_KEY is not set" in result.output
    assert "providers[1].adapter: unknown adapter 'foo'" in result.output
    assert "nothing was written" in result.output
    assert provider_count(app) == 0


def test_import_missing_file(runner, tmp_path):
    result = runner.invoke(args=["providers", "import", str(tmp_path / "nope.yaml")])
    assert result.exit_code != 0 and "no such file" in result.output.lower()


def test_export_to_stdout_and_file(app, runner, config, tmp_path):
    runner.invoke(args=["providers", "import", str(config)])
    result = runner.invoke(args=["providers", "export"])
    assert result.exit_code == 0 and KEY not in result.output
    assert yaml.safe_load(result.output)["providers"][0]["connections"][0]["api_key"] == \
        "env:OPENAI_PRIMARY_API_KEY"
    target = tmp_path / "out.yaml"
    result = runner.invoke(args=["providers", "export", "--output", str(target)])
    assert result.exit_code == 0 and target.read_text().startswith("# AI connection manager")


def test_refresh_models(app, runner, simulator, make_provider, make_connection):
    with app.app_context():
        working = make_provider("router", adapter_kind="openrouter")
        make_connection(working, api_key="sk-or-sim-ok-cli-1", base_url=simulator.openrouter_url)
        broken = make_provider("broken")
        make_connection(broken, api_key="sk-sim-bad-key-cli-2", base_url=simulator.openai_url)

    result = runner.invoke(args=["providers", "refresh-models", "router"])
    assert result.exit_code == 0, result.output
    assert "router: 4 models, 4 priced" in result.output

    result = runner.invoke(args=["providers", "refresh-models"])
    assert result.exit_code == 1
    assert "router: 4 models" in result.output and "broken: failed: primary: auth" in result.output
    assert "sk-sim-bad-key-cli-2" not in result.output

    result = runner.invoke(args=["providers", "refresh-models", "nosuch"])
    assert result.exit_code == 1 and "nosuch" in result.output
