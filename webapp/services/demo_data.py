"""Demo data: providers, connections with fake keys, and a realistic usage history.

The history has a weekday rhythm (quiet weekends, busy office hours), several features,
failures in realistic proportions, failovers (attempt 1 fails, attempt 2 on another connection
succeeds) and unpriced models (cost NULL). Rows are built as tuples and written in bulk
(executemany on SQLite, COPY on PostgreSQL), then the finished days are rolled up, so a
million rows take seconds, not minutes.
"""

from __future__ import annotations

import math
import random
import secrets
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select, update

from ..extensions import db
from ..models import AiConnection, AiConnectionUsage, AiProvider, utcnow
from . import rollups
from .pricing import cost_of, lookup_price

DEFAULT_ROWS = 20_000
DEFAULT_DAYS = 90
INSERT_CHUNK = 20_000

# slug, name, adapter kind, base_url, [(connection name, model, priority, weight)]
DEMO_PROVIDERS = [
    ("openai", "OpenAI", "openai", None, [
        ("openai-primary", "gpt-4o-mini", 10, 3),
        ("openai-secondary", "gpt-4o-mini", 10, 1),
        ("openai-large", "gpt-4.1", 20, 1),
    ]),
    ("gemini", "Google Gemini", "gemini", None, [
        ("gemini-flash", "gemini-2.0-flash", 10, 2),
        ("gemini-pro", "gemini-2.5-pro", 20, 1),
    ]),
    ("openrouter", "OpenRouter", "openrouter", None, [
        ("openrouter-main", "openai/gpt-4.1-mini", 10, 2),
        ("openrouter-llama", "meta-llama/llama-3.3-70b-instruct", 20, 1),  # unpriced
    ]),
    ("local", "Local vLLM", "openai", "http://127.0.0.1:8000/v1", [
        ("local-qwen", "qwen2.5-7b-instruct", 10, 1),  # unpriced
    ]),
]
PROVIDER_SHARE = {"openai": 0.5, "gemini": 0.25, "openrouter": 0.17, "local": 0.08}
# feature: (share, median prompt tokens, median completion tokens, median latency ms)
FEATURES = {
    "chat": (0.42, 600, 250, 900),
    "summarise": (0.2, 2500, 300, 1800),
    "search": (0.14, 300, 80, 450),
    "translate": (0.1, 400, 420, 1200),
    "classify": (0.08, 200, 5, 300),
    "extract": (0.06, 1500, 200, 1400),
}
# error class: (share of failures, rotates to the next connection?, median latency ms, message)
ERRORS = {
    "rate_limited": (0.38, True, 120, "Rate limit reached on requests per min (RPM). Retry after 2s."),
    "unavailable": (0.3, True, 4000, "Upstream returned 503 Service Unavailable."),
    "quota": (0.07, True, 150, "You exceeded your current quota, please check your plan."),
    "auth": (0.03, True, 90, "Incorrect API key provided: sk-…d3m0."),
    "model_not_found": (0.02, True, 110, "The model does not exist or you do not have access to it."),
    "invalid_request": (0.15, False, 200, "This model's maximum context length was exceeded."),
    "content_filtered": (0.05, False, 700, "The response was filtered by the content policy."),
}
FAILURE_RATE = 0.045
HOUR_WEIGHTS = [0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.4, 0.7, 1.0, 1.2, 1.25, 1.2,
                1.0, 1.1, 1.2, 1.2, 1.1, 0.95, 0.7, 0.5, 0.4, 0.35, 0.25, 0.2]
WEEKDAY_WEIGHTS = [1.0, 1.05, 1.05, 1.0, 0.9, 0.4, 0.3]  # Monday first
COLUMNS = ("connection_id", "provider_id", "connection_name", "app_key_id", "request_id",
           "attempt", "feature", "model", "prompt_tokens", "completion_tokens", "tokens_used",
           "cost", "success", "response_time_ms", "error_class", "error_message", "created_at")


@dataclass
class DemoConnection:
    id: int
    provider_id: int
    name: str
    model: str
    weight: int
    price: object


@dataclass
class DemoReport:
    providers: int
    connections: int
    rows: int
    first_day: datetime | None
    rollup_rows: int


def _fake_key(kind: str) -> str:
    if kind == "gemini":
        return "AIza" + secrets.token_urlsafe(27)
    if kind == "openrouter":
        return "sk-or-v1-" + secrets.token_hex(24)
    return "sk-demo-" + secrets.token_urlsafe(24)


