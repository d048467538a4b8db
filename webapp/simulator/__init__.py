"""Provider simulator: OpenAI, Gemini and OpenRouter wire formats with scripted failures."""

from webapp.simulator.scenarios import SCENARIOS, SLOW_SECONDS
from webapp.simulator.server import (
    GEMINI_PREFIX,
    OPENAI_PREFIX,
    OPENROUTER_PREFIX,
    SimulatorHandle,
    fingerprint,
    make_server,
    start_simulator,
)

__all__ = [
    "GEMINI_PREFIX",
    "OPENAI_PREFIX",
    "OPENROUTER_PREFIX",
    "SCENARIOS",
    "SLOW_SECONDS",
    "SimulatorHandle",
    "fingerprint",
    "make_server",
    "start_simulator",
]
