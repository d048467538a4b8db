"""Per-connection figures and rotation state, for the admin pages and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, inspect, select, update

from ..extensions import db
from ..models import AiConnection, AiConnectionUsage, AiProvider, utcnow
from . import rotation
from .errors import InvalidInput, UnknownProvider
from .transactions import write_transaction

_u = AiConnectionUsage


@dataclass
class RotationState:
    """Whether a connection takes traffic now, and if not, why."""

    takes_traffic: bool
    reason: str | None
    minute_used: int
    minute_limit: int | None
    day_used: int
    day_limit: int | None
    cooldown_until: datetime | None
    available_at: datetime | None = None


def _state(candidate: rotation.Candidate, now: datetime) -> RotationState:
    cooling = candidate.cooldown_until if (candidate.cooldown_until and
                                           candidate.cooldown_until > now) else None
    return RotationState(
        takes_traffic=candidate.takes_traffic, reason=candidate.reason,
        minute_used=candidate.minute_used, minute_limit=candidate.rate_limit_per_minute,
        day_used=candidate.day_used, day_limit=candidate.rate_limit_per_day,
        cooldown_until=cooling, available_at=candidate.available_at)


def _identity(connection: AiConnection) -> int | None:
    """The primary key without reloading an expired object (which would cost a query each)."""
    identity = inspect(connection).identity
    return identity[0] if identity else connection.id


def rotation_states(connections: list[AiConnection]) -> dict[int, RotationState]:
    """Rotation state of each connection, read fresh from the database in one query."""
    now = utcnow()
    snapshots = rotation.load_candidates_by_id([i for i in map(_identity, connections) if i], now)
    return {cid: _state(candidate, now) for cid, candidate in snapshots.items()}


def has_available_connections(provider_id: int) -> bool:
    """True when the provider is active and at least one connection takes traffic now."""
    status = db.session.scalar(select(AiProvider.status).where(AiProvider.id == provider_id))
    if status is None:
        raise UnknownProvider(f"unknown provider id {provider_id}")
    if status != "active":
        return False
    return any(c.takes_traffic for c in rotation.load_candidates(provider_id))


def _percentile_ms(where, count: int, fraction: float) -> int | None:
    if not count:
        return None
    offset = min(max(int(round(fraction * count + 0.5)) - 1, 0), count - 1)
    return db.session.scalar(
        select(_u.response_time_ms).where(*where, _u.response_time_ms.is_not(None))
        .order_by(_u.response_time_ms).offset(offset).limit(1))


def get_usage_statistics(connection_id: int, days: int = 7) -> dict:
    """Attempts, outcomes, tokens, cost and latency of one connection over the last ``days``."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3660:
        raise InvalidInput("days: must be a whole number between 1 and 3660", {"days": ["invalid"]})
    where = (_u.connection_id == connection_id, _u.created_at >= utcnow() - timedelta(days=days))
    row = db.session.execute(
        select(
            func.count(_u.id),
            func.coalesce(func.sum(case((_u.success.is_(True), 1), else_=0)), 0),
            func.coalesce(func.sum(_u.prompt_tokens), 0),
            func.coalesce(func.sum(_u.completion_tokens), 0),
            func.coalesce(func.sum(_u.tokens_used), 0),
            func.sum(_u.cost),
            func.coalesce(func.sum(case((_u.success.is_(True) & _u.cost.is_(None), 1), else_=0)), 0),
            func.avg(_u.response_time_ms),
            func.count(_u.response_time_ms),
        ).where(*where)
    ).one()
    requests, successes = int(row[0]), int(row[1])
    timed = int(row[8])
    return {
        "days": days,
        "requests": requests,
        "successes": successes,
        "failures": requests - successes,
        "success_rate": round(100.0 * successes / requests, 1) if requests else None,
        "prompt_tokens": int(row[2]),
        "completion_tokens": int(row[3]),
        "total_tokens": int(row[4]),
        "cost": Decimal(row[5]) if row[5] is not None else None,
        "unpriced_requests": int(row[6]),
        "avg_response_time_ms": round(float(row[7]), 1) if row[7] is not None else None,
        "p95_response_time_ms": _percentile_ms(where, timed, 0.95),
    }


