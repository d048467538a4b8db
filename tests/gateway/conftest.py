"""The gateway served by a real WSGI server on 127.0.0.1, with the provider simulator upstream."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from webapp.extensions import db
from webapp.models import AiConnectionUsage


@dataclass
class LiveServer:
    url: str

    @property
    def v1(self) -> str:
        return self.url + "/v1"


@pytest.fixture
def live_server(app):
    """The app behind werkzeug's threaded WSGI server on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield LiveServer(f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def make_key(app):
    """Create an app key through the service: returns (key id, raw key)."""
    from webapp.services.app_keys import create_app_key

    def factory(label="test-app", providers=None, rate_limit_per_minute=None):
        with app.app_context():
            key, raw = create_app_key(label, providers, rate_limit_per_minute)
            return key.id, raw

    return factory


@pytest.fixture
def openai_provider(app, make_provider, make_connection, simulator):
    """Provider "sim" (OpenAI kind) with one healthy connection on the simulator."""
    with app.app_context():
        provider = make_provider(slug="sim", adapter_kind="openai")
        make_connection(provider, name="good", api_key="sk-sim-ok-0000000001",
                        model="gpt-4o-mini", base_url=simulator.openai_url)
        return provider.slug


@pytest.fixture
def openai_client(live_server):
    import openai

    def factory(raw_key: str):
        return openai.OpenAI(base_url=live_server.v1, api_key=raw_key, max_retries=0, timeout=20)

    return factory


def usage_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(AiConnectionUsage.id)))


def usage_for_key(app, key_id: int) -> list[AiConnectionUsage]:
    with app.app_context():
        rows = list(db.session.scalars(
            select(AiConnectionUsage).where(AiConnectionUsage.app_key_id == key_id)
            .order_by(AiConnectionUsage.id)))
        db.session.expunge_all()
        return rows
