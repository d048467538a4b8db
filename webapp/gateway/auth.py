"""App-key authentication for the gateway: a Bearer app key, never the admin session."""

from __future__ import annotations

from flask import request

from ..models import AppKey
from ..redaction import mask_key
from ..services import app_keys


class GatewayAuthError(Exception):
    """401: missing, unknown or revoked app key."""

    status = 401
    code = "invalid_api_key"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def require_app_key() -> AppKey:
    """The calling app's key, or GatewayAuthError. A signed-in admin cookie counts for nothing."""
    raw = bearer_token()
    if raw is None:
        raise GatewayAuthError(
            "Missing app key. Send it as `Authorization: Bearer acm-…` (create one on the "
            "App keys page or with `flask app-keys create LABEL`).")
    key = app_keys.lookup(raw)
    if key is None:
        raise GatewayAuthError(f"Incorrect app key provided: {mask_key(raw)}.")
    if key.is_revoked:
        raise GatewayAuthError(f"This app key ({key.prefix}…) has been revoked.")
    app_keys.touch(key)
    return key
