"""Model prices and costs (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from webapp.adapters import ModelInfo, get_adapter
from webapp.adapters.http import (
    parse_duration,
    parse_retry_after_header,
    retry_after_from_headers,
    retry_after_from_text,
)
from webapp.services.pricing import (
    Price,
    catalog_from_models,
    cost_of,
    load_table,
    lookup_price,
    per_token_to_per_m,
    table_info,
)


def test_table_has_the_listed_models():
    table = load_table()
    assert table["gpt-4o"] == Price(Decimal("2.50"), Decimal("10.00"), table["gpt-4o"].source)
    assert table["gpt-4o-mini"].input_per_m == Decimal("0.15")
    assert table["gemini-2.5-flash"].output_per_m == Decimal("2.50")
    assert table["openai/gpt-4o-mini"] == table["gpt-4o-mini"]
    assert table_info()["taken_on"].startswith("2026-11")
    assert table["gpt-4o"].source.startswith("table:")


@pytest.mark.parametrize(("model", "expected"), [
    ("gpt-4o-mini", "gpt-4o-mini"),
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("models/gemini-2.5-flash", "gemini-2.5-flash"),
    ("gemini-2.0-flash-001", "gemini-2.0-flash"),
    ("openai/gpt-4.1-mini", "gpt-4.1-mini"),
    ("google/gemini-2.0-flash-001", "gemini-2.0-flash"),
])
def test_lookup_matches_snapshots_and_prefixes(model, expected):
    assert lookup_price(model) == load_table()[expected]


@pytest.mark.parametrize("model", ["llama3:8b", "gpt-unknown", "", None, "meta-llama/llama-3.3-70b-instruct:free"])
def test_unpriced_models_give_none(model):
    assert lookup_price(model) is None
    assert cost_of(lookup_price(model), 100, 100) is None


def test_overrides_then_catalog_then_table():
    flat = {"input": "1", "output": "2"}
    assert lookup_price("gpt-4o", overrides=flat) == Price(Decimal("1"), Decimal("2"), "override")
    per_model = {"gpt-4o-mini": {"input": "0.5", "output": "0.7"}}
    assert lookup_price("gpt-4o-mini-2024-07-18", overrides=per_model).input_per_m == Decimal("0.5")
    assert lookup_price("gpt-4o", overrides=per_model) == load_table()["gpt-4o"]  # falls through
    catalog = catalog_from_models([ModelInfo("openai/gpt-4o-mini", None, None, Decimal("0.2"), Decimal("0.9"))])
    assert lookup_price("openai/gpt-4o-mini", catalog=catalog).source == "catalog"
    assert lookup_price("openai/gpt-4o-mini", overrides=flat, catalog=catalog).source == "override"


def test_cost_of_is_exact_and_quantized():
    price = load_table()["gpt-4o-mini"]
    assert cost_of(price, 9, 10) == Decimal("0.0000073500")  # the wire doc's OpenRouter check
    assert cost_of(price, 1_000_000, 0) == Decimal("0.1500000000")
    assert cost_of(price, None, 10) == Decimal("0.0000060000")
    assert cost_of(price, None, None) is None
    assert cost_of(None, 10, 10) is None
    zero = Price(Decimal("0"), Decimal("0"), "catalog")
    assert cost_of(zero, 10, 10) == Decimal("0E-10")  # a real zero, only for priced-free models


def test_per_token_strings_to_per_million():
    assert per_token_to_per_m("0.00000015") == Decimal("0.15")
    assert per_token_to_per_m("0.00003") == Decimal("30")
    assert per_token_to_per_m("0") == Decimal("0")
    assert per_token_to_per_m("-1") is None
    assert per_token_to_per_m(None) is None
    assert per_token_to_per_m("abc") is None


def test_adapters_estimate_cost_from_the_table():
    assert get_adapter("openai").estimate_cost(1000, 500, "gpt-4o") == Decimal("0.0075000000")
    assert get_adapter("openai").estimate_cost(1000, 500, "my-local-llama") is None


# -- retry hints (webapp.adapters.http) -------------------------------------------------------


@pytest.mark.parametrize(("value", "seconds"), [
    ("1s", 1.0), ("6m0s", 360.0), ("644ms", 0.644), ("48.8s", 48.8), ("1h2m3s", 3723.0), ("2", 2.0),
    ("", None), (None, None), ("soon", None),
])
def test_parse_duration(value, seconds):
    assert parse_duration(value) == (pytest.approx(seconds) if seconds is not None else None)


def test_retry_after_header_forms():
    assert parse_retry_after_header("3") == 3.0
    assert parse_retry_after_header("1.5") == 1.5
    assert parse_retry_after_header("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412500.0) == pytest.approx(10.0)
    assert parse_retry_after_header("garbage") is None


def test_retry_after_precedence():
    assert retry_after_from_headers({"retry-after-ms": "250", "retry-after": "3"}) == 0.25
    assert retry_after_from_headers({"retry-after": "3", "x-ratelimit-reset-requests": "1s"}) == 3.0
    assert retry_after_from_headers({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}) == 1.0
    exhausted = {"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s",
                 "x-ratelimit-remaining-tokens": "0", "x-ratelimit-remaining-requests": "5"}
    assert retry_after_from_headers(exhausted) == 360.0
    assert retry_after_from_headers({}) is None


def test_retry_after_from_text():
    assert retry_after_from_text("Limit 30000. Please try again in 644ms. Visit") == pytest.approx(0.644)
    assert retry_after_from_text("Please retry in 48.805646254s.") == pytest.approx(48.805646254)
    assert retry_after_from_text("Please try again in 2 minutes") == 120.0
    assert retry_after_from_text("no hint here") is None
