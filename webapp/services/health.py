"""What an attempt's outcome does to its connection: counters, cooldowns, breaker, disable.

Every change is one atomic UPDATE (no read-modify-write in Python), run inside the caller's
outcome transaction, so processes sharing the database never lose or double an update.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, case, insert, or_, update
from sqlalchemy.engine import Connection

from ..adapters.base import ErrorClass, ProviderError
from ..extensions import db
from ..models import AiConnection
from ..redaction import redact
from .fixed_sql import fixed
from .transactions import HeldConnection

# Settings (app.config) and their defaults.
DEFAULTS = {
    "CIRCUIT_BREAKER_THRESHOLD": 3,  # unavailable failures in a row before the circuit opens
    "CIRCUIT_BREAKER_BASE_SECONDS": 30,  # first open period; doubles each time it re-opens
    "CIRCUIT_BREAKER_MAX_SECONDS": 600,  # cap on the open period
    "RATE_LIMITED_COOLDOWN_SECONDS": 30,  # 429 without a Retry-After hint
    "QUOTA_COOLDOWN_SECONDS": 3600,  # quota/credits exhausted without a reset time
}
# Providers whose per-day quotas reset at midnight in another time zone than UTC.
DAY_QUOTA_RESET_ZONE = {"gemini": "America/Los_Angeles"}

_c = AiConnection


def setting(name: str) -> float:
    return float(current_app.config.get(name, DEFAULTS[name]))


def _update(connection_id: int):
    return update(_c).where(_c.id == connection_id).execution_options(synchronize_session=False)


def _keep_later(until: datetime):
    """The later of the stored cooldown end and ``until`` (never shorten a longer cooldown)."""
    return case((_c.cooldown_until > until, _c.cooldown_until), else_=until)


def _reason_for(until: datetime, reason: str):
    return case((_c.cooldown_until > until, _c.cooldown_reason), else_=reason)


def next_day_reset(now: datetime, adapter_kind: str | None) -> datetime:
    """The next midnight where the provider's daily quota resets, as naive UTC."""
    zone = ZoneInfo(DAY_QUOTA_RESET_ZONE.get(adapter_kind or "", "UTC"))
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def cooldown_for(error: ProviderError, now: datetime, adapter_kind: str | None = None) -> datetime:
    """When a connection that failed with a quota or rate-limit error may be tried again."""
    hint = error.retry_after
    if error.error_class == ErrorClass.RATE_LIMITED:
        seconds = hint if hint is not None else setting("RATE_LIMITED_COOLDOWN_SECONDS")
        return now + timedelta(seconds=max(seconds, 0.0))
    if error.quota_scope == "day":
        # Gemini's per-day quota comes with a short retryDelay that does not mean the quota is
        # back; OpenRouter's comes with the real reset time. Trust only a hint that long.
        reset = next_day_reset(now, adapter_kind)
        if hint is not None and hint >= 3600:
            return now + timedelta(seconds=hint)
        return reset
    seconds = hint if hint is not None else setting("QUOTA_COOLDOWN_SECONDS")
    return now + timedelta(seconds=max(seconds, 0.0))


def circuit_backoffs(now: datetime) -> tuple[list[tuple[int, datetime]], datetime]:
    """Open-until times by circuit_open_count: base × 2^count, capped."""
    base = max(setting("CIRCUIT_BREAKER_BASE_SECONDS"), 0.001)
    cap = max(setting("CIRCUIT_BREAKER_MAX_SECONDS"), base)
    steps = min(int(math.ceil(math.log2(cap / base))) + 1, 32)
    table = [(k, now + timedelta(seconds=min(base * 2 ** k, cap))) for k in range(steps)]
    return table, now + timedelta(seconds=cap)


@cache
def _success_statement():
    """AiConnection.record_success as a prebuilt Core statement (the hot path)."""
    table = _c.__table__
    return (update(table).where(table.c.id == bindparam("connection_id"))
            .values(success_count=table.c.success_count + 1, consecutive_failures=0,
                    circuit_open_count=0, trial_started_at=None,
                    last_used_at=bindparam("now"), updated_at=bindparam("now")))