def get_connection_statistics(provider_id: int, days: int = 1) -> list[dict]:
    """One row per connection of the provider: counters, health, rotation state and the
    last ``days`` of usage (three queries whatever the number of connections)."""
    connections = db.session.scalars(
        AiConnection.by_priority(AiConnection.by_provider(provider_id))).all()
    states = rotation_states(connections)
    since = utcnow() - timedelta(days=days)
    recent = {
        row[0]: row[1:]
        for row in db.session.execute(
            select(_u.connection_id, func.count(_u.id),
                   func.coalesce(func.sum(case((_u.success.is_(True), 1), else_=0)), 0),
                   func.coalesce(func.sum(_u.tokens_used), 0), func.sum(_u.cost),
                   func.avg(_u.response_time_ms))
            .where(_u.provider_id == provider_id, _u.created_at >= since)
            .group_by(_u.connection_id))
    }
    rows = []
    for connection in connections:
        requests, successes, tokens, cost, avg_ms = recent.get(connection.id, (0, 0, 0, None, None))
        rows.append({
            "id": connection.id,
            "name": connection.name,
            "status": connection.status,
            "health_status": connection.health_status,
            "priority": connection.priority,
            "weight": connection.weight,
            "success_count": connection.success_count,
            "error_count": connection.error_count,
            "consecutive_failures": connection.consecutive_failures,
            "success_rate": connection.success_rate,
            "last_used_at": connection.last_used_at,
            "last_error": connection.last_error,
            "last_error_at": connection.last_error_at,
            "rotation": states.get(connection.id),
            "recent_days": days,
            "recent_requests": int(requests),
            "recent_successes": int(successes),
            "recent_tokens": int(tokens),
            "recent_cost": Decimal(cost) if cost is not None else None,
            "recent_avg_response_time_ms": round(float(avg_ms), 1) if avg_ms is not None else None,
        })
    return rows


def _require_provider(provider_id: int) -> None:
    if db.session.scalar(select(AiProvider.id).where(AiProvider.id == provider_id)) is None:
        raise UnknownProvider(f"unknown provider id {provider_id}")


def reset_error_counts(provider_id: int) -> int:
    """Zero error counters, failure streaks, cooldowns and breakers of the provider's
    connections (disabled ones stay disabled); returns how many connections changed."""
    _require_provider(provider_id)
    with write_transaction() as session:
        result = session.execute(
            update(AiConnection)
            .where(AiConnection.provider_id == provider_id)
            .values(error_count=0, consecutive_failures=0, cooldown_until=None,
                    cooldown_reason=None, circuit_open_count=0, trial_started_at=None)
            .execution_options(synchronize_session=False))
        return result.rowcount


def reorder_connections(provider_id: int, ids: list[int]) -> None:
    """Set priority 1..n in the given order; the list must be exactly the provider's
    connections, each once (otherwise nothing changes)."""
    if not isinstance(ids, list | tuple) or any(
            isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise InvalidInput("ids: give the connection ids as whole numbers", {"ids": ["invalid"]})
    if len(set(ids)) != len(ids):
        raise InvalidInput("ids: a connection is listed twice", {"ids": ["duplicate"]})
    _require_provider(provider_id)
    with write_transaction() as session:
        existing = set(session.scalars(
            select(AiConnection.id).where(AiConnection.provider_id == provider_id)))
        unknown = [i for i in ids if i not in existing]
        missing = existing - set(ids)
        if unknown:
            raise InvalidInput(f"ids: {', '.join(map(str, unknown))} are not connections of "
                               "this provider", {"ids": ["unknown"]})
        if missing:
            raise InvalidInput(f"ids: the order leaves out {', '.join(map(str, sorted(missing)))}",
                               {"ids": ["incomplete"]})
        if ids:
            session.execute(
                update(AiConnection)
                .where(AiConnection.id.in_(ids))
                .values(priority=case({cid: n for n, cid in enumerate(ids, start=1)},
                                      value=AiConnection.id))
                .execution_options(synchronize_session=False))
    db.session.expire_all()
