"""CSV export of usage: the raw attempt rows or a breakdown table, streamed.

Raw rows are read with a server-side cursor in batches (``yield_per``) and written a batch at
a time, so memory stays flat whatever the number of rows. Text is UTF-8 without a byte-order
mark. Values a spreadsheet would run as a formula are neutralised (OWASP "CSV injection"),
and messages go through redact() once more although they were redacted when stored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ..extensions import db
from ..models import AiConnectionUsage, AiProvider
from ..redaction import redact
from .analytics import build_report, resolve_timezone
from .analytics_filters import AnalyticsFilters, column_conditions
from .errors import InvalidInput

KINDS = ("raw", "by_feature", "by_connection", "by_model")
BATCH_ROWS = 2000
RAW_HEADER = ("timestamp", "provider", "connection", "feature", "model", "request_id",
              "attempt", "success", "error_class", "error_message", "prompt_tokens",
              "completion_tokens", "tokens", "cost_usd", "response_time_ms")
BREAKDOWN_HEADER = ("attempts", "requests", "successes", "failures", "success_rate_pct",
                    "failovers", "prompt_tokens", "completion_tokens", "tokens",
                    "cost_usd_priced", "unpriced_attempts", "avg_response_ms",
                    "p50_response_ms_approx", "p95_response_ms_approx")
BREAKDOWN_LABEL = {"by_feature": "feature", "by_connection": "connection", "by_model": "model"}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell that a spreadsheet would treat as a formula, made inert with a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def check_kind(kind: str | None) -> str:
    kind = (kind or "raw").strip()
    if kind not in KINDS:
        raise InvalidInput(f"Unknown export kind {kind[:40]!r}; choose one of {', '.join(KINDS)}.",
                           {"kind": ["Unknown export kind."]})
    return kind


def filename(filters: AnalyticsFilters, kind: str) -> str:
    middle = "" if kind == "raw" else "-" + kind.replace("_", "-")
    return f"usage{middle}-{filters.first_day.isoformat()}_to_{filters.last_day.isoformat()}.csv"


def _raw_query(filters: AnalyticsFilters):
    u = AiConnectionUsage
    return (
        select(u.created_at, u.provider_id, u.connection_name, u.feature, u.model, u.request_id,
               u.attempt, u.success, u.error_class, u.error_message, u.prompt_tokens,
               u.completion_tokens, u.tokens_used, u.cost, u.response_time_ms)
        .where(u.created_at >= filters.start, u.created_at < filters.end,
               *column_conditions(filters, u))
        .order_by(u.created_at, u.id)
    )


def count_raw_rows(filters: AnalyticsFilters) -> int:
    u = AiConnectionUsage
    return db.session.scalar(
        select(func.count()).select_from(u).where(
            u.created_at >= filters.start, u.created_at < filters.end,
            *column_conditions(filters, u)))


def iter_raw_records(filters: AnalyticsFilters, timezone: ZoneInfo) -> Iterator[tuple]:
    """One tuple per attempt row (CSV-ready values), streamed from the database."""
    providers = dict(db.session.execute(select(AiProvider.id, AiProvider.slug)).all())
    result = db.session.execute(
        _raw_query(filters).execution_options(stream_results=True, yield_per=BATCH_ROWS))
    for partition in result.partitions():
        for (created_at, provider_id, connection, feature, model, request_id, attempt, success,
             error_class, message, prompt, completion, tokens, cost, latency) in partition:
            yield (
                created_at.replace(tzinfo=UTC).astimezone(timezone).isoformat(timespec="seconds"),
                neutralise(providers.get(provider_id, "")),
                neutralise(connection or ""),
                neutralise(feature or ""),
                neutralise(model or ""),
                neutralise(request_id),
                attempt,
                "true" if success else "false",
                neutralise(error_class or ""),
                neutralise(redact(message)) if message else "",
                "" if prompt is None else prompt,
                "" if completion is None else completion,
                "" if tokens is None else tokens,
                "" if cost is None else format(cost, "f"),
                "" if latency is None else latency,
            )
    result.close()


def iter_breakdown_records(filters: AnalyticsFilters, kind: str, timezone: str) -> Iterator[tuple]:
    report = build_report(filters, timezone)
    for row in report.breakdown(kind):
        t = row.totals
        yield (neutralise(row.label), t.attempts, t.first_attempts, t.successes, t.failures,
               "" if t.success_rate is None else t.success_rate, t.failovers, t.prompt_tokens,
               t.completion_tokens, t.tokens,
               "" if t.priced_cost is None else t.priced_cost, t.unpriced,
               "" if t.average_ms is None else t.average_ms,
               "" if t.p50_ms is None else t.p50_ms, "" if t.p95_ms is None else t.p95_ms)


def header(kind: str) -> tuple:
    return RAW_HEADER if kind == "raw" else (BREAKDOWN_LABEL[kind], *BREAKDOWN_HEADER)


def records(filters: AnalyticsFilters, kind: str, timezone: str = "UTC") -> Iterator[tuple]:
    if kind == "raw":
        return iter_raw_records(filters, resolve_timezone(timezone))
    return iter_breakdown_records(filters, kind, timezone)


def csv_chunks(filters: AnalyticsFilters, kind: str, timezone: str = "UTC",
               on_rows=None) -> Iterator[str]:
    """The CSV text in chunks of about BATCH_ROWS rows, header first.

    ``on_rows(n)`` is called after each chunk with the number of data rows it held (for a
    progress bar).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header(kind))
    pending = 0
    for record in records(filters, kind, timezone):
        writer.writerow(record)
        pending += 1
        if pending >= BATCH_ROWS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if on_rows:
                on_rows(pending)
            pending = 0
    yield buffer.getvalue()
    if on_rows and pending:
        on_rows(pending)