@cache
def _usage_and_success_statement():
    """PostgreSQL: the usage row INSERT (a data-modifying CTE) and the success UPDATE as one
    statement, which commits both or neither on its own in one round trip."""
    from .usage import USAGE_COLUMNS, _usage

    inserted = insert(_usage).values({name: bindparam(f"usage_{name}") for name in USAGE_COLUMNS})
    inserted = inserted.cte("inserted_usage")
    return _success_statement().add_cte(inserted)


def record_success_with_usage(connection: HeldConnection | Connection, usage_values: dict,
                              connection_id: int, now: datetime) -> None:
    """Insert the usage row and apply the success in one autocommitted statement (PostgreSQL,
    on an autocommit ``connection``; for a connection without a cooldown to clear)."""
    params = {f"usage_{name}": value for name, value in usage_values.items()}
    statement = fixed("usage_and_success", _usage_and_success_statement, connection.dialect)
    statement.run(connection, {**params, "connection_id": connection_id, "now": now})


def record_success(connection_id: int, now: datetime, had_cooldown: bool, *,
                   connection: Connection | HeldConnection | None = None) -> None:
    """Apply one successful attempt, inside the caller's transaction (on ``connection``, or
    the session's)."""
    connection = connection or db.session.connection()
    statement = fixed("success", _success_statement, connection.dialect)
    statement.run(connection, {"connection_id": connection_id, "now": now})
    if had_cooldown:
        # A success ends an open circuit and any cooldown that has run out; a cooldown the
        # provider asked for (and that another process set meanwhile) still stands.
        table = _c.__table__
        connection.execute(
            update(table).where(table.c.id == connection_id)
            .where(table.c.cooldown_until.is_not(None),
                   or_(table.c.cooldown_until <= now, table.c.cooldown_reason == "circuit_open"))
            .values(cooldown_until=None, cooldown_reason=None)
        )


def record_failure(connection_id: int, error: ProviderError, now: datetime, *,
                   model: str | None, model_from_caller: bool, secrets: tuple[str, ...] = (),
                   adapter_kind: str | None = None) -> None:
    """Apply one failed attempt to the connection, by error class (see design.md)."""
    cls = error.error_class
    message = redact(error.message, secrets)
    if cls in (ErrorClass.INVALID_REQUEST, ErrorClass.CONTENT_FILTERED):
        # The caller's request was at fault: the connection is as healthy as before.
        db.session.execute(_update(connection_id).values(last_used_at=now))
        return
    _c.record_failure(connection_id, cls, message, now)
    if cls == ErrorClass.AUTH:
        _disable(connection_id, redact(f"authentication failed: {message}", secrets))
    elif cls == ErrorClass.MODEL_NOT_FOUND:
        if not model_from_caller:
            _disable(connection_id, redact(f"model not found: {model or '(none)'}: {message}", secrets))
    elif cls in (ErrorClass.QUOTA, ErrorClass.RATE_LIMITED):
        until = cooldown_for(error, now, adapter_kind)
        reason = "quota" if cls == ErrorClass.QUOTA else "rate_limited"
        db.session.execute(_update(connection_id).values(
            cooldown_until=_keep_later(until), cooldown_reason=_reason_for(until, reason),
            trial_started_at=None))
    else:
        _maybe_open_circuit(connection_id, now)


def _disable(connection_id: int, reason: str) -> None:
    db.session.execute(
        _update(connection_id).where(_c.status == "active")
        .values(status="disabled", disabled_reason=reason[:500], trial_started_at=None)
    )


def _maybe_open_circuit(connection_id: int, now: datetime) -> None:
    """Open the circuit when the failures in a row reached the threshold and it is not open
    already (so concurrent failures open it once); a failed half-open trial re-opens it
    with a doubled period."""
    threshold = int(setting("CIRCUIT_BREAKER_THRESHOLD"))
    table, longest = circuit_backoffs(now)
    until = case(*[(_c.circuit_open_count == k, when) for k, when in table], else_=longest)
    db.session.execute(
        _update(connection_id)
        .where(_c.consecutive_failures >= threshold,
               or_(_c.cooldown_until.is_(None), _c.cooldown_until <= now))
        .values(cooldown_until=until, cooldown_reason="circuit_open",
                circuit_open_count=_c.circuit_open_count + 1, trial_started_at=None)
    )
