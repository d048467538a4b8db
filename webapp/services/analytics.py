"""Usage analytics: headline figures, time series and breakdowns for a filtered range.

Whole past UTC days are read from the daily rollups and only the days not rolled up yet
(normally just today) from the raw attempt rows, so the number of queries and the work per
page stay the same whatever the size of the raw table. A single-day range is read from the
raw rows of that day, by hour (when those rows have not been pruned).

Terms: an *attempt* is one usage row; a *request* is one execute call (its first attempt);
a *failover* is a request whose successful attempt was not its first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from ..extensions import db
from ..models import AiConnection, AiProvider, utcnow
from ..models.rollup import UsageDailyOutcomeRollup, UsageDailyRollup
from . import rollups
from .analytics_filters import (
    AnalyticsFilters,
    column_conditions,
    dimension_conditions,
    outcome_conditions,
)
from .rollups import LATENCY_RESOLUTION_NOTE, Totals

UNKNOWN = "(none)"


def resolve_timezone(name: str | None, default: str | None = "UTC") -> ZoneInfo:
    """The admin's timezone, else the configured default, else UTC (never an error)."""
    for candidate in (name, default, "UTC"):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


@dataclass
class BreakdownRow:
    key: object
    label: str
    totals: Totals


@dataclass
class SeriesPoint:
    period: datetime  # UTC start of the day or hour
    label: str
    totals: Totals = field(default_factory=Totals)
    cost_by_provider: dict = field(default_factory=dict)


@dataclass
class AnalyticsReport:
    filters: AnalyticsFilters
    timezone: str
    granularity: str  # "day" | "hour"
    headline: Totals
    series: list[SeriesPoint]
    providers: dict[int | None, str]
    by_feature: list[BreakdownRow]
    by_connection: list[BreakdownRow]
    by_model: list[BreakdownRow]
    error_classes: list[tuple[str, int]]
    rolled_up_through: date | None
    raw_kept_from: date | None
    latency_note: str = LATENCY_RESOLUTION_NOTE

    @property
    def pruned_days_in_range(self) -> bool:
        return self.raw_kept_from is not None and self.filters.first_day < self.raw_kept_from

    def breakdown(self, kind: str) -> list[BreakdownRow]:
        return {"by_feature": self.by_feature, "by_connection": self.by_connection,
                "by_model": self.by_model}[kind]

    def chart_data(self) -> dict:
        """The figures the charts draw, as plain JSON-ready values."""
        provider_ids = sorted({pid for point in self.series for pid in point.cost_by_provider},
                              key=lambda pid: self.providers.get(pid, UNKNOWN))
        return {
            "granularity": self.granularity,
            "timezone": self.timezone,
            "labels": [point.label for point in self.series],
            "attempts": [point.totals.attempts for point in self.series],
            "failures": [point.totals.failures for point in self.series],
            "p50": [point.totals.p50_ms for point in self.series],
            "p95": [point.totals.p95_ms for point in self.series],
            "cost": [
                {"label": self.providers.get(pid, UNKNOWN),
                 "data": [float(point.cost_by_provider.get(pid, 0)) for point in self.series]}
                for pid in provider_ids
            ],
        }


# --- reading ---------------------------------------------------------------------------


@dataclass
class _Parts:
    """Pre-aggregated figures from the rollups and the raw rows, for build_report to combine.

    series: (period, provider_id, Totals); cells: (feature, connection_id, connection_name,
    model, Totals); errors: (error_class, failed attempts).
    """

    series: list = field(default_factory=list)
    cells: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def add_raw(self, start: datetime, end: datetime, conditions: list, period=None) -> None:
        """Add the raw rows in [start, end), summed in SQL per period and cell."""
        for row in db.session.execute(rollups.raw_summed_query(start, end, conditions, period)):
            totals = rollups.totals_from_sums(row)
            self.series.append((row.period, row.provider_id, totals))
            self.cells.append((row.feature, row.connection_id, row.connection_name, row.model,
                               totals))
        self.errors.extend(db.session.execute(
            rollups.raw_error_counts_query(start, end, conditions)).all())


def _read_rollups(parts: _Parts, filters: AnalyticsFilters, last_day: date) -> None:
    """Sum the rollup rows of the filtered days up to last_day in SQL: per day and provider,
    per (feature, connection, model) cell, and failed attempts per error class.

    The per-outcome table is read only for the error classes and when an outcome filter is
    set; otherwise the cell table (one row per day and cell) is enough.
    """
    cell_table, outcome_table = UsageDailyRollup, UsageDailyOutcomeRollup
    table = outcome_table if filters.outcome else cell_table
    conditions = [table.day >= filters.first_day, table.day <= last_day,
                  *dimension_conditions(filters, table), *outcome_conditions(filters, table)]
    sums = rollups.summed_measures(table)
    for row in db.session.execute(
            select(table.day, table.provider_id, *sums).where(*conditions)
            .group_by(table.day, table.provider_id)):
        parts.series.append((row.day, row.provider_id, rollups.totals_from_sums(row)))
    cell = (table.feature, table.connection_id, table.connection_name, table.model)
    for row in db.session.execute(select(*cell, *sums).where(*conditions).group_by(*cell)):
        parts.cells.append((row.feature, row.connection_id, row.connection_name, row.model,
                            rollups.totals_from_sums(row)))
    o = outcome_table
    parts.errors.extend(db.session.execute(
        select(o.error_class, func.sum(o.attempts))
        .where(o.day >= filters.first_day, o.day <= last_day, o.success.is_(False),
               *dimension_conditions(filters, o), *outcome_conditions(filters, o))
        .group_by(o.error_class)).all())


