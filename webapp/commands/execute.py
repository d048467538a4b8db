"""flask execute: send one prompt through a provider's rotation and show the attempt trail."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from ..services.errors import AttemptRecord, ServiceError
from ..services.execution import ExecutionResult, execute


def _attempt_json(attempt: AttemptRecord) -> dict:
    return {"connection": attempt.connection_name, "error_class": attempt.error_class,
            "response_time_ms": attempt.response_time_ms, "message": attempt.message}


def result_json(result: ExecutionResult) -> dict:
    return {
        "text": result.text,
        "connection": result.connection_name,
        "provider": result.provider_slug,
        "model": result.model,
        "usage": {"prompt_tokens": result.prompt_tokens,
                  "completion_tokens": result.completion_tokens,
                  "total_tokens": result.total_tokens},
        "cost": str(result.cost) if result.cost is not None else None,
        "priced": result.priced,
        "request_id": result.request_id,
        "latency_ms": result.latency_ms,
        "attempts": [_attempt_json(a) for a in result.attempts],
    }


def _echo_trail(attempts: list[AttemptRecord], err: bool = False) -> None:
    if attempts:
        click.echo("attempts:", err=err)
        for attempt in attempts:
            click.echo(f"  {attempt.describe()}", err=err)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


@click.command("execute")
@click.argument("prompt")
@click.option("--provider", "provider_slug", required=True, metavar="SLUG", help="Provider slug.")
@click.option("--connection", metavar="NAME", help="Try this connection first.")
@click.option("--feature", metavar="F", help="Feature name recorded on the usage rows.")
@click.option("--model", metavar="M", help="Model instead of the connection's own.")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Longest answer, in tokens.")
@click.option("--temperature", type=click.FloatRange(0, 2), help="Sampling temperature 0–2.")
@click.option("--max-attempts", type=click.IntRange(1, 20), help="Connections to try at most.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@with_appcontext
def execute_command(prompt, provider_slug, connection, feature, model, max_tokens, temperature,
                    max_attempts, as_json) -> None:
    """Send PROMPT through the provider's rotation; print the answer and every attempt."""
    options = {"model": model, "max_tokens": max_tokens, "temperature": temperature}
    try:
        result = execute(prompt, provider=provider_slug, connection=connection, feature=feature,
                         options={k: v for k, v in options.items() if v is not None},
                         max_attempts=max_attempts)
    except ServiceError as exc:
        attempts = getattr(exc, "attempts", []) or []
        if as_json:
            click.echo(json.dumps({"error": _one_line(exc.message),
                                   "error_type": type(exc).__name__,
                                   "attempts": [_attempt_json(a) for a in attempts]}))
        else:
            _echo_trail(attempts, err=True)
        raise click.ClickException(_one_line(exc.message)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"the database is not ready ({type(exc).__name__}); run: flask --app wsgi db upgrade"
        ) from None
    if as_json:
        click.echo(json.dumps(result_json(result)))
        return
    click.echo(result.text)
    click.echo("")
    cost = f"${result.cost}" if result.cost is not None else "unpriced"
    click.echo(f"connection {result.connection_name} ({result.provider_slug}) · model {result.model}"
               f" · {result.total_tokens if result.total_tokens is not None else '?'} tokens"
               f" · {cost} · {result.latency_ms} ms · request {result.request_id}")
    _echo_trail(result.attempts)


def register(app) -> None:
    app.cli.add_command(execute_command)
