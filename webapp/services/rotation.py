"""Which connections of a provider may take a request now, and in what order to try them.

Everything is read in one query (connections plus their current rate-limit counters) and
copied into plain snapshots, so no database transaction stays open while a provider is called.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import String, and_, bindparam, cast, literal, or_, select, update
from sqlalchemy.engine import Connection

from ..crypto import CredentialsError, cipher
from ..extensions import db
from ..models import AiConnection, AiProvider, AiProviderModel, RateLimitCounter, utcnow
from . import rate_limits
from .fixed_sql import fixed
from .transactions import HeldConnection, read_rows

DEFAULT_TRIAL_TIMEOUT_SECONDS = 120

# Shuffling among equal priorities; tests may seed it (rotation.rng.seed(…)).
rng = random.Random()


def trial_timeout() -> timedelta:
    """How long a half-open trial request may run before another process may claim it."""
    seconds = current_app.config.get("CIRCUIT_BREAKER_TRIAL_TIMEOUT_SECONDS",
                                     DEFAULT_TRIAL_TIMEOUT_SECONDS)
    return timedelta(seconds=float(seconds))


@dataclass
class ConnectionView:
    """What an adapter reads from a connection, detached from the database session."""

    id: int
    name: str
    settings: dict
    credentials: dict

    @property
    def api_key(self) -> str | None:
        return self.credentials.get("api_key")

    def get_credential(self, key: str, default: Any = None) -> Any:
        return self.credentials.get(key, default)

    @property
    def base_url(self) -> str | None:
        return self.settings.get("base_url") or None

    @property
    def model(self) -> str | None:
        return self.settings.get("model") or None


@dataclass
class Candidate:
    """A snapshot of one connection's rotation state, taken at ``now``."""

    id: int
    name: str
    provider_id: int
    status: str
    disabled_reason: str | None
    priority: int
    weight: int
    rate_limit_per_minute: int | None
    rate_limit_per_day: int | None
    cooldown_until: datetime | None
    cooldown_reason: str | None
    trial_started_at: datetime | None
    settings: dict
    encrypted_credentials: str
    minute_used: int = 0
    day_used: int = 0
    # Filled in by assess():
    takes_traffic: bool = False
    reason: str | None = None
    available_at: datetime | None = None
    needs_trial: bool = False
    _view: ConnectionView | None = field(default=None, repr=False)

    def view(self) -> ConnectionView:
        """Decrypted credentials; raises CredentialsError naming the connection."""
        if self._view is None:
            try:
                credentials = decrypt_credentials(self.encrypted_credentials or "")
            except CredentialsError as exc:
                raise CredentialsError(f"connection {self.name!r} (id {self.id}): {exc}") from None
            self._view = ConnectionView(self.id, self.name, dict(self.settings or {}), credentials)
        return self._view

    def reservations(self) -> list[rate_limits.Reservation]:
        items = []
        if self.rate_limit_per_minute is not None:
            items.append(rate_limits.Reservation(
                rate_limits.connection_scope(self.id, "minute"), self.rate_limit_per_minute, "minute"))
        if self.rate_limit_per_day is not None:
            items.append(rate_limits.Reservation(
                rate_limits.connection_scope(self.id, "day"), self.rate_limit_per_day, "day"))
        return items


# Decrypted credentials by (cipher, ciphertext). A ciphertext never changes meaning (editing a
# key stores a new one), so Fernet runs once per stored credential instead of once per call;
# keying by the cipher object keeps apps with other CREDENTIALS_KEYS apart. Failures are not
# cached, so fixing the keys takes effect at once. Bounded, least recently used out first.
CREDENTIALS_CACHE_SIZE = 256
_credentials_cache: OrderedDict[tuple[Any, str], dict] = OrderedDict()
_credentials_lock = threading.Lock()


def decrypt_credentials(token: str) -> dict:
    """The credentials in ``token`` (a fresh dict each time); raises CredentialsError."""
    current = cipher()
    key = (current, token)
    with _credentials_lock:
        cached = _credentials_cache.get(key)
        if cached is not None:
            _credentials_cache.move_to_end(key)
    if cached is None:
        cached = current.decrypt(token)
        with _credentials_lock:
            _credentials_cache[key] = cached
            while len(_credentials_cache) > CREDENTIALS_CACHE_SIZE:
                _credentials_cache.popitem(last=False)
    return dict(cached)


