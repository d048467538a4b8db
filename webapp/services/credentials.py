"""Credential key rotation and decryptability checks."""

from dataclasses import dataclass, field

from sqlalchemy import select

from ..crypto import CredentialsError, cipher
from ..extensions import db
from ..models import AiConnection


@dataclass
class RotationReport:
    rotated: int = 0
    failures: list[str] = field(default_factory=list)  # one line per connection that failed


def undecryptable_connections() -> list[str]:
    """Names of connections whose credentials the configured keys cannot read."""
    problems = []
    for connection in db.session.scalars(select(AiConnection).order_by(AiConnection.id)):
        try:
            cipher().decrypt(connection.credentials or "")
        except CredentialsError:
            problems.append(f"connection {connection.name!r} (id {connection.id})")
    return problems


def rotate_credentials_key() -> RotationReport:
    """Re-encrypt every credential under the newest key; all or nothing."""
    report = RotationReport()
    connections = db.session.scalars(select(AiConnection).order_by(AiConnection.id)).all()
    new_tokens = {}
    for connection in connections:
        try:
            new_tokens[connection.id] = cipher().rotate(connection.credentials or "")
        except CredentialsError:
            report.failures.append(
                f"connection {connection.name!r} (id {connection.id}) cannot be decrypted "
                "with any key in CREDENTIALS_KEYS"
            )
    if report.failures:
        db.session.rollback()
        return report
    for connection in connections:
        connection.credentials = new_tokens[connection.id]
    db.session.commit()
    report.rotated = len(connections)
    return report
