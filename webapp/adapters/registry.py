"""Adapter kind -> adapter. An OpenAI-compatible server (vLLM, Ollama) is kind "openai"."""

from __future__ import annotations

import threading

from webapp.adapters.base import ProviderAdapter
from webapp.adapters.gemini import GeminiAdapter
from webapp.adapters.openai_compat import OpenAiAdapter
from webapp.adapters.openrouter import OpenRouterAdapter

ADAPTERS: dict[str, type[ProviderAdapter]] = {
    "openai": OpenAiAdapter,
    "gemini": GeminiAdapter,
    "openrouter": OpenRouterAdapter,
}

_instances: dict[str, ProviderAdapter] = {}
_lock = threading.Lock()


class UnknownAdapter(ValueError):
    """No adapter is registered for the requested kind."""


def adapter_kinds() -> list[str]:
    return list(ADAPTERS)


def get_adapter(kind: str) -> ProviderAdapter:
    """The shared (stateless) adapter instance for ``kind``."""
    adapter = _instances.get(kind)
    if adapter is not None:
        return adapter
    cls = ADAPTERS.get(kind)
    if cls is None:
        raise UnknownAdapter(
            f"Unknown adapter kind {kind!r}; expected one of: {', '.join(adapter_kinds())}."
        )
    with _lock:
        return _instances.setdefault(kind, cls())
