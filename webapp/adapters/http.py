"""HTTP plumbing shared by the adapters: a keep-alive session per connection, request
sending with explicit timeouts, JSON/SSE parsing and retry-after hints."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

from webapp.adapters.base import ErrorClass, ProviderError

POOL_MAXSIZE = 64


class SessionPool:
    """One ``requests.Session`` per connection, reused across calls (keep-alive).

    The key is the connection id plus a hash of its API key and base URL, so editing either
    gives a fresh session (and the stale one is closed).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[tuple[Any, str], requests.Session] = {}

    @staticmethod
    def key_for(connection: Any, base_url: str) -> tuple[Any, str]:
        api_key = getattr(connection, "api_key", None) or ""
        digest = hashlib.sha256(f"{api_key}\0{base_url}".encode()).hexdigest()[:16]
        return (getattr(connection, "id", None), digest)

    def get(self, connection: Any, base_url: str) -> requests.Session:
        key = self.key_for(connection, base_url)
        session = self._sessions.get(key)
        if session is not None:
            return session
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                if key[0] is not None:
                    for old in [k for k in self._sessions if k[0] == key[0]]:
                        self._sessions.pop(old).close()
                session = _new_session(base_url)
                self._sessions[key] = session
            return session

    def discard(self, connection: Any) -> None:
        conn_id = getattr(connection, "id", None)
        with self._lock:
            for key in [k for k in self._sessions if k[0] == conn_id]:
                self._sessions.pop(key).close()

    def clear(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, key: object) -> bool:
        return key in self._sessions


def _new_session(base_url: str | None = None) -> requests.Session:
    session = requests.Session()
    if base_url:
        # requests re-reads the proxy and CA-bundle environment variables on every call
        # (trust_env), which costs more than a local round trip; they are read here once per
        # session instead (a session lives as long as its connection's key and base URL).
        session.proxies.update(requests.utils.get_environ_proxies(base_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
        session.trust_env = False
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_MAXSIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": "ai-connection-manager/0.1", "Accept": "application/json"})
    return session


pool = SessionPool()


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: tuple[float, float],
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    params: Mapping[str, Any] | None = None,
    stream: bool = False,
    secrets: tuple[str, ...] = (),
) -> requests.Response:
    """Send one request; network failures become ProviderError(unavailable)."""
    headers = dict(headers or {})
    if stream:
        headers.setdefault("Accept", "text/event-stream")
    try:
        return session.request(
            method,
            url,
            headers=headers,
            json=json_body,
            params=params,
            timeout=timeout,
            stream=stream,
        )
    except requests.Timeout as exc:
        raise ProviderError(
            ErrorClass.UNAVAILABLE, f"Timed out talking to the provider: {exc}", secrets=secrets
        ) from exc
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        raise ProviderError(
            ErrorClass.UNAVAILABLE, f"Could not reach the provider: {exc}", secrets=secrets
        ) from exc
    except requests.RequestException as exc:
        raise ProviderError(
            ErrorClass.UNAVAILABLE, f"HTTP request failed: {exc}", secrets=secrets
        ) from exc


def read_body(response: requests.Response, secrets: tuple[str, ...] = ()) -> bytes:
    try:
        return response.content
    except requests.Timeout as exc:
        raise ProviderError(
            ErrorClass.UNAVAILABLE, f"Timed out reading the provider's answer: {exc}",
            status=response.status_code, secrets=secrets,
        ) from exc
    except requests.RequestException as exc:
        raise ProviderError(
            ErrorClass.UNAVAILABLE, f"Connection broke while reading the answer: {exc}",
            status=response.status_code, secrets=secrets,
        ) from exc


def try_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def parse_json(response: requests.Response, secrets: tuple[str, ...] = ()) -> Any:
    """The response body as JSON; a body that is not JSON is the provider's fault."""
    body = read_body(response, secrets)
    data = try_json(body)
    if data is None:
        snippet = body[:200].decode("utf-8", "replace").strip()
        raise ProviderError(
            ErrorClass.UNAVAILABLE,
            f"Provider answered HTTP {response.status_code} with a body that is not JSON "
            f"({response.headers.get('Content-Type', 'no content type')}): {snippet!r}",
            status=response.status_code,
            secrets=secrets,
        )
    return data


def error_object(data: Any) -> dict:
    """The `error` member of a provider's error body as a dict (a bare string is its message)."""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):
        return {"message": error}
    return error if isinstance(error, dict) else {}


