"""The adapter interface: result types, the one error type, and the abstract adapter."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from webapp.redaction import redact


class ErrorClass:
    """Why a provider call failed; decides rotation and what happens to the connection."""

    INVALID_REQUEST = "invalid_request"
    CONTENT_FILTERED = "content_filtered"
    AUTH = "auth"
    QUOTA = "quota"
    RATE_LIMITED = "rate_limited"
    MODEL_NOT_FOUND = "model_not_found"
    UNAVAILABLE = "unavailable"

    ALL = (
        INVALID_REQUEST,
        CONTENT_FILTERED,
        AUTH,
        QUOTA,
        RATE_LIMITED,
        MODEL_NOT_FOUND,
        UNAVAILABLE,
    )
    # The caller's request is fine; another connection may succeed.
    ROTATE = frozenset({AUTH, QUOTA, RATE_LIMITED, MODEL_NOT_FOUND, UNAVAILABLE})


class ProviderError(Exception):
    """Every failure of a provider call, classified.

    ``message`` is redacted (key-shaped strings and the given ``secrets`` masked) and cut to
    500 characters when the error is built, so it is safe to store and show.
    """

    def __init__(
        self,
        error_class: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        quota_scope: str | None = None,
        code: str | None = None,
        secrets: tuple[str | None, ...] | list[str | None] = (),
    ) -> None:
        if error_class not in ErrorClass.ALL:
            raise ValueError(f"unknown error class {error_class!r}")
        self.error_class = error_class
        self.message = redact(message, secrets)
        self.status = status
        self.retry_after = retry_after
        self.quota_scope = quota_scope
        self.code = code
        super().__init__(self.message)

    @property
    def should_rotate(self) -> bool:
        return self.error_class in ErrorClass.ROTATE

    def __repr__(self) -> str:
        return (
            f"ProviderError({self.error_class!r}, {self.message!r}, status={self.status!r}, "
            f"retry_after={self.retry_after!r}, quota_scope={self.quota_scope!r})"
        )


@dataclass
class Completion:
    text: str
    finish_reason: str | None
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    provider_cost: Decimal | None = None
    raw: dict = field(default_factory=dict, repr=False)
    response_id: str | None = None


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    ok: bool
    latency_ms: int
    models: list[str] = field(default_factory=list)
    error_class: str | None = None
    message: str | None = None
    status: int | None = None


@dataclass
class ModelInfo:
    id: str
    name: str | None = None
    context_length: int | None = None
    input_price_per_m: Decimal | None = None
    output_price_per_m: Decimal | None = None


@dataclass
class KeyInfo:
    """OpenRouter's view of its API key (credits in USD; None = unlimited/unknown)."""

    label: str | None
    limit: Decimal | None
    limit_remaining: Decimal | None
    usage: Decimal | None
    is_free_tier: bool | None


@dataclass
class StreamEvent:
    chunk: dict


@dataclass
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    provider_cost: Decimal | None = None


