"""OpenAI wire shapes: completion, chunk, model list and error bodies."""

from __future__ import annotations

import json
import math
import time
from typing import Any

from flask import Response

from ..services.errors import (
    ExecutionFailed,
    InvalidInput,
    NoAvailableConnection,
    NotFound,
    RequestRejected,
    ServiceError,
)

# HTTP status -> OpenAI error type (the SDK picks its exception class from the status).
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "api_error",
    503: "service_unavailable_error",
}


def dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def error_body(message: str, status: int, *, code: str | None = None,
               param: str | None = None, type_: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_ or ERROR_TYPES.get(status, "api_error"),
                      "param": param, "code": code}}


def error_response(status: int, message: str, *, code: str | None = None,
                   param: str | None = None, headers: dict | None = None) -> Response:
    response = Response(dumps(error_body(message, status, code=code, param=param)),
                        status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def retry_after_value(seconds: float | None) -> str:
    return str(max(1, math.ceil(seconds or 0)))


def service_error_response(exc: ServiceError) -> Response:
    """A domain error from the services as an OpenAI error with the matching status."""
    status, code, param, headers = exc.status, None, None, {}
    if isinstance(exc, InvalidInput):
        status, code = 400, "invalid_request"
        param = next(iter(exc.field_errors), None)
    elif isinstance(exc, NotFound):
        status, code = 404, "model_not_found"
    elif isinstance(exc, NoAvailableConnection):
        if exc.retry_after_seconds is not None:
            status, code = 429, "rate_limit_exceeded"
            headers["Retry-After"] = retry_after_value(exc.retry_after_seconds)
        else:
            status, code = 503, "no_available_connection"
    elif isinstance(exc, RequestRejected):
        status = 400
        code = "content_filter" if exc.error_class == "content_filtered" else "invalid_request"
    elif isinstance(exc, ExecutionFailed):
        status, code = 502, "upstream_failed"
    elif status == 403:
        code = "provider_not_allowed"
    return error_response(status, exc.message, code=code, param=param, headers=headers)


def completion_id(request_id: str | None) -> str:
    return "chatcmpl-" + (request_id or "").replace("-", "")


def completion_body(result: Any) -> dict:
    """OpenAI's chat.completion from an ExecutionResult, usage filled in."""
    prompt = result.prompt_tokens or 0
    completion = result.completion_tokens or 0
    total = result.total_tokens if result.total_tokens is not None else prompt + completion
    return {
        "id": completion_id(result.request_id),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": result.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": result.text, "refusal": None},
            "logprobs": None,
            "finish_reason": result.finish_reason or "stop",
        }],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total},
    }


def error_event(message: str, *, code: str | None = None, type_: str = "api_error") -> str:
    """A mid-stream error as OpenAI sends it (the SDK raises APIError on it)."""
    return sse(dumps({"error": {"message": message, "type": type_, "param": None, "code": code}}))


def sse(data: str) -> str:
    return f"data: {data}\n\n"


def models_body(models: list) -> dict:
    return {"object": "list",
            "data": [{"id": m.id, "object": "model", "created": m.created, "owned_by": m.owned_by}
                     for m in models]}


def set_trace_headers(response: Response, *, connection_name: str | None, attempts: int,
                      request_id: str | None, overhead_ms: float) -> None:
    if connection_name:
        response.headers["X-ACM-Connection"] = _header_safe(connection_name)
    response.headers["X-ACM-Attempts"] = str(attempts)
    response.headers["X-ACM-Gateway-Overhead-Ms"] = str(max(0, round(overhead_ms)))
    if request_id:
        response.headers["X-ACM-Request-Id"] = request_id


def _header_safe(text: str) -> str:
    """Header values must be Latin-1; connection names may not be."""
    return text.encode("ascii", "backslashreplace").decode("ascii")
