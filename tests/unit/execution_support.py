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


