"""Fixed-window request counters shared by every process through the database."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class RateLimitCounter(db.Model):
    """How many requests a scope (e.g. "connection:7:minute") admitted in one window."""

    __tablename__ = "rate_limit_counters"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
