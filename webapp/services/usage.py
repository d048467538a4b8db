"""One usage row per attempt sent to a provider, and the price of a successful one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from ..extensions import db
from ..models import AiConnectionUsage, AiProviderModel
from ..redaction import redact
from .fixed_sql import fixed
from .pricing import Price, candidate_names, cost_of, lookup_price
from .transactions import HeldConnection

_usage = AiConnectionUsage.__table__
# The columns usage_row() fills.
USAGE_COLUMNS = ("connection_id", "provider_id", "connection_name", "app_key_id", "request_id",
                 "attempt", "feature", "model", "prompt_tokens", "completion_tokens",
                 "tokens_used", "cost", "success", "response_time_ms", "error_class",
                 "error_message", "created_at")


@dataclass
class AttemptOutcome:
    """Everything a usage row records about one attempt."""

    request_id: str
    attempt: int
    connection_id: int
    connection_name: str
    provider_id: int
    success: bool
    response_time_ms: int
    created_at: datetime
    model: str | None = None
    feature: str | None = None
    app_key_id: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cost: Decimal | None = None
    error_class: str | None = None
    error_message: str | None = None


def price_for(provider_id: int, settings: dict | None, model: str | None, *,
              has_catalog: bool = True) -> Price | None:
    """Connection override, then the provider's stored catalog (e.g. OpenRouter's marketplace
    prices), then the shipped table. Reads only the catalog rows that could match."""
    if not model:
        return None
    overrides = (settings or {}).get("pricing") or None
    if overrides:
        price = lookup_price(model, overrides=overrides)
        if price is not None and price.source == "override":
            return price
    if not has_catalog:
        return lookup_price(model, overrides=overrides)
    names = candidate_names(model)
    if "/" in names[0]:
        names += candidate_names(names[0].split("/", 1)[1])
    rows = db.session.execute(
        select(AiProviderModel.model_id, AiProviderModel.input_price_per_m,
               AiProviderModel.output_price_per_m)
        .where(AiProviderModel.provider_id == provider_id, AiProviderModel.model_id.in_(names))
    ).all()
    catalog = {model_id: Price(inp, out, "catalog") for model_id, inp, out in rows
               if inp is not None and out is not None}
    return lookup_price(model, overrides=overrides, catalog=catalog)


def cost_for(provider_id: int, settings: dict | None, model: str | None,
             prompt_tokens: int | None, completion_tokens: int | None,
             provider_cost: Decimal | None, *, has_catalog: bool = True) -> Decimal | None:
    """What the call cost: the provider's own figure when it sends one (OpenRouter), else
    tokens × price; None when the model has no price (never a silent 0)."""
    if provider_cost is not None:
        return provider_cost
    price = price_for(provider_id, settings, model, has_catalog=has_catalog)
    return cost_of(price, prompt_tokens, completion_tokens)


def record_attempt(outcome: AttemptOutcome, secrets: tuple[str, ...] = (), *,
                   connection: Connection | HeldConnection | None = None) -> None:
    """Insert the attempt's usage row inside the caller's transaction (on ``connection``, or
    the session's)."""
    connection = connection or db.session.connection()
    fixed("usage_insert", _insert_usage, connection.dialect).run(connection,
                                                                  usage_row(outcome, secrets))


def usage_row(outcome: AttemptOutcome, secrets: tuple[str, ...] = ()) -> dict:
    """The usage row's values (the error message redacted)."""
    message = redact(outcome.error_message, secrets) if outcome.error_message else None
    return {
        "connection_id": outcome.connection_id,
        "provider_id": outcome.provider_id,
        "connection_name": outcome.connection_name,
        "app_key_id": outcome.app_key_id,
        "request_id": outcome.request_id,
        "attempt": outcome.attempt,
        "feature": outcome.feature,
        "model": outcome.model[:200] if outcome.model else None,
        "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.completion_tokens,
        "tokens_used": outcome.total_tokens,
        "cost": outcome.cost,
        "success": outcome.success,
        "response_time_ms": outcome.response_time_ms,
        "error_class": outcome.error_class,
        "error_message": message or None,
        "created_at": outcome.created_at,
    }


@cache
def _insert_usage():
    return insert(_usage).values({name: bindparam(name) for name in USAGE_COLUMNS})
