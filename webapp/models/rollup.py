"""Daily usage rollups: totals per UTC day that outlive the raw attempt rows.

Two tables with the same measures:

* ``usage_daily_rollups``: one row per (day, provider, connection, feature, model) cell, both
  outcomes together. The analytics page reads only this table unless an outcome filter is
  set, so its work does not grow with the number of attempts (or of error classes) per cell.
* ``usage_daily_outcome_rollups``: the same cells split by outcome (success, or the error
  class of a failure). Read for the error-class table and when an outcome filter is set.

Latency is kept as a histogram of LATENCY_BUCKETS integer columns (``latency_b00`` …), so
percentiles come from SUM(...) in SQL; the bucket edges are in services/rollups.py.
"""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import BigIntPK

LATENCY_BUCKETS = 64
LATENCY_COLUMNS = tuple(f"latency_b{index:02d}" for index in range(LATENCY_BUCKETS))


class _RollupMeasures:
    """Dimensions and additive measures shared by both rollup tables."""

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # UTC day
    # Dimensions (ids are kept without foreign keys: history never changes after a delete).
    provider_id: Mapped[int | None]
    connection_id: Mapped[int | None]
    connection_name: Mapped[str | None] = mapped_column(String(120))
    feature: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    # Measures.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    first_attempts: Mapped[int] = mapped_column(Integer, default=0)  # = requests started
    failovers: Mapped[int] = mapped_column(Integer, default=0)  # successes with attempt > 1
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(24, 10))  # sum of priced attempts
    unpriced_attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_time_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    response_time_count: Mapped[int] = mapped_column(Integer, default=0)
    # Latency histogram: attempts per bucket (edges in services/rollups.py).
    for _column in LATENCY_COLUMNS:
        locals()[_column] = mapped_column(_column, Integer, nullable=False, default=0)
    del _column


class UsageDailyRollup(_RollupMeasures, db.Model):
    """Totals of one (day, provider, connection, feature, model) cell, all outcomes."""

    __tablename__ = "usage_daily_rollups"
    __table_args__ = (
        Index("ix_usage_daily_rollups_day", "day"),
        Index("ix_usage_daily_rollups_connection_day", "connection_id", "day"),
    )


class UsageDailyOutcomeRollup(_RollupMeasures, db.Model):
    """Totals of one cell and one outcome: success, or a failure of one error class."""

    __tablename__ = "usage_daily_outcome_rollups"
    __table_args__ = (
        # Covers the error-class table of an unfiltered page (an index-only scan).
        Index("ix_usage_daily_outcome_rollups_outcome_day", "success", "day", "error_class",
              "attempts"),
        Index("ix_usage_daily_outcome_rollups_connection_day", "connection_id", "day"),
    )

    success: Mapped[bool]
    error_class: Mapped[str | None] = mapped_column(String(32))


class UsageRollupState(db.Model):
    """A single row remembering how far the rollups and the pruning have gone."""

    __tablename__ = "usage_rollup_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    rolled_up_through: Mapped[date | None] = mapped_column(Date)  # last complete UTC day
    raw_kept_from: Mapped[date | None] = mapped_column(Date)  # raw rows before it were pruned
    # Today's complete hours are rolled up too (rows of the day after rolled_up_through);
    # raw rows from this instant on are read at query time.
    partial_through: Mapped[datetime | None]
