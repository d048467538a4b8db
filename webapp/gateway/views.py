"""The OpenAI-compatible endpoints: /v1/chat/completions (plain and streamed) and /v1/models."""

from __future__ import annotations

import math
import time

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..models import utcnow
from ..services import app_keys
from ..services.errors import ServiceError
from . import responses, streaming
from .auth import GatewayAuthError, require_app_key
from .schemas import parse_chat_request, parse_json_body

bp = Blueprint("gateway", __name__, url_prefix="/v1")

MAX_FEATURE_CHARS = 100


@bp.before_request
def start_clock():
    g.gateway_started = time.perf_counter()


@bp.get("/models")
def list_models():
    """The models this app key may use, in OpenAI's list format."""
    key = require_app_key()
    return Response(responses.dumps(responses.models_body(app_keys.models_for_key(key))),
                    mimetype="application/json")


@bp.post("/chat/completions")
def chat_completions():
    """One chat completion through execute(), answered in OpenAI's format whatever the provider."""
    key = require_app_key()
    chat = parse_chat_request(parse_json_body(_read_body()))
    target = app_keys.resolve_model(key, chat.model)
    limited = _key_limit_response(key)
    if limited is not None:
        return limited
    options = dict(chat.options)
    if target.model:
        options["model"] = target.model
    call = {"provider": target.provider_slug, "options": options,
            "feature": _feature(key), "app_key_id": key.id}
    if chat.stream:
        return streaming.respond(chat, call, started=g.gateway_started)

    from ..services.execution import execute

    result = execute(chat.messages, **call)
    response = Response(responses.dumps(responses.completion_body(result)),
                        mimetype="application/json")
    provider_ms = sum(a.response_time_ms or 0 for a in result.attempts)
    responses.set_trace_headers(response, connection_name=result.connection_name,
                      attempts=len(result.attempts), request_id=result.request_id,
                      overhead_ms=_elapsed_ms(g.gateway_started) - provider_ms)
    return response


# --- helpers -------------------------------------------------------------------------------


def _read_body() -> bytes:
    """The raw body; a body over MAX_CONTENT_LENGTH raises 413 before anything is read."""
    return request.get_data(cache=False)


def _feature(key) -> str:
    """The key's label, or the caller's X-Feature header when it names a finer feature."""
    header = (request.headers.get("X-Feature") or "").strip()
    if header and header.isprintable():
        return header[:MAX_FEATURE_CHARS]
    return key.label


def _key_limit_response(key) -> Response | None:
    """429 when this key has used its own per-minute allowance (shared by every process)."""
    if not key.rate_limit_per_minute:
        return None
    from ..services.rate_limits import next_window, try_acquire

    if try_acquire(f"app_key:{key.id}", key.rate_limit_per_minute, "minute"):
        return None
    now = utcnow()
    wait = (next_window("minute", now) - now).total_seconds()
    return responses.error_response(
        429, f"This app key's limit of {key.rate_limit_per_minute} requests per minute is "
             f"used up; try again in {math.ceil(wait)} s.",
        code="rate_limit_exceeded", headers={"Retry-After": responses.retry_after_value(wait)})


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


# --- errors, all in OpenAI's format ---------------------------------------------------------


@bp.errorhandler(GatewayAuthError)
def auth_failed(exc: GatewayAuthError):
    return responses.error_response(401, exc.message, code=exc.code)


@bp.errorhandler(ServiceError)
def service_failed(exc: ServiceError):
    return responses.service_error_response(exc)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    limit = request.max_content_length
    return responses.error_response(
        413, f"The request body is larger than this gateway accepts ({limit:,} bytes; "
             "MAX_REQUEST_BYTES sets the limit).", code="request_too_large")