def seed_connections() -> dict[str, list[DemoConnection]]:
    """Create (or reuse) the demo providers and connections; {provider slug: connections}."""
    pools: dict[str, list[DemoConnection]] = {}
    for slug, name, kind, base_url, members in DEMO_PROVIDERS:
        provider = db.session.scalar(select(AiProvider).where(AiProvider.slug == slug))
        if provider is None:
            provider = AiProvider(slug=slug, name=name, adapter_kind=kind, settings={})
            db.session.add(provider)
            db.session.flush()
        pool = []
        for conn_name, model, priority, weight in members:
            connection = db.session.scalar(select(AiConnection).where(
                AiConnection.provider_id == provider.id, AiConnection.name == conn_name))
            if connection is None:
                settings = {"model": model}
                if base_url:
                    settings["base_url"] = base_url
                connection = AiConnection(provider_id=provider.id, name=conn_name,
                                          settings=settings, priority=priority, weight=weight)
                connection.set_credentials({"api_key": _fake_key(kind)})
                db.session.add(connection)
                db.session.flush()
            pool.append(DemoConnection(connection.id, provider.id, conn_name, model, weight,
                                       lookup_price(model)))
        if provider.default_connection_id is None:
            provider.default_connection_id = pool[0].id
        pools[slug] = pool
    db.session.commit()
    return pools


