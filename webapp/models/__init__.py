"""SQLAlchemy models; importing this package registers every table on db.metadata."""

from .app_key import AppKey
from .base import utcnow
from .connection import CONNECTION_STATUSES, AiConnection
from .provider import ADAPTER_KINDS, PROVIDER_STATUSES, AiProvider, AiProviderModel
from .rate_limit import RateLimitCounter
from .rollup import UsageDailyRollup, UsageRollupState
from .usage import AiConnectionUsage
from .user import User

__all__ = [
    "ADAPTER_KINDS",
    "CONNECTION_STATUSES",
    "PROVIDER_STATUSES",
    "AiConnection",
    "AiConnectionUsage",
    "AiProvider",
    "AiProviderModel",
    "AppKey",
    "RateLimitCounter",
    "UsageDailyRollup",
    "UsageRollupState",
    "User",
    "utcnow",
]