def format_time(when: datetime, now: datetime) -> str:
    if when.date() == now.date():
        return when.strftime("%H:%M:%S UTC")
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def assess(candidate: Candidate, now: datetime, timeout: timedelta) -> Candidate:
    """Decide whether the connection takes traffic now, and if not, why and until when."""
    candidate.takes_traffic, candidate.reason = False, None
    candidate.available_at, candidate.needs_trial = None, False
    if candidate.status == "disabled":
        candidate.reason = f"disabled: {candidate.disabled_reason or 'no reason recorded'}"
        return candidate
    if candidate.status != "active":
        candidate.reason = candidate.status or "inactive"
        return candidate
    until = candidate.cooldown_until
    if until is not None and until > now:
        candidate.available_at = until
        if candidate.cooldown_reason == "circuit_open":
            candidate.reason = f"circuit open until {format_time(until, now)}"
        else:
            candidate.reason = (f"cooling down until {format_time(until, now)} "
                                f"({candidate.cooldown_reason or 'no reason recorded'})")
        return candidate
    if until is not None and candidate.cooldown_reason == "circuit_open":
        trial = candidate.trial_started_at
        if trial is not None and trial > now - timeout:
            candidate.available_at = trial + timeout
            candidate.reason = "circuit half-open: a trial request is running"
            return candidate
        candidate.needs_trial = True
    minute_limit, day_limit = candidate.rate_limit_per_minute, candidate.rate_limit_per_day
    if minute_limit is not None and candidate.minute_used >= minute_limit:
        candidate.available_at = rate_limits.next_window("minute", now)
        candidate.reason = f"minute limit reached ({candidate.minute_used}/{minute_limit})"
        return candidate
    if day_limit is not None and candidate.day_used >= day_limit:
        candidate.available_at = rate_limits.next_window("day", now)
        candidate.reason = f"day limit reached ({candidate.day_used}/{day_limit})"
        return candidate
    candidate.takes_traffic = True
    return candidate


_conn = AiConnection.__table__
_prov = AiProvider.__table__
_models = AiProviderModel.__table__
_SNAPSHOT_COLUMNS = ("id", "name", "provider_id", "status", "disabled_reason", "priority",
                     "weight", "rate_limit_per_minute", "rate_limit_per_day", "cooldown_until",
                     "cooldown_reason", "trial_started_at", "settings", "credentials")


def _counter_join(alias, window: str, param: str):
    scope = literal("connection:") + cast(_conn.c.id, String) + literal(f":{window}")
    return and_(alias.c.scope == scope, alias.c.window_start == bindparam(param))


def _snapshot_select(*extra):
    """Connections with this window's counters; built once (statements are cached by SQLAlchemy
    too, but building them costs more than running them on the hot path)."""
    minute = RateLimitCounter.__table__.alias("minute_counter")
    day = RateLimitCounter.__table__.alias("day_counter")
    return (
        select(*extra, *[_conn.c[name] for name in _SNAPSHOT_COLUMNS],
               minute.c.count, day.c.count)
        .outerjoin_from(_conn, minute, _counter_join(minute, "minute", "minute_start"))
        .outerjoin(day, _counter_join(day, "day", "day_start"))
    )


@cache
def _statement(kind: str):
    if kind == "by_provider":
        return (_snapshot_select().where(_conn.c.provider_id == bindparam("provider_id"))
                .order_by(_conn.c.priority, _conn.c.id))
    if kind == "by_ids":
        return _snapshot_select().where(_conn.c.id.in_(bindparam("ids", expanding=True)))
    # The provider, whether it has a stored model catalog, and all its connections at once.
    has_catalog = (select(_models.c.id).where(_models.c.provider_id == _prov.c.id)
                   .limit(1).exists())
    minute = RateLimitCounter.__table__.alias("minute_counter")
    day = RateLimitCounter.__table__.alias("day_counter")
    key = _prov.c.slug if kind == "plan_by_slug" else _prov.c.id
    return (
        select(_prov.c.id, _prov.c.slug, _prov.c.status, _prov.c.adapter_kind,
               _prov.c.default_connection_id, has_catalog,
               *[_conn.c[name] for name in _SNAPSHOT_COLUMNS], minute.c.count, day.c.count)
        .select_from(_prov)
        .outerjoin(_conn, _conn.c.provider_id == _prov.c.id)
        .outerjoin(minute, _counter_join(minute, "minute", "minute_start"))
        .outerjoin(day, _counter_join(day, "day", "day_start"))
        .where(key == bindparam("key"))
        .order_by(_conn.c.priority, _conn.c.id)
    )


def _windows(now: datetime) -> dict:
    return {"minute_start": rate_limits.window_start("minute", now),
            "day_start": rate_limits.window_start("day", now)}


