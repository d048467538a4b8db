"""Checking that a connection works: list its models (free) or send a one-token completion."""

from __future__ import annotations

from sqlalchemy import select, update

from ..adapters.base import TestResult
from ..adapters.registry import get_adapter
from ..crypto import CredentialsError
from ..extensions import db
from ..models import AiConnection, AiProvider, utcnow
from ..redaction import redact
from . import rotation
from .errors import UnknownConnection
from .transactions import end_read_transaction, write_transaction

__all__ = ["test_connection"]


def _message(result: TestResult, completion: bool) -> str:
    if result.ok:
        if completion:
            model = result.models[0] if result.models else "the model"
            return f"OK: {model} answered in {result.latency_ms} ms"
        return f"OK: {len(result.models)} model(s) listed in {result.latency_ms} ms"
    label = result.error_class or "error"
    return f"{label}: {result.message or 'no details'}"


def test_connection(connection_id: int, *, completion: bool = False) -> TestResult:
    """Test the connection and store the outcome on it (ok, time, latency, redacted message)."""
    row = db.session.execute(
        select(AiConnection.id, AiConnection.name, AiConnection.settings,
               AiConnection.credentials, AiProvider.adapter_kind)
        .join(AiProvider, AiProvider.id == AiConnection.provider_id)
        .where(AiConnection.id == connection_id)
    ).first()
    if row is None:
        raise UnknownConnection(f"unknown connection id {connection_id}")
    end_read_transaction()  # nothing is held open while the provider answers
    conn_id, name, settings, credentials, kind = row
    secrets: tuple[str, ...] = ()
    try:
        candidate = rotation.Candidate(
            conn_id, name, 0, "active", None, 0, 1, None, None, None, None, None,
            settings or {}, credentials)
        view = candidate.view()
        secrets = (view.api_key,) if view.api_key else ()
        result = get_adapter(kind).test(view, completion=completion)
    except CredentialsError as exc:
        result = TestResult(ok=False, latency_ms=0, error_class="credentials",
                            message=f"credentials cannot be decrypted ({exc})")
    message = redact(_message(result, completion), secrets)
    result.message = redact(result.message, secrets) if result.message else result.message
    with write_transaction() as session:
        session.execute(
            update(AiConnection).where(AiConnection.id == conn_id)
            .values(last_test_ok=result.ok, last_test_at=utcnow(),
                    last_test_latency_ms=result.latency_ms, last_test_message=message[:500])
            .execution_options(synchronize_session=False))
    db.session.expire_all()
    return result


test_connection.__test__ = False  # a service, not a pytest test
