"""Providers: create, edit, delete, toggle, the default connection and the list page's rows.

Functions take plain dicts and ids, commit their own transaction (unless ``commit=False``,
which the config-file import uses to apply a whole file at once) and raise the domain errors
of ``services.errors``.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import aliased

from ..adapters.registry import adapter_kinds
from ..extensions import db
from ..models import PROVIDER_STATUSES, AiConnection, AiConnectionUsage, AiProvider
from .errors import InvalidInput, UnknownProvider

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9\-_]{0,63}$")
NAME_MAX = 120
PROVIDER_FIELDS = ("name", "slug", "adapter_kind", "status", "settings")


def get_provider(provider_id: int) -> AiProvider:
    provider = db.session.get(AiProvider, provider_id) if provider_id is not None else None
    if provider is None:
        raise UnknownProvider(f"provider {provider_id} does not exist")
    return provider


def get_provider_by_slug(slug: str) -> AiProvider:
    provider = AiProvider.by_slug(slug)
    if provider is None:
        raise UnknownProvider(f"no provider with slug {slug!r}")
    return provider


def clean_provider_data(data: dict, *, current: AiProvider | None = None) -> tuple[dict, dict]:
    """Validated provider fields and field errors; keys missing from ``data`` keep ``current``.

    Uniqueness of the slug is checked against the database (excluding ``current``).
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}

    def value(key: str, default: Any = None) -> Any:
        if key in data:
            return data[key]
        return getattr(current, key, default) if current is not None else default

    name = str(value("name") or "").strip()
    if not name:
        errors.setdefault("name", []).append("Name is required.")
    elif len(name) > NAME_MAX:
        errors.setdefault("name", []).append(f"Name must be at most {NAME_MAX} characters.")
    cleaned["name"] = name

    slug = str(value("slug") or "").strip()
    if not slug:
        errors.setdefault("slug", []).append("Slug is required.")
    elif not SLUG_PATTERN.match(slug):
        errors.setdefault("slug", []).append(
            "Slug must be 1–64 characters of lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit."
        )
    else:
        query = select(AiProvider.id).where(AiProvider.slug == slug)
        if current is not None and current.id is not None:
            query = query.where(AiProvider.id != current.id)
        if db.session.scalar(query) is not None:
            errors.setdefault("slug", []).append(f"A provider with slug {slug!r} already exists.")
    cleaned["slug"] = slug

    kind = str(value("adapter_kind") or "").strip()
    kinds = adapter_kinds()
    if kind not in kinds:
        message = (f"Unknown adapter {kind!r} (choose {', '.join(kinds)})." if kind
                   else f"Adapter is required; choose {', '.join(kinds)}.")
        errors.setdefault("adapter_kind", []).append(message)
    cleaned["adapter_kind"] = kind

    status = str(value("status", "active") or "active").strip()
    if status not in PROVIDER_STATUSES:
        errors.setdefault("status", []).append(
            f"Status must be one of {', '.join(PROVIDER_STATUSES)}."
        )
    cleaned["status"] = status

    settings = value("settings", None)
    if settings is None or settings == "":
        settings = {}
    if not isinstance(settings, dict):
        errors.setdefault("settings", []).append("Settings must be a mapping of names to values.")
        settings = {}
    cleaned["settings"] = dict(settings)
    return cleaned, errors


def _raise_if(errors: dict, what: str) -> None:
    if errors:
        db.session.rollback()
        raise InvalidInput(f"The {what} was not saved: please correct the marked fields.", errors)


def create_provider(data: dict, *, commit: bool = True) -> AiProvider:
    cleaned, errors = clean_provider_data(data)
    _raise_if(errors, "provider")
    provider = AiProvider(**cleaned)
    db.session.add(provider)
    db.session.flush()
    if commit:
        db.session.commit()
    return provider


def update_provider(provider_id: int, data: dict, *, commit: bool = True) -> AiProvider:
    provider = get_provider(provider_id)
    cleaned, errors = clean_provider_data(data, current=provider)
    _raise_if(errors, "provider")
    for key, new in cleaned.items():
        if getattr(provider, key) != new:
            setattr(provider, key, new)
    db.session.flush()
    if commit:
        db.session.commit()
    return provider


def provider_changes(provider: AiProvider, data: dict) -> list[str]:
    """Names of the fields ``data`` would change (for the import's plan)."""
    return [key for key in PROVIDER_FIELDS
            if key in data and getattr(provider, key) != data[key]]


def delete_summary(provider_id: int) -> dict:
    """What deleting the provider removes (connections) and keeps (usage rows)."""
    get_provider(provider_id)
    connections = db.session.scalar(
        select(func.count(AiConnection.id)).where(AiConnection.provider_id == provider_id)
    )
    usage_rows = db.session.scalar(
        select(func.count(AiConnectionUsage.id)).where(AiConnectionUsage.provider_id == provider_id)
    )
    return {"connections": int(connections or 0), "usage_rows": int(usage_rows or 0)}


def delete_provider(provider_id: int) -> None:
    """Delete the provider and its connections; usage rows stay (their FKs become NULL and
    they keep the connection name snapshot), so analytics never change after a delete."""
    provider = get_provider(provider_id)
    provider.default_connection_id = None
    db.session.flush()
    # The database's ON DELETE SET NULL keeps usage rows; delete in SQL, not row by row.
    db.session.execute(
        delete(AiConnection).where(AiConnection.provider_id == provider_id)
        .execution_options(synchronize_session=False)
    )
    db.session.delete(provider)
    db.session.commit()
    db.session.expire_all()


def toggle_provider(provider_id: int) -> AiProvider:
    provider = get_provider(provider_id)
    provider.status = "inactive" if provider.status == "active" else "active"
    db.session.commit()
    return provider


def set_default_connection(provider_id: int, connection_id: int | None, *,
                           commit: bool = True) -> AiProvider:
    provider = get_provider(provider_id)
    if connection_id in (None, ""):
        provider.default_connection_id = None
    else:
        try:
            connection = db.session.get(AiConnection, int(connection_id))
        except (TypeError, ValueError):
            connection = None
        if connection is None or connection.provider_id != provider.id:
            db.session.rollback()
            raise InvalidInput(
                "The default connection must be one of this provider's connections.",
                {"default_connection_id": ["Choose a connection of this provider."]},
            )
        provider.default_connection_id = connection.id
    db.session.flush()
    if commit:
        db.session.commit()
    return provider


def list_providers() -> list[dict]:
    """Every provider with its connection counts and default connection name (one query)."""
    counts = (
        select(
            AiConnection.provider_id.label("provider_id"),
            func.count(AiConnection.id).label("total"),
            func.sum(case((AiConnection.status == "active", 1), else_=0)).label("active"),
        )
        .group_by(AiConnection.provider_id)
        .subquery()
    )
    default = aliased(AiConnection)
    query = (
        select(AiProvider, counts.c.total, counts.c.active, default.name)
        .outerjoin(counts, counts.c.provider_id == AiProvider.id)
        .outerjoin(default, default.id == AiProvider.default_connection_id)
        .order_by(AiProvider.name, AiProvider.id)
    )
    return [
        {
            "provider": provider,
            "connections_total": int(total or 0),
            "connections_active": int(active or 0),
            "default_connection_name": default_name,
        }
        for provider, total, active, default_name in db.session.execute(query).all()
    ]
