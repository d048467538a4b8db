"""The gateway's main paths on PostgreSQL (skipped without TEST_DATABASE_URL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
import requests

from tests.conftest import _make_app
from tests.gateway.conftest import usage_for_key

pytestmark = pytest.mark.postgres
MESSAGES = [{"role": "user", "content": "hello postgres"}]


@pytest.fixture
def app(tmp_path):
    """Every fixture of this module (live server, keys, providers) on PostgreSQL."""
    yield from _make_app("postgresql", tmp_path)


def test_answer_stream_usage_and_key_limit_on_postgres(app, openai_provider, make_key,
                                                       openai_client):
    from webapp.services.app_keys import list_app_keys

    key_id, raw = make_key("pg-app", rate_limit_per_minute=2)
    client = openai_client(raw)
    completion = client.chat.completions.create(model="sim", messages=MESSAGES)
    assert "hello postgres" in completion.choices[0].message.content
    chunks = list(client.chat.completions.create(model="sim", messages=MESSAGES, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[-1].usage.total_tokens > 0
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="sim", messages=MESSAGES)
    assert int(caught.value.response.headers["retry-after"]) >= 1
    rows = usage_for_key(app, key_id)
    assert len(rows) == 2 and all(r.success for r in rows)
    with app.app_context():
        (row,) = list_app_keys()
        assert row.requests == 2 and row.key.last_used_at is not None


def test_concurrent_use_and_revocation_on_postgres(app, openai_provider, make_key, live_server):
    from webapp.services.app_keys import revoke_app_key

    key_id, raw = make_key()

    def call(_: int) -> int:
        return requests.get(live_server.v1 + "/models", timeout=20,
                            headers={"Authorization": f"Bearer {raw}"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(call, range(24))) == {200}
    with app.app_context():
        revoke_app_key(key_id)
    assert call(0) == 401
