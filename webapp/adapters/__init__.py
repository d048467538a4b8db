"""Provider adapters: one module per provider API, all behind ``ProviderAdapter``."""

from webapp.adapters.base import (
    Completion,
    CompletionStream,
    ErrorClass,
    KeyInfo,
    ModelInfo,
    ProviderAdapter,
    ProviderError,
    SimpleConnection,
    StreamEvent,
    TestResult,
    Usage,
)
from webapp.adapters.registry import ADAPTERS, UnknownAdapter, adapter_kinds, get_adapter

__all__ = [
    "ADAPTERS",
    "Completion",
    "CompletionStream",
    "ErrorClass",
    "KeyInfo",
    "ModelInfo",
    "ProviderAdapter",
    "ProviderError",
    "SimpleConnection",
    "StreamEvent",
    "TestResult",
    "UnknownAdapter",
    "Usage",
    "adapter_kinds",
    "get_adapter",
]
