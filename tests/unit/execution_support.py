"""Shared helpers for the execution-service tests: simulator-backed providers and lookups."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AiConnection, AiConnectionUsage


def key(scenario: str = "ok") -> str:
    return f"sk-sim-{scenario}-{uuid.uuid4().hex}"


@pytest.fixture
def sim(simulator, make_provider, make_connection):
    """Build providers and connections that point at the simulator."""

    class Sim:
        url = simulator.url

        def provider(self, slug="openai", kind="openai", **fields):
            return make_provider(slug=slug, adapter_kind=kind, **fields)

        def connection(self, provider, name="primary", scenario="ok", api_key=None, **fields):
            base = {"openai": simulator.openai_url, "openrouter": simulator.openrouter_url,
                    "gemini": simulator.gemini_url}[provider.adapter_kind]
            fields.setdefault("model", "gemini-2.0-flash" if provider.adapter_kind == "gemini"
                              else "gpt-4o-mini")
            fields.setdefault("timeout_s", 5)
            return make_connection(provider, name=name, api_key=api_key or key(scenario),
                                   base_url=base, **fields)

    return Sim()


def usage_rows(**where):
    query = select(AiConnectionUsage).order_by(AiConnectionUsage.id)
    for name, value in where.items():
        query = query.where(getattr(AiConnectionUsage, name) == value)
    return db.session.scalars(query).all()


def fresh(connection_id):
    db.session.expire_all()
    return db.session.get(AiConnection, connection_id)




def wait_for_fresh_minute(needed_seconds: float = 5.0) -> None:
    """Sleep into the next minute if fewer than ``needed_seconds`` remain in this one, so a
    test that counts per-minute admissions never straddles a window boundary."""
    import time
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    remaining = 60 - (now.second + now.microsecond / 1e6)
    if remaining < needed_seconds:
        time.sleep(remaining + 0.05)


def admission_worker(config: dict, ready, go, results, scope: str, limit: int, hammer_calls: int,
                     provider_slug: str | None, execute_calls: int) -> None:
    """A separate process: build the app on the shared database, wait for ``go``, then call
    ``try_acquire`` and ``execute()`` as fast as it can; report how many were admitted."""
    from webapp import create_app
    from webapp.services import rate_limits
    from webapp.services.errors import NoAvailableConnection
    from webapp.services.execution import execute

    app = create_app(dict(config))
    with app.app_context():
        ready.put(1)
        go.wait(60)
        admitted = sum(rate_limits.try_acquire(scope, limit, "minute") for _ in range(hammer_calls))
        answered = 0
        for _ in range(execute_calls if provider_slug else 0):
            try:
                execute("hi", provider=provider_slug, max_attempts=1)
                answered += 1
            except NoAvailableConnection:
                pass
        results.put((admitted, answered))
