"""Daily usage rollups: totals per UTC day that outlive the raw attempt rows.

One row per (day, provider, connection, feature, model, outcome). Analytics reads these for
whole past days and the raw table only for days not rolled up yet, so page time does not
grow with the raw table; pruning raw rows keeps the totals of old periods.
"""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import BigIntPK


class UsageDailyRollup(db.Model):
    __tablename__ = "usage_daily_rollups"
    __table_args__ = (
        Index("ix_usage_daily_rollups_day", "day"),
        Index("ix_usage_daily_rollups_connection_day", "connection_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # UTC day
    # Dimensions (ids are kept without foreign keys: history never changes after a delete).
    provider_id: Mapped[int | None]
    connection_id: Mapped[int | None]
    connection_name: Mapped[str | None] = mapped_column(String(120))
    feature: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    success: Mapped[bool]
    error_class: Mapped[str | None] = mapped_column(String(32))
    # Measures.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempts: Mapped[int] = mapped_column(Integer, default=0)  # = requests started
    failovers: Mapped[int] = mapped_column(Integer, default=0)  # successes with attempt > 1
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(24, 10))  # sum of priced attempts
    unpriced_attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_time_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    response_time_count: Mapped[int] = mapped_column(Integer, default=0)
    # Latency histogram: {"bucket index": count}, buckets 5% wide (see services/rollups.py).
    latency_histogram: Mapped[dict] = mapped_column(JSON, default=dict)


class UsageRollupState(db.Model):
    """A single row remembering how far the rollups and the pruning have gone."""

    __tablename__ = "usage_rollup_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    rolled_up_through: Mapped[date | None] = mapped_column(Date)  # last complete UTC day
    raw_kept_from: Mapped[date | None] = mapped_column(Date)  # raw rows before it were pruned
    # Today's complete hours are rolled up too (rows with day = the day after
    # rolled_up_through); raw rows from this instant on are read at query time.
    partial_through: Mapped[datetime | None]