def body_text(body: bytes, limit: int = 300) -> str:
    return body[:limit].decode("utf-8", "replace").strip()


# -- server-sent events --------------------------------------------------------------------


def iter_sse(response: requests.Response, secrets: tuple[str, ...] = ()) -> Iterator[str]:
    """Yield the ``data`` payload of each SSE event; comment lines (``: …``) are skipped.

    Network failures while reading become ProviderError(unavailable).
    """
    data_lines: list[str] = []
    buffer = b""
    try:
        for piece in _iter_pieces(response):
            buffer += piece
            while True:
                newline = buffer.find(b"\n")
                if newline < 0:
                    break
                raw, buffer = buffer[:newline], buffer[newline + 1 :]
                line = raw.rstrip(b"\r").decode("utf-8", "replace")
                if not line:
                    if data_lines:
                        yield "\n".join(data_lines)
                        data_lines = []
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                if name == "data":
                    data_lines.append(value[1:] if value.startswith(" ") else value)
    except requests.Timeout as exc:
        raise ProviderError(
            ErrorClass.UNAVAILABLE, f"Timed out waiting for the next streamed chunk: {exc}",
            secrets=secrets,
        ) from exc
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError):
            message = f"Timed out waiting for the next streamed chunk: {exc}"
        else:
            message = f"The stream broke off: {exc}"
        raise ProviderError(ErrorClass.UNAVAILABLE, message, secrets=secrets) from exc
    tail = buffer.rstrip(b"\r").decode("utf-8", "replace")
    if tail.startswith("data:"):
        data_lines.append(tail[5:].lstrip(" "))
    if data_lines:
        yield "\n".join(data_lines)


def _iter_pieces(response: requests.Response) -> Iterator[bytes]:
    """Bytes as soon as they arrive (not after a fixed-size buffer fills up)."""
    raw = response.raw
    chunked = "chunked" in response.headers.get("Transfer-Encoding", "").lower()
    if chunked or not hasattr(raw, "read1"):
        yield from response.iter_content(chunk_size=None if chunked else 1024)
        return
    while True:
        piece = raw.read1(65536)
        if not piece:
            return
        yield piece


# -- retry hints ---------------------------------------------------------------------------

_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|h|m|s)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_TRY_AGAIN = re.compile(
    r"(?:try again|retry) in\s+(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|sec(?:ond)?s?|m|min(?:ute)?s?)\b",
    re.IGNORECASE,
)


def parse_duration(value: str | None) -> float | None:
    """Seconds in a Go/Google duration: ``"1s"``, ``"6m0s"``, ``"644ms"``, ``"48.8s"``."""
    if not value:
        return None
    value = value.strip()
    parts = _GO_DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def parse_retry_after_header(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After``: seconds (int or float) or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - (now if now is not None else time.time()), 0.0)


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """The server's wait hint, in seconds: retry-after-ms, Retry-After, x-ratelimit-reset-*."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    seconds = parse_retry_after_header(headers.get("retry-after"))
    if seconds is not None:
        return seconds
    resets = {}
    for kind in ("requests", "tokens"):
        reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
        if reset is not None:
            resets[kind] = reset
    if not resets:
        return None
    exhausted = [
        resets[kind]
        for kind in resets
        if str(headers.get(f"x-ratelimit-remaining-{kind}", "")).strip() == "0"
    ]
    # The exhausted limit decides; without that information the nearest reset is the hint.
    return max(exhausted) if exhausted else min(resets.values())


def retry_after_from_text(message: str | None) -> float | None:
    """Last resort: OpenAI's "Please try again in 644ms", Gemini's "Please retry in 48.8s"."""
    if not message:
        return None
    match = _TRY_AGAIN.search(message)
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2).lower()
    if unit.startswith("ms") or unit.startswith("milli"):
        return number / 1000.0
    if unit.startswith("m") and not unit.startswith("ms"):
        return number * 60.0
    return number
