"""The models each provider offers: fetched live for the form, stored for validation and prices."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from ..adapters.base import ModelInfo, ProviderError, SimpleConnection
from ..adapters.registry import get_adapter
from ..crypto import CredentialsError
from ..extensions import db
from ..models import AiConnection, AiProviderModel, utcnow
from ..redaction import redact
from .errors import InvalidInput, ServiceError
from .pricing import Price
from .providers import get_provider


@dataclass
class RefreshReport:
    models: int = 0
    priced: int = 0
    error: str | None = None


def _probe_connection(provider, connection: AiConnection | None, api_key: str | None,
                      base_url: str | None) -> Any:
    """What the adapter reads: the stored connection, with unsaved key/base URL laid over it."""
    if connection is not None and not api_key and not base_url:
        return connection
    settings = dict(connection.settings or {}) if connection is not None else {}
    credentials: dict = {}
    if connection is not None:
        credentials = dict(connection.credentials_dict)
    if api_key:
        credentials["api_key"] = api_key.strip()
    if base_url:
        settings["base_url"] = base_url.strip()
    if not credentials.get("api_key"):
        raise InvalidInput("Enter an API key to fetch the models.",
                           {"api_key": ["Enter an API key to fetch the models."]})
    return SimpleConnection(
        api_key=credentials["api_key"],
        base_url=settings.get("base_url") or None,
        model=settings.get("model"),
        settings=settings,
        credentials=credentials,
    )


def fetch_models(provider_id: int, *, connection_id: int | None = None,
                 api_key: str | None = None, base_url: str | None = None) -> list[str]:
    """Model ids the provider lists for the given (possibly unsaved) key, sorted."""
    provider = get_provider(provider_id)
    connection = None
    if connection_id not in (None, ""):
        try:
            connection = db.session.get(AiConnection, int(connection_id))
        except (TypeError, ValueError):
            connection = None
        if connection is None or connection.provider_id != provider.id:
            raise InvalidInput("That connection does not belong to this provider.")
    try:
        probe = _probe_connection(provider, connection, api_key, base_url)
        models = get_adapter(provider.adapter_kind).list_models(probe)
    except ProviderError as exc:
        raise ServiceError(
            f"{provider.name} did not list its models ({exc.error_class}): "
            f"{redact(exc.message, [api_key])}") from None
    except CredentialsError as exc:
        raise ServiceError(str(exc)) from None
    return sorted({m.id for m in models})


def _list_with(provider, connection: AiConnection) -> list[ModelInfo]:
    adapter = get_adapter(provider.adapter_kind)
    fetch = getattr(adapter, "fetch_marketplace", None) or adapter.list_models
    return fetch(connection)


def refresh_models(provider_id: int) -> RefreshReport:
    """Store the provider's model list (and OpenRouter's live prices), listed with the first
    active connection that works; on failure the stored list is left as it was."""
    provider = get_provider(provider_id)
    connections = db.session.scalars(
        AiConnection.by_priority(AiConnection.by_provider(provider.id)
                                 .where(AiConnection.status == "active"))
    ).all()
    if not connections:
        return RefreshReport(error=f"{provider.name} has no active connection to list models with.")
    failures = []
    models: list[ModelInfo] | None = None
    for connection in connections:
        try:
            models = _list_with(provider, connection)
            break
        except ProviderError as exc:
            failures.append(f"{connection.name}: {exc.error_class}: {exc.message}")
        except CredentialsError as exc:
            failures.append(str(exc))
    if models is None:
        return RefreshReport(error="; ".join(failures))
    report = _store_models(provider, models)
    db.session.commit()
    return report


def _store_models(provider, models: list[ModelInfo]) -> RefreshReport:
    now = utcnow()
    by_id = {m.id: m for m in models if m.id}
    existing = {
        row.model_id: row
        for row in db.session.scalars(
            select(AiProviderModel).where(AiProviderModel.provider_id == provider.id))
    }
    for model_id, info in by_id.items():
        row = existing.get(model_id)
        if row is None:
            row = AiProviderModel(provider_id=provider.id, model_id=model_id)
            db.session.add(row)
        row.name = (info.name or model_id)[:200]
        row.context_length = info.context_length
        row.input_price_per_m = info.input_price_per_m
        row.output_price_per_m = info.output_price_per_m
        row.fetched_at = now
    vanished = [model_id for model_id in existing if model_id not in by_id]
    if vanished:
        db.session.execute(
            delete(AiProviderModel)
            .where(AiProviderModel.provider_id == provider.id,
                   AiProviderModel.model_id.in_(vanished))
            .execution_options(synchronize_session=False)
        )
    provider.models_refreshed_at = now
    priced = sum(1 for m in by_id.values()
                 if m.input_price_per_m is not None and m.output_price_per_m is not None)
    return RefreshReport(models=len(by_id), priced=priced)


def known_models(provider_id: int) -> list[str]:
    """Model ids stored by the last refresh (empty before the first one)."""
    return list(db.session.scalars(
        select(AiProviderModel.model_id)
        .where(AiProviderModel.provider_id == provider_id)
        .order_by(AiProviderModel.model_id)
    ))


def price_catalog(provider_id: int) -> dict[str, Price]:
    """Live prices stored by the last refresh, for pricing.lookup_price(catalog=…)."""
    rows = db.session.execute(
        select(AiProviderModel.model_id, AiProviderModel.input_price_per_m,
               AiProviderModel.output_price_per_m)
        .where(AiProviderModel.provider_id == provider_id,
               AiProviderModel.input_price_per_m.is_not(None),
               AiProviderModel.output_price_per_m.is_not(None))
    ).all()
    return {model_id: Price(Decimal(inp), Decimal(out), "catalog") for model_id, inp, out in rows}
