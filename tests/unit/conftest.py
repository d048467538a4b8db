"""The provider simulator, shared by the adapter tests (no database, no Flask app)."""

from __future__ import annotations

import pytest

from webapp.simulator import start_simulator


@pytest.fixture(scope="session")
def simulator():
    """A running simulator: ``.url`` (base), ``.openai_url``/``.gemini_url``/``.openrouter_url``,
    and helpers ``.program(key, [scenario, …])``, ``.reset()``, ``.requests()``, ``.stats()``."""
    handle = start_simulator("127.0.0.1", 0)
    yield handle
    handle.stop()
