"""execute() and execute_stream(): one request to a provider, with rotation and failover.

Per request: one query reads the provider's connections and their counters; each attempt
reserves its rate-limit slot (and, for an expired open circuit, the half-open trial) in one
short transaction before the provider is called; the outcome (usage row, counters, health)
is written in a second short transaction afterwards. No transaction is open during the call.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select

from ..adapters.base import CompletionStream, ErrorClass, ProviderError
from ..adapters.registry import get_adapter
from ..crypto import CredentialsError
from ..extensions import db
from ..models import AiConnection, AiProvider, utcnow
from ..redaction import redact
from . import health, rate_limits, rotation, usage
from .errors import (
    AttemptRecord,
    ExecutionFailed,
    InvalidInput,
    NoAvailableConnection,
    RequestRejected,
    Unavailability,
    UnknownConnection,
    UnknownProvider,
)
from .execution_input import (
    normalise_feature,
    normalise_max_attempts,
    normalise_messages,
    normalise_options,
)
from .transactions import (
    HeldConnection,
    end_read_transaction,
    held_connection,
    write_transaction,
)

log = logging.getLogger(__name__)

__all__ = ["ExecutionResult", "StreamingExecution", "execute", "execute_stream"]


@dataclass
class ExecutionResult:
    text: str
    finish_reason: str | None
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    cost: Decimal | None
    priced: bool
    connection_id: int
    connection_name: str
    provider_slug: str
    latency_ms: int
    request_id: str
    attempts: list[AttemptRecord] = field(default_factory=list)
    # Connections passed over without a call (limits, cooldowns, unreadable credentials…).
    skipped: list[Unavailability] = field(default_factory=list)


def _elapsed_ms(started: float) -> int:
    return int(round((time.perf_counter() - started) * 1000))


# -- choosing the provider and the connections ----------------------------------------------


@dataclass
class _Plan:
    provider_id: int
    provider_slug: str
    adapter_kind: str
    ordered: list[rotation.Candidate]
    unavailable: list[Unavailability]
    has_catalog: bool = True


def _provider_key(provider: Any) -> int | str:
    if isinstance(provider, AiProvider):
        return provider.id
    if isinstance(provider, int) and not isinstance(provider, bool):
        return provider
    if isinstance(provider, str) and provider.strip():
        return provider.strip()
    raise InvalidInput("provider: give a provider slug or id", {"provider": ["required"]})


def _connection_provider_id(connection: Any) -> int:
    if isinstance(connection, AiConnection):
        return connection.provider_id
    if isinstance(connection, int) and not isinstance(connection, bool):
        provider_id = db.session.scalar(select(AiConnection.provider_id)
                                        .where(AiConnection.id == connection))
        if provider_id is None:
            raise UnknownConnection(f"unknown connection id {connection}")
        return provider_id
    raise InvalidInput("provider: give the provider when naming a connection",
                       {"provider": ["required with a connection name"]})


def _requested_id(connection: Any, candidates: list[rotation.Candidate], slug: str) -> int | None:
    if connection is None:
        return None
    if isinstance(connection, AiConnection):
        wanted = [c for c in candidates if c.id == connection.id]
        label = f"{connection.name!r}"
    elif isinstance(connection, int) and not isinstance(connection, bool):
        wanted = [c for c in candidates if c.id == connection]
        label = f"id {connection}"
    elif isinstance(connection, str) and connection.strip():
        wanted = [c for c in candidates if c.name == connection.strip()]
        label = f"{connection.strip()!r}"
    else:
        raise InvalidInput("connection: give a connection id or name", {"connection": ["invalid"]})
    if not wanted:
        raise UnknownConnection(f"provider {slug!r} has no connection {label}")
    return wanted[0].id


def _plan(provider: Any, connection: Any, held: HeldConnection) -> _Plan:
    if provider is None and connection is not None:
        provider = _connection_provider_id(connection)
        end_read_transaction()
    snapshot = rotation.load_plan_on(held, _provider_key(provider))
    if snapshot is None:
        raise UnknownProvider(f"unknown provider {provider!r}")
    candidates = snapshot.candidates
    first_id = _requested_id(connection, candidates, snapshot.slug)
    plan = _Plan(snapshot.id, snapshot.slug, snapshot.adapter_kind, [], [], snapshot.has_catalog)
    if snapshot.status != "active":
        plan.unavailable = [Unavailability(0, "all connections", "provider is inactive")]
        return plan
    plan.unavailable = [Unavailability(c.id, c.name, c.reason or "unavailable", c.available_at)
                        for c in candidates if not c.takes_traffic]
    if first_id is not None:
        plan.unavailable.sort(key=lambda u: u.connection_id != first_id)
    ready = [c for c in candidates if c.takes_traffic]
    first = first_id if first_id is not None else snapshot.default_connection_id
    plan.ordered = rotation.order(ready, first)
    return plan


def _retry_after(unavailable: list[Unavailability]) -> float | None:
    """Seconds until the first connection frees up, when every one is only waiting."""
    if not unavailable or any(u.available_at is None for u in unavailable):
        return None
    soonest = min(u.available_at for u in unavailable)
    return max((soonest - utcnow()).total_seconds(), 0.0)


# -- one execution -------------------------------------------------------------------------


@dataclass
class _Opened:
    candidate: rotation.Candidate
    view: rotation.ConnectionView
    result: Any
    attempt: int
    started: float
    model: str | None
    model_from_caller: bool


class _Run:
    """The state of one execute/execute_stream call across its attempts."""

    def __init__(self, plan: _Plan, messages: list[dict], options: dict, feature: str | None,
                 app_key_id: int | None, max_attempts: int, held: HeldConnection) -> None:
        # The pooled connection the call's plan read, admissions and outcome run on (None
        # once released: a stream's outcome is written later, on a connection of its own).
        self.held: HeldConnection | None = held
        self.plan = plan
        self.messages = messages
        self.options = options
        self.feature = feature
        self.app_key_id = app_key_id
        self.max_attempts = max_attempts
        self.request_id = uuid.uuid4().hex
        self.attempts: list[AttemptRecord] = []
        self.unavailable: list[Unavailability] = list(plan.unavailable)
        self.adapter = get_adapter(plan.adapter_kind)

    # admission --------------------------------------------------------------------------
    def _admit(self, candidate: rotation.Candidate) -> Unavailability | None:
        """Reserve the rate-limit slots (and the half-open trial) before the call."""
        reservations = candidate.reservations()
        if not reservations and not candidate.needs_trial:
            return None
        now = utcnow()
        end_read_transaction()
        try:
            with self.held.write() as connection:
                if candidate.needs_trial:
                    timeout = rotation.trial_timeout()
                    if not rotation.claim_trial(candidate.id, now, timeout, connection):
                        raise _Refused(Unavailability(
                            candidate.id, candidate.name,
                            "circuit half-open: a trial request is running", now + timeout))
                full = rate_limits.reserve_first_full(reservations, now, connection)
                if full is not None:
                    raise _Refused(Unavailability(
                        candidate.id, candidate.name,
                        f"{full.window} limit reached ({full.limit}/{full.limit})",
                        rate_limits.next_window(full.window, now)))
        except _Refused as refused:  # rolled back: no counter moved
            return refused.unavailability
        return None

    def _connection_released(self):
        return self.held.released() if self.held is not None else nullcontext()

    # attempts -------------------------------------------------------------------------
    def open(self, call: Callable[[Any, rotation.ConnectionView], Any]) -> _Opened:
        """Try connections in order until one answers; raise the right error otherwise."""
        for candidate in self.plan.ordered:
            if len(self.attempts) >= self.max_attempts:
                break
            try:
                view = candidate.view()
            except CredentialsError as exc:
                self.unavailable.append(Unavailability(
                    candidate.id, candidate.name, f"credentials cannot be decrypted ({exc})"))
                continue
            refused = self._admit(candidate)
            if refused is not None:
                self.unavailable.append(refused)
                continue
            attempt = len(self.attempts) + 1
            requested_model = self.options.get("model")
            model = requested_model or view.model
            started = time.perf_counter()
            try:
                with self._connection_released():
                    result = call(self.adapter, view)
            except ProviderError as exc:
                error = exc
            except Exception as exc:  # an adapter bug must not lose the attempt's record
                log.exception("adapter %s failed unexpectedly", self.plan.adapter_kind)
                error = ProviderError(ErrorClass.UNAVAILABLE, f"unexpected error: {exc!r}",
                                      secrets=(view.api_key,))
            else:
                return _Opened(candidate, view, result, attempt, started, model,
                               bool(requested_model) and requested_model != view.model)
            self.fail(candidate, view, attempt, started, error, model,
                      bool(requested_model) and requested_model != view.model)
            if not error.should_rotate:
                raise RequestRejected(error.error_class, error.message, list(self.attempts),
                                      error.status)
        if self.attempts:
            failed = ExecutionFailed(list(self.attempts))
            failed.unavailable = list(self.unavailable)
            raise failed
        raise NoAvailableConnection(self.plan.provider_slug, self.unavailable,
                                    _retry_after(self.unavailable))

    # outcomes -------------------------------------------------------------------------
    def _outcome(self, candidate, attempt: int, started: float, **fields) -> usage.AttemptOutcome:
        return usage.AttemptOutcome(
            request_id=self.request_id, attempt=attempt, connection_id=candidate.id,
            connection_name=candidate.name, provider_id=self.plan.provider_id,
            response_time_ms=_elapsed_ms(started), created_at=utcnow(), feature=self.feature,
            app_key_id=self.app_key_id, **fields)

    def fail(self, candidate, view, attempt: int, started: float, error: ProviderError,
             model: str | None, model_from_caller: bool) -> None:
        secrets = (view.api_key,) if view.api_key else ()
        message = redact(error.message, secrets)
        outcome = self._outcome(candidate, attempt, started, success=False, model=model,
                                error_class=error.error_class, error_message=message)
        with write_transaction():
            usage.record_attempt(outcome, secrets)
            health.record_failure(candidate.id, error, outcome.created_at, model=model,
                                  model_from_caller=model_from_caller, secrets=secrets,
                                  adapter_kind=self.plan.adapter_kind)
        self.attempts.append(AttemptRecord(attempt, candidate.id, candidate.name,
                                           error.error_class, message, outcome.response_time_ms,
                                           error.status))

    def succeed(self, opened: _Opened, *, model: str | None, prompt_tokens, completion_tokens,
                total_tokens, provider_cost, note: str | None = None) -> tuple[Decimal | None, int]:
        candidate = opened.candidate
        outcome = self._outcome(candidate, opened.attempt, opened.started, success=True,
                                model=model, prompt_tokens=prompt_tokens,
                                completion_tokens=completion_tokens, total_tokens=total_tokens,
                                error_message=note)
        # The price may read the provider's catalog; that read ends before the write starts.
        outcome.cost = usage.cost_for(self.plan.provider_id, candidate.settings, model,
                                      prompt_tokens, completion_tokens, provider_cost,
                                      has_catalog=self.plan.has_catalog)
        had_cooldown = candidate.cooldown_until is not None
        if self.held is not None:
            end_read_transaction()
            self._record_success(self.held, outcome, had_cooldown)
        else:
            with held_connection() as held:
                self._record_success(held, outcome, had_cooldown)
        self.attempts.append(AttemptRecord(opened.attempt, candidate.id, candidate.name, None,
                                           note, outcome.response_time_ms))
        return outcome.cost, outcome.response_time_ms

    @staticmethod
    def _record_success(held: HeldConnection, outcome: usage.AttemptOutcome,
                        had_cooldown: bool) -> None:
        if held.postgres and not had_cooldown:
            # The usage row and the counters in one statement: one round trip, both or neither.
            health.record_success_with_usage(held, usage.usage_row(outcome),
                                             outcome.connection_id, outcome.created_at)
            return
        with held.write() as connection:
            usage.record_attempt(outcome, connection=connection)
            health.record_success(outcome.connection_id, outcome.created_at,
                                  had_cooldown=had_cooldown, connection=connection)


class _Refused(Exception):
    """Admission said no; raised inside the admission transaction so it rolls back."""

    def __init__(self, unavailability: Unavailability) -> None:
        super().__init__(unavailability.reason)
        self.unavailability = unavailability


def _start(prompt_or_messages, provider, connection, options, feature, app_key_id,
           max_attempts, held: HeldConnection) -> _Run:
    messages = normalise_messages(prompt_or_messages)
    clean_options = normalise_options(options)
    attempts = normalise_max_attempts(max_attempts)
    clean_feature = normalise_feature(feature)
    if app_key_id is not None and (isinstance(app_key_id, bool) or not isinstance(app_key_id, int)):
        raise InvalidInput("app_key_id: must be an id", {"app_key_id": ["invalid"]})
    plan = _plan(provider, connection, held)
    return _Run(plan, messages, clean_options, clean_feature, app_key_id, attempts, held)


def execute(prompt_or_messages, *, provider=None, connection=None, options=None, feature=None,
            app_key_id=None, max_attempts=None) -> ExecutionResult:
    """Send one chat completion through the provider's rotation; see the module docstring."""
    started = time.perf_counter()
    with held_connection() as held:
        run = _start(prompt_or_messages, provider, connection, options, feature, app_key_id,
                     max_attempts, held)
        opened = run.open(lambda adapter, view: adapter.execute(view, run.messages, run.options))
        completion = opened.result
        model = completion.model or opened.model
        cost, _ = run.succeed(opened, model=model, prompt_tokens=completion.prompt_tokens,
                              completion_tokens=completion.completion_tokens,
                              total_tokens=completion.total_tokens,
                              provider_cost=completion.provider_cost)
    return ExecutionResult(
        text=completion.text, finish_reason=completion.finish_reason, model=model or "",
        prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens,
        total_tokens=completion.total_tokens, cost=cost, priced=cost is not None,
        connection_id=opened.candidate.id, connection_name=opened.candidate.name,
        provider_slug=run.plan.provider_slug, latency_ms=_elapsed_ms(started),
        request_id=run.request_id, attempts=run.attempts, skipped=run.unavailable)