def hour_expression(column):
    """The UTC hour a naive UTC timestamp falls in, on either backend."""
    if db.engine.dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:00:00", column)
    return func.date_trunc("hour", column)


def _as_datetime(value) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time())
    return datetime.fromisoformat(str(value))


def _gather(filters: AnalyticsFilters, state: rollups.RollupState) -> tuple[_Parts, str]:
    """Figures from the rollups and the raw rows, and the granularity."""
    from ..models import AiConnectionUsage

    parts = _Parts()
    raw_conditions = column_conditions(filters, AiConnectionUsage)
    kept_from = state.raw_kept_from
    if filters.is_single_day and (kept_from is None or filters.first_day >= kept_from):
        parts.add_raw(filters.start, filters.end, raw_conditions,
                      period=hour_expression(AiConnectionUsage.created_at))
        return parts, "hour"

    rollup_last = state.rollup_last_day
    if rollup_last is not None and min(filters.last_day, rollup_last) >= filters.first_day:
        _read_rollups(parts, filters, min(filters.last_day, rollup_last))
    raw_start = filters.start if state.raw_from is None else max(filters.start, state.raw_from)
    if raw_start < filters.end:
        parts.add_raw(raw_start, filters.end, raw_conditions)
    return parts, "day"


def _periods(filters: AnalyticsFilters, granularity: str, tz: ZoneInfo) -> list[SeriesPoint]:
    utc = ZoneInfo("UTC")
    if granularity == "hour":
        points = []
        for hour in range(24):
            start = filters.start + timedelta(hours=hour)
            local = start.replace(tzinfo=utc).astimezone(tz)
            points.append(SeriesPoint(start, local.strftime("%H:%M")))
        return points
    return [SeriesPoint(filters.start + timedelta(days=n),
                        (filters.first_day + timedelta(days=n)).isoformat())
            for n in range(filters.days)]


def _breakdown(cells: dict, position: int, labels: dict | None = None) -> list[BreakdownRow]:
    table: dict = {}
    for key, totals in cells.items():
        part = key[position]
        row = table.get(part)
        if row is None:
            label = labels.get(part) if labels is not None else part
            row = table[part] = BreakdownRow(part, label or UNKNOWN, Totals())
        row.totals.add(totals)
    return sorted(table.values(), key=lambda row: (-row.totals.attempts, row.label))


def build_report(filters: AnalyticsFilters, timezone: str = "UTC",
                 now: datetime | None = None) -> AnalyticsReport:
    """Every figure of the analytics page for ``filters`` (rolling up finished days first)."""
    rollups.rollup_pending(now)
    state = rollups.read_state()
    tz = resolve_timezone(timezone)
    parts, granularity = _gather(filters, state)

    providers = dict(db.session.execute(select(AiProvider.id, AiProvider.name)).all())
    connection_names = dict(db.session.execute(select(AiConnection.id, AiConnection.name)).all())

    series = _periods(filters, granularity, tz)
    by_period = {point.period: point for point in series}
    by_day_value: dict = {}
    for period, provider_id, totals in parts.series:
        point = by_day_value.get(period)
        if point is None:
            point = by_day_value[period] = by_period.get(_as_datetime(period))
        if point is None:
            continue
        point.totals.add(totals)
        if totals.cost:
            point.cost_by_provider[provider_id] = (
                point.cost_by_provider.get(provider_id, Decimal(0)) + totals.cost)

    # The headline and the breakdowns are summed from the (feature, connection, model) cells.
    cells: dict[tuple, Totals] = {}
    labels: dict = {}
    for feature, connection_id, connection_name, model, totals in parts.cells:
        connection_key = connection_id if connection_id is not None else f"name:{connection_name}"
        if connection_key not in labels:
            label = connection_names.get(connection_id) or connection_name or UNKNOWN
            if connection_id is not None and connection_id not in connection_names:
                label = f"{label} (deleted)"
            labels[connection_key] = label
        cell_key = (feature, connection_key, model)
        cell = cells.get(cell_key)
        if cell is None:
            cells[cell_key] = cell = Totals()
        cell.add(totals)
    errors: dict[str, int] = {}
    for name, count in parts.errors:
        name = name or "unknown"
        errors[name] = errors.get(name, 0) + int(count or 0)

    headline = Totals()
    for cell in cells.values():
        headline.add(cell)
    return AnalyticsReport(
        filters=filters, timezone=str(tz.key), granularity=granularity, headline=headline,
        series=series, providers=providers,
        by_feature=_breakdown(cells, 0), by_connection=_breakdown(cells, 1, labels),
        by_model=_breakdown(cells, 2),
        error_classes=sorted(errors.items(), key=lambda item: (-item[1], item[0])),
        rolled_up_through=state.rolled_up_through, raw_kept_from=state.raw_kept_from,
    )


def filter_choices() -> dict:
    """Options for the filter form: providers, connections, and features/models seen."""
    providers = db.session.execute(
        select(AiProvider.id, AiProvider.name).order_by(AiProvider.name)).all()
    connections = db.session.execute(
        select(AiConnection.id, AiConnection.name, AiProvider.name)
        .join(AiProvider, AiConnection.provider_id == AiProvider.id)
        .order_by(AiProvider.name, AiConnection.name)).all()
    since = utcnow().date() - timedelta(days=400)
    r = UsageDailyRollup
    seen = db.session.execute(
        select(r.feature, r.model).where(r.day >= since).group_by(r.feature, r.model)).all()
    return {
        "providers": providers,
        "connections": connections,
        "features": sorted({row.feature for row in seen if row.feature}),
        "models": sorted({row.model for row in seen if row.model}),
    }
