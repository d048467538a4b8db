"""Shared column helpers for the models."""

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

# Timestamps are stored as naive UTC on every backend, so comparisons never mix offsets.


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER primary key.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
