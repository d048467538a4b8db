"""execute()'s hot path: decrypted credentials cached per ciphertext, one usage row and the
counters written together on either backend, and no session transaction left open."""
# ruff: noqa: F811  (pytest fixtures imported from execution_support)

from __future__ import annotations

import pytest

from tests.unit.execution_support import fresh, sim, usage_rows  # noqa: F401
from webapp.crypto import CredentialsError, cipher
from webapp.extensions import db
from webapp.services import rotation
from webapp.services.execution import execute


def _count_decrypts(monkeypatch) -> list[str]:
    calls: list[str] = []
    current = cipher()
    original = current.decrypt

    def counting(token: str) -> dict:
        calls.append(token)
        return original(token)

    monkeypatch.setattr(current, "decrypt", counting)
    return calls


def test_credentials_are_decrypted_once_per_ciphertext(app, monkeypatch):
    with app.app_context():
        token = cipher().encrypt({"api_key": "sk-cached-1"})
        calls = _count_decrypts(monkeypatch)
        first = rotation.decrypt_credentials(token)
        first["api_key"] = "changed by the caller"
        second = rotation.decrypt_credentials(token)
        assert second == {"api_key": "sk-cached-1"}  # a fresh copy each time
        assert calls == [token]
        other = cipher().encrypt({"api_key": "sk-cached-2"})  # an edited key: new ciphertext
        assert rotation.decrypt_credentials(other) == {"api_key": "sk-cached-2"}
        assert calls == [token, other]


def test_unreadable_credentials_are_not_cached(app, monkeypatch):
    with app.app_context():
        calls = _count_decrypts(monkeypatch)
        for _ in range(2):
            with pytest.raises(CredentialsError):
                rotation.decrypt_credentials("not-a-fernet-token")
        assert len(calls) == 2


def test_the_cache_is_bounded(app, monkeypatch):
    with app.app_context():
        monkeypatch.setattr(rotation, "CREDENTIALS_CACHE_SIZE", 3)
        for number in range(5):
            rotation.decrypt_credentials(cipher().encrypt({"api_key": f"sk-{number}"}))
        assert len(rotation._credentials_cache) <= 3


def test_success_writes_row_and_counters_and_leaves_no_transaction(any_app, sim):
    with any_app.app_context():
        provider = sim.provider()
        conn = sim.connection(provider)
        for _ in range(3):
            result = execute("hi", provider="openai", feature="hot")
            assert not db.session().in_transaction()
        assert len(usage_rows(feature="hot")) == 3
        assert usage_rows(request_id=result.request_id)[0].success is True
        state = fresh(conn.id)
        assert state.success_count == 3 and state.consecutive_failures == 0
        assert state.last_used_at is not None and state.updated_at is not None
