"""Checking what callers pass to execute(): messages, options, max attempts."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import Any

from flask import current_app

from .errors import InvalidInput

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MAX_ATTEMPTS_CEILING = 20
DEFAULT_MAX_ATTEMPTS = 3

# option -> (lowest, highest, whole numbers only)
_NUMERIC_OPTIONS: dict[str, tuple[float | None, float | None, bool]] = {
    "temperature": (0.0, 2.0, False),
    "top_p": (0.0, 1.0, False),
    "max_tokens": (1, None, True),
    "presence_penalty": (-2.0, 2.0, False),
    "frequency_penalty": (-2.0, 2.0, False),
    "seed": (None, None, True),
    "n": (1, 1, True),
}


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", {field: [message]})


def normalise_messages(prompt_or_messages: Any) -> list[dict]:
    """A prompt string becomes one user message; a message list is checked as given."""
    if isinstance(prompt_or_messages, str):
        if not prompt_or_messages.strip():
            raise _invalid("prompt", "the prompt is empty")
        return [{"role": "user", "content": prompt_or_messages}]
    if not isinstance(prompt_or_messages, list | tuple) or not prompt_or_messages:
        raise _invalid("messages", "give a prompt string or a non-empty list of {role, content} messages")
    messages = []
    has_content = False
    for position, message in enumerate(prompt_or_messages, start=1):
        if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
            raise _invalid("messages", f"message #{position} is not an object with role and content")
        role, content = message["role"], message["content"]
        if not isinstance(role, str) or role not in ROLES:
            raise _invalid("messages", f"message #{position} has an unknown role {role!r}; "
                                       f"use one of: {', '.join(sorted(ROLES))}")
        if content is None and role in ("assistant", "tool"):
            content = ""
        if isinstance(content, str):
            has_content = has_content or bool(content.strip())
        elif isinstance(content, list) and all(isinstance(p, Mapping) for p in content):
            has_content = has_content or bool(content)
        else:
            raise _invalid("messages", f"message #{position} content must be text or a list of parts")
        messages.append(dict(message))
    if not has_content:
        raise _invalid("messages", "every message is empty")
    return messages


def normalise_options(options: Mapping[str, Any] | None) -> dict:
    """Numbers must be numbers within range; stop is text or a list of text; model is text.
    Options we do not know are passed through to the adapter unchanged."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise _invalid("options", "options must be a mapping")
    clean: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key in _NUMERIC_OPTIONS:
            low, high, whole = _NUMERIC_OPTIONS[key]
            if isinstance(value, bool) or not isinstance(value, Real) or value != value:
                raise _invalid(key, f"must be a number, not {value!r}")
            if whole and int(value) != value:
                raise _invalid(key, f"must be a whole number, not {value!r}")
            if (low is not None and value < low) or (high is not None and value > high):
                bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
                raise _invalid(key, f"must be {bounds}, not {value!r}")
            clean[key] = int(value) if whole else float(value)
        elif key == "stop":
            if isinstance(value, str):
                clean[key] = value
            elif (isinstance(value, list | tuple) and len(value) <= 4
                  and all(isinstance(v, str) for v in value)):
                clean[key] = list(value)
            else:
                raise _invalid("stop", "must be text or a list of up to 4 texts")
        elif key == "model":
            if not isinstance(value, str) or not value.strip():
                raise _invalid("model", "must be a model name")
            clean[key] = value.strip()
        elif key in ("stream", "messages"):
            raise _invalid(key, "is not an option of execute(); use execute_stream() to stream")
        else:
            clean[key] = value
    return clean


def normalise_max_attempts(max_attempts: Any) -> int:
    if max_attempts is None:
        max_attempts = current_app.config.get("EXECUTE_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int):
        raise _invalid("max_attempts", f"must be a whole number, not {max_attempts!r}")
    if not 1 <= max_attempts <= MAX_ATTEMPTS_CEILING:
        raise _invalid("max_attempts", f"must be between 1 and {MAX_ATTEMPTS_CEILING}")
    return max_attempts


def normalise_feature(feature: Any) -> str | None:
    if feature is None or feature == "":
        return None
    if not isinstance(feature, str) or len(feature) > 100:
        raise _invalid("feature", "must be text of at most 100 characters")
    return feature.strip() or None
