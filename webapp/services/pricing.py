"""Model prices: connection overrides, the OpenRouter marketplace, then the shipped table.

Pure functions, no database. Prices are USD per 1M tokens as Decimals; a model without a
price gives ``None`` (never a silent 0).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

TABLE_PATH = Path(__file__).resolve().parent.parent / "data" / "pricing.json"
COST_QUANTUM = Decimal("0.0000000001")  # 10 decimal places
_MILLION = Decimal(1_000_000)

# Suffixes that name a snapshot of a model priced like the model itself.
_SNAPSHOT_SUFFIXES = (
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),  # gpt-4o-mini-2024-07-18
    re.compile(r"-\d{4}$"),  # gpt-4-0613
    re.compile(r"-\d{3}$"),  # gemini-2.0-flash-001
    re.compile(r"-latest$"),
)


@dataclass(frozen=True)
class Price:
    input_per_m: Decimal
    output_per_m: Decimal
    source: str


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def per_token_to_per_m(value: Any) -> Decimal | None:
    """OpenRouter's per-token price string ("0.00000015") as USD per 1M tokens (0.15)."""
    price = _decimal(value)
    if price is None or price < 0:  # OpenRouter uses "-1" for "varies" (routers)
        return None
    return (price * _MILLION).normalize() if price else Decimal("0")


def _price(entry: Any, source: str) -> Price | None:
    if isinstance(entry, Price):
        return entry
    if not isinstance(entry, Mapping):
        return None
    input_price, output_price = _decimal(entry.get("input")), _decimal(entry.get("output"))
    if input_price is None or output_price is None:
        return None
    return Price(input_price, output_price, source)


@lru_cache(maxsize=4)
def load_table(path: str | None = None) -> dict[str, Price]:
    """The shipped list-price table, aliases included (cached)."""
    data = json.loads(Path(path or TABLE_PATH).read_text(encoding="utf-8"))
    source = f"table:{data.get('taken_on', 'unknown')}"
    table: dict[str, Price] = {}
    for model, entry in (data.get("models") or {}).items():
        price = _price(entry, source)
        if price is not None:
            table[model] = price
    for alias, target in (data.get("aliases") or {}).items():
        if target in table:
            table[alias] = table[target]
    return table


def table_info() -> dict[str, str]:
    data = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    return {"taken_on": data.get("taken_on", ""), "source": data.get("source", "")}


def candidate_names(model: str) -> list[str]:
    """``model`` and the names it may be priced under, most specific first."""
    names = [model.strip()]
    if names[0].startswith("models/"):
        names.append(names[0][len("models/") :])
    for name in list(names):
        for suffix in _SNAPSHOT_SUFFIXES:
            stripped = suffix.sub("", name)
            if stripped != name and stripped not in names:
                names.append(stripped)
    return names


def lookup_price(
    model: str | None,
    *,
    overrides: Mapping[str, Any] | None = None,
    catalog: Mapping[str, Price] | None = None,
) -> Price | None:
    """The price of ``model``: overrides, then the catalog, then the table.

    ``overrides`` is either one price for the connection (``{"input": "…", "output": "…"}``)
    or a per-model map of such prices.
    """
    if not model:
        return None
    names = candidate_names(model)
    if overrides:
        flat = _price(overrides, "override") if "input" in overrides else None
        if flat is not None:
            return flat
        for name in names:
            price = _price(overrides.get(name), "override")
            if price is not None:
                return price
    if catalog:
        for name in names:
            entry = catalog.get(name)
            if entry is not None:
                return entry if isinstance(entry, Price) else _price(entry, "catalog")
    table = load_table()
    for name in names:
        if name in table:
            return table[name]
    # An OpenRouter id such as "openai/gpt-4.1-mini" passes the vendor's price through.
    bare = names[0].removeprefix("models/")
    if "/" in bare and ":" not in bare:
        for name in candidate_names(bare.split("/", 1)[1]):
            if name in table:
                return table[name]
    return None


def cost_of(price: Price | None, prompt_tokens: int | None, completion_tokens: int | None) -> Decimal | None:
    """USD cost of one call, to 10 decimal places; None when unpriced or nothing was counted."""
    if price is None or (prompt_tokens is None and completion_tokens is None):
        return None
    cost = (
        Decimal(prompt_tokens or 0) * price.input_per_m
        + Decimal(completion_tokens or 0) * price.output_per_m
    ) / _MILLION
    return cost.quantize(COST_QUANTUM)


def catalog_from_models(models: Any) -> dict[str, Price]:
    """A catalog for ``lookup_price`` from ModelInfo objects (e.g. OpenRouter's marketplace)."""
    catalog: dict[str, Price] = {}
    for model in models:
        if model.input_price_per_m is not None and model.output_price_per_m is not None:
            catalog[model.id] = Price(model.input_price_per_m, model.output_price_per_m, "catalog")
    return catalog
