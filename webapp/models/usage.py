"""One row per attempt sent to a provider; history survives deleting the connection."""

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, SmallInteger, String, case, func, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import BigIntPK, utcnow


class AiConnectionUsage(db.Model):
    __tablename__ = "ai_connection_usage"
    __table_args__ = (
        Index("ix_ai_connection_usage_connection_created", "connection_id", "created_at"),
        Index("ix_ai_connection_usage_provider_created", "provider_id", "created_at"),
        Index("ix_ai_connection_usage_feature_created", "feature", "created_at"),
        Index("ix_ai_connection_usage_app_key_created", "app_key_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("ai_connections.id", ondelete="SET NULL")
    )
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("ai_providers.id", ondelete="SET NULL")
    )
    connection_name: Mapped[str | None] = mapped_column(String(120))
    app_key_id: Mapped[int | None] = mapped_column(ForeignKey("app_keys.id", ondelete="SET NULL"))
    request_id: Mapped[str] = mapped_column(String(36), index=True)
    attempt: Mapped[int] = mapped_column(SmallInteger, default=1)
    feature: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int | None]
    completion_tokens: Mapped[int | None]
    tokens_used: Mapped[int | None]
    cost: Mapped[Decimal | None] = mapped_column(Numeric(18, 10))  # NULL = unpriced, never 0
    success: Mapped[bool] = mapped_column(default=False)
    response_time_ms: Mapped[int | None]
    error_class: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(String(500))  # redacted
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    # --- reporting helpers ------------------------------------------------------------------

    @staticmethod
    def _since(days: int) -> datetime:
        return utcnow() - timedelta(days=days)

    @classmethod
    def _totals(cls):
        return (
            func.count(cls.id).label("requests"),
            func.sum(case((cls.success.is_(True), 1), else_=0)).label("successes"),
            func.coalesce(func.sum(cls.tokens_used), 0).label("tokens"),
            func.sum(cls.cost).label("cost"),
            func.avg(cls.response_time_ms).label("avg_response_time_ms"),
        )

    @classmethod
    def totals_by_connection(cls, days: int = 30) -> list:
        """Requests, successes, tokens, cost and mean latency per connection over N days."""
        query = (
            select(cls.connection_id, cls.connection_name, *cls._totals())
            .where(cls.created_at >= cls._since(days))
            .group_by(cls.connection_id, cls.connection_name)
            .order_by(func.count(cls.id).desc())
        )
        return db.session.execute(query).all()

    @classmethod
    def totals_by_feature(cls, days: int = 30) -> list:
        query = (
            select(cls.feature, *cls._totals())
            .where(cls.created_at >= cls._since(days))
            .group_by(cls.feature)
            .order_by(func.count(cls.id).desc())
        )
        return db.session.execute(query).all()

    @classmethod
    def average_response_time(cls, days: int = 7, connection_id: int | None = None) -> float | None:
        query = select(func.avg(cls.response_time_ms)).where(cls.created_at >= cls._since(days))
        if connection_id is not None:
            query = query.where(cls.connection_id == connection_id)
        value = db.session.scalar(query)
        return None if value is None else round(float(value), 1)