def _day_quotas(rows: int, days: int, now: datetime) -> list[tuple[datetime, int, float]]:
    """(day start, rows that day, fraction of the day available) for each day, oldest first."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    elapsed = (now - today).total_seconds() / 86400
    weights = []
    for index, start in enumerate(starts):
        trend = 0.8 + 0.4 * index / max(1, days - 1)  # usage grows over the period
        weight = WEEKDAY_WEIGHTS[start.weekday()] * trend
        weights.append(weight * (elapsed if start == today else 1.0))
    total = sum(weights) or 1.0
    quotas = [int(rows * weight / total) for weight in weights]
    quotas[-1 if elapsed > 0.01 else -2 if days > 1 else -1] += rows - sum(quotas)
    return [(start, quota, elapsed if start == today else 1.0)
            for start, quota in zip(starts, quotas, strict=True)]


def _pick(rng: random.Random, cumulative: list[float], items: list):
    return items[bisect_right(cumulative, rng.random() * cumulative[-1])]


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def generate_rows(pools: dict[str, list[DemoConnection]], rows: int, days: int, seed: int,
                  now: datetime, sqlite: bool) -> Iterator[tuple]:
    """Usage row tuples (COLUMNS order), oldest first; exactly ``rows`` of them."""
    rng = random.Random(seed)
    slugs = [slug for slug in PROVIDER_SHARE if slug in pools]
    provider_cum = _cumulative([PROVIDER_SHARE[slug] for slug in slugs])
    feature_names = list(FEATURES)
    feature_cum = _cumulative([FEATURES[name][0] for name in feature_names])
    error_names = list(ERRORS)
    error_cum = _cumulative([ERRORS[name][0] for name in error_names])
    hour_cum = _cumulative(HOUR_WEIGHTS)
    conn_cum = {slug: _cumulative([c.weight for c in pool]) for slug, pool in pools.items()}
    zero_cost = {id(c): cost_of(c.price, 0, 0) for pool in pools.values() for c in pool}
    lognormal = rng.lognormvariate

    def stamp(moment: datetime):
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment

    def cost_value(value: Decimal | None):
        return None if value is None else (float(value) if sqlite else value)

    for day_start, quota, available in _day_quotas(rows, days, now):
        seconds_available = max(1, int(86400 * available) - 60)
        hours = max(1, min(24, math.ceil(available * 24)))
        day_cum = hour_cum[:hours]
        offsets = sorted(
            min(seconds_available, hour * 3600 + rng.random() * 3600)
            for hour in rng.choices(range(hours), cum_weights=day_cum, k=quota))
        made = 0
        for offset in offsets:
            if made >= quota:
                break
            moment = day_start + timedelta(seconds=offset)
            slug = _pick(rng, provider_cum, slugs)
            pool = pools[slug]
            feature = _pick(rng, feature_cum, feature_names)
            _, prompt_median, completion_median, latency_median = FEATURES[feature]
            first = _pick(rng, conn_cum[slug], pool)
            order = [first] + [c for c in pool if c is not first]
            request_id = f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"
            for attempt, connection in enumerate(order[:3], start=1):
                if made >= quota:
                    break
                failed = rng.random() < (FAILURE_RATE if attempt == 1 else FAILURE_RATE / 2)
                if failed:
                    error = _pick(rng, error_cum, error_names)
                    _, rotates, error_latency, message = ERRORS[error]
                    latency = int(lognormal(math.log(error_latency), 0.5))
                    yield (connection.id, connection.provider_id, connection.name, None,
                           request_id, attempt, feature, connection.model, 0, 0, 0,
                           cost_value(zero_cost[id(connection)]), 0 if sqlite else False,
                           latency, error, message, stamp(moment))
                else:
                    prompt = max(1, int(lognormal(math.log(prompt_median), 0.6)))
                    completion = max(1, int(lognormal(math.log(completion_median), 0.7)))
                    latency = int(lognormal(math.log(latency_median), 0.45)) + completion // 20
                    yield (connection.id, connection.provider_id, connection.name, None,
                           request_id, attempt, feature, connection.model, prompt, completion,
                           prompt + completion,
                           cost_value(cost_of(connection.price, prompt, completion)),
                           1 if sqlite else True, latency, None, None, stamp(moment))
                made += 1
                moment += timedelta(milliseconds=latency + 5)
                if not failed or not rotates or len(pool) == 1:
                    break


def _insert_sqlite(connection, rows: Iterator[tuple]) -> int:
    sql = (f"INSERT INTO ai_connection_usage ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in COLUMNS)})")
    cursor = connection.connection.driver_connection.cursor()
    written, chunk = 0, []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= INSERT_CHUNK:
            cursor.executemany(sql, chunk)
            written += len(chunk)
            chunk = []
    if chunk:
        cursor.executemany(sql, chunk)
        written += len(chunk)
    cursor.close()
    return written


def _insert_postgresql(connection, rows: Iterator[tuple]) -> int:
    cursor = connection.connection.driver_connection.cursor()
    written = 0
    with cursor.copy(f"COPY ai_connection_usage ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
    cursor.close()
    return written


def seed_demo(rows: int = DEFAULT_ROWS, days: int = DEFAULT_DAYS, seed: int = 1,
              now: datetime | None = None, on_progress=None) -> DemoReport:
    """Seed providers, connections and ``rows`` usage rows over the last ``days`` days."""
    now = now or utcnow()
    pools = seed_connections()
    connection = db.session.connection()
    sqlite = connection.dialect.name == "sqlite"
    generated = generate_rows(pools, rows, days, seed, now, sqlite)
    if on_progress:
        generated = _reporting(generated, on_progress)
    written = (_insert_sqlite if sqlite else _insert_postgresql)(connection, generated)
    _match_counters_to_history([c.id for pool in pools.values() for c in pool])
    db.session.commit()
    first_day = (now - timedelta(days=days - 1)).date()
    report = rollups.rollup_days(first_day, None, now=now)
    return DemoReport(
        providers=len(pools), connections=sum(len(pool) for pool in pools.values()),
        rows=written, first_day=first_day, rollup_rows=report.rows)


def _match_counters_to_history(connection_ids: list[int]) -> None:
    """Give the demo connections the counters their usage history implies, so the dashboard
    and lists show health and success rates instead of "unknown"."""
    usage = AiConnectionUsage
    totals = db.session.execute(
        select(usage.connection_id,
               func.sum(case((usage.success.is_(True), 1), else_=0)),
               func.sum(case((usage.success.is_(False), 1), else_=0)),
               func.max(usage.created_at))
        .where(usage.connection_id.in_(connection_ids))
        .group_by(usage.connection_id)).all()
    for connection_id, successes, failures, last_used in totals:
        db.session.execute(
            update(AiConnection).where(AiConnection.id == connection_id)
            .values(success_count=int(successes or 0), error_count=int(failures or 0),
                    last_used_at=last_used)
            .execution_options(synchronize_session=False))


def _reporting(rows: Iterator[tuple], on_progress, every: int = 10_000) -> Iterator[tuple]:
    count = 0
    for row in rows:
        yield row
        count += 1
        if count % every == 0:
            on_progress(every)
    if count % every:
        on_progress(count % every)