def _candidate(row) -> Candidate:
    return Candidate(*row[:14], minute_used=row[14] or 0, day_used=row[15] or 0)


def _execute(statement, params: dict):
    return db.session.connection().execute(statement, params).all()


@dataclass
class ProviderSnapshot:
    id: int
    slug: str
    status: str
    adapter_kind: str
    default_connection_id: int | None
    has_catalog: bool
    candidates: list[Candidate]


def load_plan(provider_key: int | str, now: datetime | None = None) -> ProviderSnapshot | None:
    """The provider (by id or slug) and its assessed connections, in one query (on a connection
    of its own; the session's open transaction, if any, is committed first)."""
    now = now or utcnow()
    kind = "plan_by_slug" if isinstance(provider_key, str) else "plan_by_id"
    rows = read_rows(_statement(kind), {"key": provider_key, **_windows(now)})
    return snapshot_from_rows(rows, now)


def load_plan_on(held: HeldConnection, provider_key: int | str,
                 now: datetime | None = None) -> ProviderSnapshot | None:
    """load_plan on execute()'s held connection, as precompiled driver SQL (the hot path)."""
    now = now or utcnow()
    kind = "plan_by_slug" if isinstance(provider_key, str) else "plan_by_id"
    statement = fixed(kind, lambda: _statement(kind), held.connection.dialect)
    return snapshot_from_rows(held.read(statement, {"key": provider_key, **_windows(now)}), now)


def snapshot_from_rows(rows, now: datetime) -> ProviderSnapshot | None:
    """The ProviderSnapshot of a plan query's rows (None when the provider does not exist)."""
    if not rows:
        return None
    timeout = trial_timeout()
    first = rows[0]
    candidates = [assess(_candidate(row[6:]), now, timeout) for row in rows if row[6] is not None]
    return ProviderSnapshot(first[0], first[1], first[2], first[3], first[4], bool(first[5]),
                            candidates)


def load_candidates(provider_id: int, now: datetime | None = None) -> list[Candidate]:
    """Every connection of the provider, assessed at ``now`` (one query)."""
    now = now or utcnow()
    timeout = trial_timeout()
    rows = _execute(_statement("by_provider"), {"provider_id": provider_id, **_windows(now)})
    return [assess(_candidate(row), now, timeout) for row in rows]


def load_candidates_by_id(connection_ids: list[int], now: datetime | None = None) -> dict[int, Candidate]:
    """The same snapshot for given connections, whatever their provider (one query)."""
    now = now or utcnow()
    if not connection_ids:
        return {}
    timeout = trial_timeout()
    rows = _execute(_statement("by_ids"), {"ids": list(connection_ids), **_windows(now)})
    return {row[0]: assess(_candidate(row), now, timeout) for row in rows}


def _weighted_shuffle(group: list[Candidate], source: random.Random) -> list[Candidate]:
    """Order by weight-proportional chance of coming first (Efraimidis–Spirakis keys)."""
    keyed = [(source.random() ** (1.0 / c.weight), c) for c in group]
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [c for _, c in keyed]


def order(candidates: list[Candidate], first_id: int | None = None,
          source: random.Random | None = None) -> list[Candidate]:
    """Try order: ``first_id`` first, then priority ascending with weighted-random order among
    equal priorities; connections with weight 0 only after every other one."""
    source = source or rng
    first = [c for c in candidates if c.id == first_id]
    rest = [c for c in candidates if c.id != first_id]
    weighted = [c for c in rest if (c.weight or 0) > 0]
    spare = [c for c in rest if (c.weight or 0) <= 0]
    ordered: list[Candidate] = []
    for priority in sorted({c.priority for c in weighted}):
        ordered += _weighted_shuffle([c for c in weighted if c.priority == priority], source)
    for priority in sorted({c.priority for c in spare}):
        group = [c for c in spare if c.priority == priority]
        source.shuffle(group)
        ordered += group
    return first + ordered


def claim_trial(connection_id: int, now: datetime, timeout: timedelta,
                connection: Connection | HeldConnection | None = None) -> bool:
    """Atomically claim the half-open trial of an expired circuit (inside the caller's
    transaction, on ``connection`` or the session's): exactly one process wins; a claim older
    than ``timeout`` may be re-taken."""
    result = (connection or db.session.connection()).execute(
        update(_conn)
        .where(_conn.c.id == connection_id, _conn.c.cooldown_reason == "circuit_open",
               _conn.c.cooldown_until <= now,
               or_(_conn.c.trial_started_at.is_(None), _conn.c.trial_started_at <= now - timeout))
        .values(trial_started_at=now)
    )
    return result.rowcount == 1