# -- streaming -------------------------------------------------------------------------------


class StreamingExecution:
    """An open streamed answer: iterate it for OpenAI ``chat.completion.chunk`` dicts.

    The attempt's usage row and counters are written exactly once: when the stream ends,
    when it fails (the ProviderError is recorded, then re-raised), or when it is closed early.
    """

    def __init__(self, run: _Run, opened: _Opened) -> None:
        self._run = run
        self._opened = opened
        self._stream: CompletionStream = opened.result
        self._app = current_app._get_current_object()
        self._lock = threading.Lock()
        self._finished = False
        self._iterator: Iterator[dict] | None = None
        self.connection_id = opened.candidate.id
        self.connection_name = opened.candidate.name
        self.provider_slug = run.plan.provider_slug
        self.model = self._stream.model or opened.model
        self.request_id = run.request_id
        self.attempts = run.attempts
        self.skipped = run.unavailable
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.total_tokens: int | None = None
        self.cost: Decimal | None = None
        self.priced = False
        self.finish_reason: str | None = None
        self.error: ProviderError | None = None

    @property
    def text(self) -> str:
        return self._stream.text

    def __iter__(self) -> Iterator[dict]:
        if self._iterator is None:
            self._iterator = self._iterate()
        return self._iterator

    def _iterate(self) -> Iterator[dict]:
        try:
            yield from self._stream
        except ProviderError as exc:
            self._finish(error=exc)
            raise
        except GeneratorExit:
            self._finish(note=None if self._stream.done else "closed before the end of the stream")
            raise
        except Exception as exc:
            self._finish(error=ProviderError(ErrorClass.UNAVAILABLE, f"the stream failed: {exc!r}",
                                             secrets=(self._opened.view.api_key,)))
            raise
        self._finish()

    def close(self) -> None:
        if self._iterator is not None:
            self._iterator.close()
        self._finish(note="closed before the end of the stream")

    def __enter__(self) -> StreamingExecution:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _finish(self, *, error: ProviderError | None = None, note: str | None = None) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self._stream.close()
        stream = self._stream
        self.model = stream.model or self.model
        self.finish_reason = stream.finish_reason
        self.prompt_tokens = stream.prompt_tokens
        self.completion_tokens = stream.completion_tokens
        self.total_tokens = stream.total_tokens
        self.error = error
        try:
            if has_app_context() and current_app._get_current_object() is self._app:
                self._record(error, note)
            else:
                with self._app.app_context():
                    self._record(error, note)
        except Exception:  # the answer has been delivered; a lost row is logged, not raised
            log.exception("could not record the streamed attempt %s", self.request_id)

    def _record(self, error: ProviderError | None, note: str | None) -> None:
        opened, run = self._opened, self._run
        if error is not None:
            run.fail(opened.candidate, opened.view, opened.attempt, opened.started, error,
                     self.model, opened.model_from_caller)
            return
        self.cost, _ = run.succeed(
            opened, model=self.model, prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens, total_tokens=self.total_tokens,
            provider_cost=self._stream.provider_cost, note=note)
        self.priced = self.cost is not None

    def __del__(self) -> None:  # a stream dropped unread still gets its usage row
        try:
            if not self._finished:
                self.close()
        except Exception:
            pass


def execute_stream(messages, *, provider, connection=None, options=None, feature=None,
                   app_key_id=None, max_attempts=None) -> StreamingExecution:
    """Open a streamed completion through the rotation; failover happens until a stream is
    open (the adapter reads up to the first chunk, so early errors still fail over)."""
    with held_connection() as held:
        run = _start(messages, provider, connection, options, feature, app_key_id, max_attempts,
                     held)
        try:
            opened = run.open(lambda adapter, view: adapter.stream(view, run.messages,
                                                                   run.options))
        finally:
            run.held = None  # the outcome is written when the stream ends, on its own connection
    return StreamingExecution(run, opened)
