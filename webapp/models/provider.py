"""AI providers: one per upstream API account family (OpenAI, Gemini, OpenRouter, compatible)."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Numeric, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, utcnow

ADAPTER_KINDS = ("openai", "gemini", "openrouter")
PROVIDER_STATUSES = ("active", "inactive")


class AiProvider(TimestampMixin, db.Model):
    __tablename__ = "ai_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    adapter_kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    default_connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("ai_connections.id", use_alter=True, ondelete="SET NULL")
    )
    models_refreshed_at: Mapped[datetime | None]

    connections = relationship(
        "AiConnection",
        back_populates="provider",
        foreign_keys="AiConnection.provider_id",
        order_by="(AiConnection.priority, AiConnection.id)",
        passive_deletes=True,
    )
    default_connection = relationship(
        "AiConnection", foreign_keys=[default_connection_id], post_update=True
    )
    models = relationship(
        "AiProviderModel", back_populates="provider", cascade="all, delete-orphan",
        passive_deletes=True, order_by="AiProviderModel.model_id",
    )

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def active_connections(self) -> list:
        return [c for c in self.connections if c.is_active]

    @classmethod
    def by_slug(cls, slug: str) -> "AiProvider | None":
        return db.session.scalar(select(cls).where(cls.slug == slug))

    @classmethod
    def active(cls):
        return select(cls).where(cls.status == "active").order_by(cls.name)

    def __repr__(self) -> str:
        return f"<AiProvider {self.slug}>"


class AiProviderModel(db.Model):
    """A model a provider offers, as last listed by the provider (with live prices when known)."""

    __tablename__ = "ai_provider_models"
    __table_args__ = (UniqueConstraint("provider_id", "model_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("ai_providers.id", ondelete="CASCADE"))
    model_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    context_length: Mapped[int | None]
    input_price_per_m: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    output_price_per_m: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)

    provider = relationship("AiProvider", back_populates="models")
