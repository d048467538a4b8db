"""OpenRouter: the OpenAI schema plus credits, live prices and its own error codes."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from webapp.adapters import http
from webapp.adapters.base import (
    ErrorClass,
    KeyInfo,
    ModelInfo,
    ProviderError,
    conn_settings,
    to_decimal,
    to_int,
)
from webapp.adapters.openai_compat import OpenAiAdapter
from webapp.services.pricing import per_token_to_per_m


class OpenRouterAdapter(OpenAiAdapter):
    kind = "openrouter"
    name = "OpenRouter"
    default_base_url = "https://openrouter.ai/api/v1"
    max_tokens_param = "max_tokens"

    def headers(self, connection: Any) -> dict[str, str]:
        headers = self.bearer_headers(connection)
        settings = conn_settings(connection)
        if settings.get("http_referer"):
            headers["HTTP-Referer"] = str(settings["http_referer"])
        if settings.get("x_title"):
            headers["X-Title"] = str(settings["x_title"])
        headers.update(self.extra_headers(connection))
        return headers

    # -- models and prices ---------------------------------------------------------------
    def model_info(self, model: Mapping[str, Any]) -> ModelInfo:
        pricing = model.get("pricing") or {}
        return ModelInfo(
            id=str(model["id"]),
            name=model.get("name") or str(model["id"]),
            context_length=to_int(model.get("context_length")),
            input_price_per_m=per_token_to_per_m(pricing.get("prompt")),
            output_price_per_m=per_token_to_per_m(pricing.get("completion")),
        )

    def fetch_marketplace(self, connection: Any) -> list[ModelInfo]:
        """Every model OpenRouter offers, with live prices converted to USD per 1M tokens."""
        return self.list_models(connection)

    def key_info(self, connection: Any) -> KeyInfo:
        """Credit limit, remaining credit and usage of the connection's key."""
        secrets = self.secrets(connection)
        response = self._send(connection, "GET", "key")
        if response.status_code == 404:
            response.close()
            response = self._send(connection, "GET", "auth/key")
        data = self._json_or_error(response, secrets)
        info = data.get("data") if isinstance(data, dict) else None
        if not isinstance(info, dict):
            raise ProviderError(ErrorClass.UNAVAILABLE, "Key info answer has no 'data' object.", secrets=secrets)
        free = info.get("is_free_tier")
        return KeyInfo(
            label=info.get("label"),
            limit=to_decimal(info.get("limit")),
            limit_remaining=to_decimal(info.get("limit_remaining")),
            usage=to_decimal(info.get("usage")),
            is_free_tier=bool(free) if free is not None else None,
        )

    # -- errors --------------------------------------------------------------------------
    def map_error(
        self,
        status: int,
        headers: Mapping[str, str],
        data: Any,
        text: str,
        secrets: tuple[str, ...],
    ) -> ProviderError:
        error = http.error_object(data)
        message = str(error.get("message") or text or f"HTTP {status}")
        metadata = error.get("metadata") if isinstance(error.get("metadata"), dict) else {}
        raw = metadata.get("raw")
        if raw and isinstance(raw, str):
            message = f"{message} ({raw[:200]})"
        lowered = message.lower()
        retry_after = http.retry_after_from_headers(headers)
        if retry_after is None:
            retry_after = _reset_from_metadata(metadata)
        if retry_after is None:
            retry_after = http.retry_after_from_text(message)
        quota_scope = None

        if status == 402:
            cls = ErrorClass.QUOTA
        elif status == 401:
            cls = ErrorClass.AUTH
        elif status == 403:
            moderated = bool(metadata.get("reasons")) or "moderation" in lowered or "flagged" in lowered
            cls = ErrorClass.CONTENT_FILTERED if moderated else ErrorClass.AUTH
        elif status == 429:
            if "per-day" in lowered or "per day" in lowered:
                cls, quota_scope = ErrorClass.QUOTA, "day"
            else:
                cls = ErrorClass.RATE_LIMITED
                if "per-min" in lowered:
                    quota_scope = "minute"
        elif status == 400 and "not a valid model id" in lowered:
            cls = ErrorClass.MODEL_NOT_FOUND
        elif status == 404:
            cls = ErrorClass.MODEL_NOT_FOUND if "model" in lowered or "endpoints" in lowered else ErrorClass.UNAVAILABLE
        elif status in (408, 409) or status >= 500:
            cls = ErrorClass.UNAVAILABLE
        else:
            cls = ErrorClass.INVALID_REQUEST
        keep_hint = cls in (ErrorClass.RATE_LIMITED, ErrorClass.UNAVAILABLE, ErrorClass.QUOTA)
        return ProviderError(
            cls,
            f"HTTP {status}: {message}",
            status=status,
            retry_after=retry_after if keep_hint else None,
            quota_scope=quota_scope,
            code=str(error.get("code")) if error.get("code") is not None else None,
            secrets=secrets,
        )


def _reset_from_metadata(metadata: Mapping[str, Any]) -> float | None:
    """OpenRouter puts the upstream X-RateLimit-Reset (epoch milliseconds) in metadata."""
    headers = metadata.get("headers")
    if not isinstance(headers, dict):
        return None
    value = headers.get("X-RateLimit-Reset") or headers.get("x-ratelimit-reset")
    try:
        reset = float(value)
    except (TypeError, ValueError):
        return None
    if reset > 1e11:  # epoch milliseconds
        return max(reset / 1000.0 - time.time(), 0.0)
    if reset > 1e9:  # epoch seconds
        return max(reset - time.time(), 0.0)
    return reset
