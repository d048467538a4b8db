"""The OpenAI-compatible HTTP gateway for applications (app-key auth, no CSRF, no session)."""

from ..extensions import csrf
from .views import bp

csrf.exempt(bp)

__all__ = ["bp"]
