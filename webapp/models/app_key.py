"""Keys with which other applications call the OpenAI-compatible gateway."""

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow

KEY_PREFIX = "acm-"


def hash_app_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class AppKey(db.Model):
    __tablename__ = "app_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown in lists
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the whole key
    allowed_providers: Mapped[list | None] = mapped_column(JSON)  # provider slugs; None = all
    rate_limit_per_minute: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    @classmethod
    def generate(cls, label: str, **fields) -> tuple["AppKey", str]:
        """A new key object and the raw key, which is shown once and never stored."""
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls(label=label, prefix=raw[:12], key_hash=hash_app_key(raw), **fields)
        return key, raw

    @classmethod
    def find_by_raw_key(cls, raw_key: str) -> "AppKey | None":
        return db.session.scalar(select(cls).where(cls.key_hash == hash_app_key(raw_key)))

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def allows_provider(self, slug: str) -> bool:
        return not self.allowed_providers or slug in self.allowed_providers
