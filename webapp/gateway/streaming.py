"""Server-sent events in OpenAI's chunk format, from execute_stream()."""

from __future__ import annotations

import time
from collections.abc import Iterator

from flask import Response, current_app, stream_with_context

from ..adapters.base import ProviderError
from . import responses
from .schemas import ChatRequest

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx: pass each event on at once
}


def respond(chat: ChatRequest, call: dict, *, started: float) -> Response:
    """Open the provider stream (failover happens here, before any byte is sent), then stream.

    Errors raised while opening (no connection, every attempt failed, bad request) propagate
    to the gateway's error handlers as ordinary JSON errors with their status.
    """
    from ..services.execution import execute_stream

    opened_at = time.perf_counter()
    stream = execute_stream(chat.messages, **call)
    provider_ms = (time.perf_counter() - opened_at) * 1000
    # The attempts so far are the failed ones; the stream now open is one more.
    attempts = len(getattr(stream, "attempts", None) or []) + 1
    response = Response(stream_with_context(_events(stream, chat.include_usage)),
                        mimetype="text/event-stream", headers=SSE_HEADERS)
    # Overhead for a stream: time until the headers go out, less the time spent opening the
    # provider stream (failed attempts included).
    responses.set_trace_headers(
        response, connection_name=getattr(stream, "connection_name", None),
        attempts=attempts, request_id=getattr(stream, "request_id", None),
        overhead_ms=(time.perf_counter() - started) * 1000 - provider_ms)
    return response


def _events(stream, include_usage: bool) -> Iterator[str]:
    """Each chunk as a `data:` event, `data: [DONE]` at the end; a mid-stream error becomes one
    OpenAI error event. Usage is recorded by the stream when it ends or is closed (also when
    the client goes away: the server closes this generator)."""
    try:
        for chunk in stream:
            if _is_usage_only(chunk):
                if not include_usage:
                    continue
            elif include_usage:
                chunk["usage"] = None
            else:
                chunk.pop("usage", None)
            yield responses.sse(responses.dumps(chunk))
        yield responses.sse("[DONE]")
    except ProviderError as exc:
        yield responses.error_event(
            f"The provider failed during the stream ({exc.error_class}): {exc.message}",
            code=exc.error_class)
    except Exception:  # the status line is already sent: end the stream with an error event
        current_app.logger.exception("gateway stream failed")
        yield responses.error_event("The gateway failed during the stream; it has been logged.",
                                    code="server_error", type_="server_error")
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def _is_usage_only(chunk: dict) -> bool:
    return not chunk.get("choices") and bool(chunk.get("usage"))
