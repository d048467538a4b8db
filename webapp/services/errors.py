"""Domain errors raised by services; views turn them into 4xx/5xx answers with the message."""

from dataclasses import dataclass
from datetime import datetime


class ServiceError(Exception):
    """Base class: the message is safe to show to an administrator (already redacted)."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(ServiceError):
    """The caller's input is wrong; field_errors maps a field (or a file place) to messages."""

    status = 400

    def __init__(self, message: str, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.field_errors = field_errors or {}


class NotFound(ServiceError):
    status = 404


class UnknownProvider(NotFound):
    pass


class UnknownConnection(NotFound):
    pass


class Conflict(ServiceError):
    status = 409


@dataclass
class AttemptRecord:
    """One attempt of an execute call, as shown in trails and error messages."""

    attempt: int
    connection_id: int | None
    connection_name: str
    error_class: str | None  # None when the attempt succeeded
    message: str | None
    response_time_ms: int
    status: int | None = None

    def describe(self) -> str:
        outcome = "ok" if self.error_class is None else self.error_class
        detail = f": {self.message}" if self.message else ""
        return f"#{self.attempt} {self.connection_name} {outcome} in {self.response_time_ms} ms{detail}"


@dataclass
class Unavailability:
    """Why one connection could not be tried."""

    connection_id: int
    connection_name: str
    reason: str  # e.g. "disabled: invalid API key", "cooling down until 12:00:05 UTC"
    available_at: datetime | None = None  # when it may take traffic again (naive UTC)


class NoAvailableConnection(ServiceError):
    """No connection of the provider can take the request now; says why for each."""

    status = 503

    def __init__(self, provider: str, reasons: list[Unavailability],
                 retry_after_seconds: float | None = None,
                 attempts: list[AttemptRecord] | None = None):
        self.provider = provider
        self.reasons = reasons
        self.retry_after_seconds = retry_after_seconds
        self.attempts = attempts or []
        if reasons:
            detail = "; ".join(f"{r.connection_name}: {r.reason}" for r in reasons)
        else:
            detail = "it has no connections"
        super().__init__(f"no available connection for provider {provider!r} ({detail})")
        if retry_after_seconds is not None:
            self.status = 429


class ExecutionFailed(ServiceError):
    """Every attempt failed (or max attempts was reached); lists each attempt."""

    status = 502

    def __init__(self, attempts: list[AttemptRecord], message: str | None = None):
        self.attempts = attempts
        trail = "; ".join(a.describe() for a in attempts)
        super().__init__(message or f"all {len(attempts)} attempt(s) failed: {trail}")


class RequestRejected(ServiceError):
    """The provider refused the request itself (invalid_request, content_filtered): no rotation."""

    status = 400

    def __init__(self, error_class: str, message: str, attempts: list[AttemptRecord],
                 provider_status: int | None = None):
        self.error_class = error_class
        self.attempts = attempts
        self.provider_status = provider_status
        super().__init__(message)

