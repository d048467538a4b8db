"""The example setup file in the README imports cleanly and answers through the simulator."""

from pathlib import Path

from webapp.services.config_file import apply_import, plan_import
from webapp.services.execution import execute

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "simulator-providers.yaml"


def test_simulator_example_imports_and_fails_over(ctx, simulator):
    text = EXAMPLE.read_text().replace("http://127.0.0.1:8900", simulator.url)
    plan = plan_import(text)
    assert plan.problems == []
    assert apply_import(text).problems == []
    assert plan_import(text).changes == []  # a second import changes nothing

    result = execute("Hello there", provider="sim-openai", feature="example")
    assert result.connection_name == "steady"
    assert [a.error_class for a in result.attempts] == ["unavailable", "rate_limited", None]
    assert execute("Hi", provider="sim-gemini").text
    assert execute("Hi", provider="sim-openrouter").text