class CompletionStream:
    """An open streaming answer: iterate it for OpenAI ``chat.completion.chunk`` dicts.

    Every stream ends with one usage chunk (``choices: []`` and ``usage``), as OpenAI sends
    with ``stream_options.include_usage``. While iterating it accumulates ``text``,
    ``finish_reason``, ``response_id`` and ``usage``. A provider error in the middle of the
    stream is raised from the iterator as ``ProviderError``. Close it (or use ``with``) if
    you stop early, so the connection goes back to the pool.
    """

    def __init__(
        self,
        chunks: Iterator[dict],
        *,
        model: str,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._chunks = chunks
        self._on_close = on_close
        self._closed = False
        self._parts: list[str] = []
        self.model = model
        self.finish_reason: str | None = None
        self.response_id: str | None = None
        self.usage = Usage()
        self.done = False

    # -- iteration -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[dict]:
        try:
            for chunk in self._chunks:
                self._observe(chunk)
                yield chunk
            self.done = True
        finally:
            self.close()

    def events(self) -> Iterator[StreamEvent]:
        for chunk in self:
            yield StreamEvent(chunk)

    def _observe(self, chunk: Mapping[str, Any]) -> None:
        if chunk.get("id") and not self.response_id:
            self.response_id = chunk["id"]
        if chunk.get("model"):
            self.model = chunk["model"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                self._parts.append(delta["content"])
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        usage = chunk.get("usage")
        if usage:
            self.usage = usage_from_openai(usage)

    # -- results -------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def prompt_tokens(self) -> int | None:
        return self.usage.prompt_tokens

    @property
    def completion_tokens(self) -> int | None:
        return self.usage.completion_tokens

    @property
    def total_tokens(self) -> int | None:
        return self.usage.total_tokens

    @property
    def provider_cost(self) -> Decimal | None:
        return self.usage.provider_cost

    def to_completion(self) -> Completion:
        """The accumulated answer (meaningful once the stream has been consumed)."""
        return Completion(
            text=self.text,
            finish_reason=self.finish_reason,
            model=self.model,
            prompt_tokens=self.usage.prompt_tokens,
            completion_tokens=self.usage.completion_tokens,
            total_tokens=self.usage.total_tokens,
            provider_cost=self.usage.provider_cost,
            raw={},
            response_id=self.response_id,
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        if self._on_close is not None:
            self._on_close()

    def __enter__(self) -> CompletionStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def to_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def usage_from_openai(usage: Mapping[str, Any] | None) -> Usage:
    usage = usage or {}
    prompt = to_int(usage.get("prompt_tokens"))
    completion = to_int(usage.get("completion_tokens"))
    total = to_int(usage.get("total_tokens"))
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    return Usage(prompt, completion, total, to_decimal(usage.get("cost")))


# -- connection access (duck-typed: the SQLAlchemy model or any small object) -------------


def conn_settings(connection: Any) -> dict:
    return dict(getattr(connection, "settings", None) or {})


def conn_credential(connection: Any, key: str, default: Any = None) -> Any:
    getter = getattr(connection, "get_credential", None)
    if getter is None:
        return default
    value = getter(key, default)
    return default if value is None else value


class ProviderAdapter(ABC):
    """One provider API. Adapters speak HTTP and never touch the database."""

    kind: str = ""
    name: str = ""
    default_base_url: str = ""

    # -- the interface -------------------------------------------------------------------
    @abstractmethod
    def execute(self, connection: Any, messages: list[dict], options: dict | None = None) -> Completion:
        """Send one chat completion and return the answer, or raise ProviderError."""

    @abstractmethod
    def stream(self, connection: Any, messages: list[dict], options: dict | None = None) -> CompletionStream:
        """Open a streaming completion; raises ProviderError before returning on an error status."""

    @abstractmethod
    def list_models(self, connection: Any) -> list[ModelInfo]:
        """The models the connection can use."""

    def test(self, connection: Any, *, completion: bool = False) -> TestResult:
        """Check the connection: list models (free), or send a one-token completion.

        Never raises ProviderError; failures come back as ``ok=False`` with the error class.
        """
        started = time.perf_counter()
        try:
            if completion:
                result = self.execute(
                    connection, [{"role": "user", "content": "ping"}], {"max_tokens": 1}
                )
                models = [result.model] if result.model else []
            else:
                models = [m.id for m in self.list_models(connection)]
        except ProviderError as exc:
            return TestResult(
                ok=False,
                latency_ms=_elapsed_ms(started),
                error_class=exc.error_class,
                message=exc.message,
                status=exc.status,
            )
        return TestResult(ok=True, latency_ms=_elapsed_ms(started), models=models)

    def estimate_cost(
        self, prompt_tokens: int | None, completion_tokens: int | None, model: str | None
    ) -> Decimal | None:
        """Cost from the shipped price table; None when the model has no price."""
        from webapp.services.pricing import cost_of, lookup_price

        if not model:
            return None
        return cost_of(lookup_price(model), prompt_tokens, completion_tokens)

    # -- helpers for subclasses ----------------------------------------------------------
    def base_url(self, connection: Any) -> str:
        url = getattr(connection, "base_url", None) or self.default_base_url
        return url.rstrip("/")

    def model_for(self, connection: Any, options: Mapping[str, Any] | None) -> str:
        model = (options or {}).get("model") or getattr(connection, "model", None)
        if not model:
            model = conn_settings(connection).get("model")
        if not model:
            raise ProviderError(
                ErrorClass.INVALID_REQUEST, "No model given: set one on the connection or in the call."
            )
        return str(model)

    def timeouts(self, connection: Any) -> tuple[float, float]:
        settings = conn_settings(connection)
        connect = float(settings.get("connect_timeout_s") or 5)
        read = float(settings.get("timeout_s") or 60)
        return connect, read

    def secrets(self, connection: Any) -> tuple[str, ...]:
        key = getattr(connection, "api_key", None)
        return (key,) if key else ()

    def extra_headers(self, connection: Any) -> dict[str, str]:
        headers = conn_settings(connection).get("extra_headers") or {}
        return {str(k): str(v) for k, v in headers.items()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} kind={self.kind!r}>"


def _elapsed_ms(started: float) -> int:
    return int(round((time.perf_counter() - started) * 1000))


@dataclass
class SimpleConnection:
    """A connection that is not stored: what the adapters read, for tests, benchmarks and
    one-off checks (the real one is the SQLAlchemy model)."""

    api_key: str
    base_url: str | None = None
    model: str | None = None
    id: int | None = None
    settings: dict = field(default_factory=dict)
    credentials: dict = field(default_factory=dict)

    def get_credential(self, key: str, default: Any = None) -> Any:
        return self.credentials.get(key, default)
