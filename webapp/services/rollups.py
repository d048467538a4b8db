"""Daily usage rollups: aggregate raw attempt rows per UTC day, keep them current.

Each (day, provider, connection, feature, model) cell gets one row in usage_daily_rollups
(both outcomes) and one row per outcome in usage_daily_outcome_rollups (success, or the
error class of a failure). Both hold additive totals and a latency histogram in
LATENCY_BUCKETS integer columns, so the analytics page sums them in SQL.

Latency buckets are log-spaced: bucket 0 holds response times under 4 ms, bucket k (1..62)
those in [4·2^((k-1)/4), 4·2^(k/4)) ms (edges rounded up to whole ms), bucket 63 those of
185,364 ms (about 3 minutes) or more. A percentile is reported as the geometric middle of its
bucket, so it is within about ±9% of the exact value (a factor 2^(1/8)); for bucket 63 the
lower edge is reported.

Rolling up a day is idempotent (delete + insert in one transaction) and runs under a lock on
the state row, so two processes never double-count a day.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache

from sqlalchemy import Date, and_, case, cast, delete, func, insert, select

from ..extensions import db
from ..models import AiConnectionUsage, UsageRollupState, utcnow
from ..models.rollup import (
    LATENCY_BUCKETS,
    LATENCY_COLUMNS,
    UsageDailyOutcomeRollup,
    UsageDailyRollup,
)

# Buckets grow by 2^(1/4) (four per doubling) from 4 ms; upper edges of buckets
# 0..LATENCY_BUCKETS-2 in whole ms (response times are integers): ceil(4·2^(k/4)).
STEPS_PER_DOUBLING = 4
LATENCY_EDGES_MS = tuple(math.ceil(4 * 2 ** (k / STEPS_PER_DOUBLING) - 1e-9)
                         for k in range(LATENCY_BUCKETS - 1))
# Half a bucket on a log scale: 2^(1/8) - 1 ≈ 0.09.
LATENCY_RELATIVE_ERROR = 2 ** (1 / (2 * STEPS_PER_DOUBLING)) - 1
LATENCY_RESOLUTION_NOTE = (
    "p50/p95 ≈ the middle of a latency bucket; buckets grow by 2^(1/4) ≈ 19% "
    f"(edges 4, 5, 6, 7, 8, 10, 12 … {LATENCY_EDGES_MS[-1]:,} ms), "
    f"so a percentile is within about ±{round(LATENCY_RELATIVE_ERROR * 100)}% of the exact value")
STATE_ID = 1

# Dimension order shared by the rollup rows, the raw aggregation and the report.
DIMENSIONS = ("provider_id", "connection_id", "connection_name", "feature", "model",
              "success", "error_class")
CELL_DIMENSIONS = DIMENSIONS[:5]


def latency_bucket_expression(column):
    """SQL for the histogram bucket index of a response time (integer edges, exact)."""
    return case(*[(column < edge, index) for index, edge in enumerate(LATENCY_EDGES_MS)],
                else_=LATENCY_BUCKETS - 1)


def bucket_value(index: int) -> float:
    """The representative response time of a bucket, in ms (geometric middle)."""
    if index <= 0:
        return 2.0
    if index >= LATENCY_BUCKETS - 1:
        return float(4 * 2 ** ((LATENCY_BUCKETS - 2) / STEPS_PER_DOUBLING))
    return 4 * 2 ** ((2 * index - 1) / (2 * STEPS_PER_DOUBLING))


def empty_histogram() -> list[int]:
    return [0] * LATENCY_BUCKETS


def percentile(histogram: list[int], fraction: float) -> float | None:
    """The ``fraction`` percentile (0..1) of per-bucket counts, or None if empty."""
    total = sum(histogram)
    if not total:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            return bucket_value(index)
    return None  # pragma: no cover - unreachable


@dataclass
class Totals:
    """Additive figures of a set of attempts (a rollup row, a day, a connection …)."""

    attempts: int = 0
    first_attempts: int = 0
    successes: int = 0
    failovers: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens: int = 0
    cost: Decimal = Decimal(0)
    unpriced: int = 0
    response_time_sum: int = 0
    response_time_count: int = 0
    histogram: list = field(default_factory=empty_histogram)

    def add(self, other: Totals) -> None:
        self.attempts += other.attempts
        self.first_attempts += other.first_attempts
        self.successes += other.successes
        self.failovers += other.failovers
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.tokens += other.tokens
        self.cost += other.cost
        self.unpriced += other.unpriced
        self.response_time_sum += other.response_time_sum
        self.response_time_count += other.response_time_count
        self.histogram = [a + b for a, b in zip(self.histogram, other.histogram, strict=True)]

    @property
    def failures(self) -> int:
        return self.attempts - self.successes

    @property
    def success_rate(self) -> float | None:
        return round(100.0 * self.successes / self.attempts, 1) if self.attempts else None

    @property
    def average_ms(self) -> float | None:
        if not self.response_time_count:
            return None
        return round(self.response_time_sum / self.response_time_count, 1)

    @property
    def p50_ms(self) -> float | None:
        value = percentile(self.histogram, 0.50)
        return None if value is None else round(value)

    @property
    def p95_ms(self) -> float | None:
        value = percentile(self.histogram, 0.95)
        return None if value is None else round(value)

    @property
    def priced_cost(self) -> Decimal | None:
        """Cost of the priced attempts; None when nothing in the set had a price."""
        if self.attempts and self.unpriced == self.attempts:
            return None
        return self.cost


# --- summing rollup rows in SQL -------------------------------------------------------------

MEASURES = ("attempts", "first_attempts", "successes", "failovers", "prompt_tokens",
            "completion_tokens", "tokens", "cost", "unpriced_attempts", "response_time_sum",
            "response_time_count")


def summed_measures(table) -> list:
    """SUM(...) of every measure and latency bucket of a rollup table, labelled by name."""
    columns = [func.sum(getattr(table, name)).label(name) for name in MEASURES]
    columns += [func.sum(getattr(table, name)).label(name) for name in LATENCY_COLUMNS]
    return columns


def totals_from_sums(row) -> Totals:
    """Totals from a row of summed_measures (NULL sums, as of no rows, count as 0)."""
    mapping = row._mapping
    cost = mapping["cost"]
    return Totals(
        int(mapping["attempts"] or 0), int(mapping["first_attempts"] or 0),
        int(mapping["successes"] or 0), int(mapping["failovers"] or 0),
        int(mapping["prompt_tokens"] or 0), int(mapping["completion_tokens"] or 0),
        int(mapping["tokens"] or 0),
        Decimal(0) if cost is None else (cost if isinstance(cost, Decimal) else Decimal(str(cost))),
        int(mapping["unpriced_attempts"] or 0), int(mapping["response_time_sum"] or 0),
        int(mapping["response_time_count"] or 0),
        [int(mapping[name] or 0) for name in LATENCY_COLUMNS])


# --- aggregating raw rows ---------------------------------------------------------------------


def day_expression(column):
    """The UTC date of a naive UTC timestamp, as a SQL expression on either backend."""
    return cast(column, Date) if db.engine.dialect.name != "sqlite" else func.date(column)


def as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def raw_grouped_query(start: datetime, end: datetime, conditions: Iterable = (),
                      period=None):
    """SELECT period, dimensions, bucket, sums … of raw rows in [start, end), grouped.

    ``period`` is a SQL expression (the UTC day by default). One result row per group and
    latency bucket, so the sums of a group are split across its bucket rows (adding them up
    again gives the group's totals).
    """
    u = AiConnectionUsage
    period = day_expression(u.created_at) if period is None else period
    bucket = latency_bucket_expression(u.response_time_ms)
    is_success = u.success.is_(True)
    columns = (
        period.label("period"),
        u.provider_id, u.connection_id, u.connection_name, u.feature, u.model, u.success,
        u.error_class,
        bucket.label("bucket"),
        func.count().label("attempts"),
        func.sum(case((u.attempt == 1, 1), else_=0)).label("first_attempts"),
        func.sum(case((and_(is_success, u.attempt > 1), 1), else_=0)).label("failovers"),
        func.coalesce(func.sum(u.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(u.completion_tokens), 0).label("completion_tokens"),
        func.coalesce(func.sum(u.tokens_used), 0).label("tokens"),
        func.sum(u.cost).label("cost"),
        func.sum(case((u.cost.is_(None), 1), else_=0)).label("unpriced"),
        func.coalesce(func.sum(u.response_time_ms), 0).label("response_time_sum"),
        func.count(u.response_time_ms).label("response_time_count"),
    )
    group = (period, u.provider_id, u.connection_id, u.connection_name, u.feature, u.model,
             u.success, u.error_class, bucket)
    return (select(*columns)
            .where(u.created_at >= start, u.created_at < end, *conditions)
            .group_by(*group))


@cache
def _raw_histogram_columns() -> tuple:
    """COUNT of raw rows per latency bucket, labelled like the rollup columns (built once)."""
    ms = AiConnectionUsage.response_time_ms
    columns = []
    for index, name in enumerate(LATENCY_COLUMNS):
        low = LATENCY_EDGES_MS[index - 1] if index else None
        high = LATENCY_EDGES_MS[index] if index < len(LATENCY_EDGES_MS) else None
        inside = and_(ms >= low if low is not None else ms.is_not(None),
                      *([ms < high] if high is not None else []))
        columns.append(func.count(case((inside, 1))).label(name))
    return tuple(columns)


def raw_summed_query(start: datetime, end: datetime, conditions: Iterable = (), period=None):
    """SELECT period, cell dimensions, summed_measures-like sums of raw rows in [start, end).

    One row per period and cell (both outcomes together) with the latency histogram summed
    in SQL, so the page reads the raw rows not rolled up yet (at most about an hour's worth)
    as a few dozen groups; totals_from_sums() reads each row.
    """
    u = AiConnectionUsage
    period = day_expression(u.created_at) if period is None else period
    ms = u.response_time_ms
    is_success = u.success.is_(True)
    cell = (u.provider_id, u.connection_id, u.connection_name, u.feature, u.model)
    return (
        select(
            period.label("period"), *cell,
            func.count().label("attempts"),
            func.sum(case((u.attempt == 1, 1), else_=0)).label("first_attempts"),
            func.sum(case((is_success, 1), else_=0)).label("successes"),
            func.sum(case((and_(is_success, u.attempt > 1), 1), else_=0)).label("failovers"),
            func.sum(u.prompt_tokens).label("prompt_tokens"),
            func.sum(u.completion_tokens).label("completion_tokens"),
            func.sum(u.tokens_used).label("tokens"),
            func.sum(u.cost).label("cost"),
            func.sum(case((u.cost.is_(None), 1), else_=0)).label("unpriced_attempts"),
            func.sum(ms).label("response_time_sum"),
            func.count(ms).label("response_time_count"),
            *_raw_histogram_columns())
        .where(u.created_at >= start, u.created_at < end, *conditions)
        .group_by(period, *cell))


def raw_error_counts_query(start: datetime, end: datetime, conditions: Iterable = ()):
    """SELECT error_class, failed attempts of raw rows in [start, end)."""
    u = AiConnectionUsage
    return (select(u.error_class, func.count())
            .where(u.created_at >= start, u.created_at < end, u.success.is_(False), *conditions)
            .group_by(u.error_class))


def fold_grouped_rows(rows) -> dict[tuple, Totals]:
    """{(period, *dimensions): Totals} from rows of raw_grouped_query."""
    groups: dict[tuple, Totals] = {}
    for row in rows:
        key = (row.period, row.provider_id, row.connection_id, row.connection_name,
               row.feature, row.model, bool(row.success), row.error_class)
        totals = groups.get(key)
        if totals is None:
            totals = groups[key] = Totals()
        totals.attempts += row.attempts
        totals.first_attempts += int(row.first_attempts or 0)
        if row.success:
            totals.successes += row.attempts
        totals.failovers += int(row.failovers or 0)
        totals.prompt_tokens += int(row.prompt_tokens or 0)
        totals.completion_tokens += int(row.completion_tokens or 0)
        totals.tokens += int(row.tokens or 0)
        if row.cost is not None:
            totals.cost += Decimal(str(row.cost))
        totals.unpriced += int(row.unpriced or 0)
        totals.response_time_sum += int(row.response_time_sum or 0)
        totals.response_time_count += int(row.response_time_count or 0)
        if row.bucket is not None and row.response_time_count:
            totals.histogram[int(row.bucket)] += row.response_time_count
    return groups


# --- writing rollups ------------------------------------------------------------------------


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min)


def last_complete_day(now: datetime | None = None) -> date:
    return (now or utcnow()).date() - timedelta(days=1)


def _lock_state() -> UsageRollupState:
    """The state row, locked for this transaction (created on first use)."""
    state = db.session.execute(
        select(UsageRollupState).where(UsageRollupState.id == STATE_ID)
        .with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if state is None:
        state = UsageRollupState(id=STATE_ID)
        db.session.add(state)
        db.session.flush()
    return state


@dataclass(frozen=True)
class RollupState:
    rolled_up_through: date | None  # last complete UTC day in the rollups
    raw_kept_from: date | None  # raw rows before this day were pruned
    partial_through: datetime | None  # rows of the next day before this are rolled up too

    @property
    def partial_day(self) -> date | None:
        """The day whose first hours are rolled up (None when there is no such day)."""
        if self.partial_through is None or self.rolled_up_through is None:
            return None
        day = self.partial_through.date()
        if day != self.rolled_up_through + timedelta(days=1) or self.partial_through == day_start(day):
            return None
        return day

    @property
    def rollup_last_day(self) -> date | None:
        """The last day with rows in the rollups (possibly a partial day)."""
        return self.partial_day or self.rolled_up_through

    @property
    def raw_from(self) -> datetime | None:
        """Raw rows from this instant on are not in the rollups (None: nothing is)."""
        if self.partial_day is not None:
            return self.partial_through
        if self.rolled_up_through is None:
            return None
        return day_start(self.rolled_up_through + timedelta(days=1))


def read_state() -> RollupState:
    """How far the rollups and the pruning have gone, without locking."""
    row = db.session.execute(
        select(UsageRollupState.rolled_up_through, UsageRollupState.raw_kept_from,
               UsageRollupState.partial_through)
        .where(UsageRollupState.id == STATE_ID)
    ).first()
    return RollupState(*row) if row else RollupState(None, None, None)


def _write_days(first: date, last: date) -> int:
    """Replace the rollup rows of the UTC days first..last from the raw table; rows written."""
    return _write_span(first, day_start(first), day_start(last + timedelta(days=1)), last)


def _write_span(first: date, start: datetime, end: datetime, last: date | None = None) -> int:
    """Replace the rollup rows of days first..last with the raw rows in [start, end).

    Returns the number of cell rows written (the outcome rows are written beside them).
    """
    outcomes = fold_grouped_rows(db.session.execute(raw_grouped_query(start, end)))
    cells: dict[tuple, Totals] = {}
    for key, totals in outcomes.items():
        cell = cells.get(key[:6])
        if cell is None:
            cell = cells[key[:6]] = Totals()
        cell.add(totals)
    for table, groups in ((UsageDailyRollup, cells), (UsageDailyOutcomeRollup, outcomes)):
        db.session.execute(delete(table).where(table.day >= first, table.day <= (last or first)))
        values = [rollup_values(as_date(key[0]), key[1:], totals)
                  for key, totals in groups.items()]
        for offset in range(0, len(values), 2000):
            db.session.execute(insert(table), values[offset:offset + 2000])
    return len(cells)


def rollup_values(day: date, dimensions: tuple, totals: Totals) -> dict:
    """Column values of a rollup row: a cell (5 dimensions) or a cell and outcome (7)."""
    values = dict(zip(DIMENSIONS, dimensions, strict=False))
    if "success" in values:
        values["success"] = bool(values["success"])
    values.update({
        "day": day, "attempts": totals.attempts, "successes": totals.successes,
        "first_attempts": totals.first_attempts,
        "failovers": totals.failovers, "prompt_tokens": totals.prompt_tokens,
        "completion_tokens": totals.completion_tokens, "tokens": totals.tokens,
        "cost": totals.cost if totals.unpriced < totals.attempts else None,
        "unpriced_attempts": totals.unpriced,
        "response_time_sum": totals.response_time_sum,
        "response_time_count": totals.response_time_count,
    })
    values.update(zip(LATENCY_COLUMNS, totals.histogram, strict=True))
    return values


@dataclass
class RollupReport:
    first: date | None
    last: date | None
    rows: int

    @property
    def days(self) -> int:
        return 0 if self.first is None else (self.last - self.first).days + 1


def _first_raw_day() -> date | None:
    first = db.session.scalar(select(func.min(AiConnectionUsage.created_at)))
    return None if first is None else as_date(first)


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def rollup_pending(now: datetime | None = None) -> RollupReport:
    """Roll up every complete UTC day not rolled up yet, and today's complete hours.

    Cheap when there is nothing to do (one small read); otherwise at most once an hour.
    """
    now = now or utcnow()
    state = read_state()
    target = last_complete_day(now)
    if (state.rolled_up_through is not None and state.rolled_up_through >= target
            and state.partial_through is not None
            and state.partial_through >= hour_floor(now)):
        return RollupReport(None, None, 0)
    return _rollup(None, target, only_pending=True, now=now)


def rollup_days(first: date | None, last: date | None, now: datetime | None = None) -> RollupReport:
    """Recompute the given complete days (all raw days when first is None)."""
    target = last_complete_day(now)
    last = min(last or target, target)
    return _rollup(first, last, only_pending=False, now=now)


def _write_partial_day(state: UsageRollupState, now: datetime) -> None:
    """Roll up today's complete hours (replacing the previous partial rows of today)."""
    today = now.date()
    through = hour_floor(now)
    if state.rolled_up_through != today - timedelta(days=1):
        return
    if state.partial_through is not None and state.partial_through >= through:
        return
    _write_span(today, day_start(today), through)
    state.partial_through = through


def _rollup(first: date | None, last: date, *, only_pending: bool,
            now: datetime | None = None) -> RollupReport:
    session = db.session
    session.commit()  # start a fresh transaction that takes the lock
    session.connection(execution_options={"sqlite_immediate": True})
    try:
        state = _lock_state()
        if only_pending:
            if state.rolled_up_through is not None and state.rolled_up_through >= last:
                _write_partial_day(state, now or utcnow())
                session.commit()
                return RollupReport(None, None, 0)
            if state.rolled_up_through is not None:
                first = state.rolled_up_through + timedelta(days=1)
        if first is None:
            first = _first_raw_day() or last
        if state.raw_kept_from is not None:
            # Days whose raw rows were pruned keep the rollups they had.
            first = max(first, state.raw_kept_from)
        rows = 0
        if first <= last:
            rows = _write_days(first, last)
        if state.rolled_up_through is None or state.rolled_up_through < last:
            state.rolled_up_through = last
        if only_pending:
            _write_partial_day(state, now or utcnow())
        session.commit()
    except Exception:
        session.rollback()
        raise
    return RollupReport(first if first <= last else None, last if first <= last else None, rows)
