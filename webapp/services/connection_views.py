"""Read-side helpers for the admin pages: each answers with a constant number of queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import AiConnection, AiConnectionUsage, AiProvider
from .errors import InvalidInput

RECENT_ATTEMPTS = 50


def all_providers() -> list[AiProvider]:
    """Providers by name, for pick-lists."""
    return list(db.session.scalars(select(AiProvider).order_by(AiProvider.name, AiProvider.id)))


def provider_names() -> list:
    """(id, name) of every provider by name: a pick-list without loading whole objects."""
    return list(db.session.execute(
        select(AiProvider.id, AiProvider.name).order_by(AiProvider.name, AiProvider.id)))


def all_connections() -> list[AiConnection]:
    """Every connection with its provider loaded (one query), for the playground's pick-list."""
    return list(db.session.scalars(
        select(AiConnection).join(AiConnection.provider)
        .options(joinedload(AiConnection.provider))
        .order_by(AiProvider.name, AiConnection.priority, AiConnection.id)))


def provider_connections(provider_id: int) -> list[AiConnection]:
    """A provider's connections in the order rotation tries them (priority, then id)."""
    return list(db.session.scalars(
        AiConnection.by_priority(AiConnection.by_provider(provider_id))))


def order_after_move(provider_id: int, connection_id, direction: str | None) -> list[int]:
    """The provider's connection ids with one moved a place up or down (the no-JS reorder)."""
    try:
        moving = int(connection_id)
    except (TypeError, ValueError):
        raise InvalidInput("Say which connection to move (its id).") from None
    if direction not in ("up", "down"):
        raise InvalidInput("Direction must be 'up' or 'down'.")
    ids = list(db.session.scalars(
        AiConnection.by_priority(select(AiConnection.id)
                                 .where(AiConnection.provider_id == provider_id))))
    if moving not in ids:
        raise InvalidInput(f"Connection {moving} does not belong to this provider.")
    index = ids.index(moving)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
    return ids


def recent_attempts(connection_id: int, limit: int = RECENT_ATTEMPTS) -> list[AiConnectionUsage]:
    """The connection's latest attempts, newest first (messages are stored redacted)."""
    return list(db.session.scalars(
        select(AiConnectionUsage)
        .where(AiConnectionUsage.connection_id == connection_id)
        .order_by(AiConnectionUsage.created_at.desc(), AiConnectionUsage.id.desc())
        .limit(limit)))


def provider_slug(provider_id: int) -> str:
    """The slug execute() takes for a provider id (UnknownProvider when there is none)."""
    from .providers import get_provider

    return get_provider(provider_id).slug


def connection_target(connection_id: int) -> tuple[str, int]:
    """(provider slug, connection id) for sending a request through one connection."""
    from .connection_admin import get_connection

    connection = get_connection(connection_id)
    return connection.provider.slug, connection.id
