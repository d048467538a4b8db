"""AI connections: one API key (and its settings) inside a provider's rotation pool."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crypto import cipher
from ..extensions import db
from .base import TimestampMixin, utcnow

CONNECTION_STATUSES = ("active", "inactive", "disabled")
# After this many failures in a row a connection is reported unhealthy (and the breaker opens).
UNHEALTHY_AFTER_FAILURES = 3


class AiConnection(TimestampMixin, db.Model):
    __tablename__ = "ai_connections"
    __table_args__ = (UniqueConstraint("provider_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("ai_providers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    credentials: Mapped[str] = mapped_column(Text)  # MultiFernet ciphertext of a JSON object
    key_hint: Mapped[str | None] = mapped_column(String(32))  # e.g. "sk-…a1b2", never the key
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active")
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    priority: Mapped[int] = mapped_column(default=100)
    weight: Mapped[int] = mapped_column(default=1)
    rate_limit_per_minute: Mapped[int | None]
    rate_limit_per_day: Mapped[int | None]

    success_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_used_at: Mapped[datetime | None]
    last_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_error_class: Mapped[str | None] = mapped_column(String(32))

    # Rotation state shared by every process through the database.
    cooldown_until: Mapped[datetime | None]
    cooldown_reason: Mapped[str | None] = mapped_column(String(32))
    circuit_open_count: Mapped[int] = mapped_column(default=0)
    trial_started_at: Mapped[datetime | None]

    last_test_ok: Mapped[bool | None]
    last_test_at: Mapped[datetime | None]
    last_test_latency_ms: Mapped[int | None]
    last_test_message: Mapped[str | None] = mapped_column(String(500))

    provider = relationship("AiProvider", back_populates="connections", foreign_keys=[provider_id])

    # --- credentials -------------------------------------------------------------------

    def set_credentials(self, credentials: dict | str) -> None:
        """Encrypt and store credentials; a bare string is the API key."""
        if isinstance(credentials, str):
            credentials = {"api_key": credentials}
        clean = {k: v for k, v in credentials.items() if v not in (None, "")}
        self.credentials = cipher().encrypt(clean)
        self.__dict__.pop("_credentials_cache", None)
        from ..redaction import mask_key

        self.key_hint = mask_key(clean.get("api_key", "")) if clean.get("api_key") else None

    @property
    def credentials_dict(self) -> dict:
        """The decrypted credentials; raises CredentialsError naming this connection."""
        cached = self.__dict__.get("_credentials_cache")
        if cached is None:
            from ..crypto import CredentialsError

            try:
                cached = cipher().decrypt(self.credentials or "")
            except CredentialsError as exc:
                raise CredentialsError(
                    f"connection {self.name!r} (id {self.id}): {exc}"
                ) from None
            self.__dict__["_credentials_cache"] = cached
        return cached

    def get_credential(self, key: str, default=None):
        return self.credentials_dict.get(key, default)

    @property
    def api_key(self) -> str | None:
        return self.get_credential("api_key")

    # --- settings ------------------------------------------------------------------------

    def setting(self, key: str, default=None):
        return (self.settings or {}).get(key, default)

    @property
    def base_url(self) -> str | None:
        return self.setting("base_url") or None

    @property
    def model(self) -> str | None:
        return self.setting("model") or None

    # --- state ----------------------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def is_cooling_down(self, now: datetime | None = None) -> bool:
        return self.cooldown_until is not None and self.cooldown_until > (now or utcnow())

    @property
    def has_errors(self) -> bool:
        return (self.error_count or 0) > 0

    @property
    def total_requests(self) -> int:
        return (self.success_count or 0) + (self.error_count or 0)

    @property
    def success_rate(self) -> float | None:
        """Percentage of successful attempts, or None before the first attempt."""
        total = self.total_requests
        if not total:
            return None
        return round(100.0 * (self.success_count or 0) / total, 1)

    @property
    def health_status(self) -> str:
        """healthy | degraded | unhealthy | cooling_down | disabled | inactive | unknown."""
        if self.status == "disabled":
            return "disabled"
        if self.status == "inactive":
            return "inactive"
        if self.is_cooling_down():
            return "cooling_down"
        if (self.consecutive_failures or 0) >= UNHEALTHY_AFTER_FAILURES:
            return "unhealthy"
        rate = self.success_rate
        if rate is None:
            return "unknown"
        if (self.consecutive_failures or 0) > 0 or rate < 90.0:
            return "degraded"
        return "healthy"

    # --- query helpers ---------------------------------------------------------------------

    @classmethod
    def active(cls):
        return select(cls).where(cls.status == "active")

    @classmethod
    def by_provider(cls, provider_id: int):
        return select(cls).where(cls.provider_id == provider_id)

    @classmethod
    def by_priority(cls, query=None):
        return (query if query is not None else select(cls)).order_by(cls.priority, cls.id)

    @classmethod
    def healthy(cls, now: datetime | None = None):
        """Active, not cooling down, and not failing repeatedly."""
        now = now or utcnow()
        return cls.active().where(
            (cls.cooldown_until.is_(None)) | (cls.cooldown_until <= now),
            cls.consecutive_failures < UNHEALTHY_AFTER_FAILURES,
        )

    # --- atomic counters (UPDATE … SET n = n + 1, never read-modify-write) ------------------

    @classmethod
    def record_success(cls, connection_id: int, when: datetime | None = None) -> None:
        when = when or utcnow()
        db.session.execute(
            update(cls)
            .where(cls.id == connection_id)
            .values(
                success_count=cls.success_count + 1,
                consecutive_failures=0,
                circuit_open_count=0,
                trial_started_at=None,
                last_used_at=when,
            )
            .execution_options(synchronize_session=False)
        )

    @classmethod
    def record_failure(cls, connection_id: int, error_class: str, message: str | None,
                       when: datetime | None = None) -> None:
        when = when or utcnow()
        db.session.execute(
            update(cls)
            .where(cls.id == connection_id)
            .values(
                error_count=cls.error_count + 1,
                consecutive_failures=cls.consecutive_failures + 1,
                last_used_at=when,
                last_error_at=when,
                last_error=(message or "")[:500] or None,
                last_error_class=error_class,
            )
            .execution_options(synchronize_session=False)
        )

    def __repr__(self) -> str:
        return f"<AiConnection {self.id} {self.name!r}>"
