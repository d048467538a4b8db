"""Turning service errors into pages or fragments with their (already redacted) message."""

from ...errors import render_error
from ...services.errors import ServiceError


def render_service_error(exc: ServiceError):
    """A 4xx page (or fragment for HTMX) that says what was wrong; nothing was changed."""
    return render_error(getattr(exc, "status", 400) or 400, exc.message)
