"""Connections as administrators manage them: create, edit, delete, toggle, and the list page.

``clean_connection_data`` is the one validation of connection input; the admin forms, the
CLI and the config-file import all go through it. The API key never appears in an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import String, and_, cast, func, not_, or_, select
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..models import CONNECTION_STATUSES, AiConnection, AiProvider, utcnow
from ..models.connection import UNHEALTHY_AFTER_FAILURES
from ..redaction import redact
from .errors import InvalidInput, UnknownConnection
from .providers import NAME_MAX, get_provider

CREDENTIAL_FIELDS = ("api_key", "organization", "project")
COLUMN_FIELDS = ("priority", "weight", "rate_limit_per_minute", "rate_limit_per_day", "status")
SETTING_FIELDS = ("model", "base_url", "timeout_s", "temperature", "max_tokens",
                  "extra_headers", "http_referer", "x_title", "pricing")
HEALTH_FILTERS = ("healthy", "degraded", "unknown", "unhealthy", "cooling_down", "disabled",
                  "inactive")
ORDER_KEYS = ("priority", "name", "last_used", "success_rate")
MAX_PER_PAGE = 200


# --- parsing of single values -------------------------------------------------------------


class _Bad(ValueError):
    """A value that cannot be used; the message is shown next to the field."""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any, *, whole: bool) -> float | int:
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool):
        raise _Bad(f"{value!r} is not {kind}.")
    if isinstance(value, int | float):
        number = value
    else:
        text = str(value).strip()
        try:
            number = int(text) if whole else float(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise _Bad(f"{text!r} is not {kind}.") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise _Bad(f"{value!r} is not a finite number.")
    if whole:
        if isinstance(number, float) and not number.is_integer():
            raise _Bad(f"{value!r} is not a whole number.")
        number = int(number)
    return number


def _bounded(value: Any, *, whole: bool, low: float | None = None,
             high: float | None = None) -> float | int:
    number = _number(value, whole=whole)
    if (low is not None and number < low) or (high is not None and number > high):
        if low is not None and high is not None:
            raise _Bad(f"Must be between {low:g} and {high:g}.")
        raise _Bad(f"Must be at least {low:g}." if low is not None else f"Must be at most {high:g}.")
    return number


def _base_url(value: Any) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Bad("Base URL must be an http:// or https:// address with a host name.")
    return text.rstrip("/")


def _headers(value: Any) -> dict[str, str]:
    """A mapping, or text with one ``Name: value`` per line (as typed in a form)."""
    if isinstance(value, str):
        pairs = {}
        for number, line in enumerate(value.splitlines(), start=1):
            if not line.strip():
                continue
            if ":" not in line:
                raise _Bad(f"Line {number}: write each header as 'Name: value'.")
            name, header_value = line.split(":", 1)
            pairs[name.strip()] = header_value.strip()
        value = pairs
    if not isinstance(value, dict):
        raise _Bad("Extra headers must be a mapping of header names to values.")
    headers = {}
    for name, header_value in value.items():
        name = str(name).strip()
        if not name or any(c in name for c in " :\r\n\t"):
            raise _Bad(f"{name!r} is not a valid header name.")
        text = "" if header_value is None else str(header_value)
        if "\n" in text or "\r" in text:
            raise _Bad(f"The value of header {name!r} must be on one line.")
        headers[name] = text
    return headers


def _price(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _Bad('Pricing must give "input" and "output" prices in USD per 1M tokens.')
    prices = {}
    for side in ("input", "output"):
        raw = value.get(side)
        if _blank(raw):
            raise _Bad(f"Pricing needs an {side} price (USD per 1M tokens).")
        try:
            price = Decimal(str(raw).strip())
        except (InvalidOperation, ValueError):
            raise _Bad(f"Pricing {side}: {raw!r} is not a number.") from None
        if not price.is_finite() or price < 0:
            raise _Bad(f"Pricing {side} must be a number ≥ 0.")
        prices[side] = str(price)
    return prices


def _text(value: Any, limit: int = 500) -> str:
    text = str(value).strip()
    if len(text) > limit:
        raise _Bad(f"At most {limit} characters.")
    return text


_SETTING_PARSERS = {
    "model": lambda v: _text(v, 200),
    "base_url": _base_url,
    "timeout_s": lambda v: _bounded(v, whole=False, low=1, high=600),
    "temperature": lambda v: _bounded(v, whole=False, low=0, high=2),
    "max_tokens": lambda v: _bounded(v, whole=True, low=1),
    "extra_headers": _headers,
    "http_referer": _text,
    "x_title": _text,
    "pricing": _price,
}
_COLUMN_PARSERS = {
    "priority": lambda v: _bounded(v, whole=True, low=0),
    "weight": lambda v: _bounded(v, whole=True, low=0),
    "rate_limit_per_minute": lambda v: _bounded(v, whole=True, low=0),
    "rate_limit_per_day": lambda v: _bounded(v, whole=True, low=0),
}


def _tidy_number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# --- validation ------------------------------------------------------------------------------


@dataclass
class CleanConnection:
    """Validated input: only the fields the caller gave (None in ``settings`` removes one)."""

    name: str | None
    credentials: dict[str, str]  # non-blank credential fields only (blank keeps the stored)
    columns: dict[str, Any]
    settings: dict[str, Any]


def clean_connection_data(data: dict, *, creating: bool) -> tuple[CleanConnection, dict]:
    """Validate connection input (no database access); returns the cleaned input and errors."""
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        # Values are echoed in messages; a key pasted into the wrong field is still masked.
        errors.setdefault(field, []).append(redact(message, [str(data.get("api_key") or "")]))

    name = None
    if creating or "name" in data:
        name = "" if data.get("name") is None else str(data.get("name")).strip()
        if not name:
            fail("name", "Name is required.")
        elif len(name) > NAME_MAX:
            fail("name", f"Name must be at most {NAME_MAX} characters.")

    credentials = {}
    for key in CREDENTIAL_FIELDS:
        value = data.get(key)
        if not _blank(value):
            credentials[key] = str(value).strip()
    if creating and "api_key" not in credentials:
        fail("api_key", "API key is required.")

    columns: dict[str, Any] = {}
    for key, parse in _COLUMN_PARSERS.items():
        if key not in data:
            continue
        value = data[key]
        if _blank(value):
            if key.startswith("rate_limit"):
                columns[key] = None  # empty = unlimited
            elif creating:
                continue  # the model's default
            else:
                fail(key, "A value is required.")
            continue
        try:
            columns[key] = parse(value)
        except _Bad as exc:
            fail(key, str(exc))
    if "status" in data and not _blank(data["status"]):
        status = str(data["status"]).strip()
        if status not in CONNECTION_STATUSES:
            fail("status", f"Status must be one of {', '.join(CONNECTION_STATUSES)}.")
        columns["status"] = status

    settings: dict[str, Any] = {}
    extra = data.get("extra")
    if not _blank(extra):
        if isinstance(extra, dict):
            settings.update({str(k): v for k, v in extra.items()})
        else:
            fail("extra", "Extra settings must be a mapping of names to values.")
    for key, parse in _SETTING_PARSERS.items():
        if key not in data:
            continue
        value = data[key]
        if _blank(value) or value == {}:
            settings[key] = None
            continue
        try:
            settings[key] = _tidy_number(parse(value))
        except _Bad as exc:
            fail(key, str(exc))
    return CleanConnection(name, credentials, columns, settings), errors


def _name_taken(provider_id: int, name: str, exclude_id: int | None = None) -> bool:
    query = select(AiConnection.id).where(AiConnection.provider_id == provider_id,
                                          AiConnection.name == name)
    if exclude_id is not None:
        query = query.where(AiConnection.id != exclude_id)
    return db.session.scalar(query) is not None


def _invalid(errors: dict) -> InvalidInput:
    db.session.rollback()
    return InvalidInput("The connection was not saved: please correct the marked fields.", errors)


def _merged_settings(current: dict | None, updates: dict) -> dict:
    merged = dict(current or {})
    for key, value in updates.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _current_credentials(connection: AiConnection) -> dict:
    return dict(connection.credentials_dict)


def connection_changes(connection: AiConnection, clean: CleanConnection) -> list[str]:
    """Names of the fields ``clean`` would change; the key is compared, never shown."""
    changed = []
    if clean.name is not None and clean.name != connection.name:
        changed.append("name")
    if clean.credentials:
        stored = _current_credentials(connection)
        for key, value in clean.credentials.items():
            if stored.get(key) != value:
                changed.append(key.replace("_", " ") if key == "api_key" else key)
    for key, value in clean.columns.items():
        if getattr(connection, key) != value:
            changed.append(key)
    current = connection.settings or {}
    for key, value in clean.settings.items():
        if current.get(key) != value:
            changed.append(key)
    return changed


def _reset_health(connection: AiConnection) -> None:
    connection.disabled_reason = None
    connection.cooldown_until = None
    connection.cooldown_reason = None
    connection.consecutive_failures = 0
    connection.trial_started_at = None


# --- commands --------------------------------------------------------------------------------


def get_connection(connection_id: int) -> AiConnection:
    connection = db.session.get(AiConnection, connection_id) if connection_id is not None else None
    if connection is None:
        raise UnknownConnection(f"connection {connection_id} does not exist")
    return connection


def create_connection(provider_id: int, data: dict, *, commit: bool = True) -> AiConnection:
    provider = get_provider(provider_id)
    clean, errors = clean_connection_data(data, creating=True)
    if clean.name and "name" not in errors and _name_taken(provider.id, clean.name):
        errors.setdefault("name", []).append(
            f"This provider already has a connection named {clean.name!r}.")
    if errors:
        raise _invalid(errors)
    connection = AiConnection(
        provider_id=provider.id,
        name=clean.name,
        settings=_merged_settings({}, clean.settings),
        **clean.columns,
    )
    connection.set_credentials(clean.credentials)
    db.session.add(connection)
    db.session.flush()
    if commit:
        db.session.commit()
    return connection


def update_connection(connection_id: int, data: dict, *, commit: bool = True) -> AiConnection:
    """Apply the given fields; a blank API key (or organization/project) keeps the stored one."""
    connection = get_connection(connection_id)
    clean, errors = clean_connection_data(data, creating=False)
    if (clean.name and "name" not in errors and clean.name != connection.name
            and _name_taken(connection.provider_id, clean.name, exclude_id=connection.id)):
        errors.setdefault("name", []).append(
            f"This provider already has a connection named {clean.name!r}.")
    if errors:
        raise _invalid(errors)
    if clean.name is not None:
        connection.name = clean.name
    if clean.credentials:
        credentials = _current_credentials(connection)
        if any(credentials.get(k) != v for k, v in clean.credentials.items()):
            credentials.update(clean.credentials)
            connection.set_credentials(credentials)
    previous_status = connection.status
    for key, value in clean.columns.items():
        setattr(connection, key, value)
    if previous_status != "active" and connection.status == "active":
        _reset_health(connection)  # re-enabling by hand gives the connection a fresh start
    settings = _merged_settings(connection.settings, clean.settings)
    if settings != (connection.settings or {}):
        connection.settings = settings  # a new dict, so the JSON column sees the change
    db.session.flush()
    if commit:
        db.session.commit()
    return connection


def delete_connection(connection_id: int) -> None:
    """Delete the connection; its usage rows stay (connection_id becomes NULL)."""
    connection = get_connection(connection_id)
    provider = connection.provider
    if provider is not None and provider.default_connection_id == connection.id:
        provider.default_connection_id = None
        db.session.flush()
    db.session.delete(connection)
    db.session.commit()


def toggle_connection(connection_id: int) -> AiConnection:
    """active -> inactive; inactive or disabled -> active with a clean health state."""
    connection = get_connection(connection_id)
    if connection.status == "active":
        connection.status = "inactive"
    else:
        connection.status = "active"
        _reset_health(connection)
    db.session.commit()
    return connection


# --- the list page -----------------------------------------------------------------------------


@dataclass
class Page:
    items: list
    total: int
    page: int
    pages: int
    per_page: int = 25

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _success_rate():
    total = AiConnection.success_count + AiConnection.error_count
    return AiConnection.success_count * 1.0 / func.nullif(total, 0)


def _health_condition(health: str, now):
    c = AiConnection
    cooling = and_(c.cooldown_until.is_not(None), c.cooldown_until > now)
    usable = and_(c.status == "active", not_(cooling))
    total = c.success_count + c.error_count
    if health == "disabled":
        return c.status == "disabled"
    if health == "inactive":
        return c.status == "inactive"
    if health == "cooling_down":
        return and_(c.status == "active", cooling)
    if health == "unhealthy":
        return and_(usable, c.consecutive_failures >= UNHEALTHY_AFTER_FAILURES)
    below = c.consecutive_failures < UNHEALTHY_AFTER_FAILURES
    if health == "healthy":  # everything usable that is not failing repeatedly
        return and_(usable, below)
    if health == "unknown":
        return and_(usable, below, total == 0)
    # degraded, as AiConnection.health_status: recent failures or under 90 % success
    return and_(usable, below, total > 0,
                or_(c.consecutive_failures > 0, c.success_count * 10 < total * 9))


def _order_by(order: str):
    descending = order.startswith("-")
    key = order.lstrip("-")
    columns = {
        "priority": [AiConnection.priority],
        "name": [func.lower(AiConnection.name)],
        "last_used": [AiConnection.last_used_at],
        "success_rate": [_success_rate()],
    }[key]
    ordered = [(col.desc() if descending else col.asc()).nulls_last() for col in columns]
    return [*ordered, AiConnection.id.desc() if descending else AiConnection.id.asc()]


def list_connections(search: str | None = None, provider_id: int | None = None,
                     status: str | None = None, health: str | None = None,
                     order: str = "priority", page: int = 1, per_page: int = 25) -> Page:
    """One page of connections (two queries whatever the row count: count, then rows)."""
    errors: dict[str, list[str]] = {}
    order = (order or "priority").strip()
    if order.lstrip("-") not in ORDER_KEYS:
        errors["order"] = [f"Order by one of {', '.join(ORDER_KEYS)} (prefix - to reverse)."]
    if status and status not in CONNECTION_STATUSES:
        errors["status"] = [f"Status must be one of {', '.join(CONNECTION_STATUSES)}."]
    if health and health not in HEALTH_FILTERS:
        errors["health"] = [f"Health must be one of {', '.join(HEALTH_FILTERS)}."]
    try:
        page = max(int(page or 1), 1)
        per_page = min(max(int(per_page or 25), 1), MAX_PER_PAGE)
    except (TypeError, ValueError):
        errors["page"] = ["Page and page size must be whole numbers."]
    try:
        provider_id = None if provider_id in (None, "") else int(provider_id)
    except (TypeError, ValueError):
        errors["provider_id"] = ["Provider must be given by its numeric id."]
    if errors:
        raise InvalidInput("Invalid list filter: " + " ".join(m for ms in errors.values() for m in ms),
                           errors)

    conditions = []
    if provider_id is not None:
        conditions.append(AiConnection.provider_id == provider_id)
    if status:
        conditions.append(AiConnection.status == status)
    if health:
        conditions.append(_health_condition(health, utcnow()))
    if search and search.strip():
        term = search.strip()
        conditions.append(or_(
            AiConnection.name.icontains(term, autoescape=True),
            AiConnection.key_hint.icontains(term, autoescape=True),
            AiProvider.name.icontains(term, autoescape=True),
            AiProvider.slug.icontains(term, autoescape=True),
            cast(AiConnection.settings, String).icontains(term, autoescape=True),  # model, URL
        ))

    base = select(AiConnection).join(AiConnection.provider).where(*conditions)
    total = db.session.scalar(
        select(func.count()).select_from(base.with_only_columns(AiConnection.id).subquery())
    ) or 0
    pages = max(math.ceil(total / per_page), 1)
    page = min(page, pages)
    rows = db.session.scalars(
        base.options(contains_eager(AiConnection.provider))
        .order_by(*_order_by(order))
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).unique().all()
    return Page(items=list(rows), total=int(total), page=page, pages=pages, per_page=per_page)
