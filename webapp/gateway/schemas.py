"""Validation of OpenAI chat-completion requests; every problem becomes InvalidInput(param)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..services.errors import InvalidInput

ROLES = ("system", "developer", "user", "assistant")
MAX_STOP_SEQUENCES = 4
MAX_MODEL_CHARS = 300
# Accepted and ignored: they do not change what a text answer means.
IGNORED_FIELDS = frozenset({
    "user", "seed", "presence_penalty", "frequency_penalty", "metadata", "store",
    "service_tier", "parallel_tool_calls", "logit_bias", "reasoning_effort",
})
# Features this gateway cannot honour; refused instead of silently dropped.
UNSUPPORTED_FIELDS = {
    "tools": "tool calling is not supported by this gateway",
    "functions": "function calling is not supported by this gateway",
    "tool_choice": "tool calling is not supported by this gateway",
    "function_call": "function calling is not supported by this gateway",
    "audio": "audio output is not supported by this gateway",
    "prediction": "predicted outputs are not supported by this gateway",
}


@dataclass
class ChatRequest:
    model: str
    messages: list[dict]
    options: dict[str, Any] = field(default_factory=dict)  # what execute() takes
    stream: bool = False
    include_usage: bool = False


def invalid(message: str, param: str | None = None) -> InvalidInput:
    return InvalidInput(message, {param: [message]} if param else {})


def parse_json_body(raw: bytes) -> dict:
    if not raw or not raw.strip():
        raise invalid("The request body is empty; send a JSON object with `model` and `messages`.")
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise invalid("The request body is not UTF-8 encoded JSON.") from None
    except ValueError as exc:
        raise invalid(f"The request body is not valid JSON ({exc}).") from None
    if not isinstance(body, dict):
        raise invalid(f"The request body must be a JSON object, not {_type_name(body)}.")
    return body


def parse_chat_request(body: dict) -> ChatRequest:
    """A validated ChatRequest, or InvalidInput naming the first wrong parameter."""
    for name, reason in UNSUPPORTED_FIELDS.items():
        if body.get(name) not in (None, [], {}):
            raise invalid(f"`{name}`: {reason}.", name)

    model = body.get("model")
    if model is None:
        raise invalid("Missing required parameter: `model` (e.g. \"openai\" or "
                      "\"openai/gpt-4o-mini\"; GET /v1/models lists them).", "model")
    if not isinstance(model, str):
        raise invalid(f"`model` must be a string, not {_type_name(model)}.", "model")
    model = model.strip()
    if not model or model.startswith("/") or len(model) > MAX_MODEL_CHARS:
        raise invalid("`model` must be `<provider-slug>` or `<provider-slug>/<model>`.", "model")

    messages = _messages(body.get("messages"))
    options: dict[str, Any] = {}
    _number(body, "temperature", options, low=0, high=2)
    _number(body, "top_p", options, low=0, high=1)
    max_tokens = _positive_int(body, "max_completion_tokens")
    if max_tokens is None:
        max_tokens = _positive_int(body, "max_tokens")
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    stop = _stop(body.get("stop"))
    if stop is not None:
        options["stop"] = stop
    n = body.get("n")
    if n is not None and (_is_bool(n) or not isinstance(n, int) or n != 1):
        raise invalid("`n` must be 1: this gateway returns one choice per request.", "n")
    if body.get("logprobs") not in (None, False):
        raise invalid("`logprobs` is not supported by this gateway.", "logprobs")
    _check_response_format(body.get("response_format"))

    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not _is_bool(stream):
        raise invalid(f"`stream` must be true or false, not {_type_name(stream)}.", "stream")
    include_usage = _include_usage(body.get("stream_options"), stream)
    return ChatRequest(model=model, messages=messages, options=options, stream=stream,
                       include_usage=include_usage)


# --- pieces ------------------------------------------------------------------------------------


def _messages(messages: Any) -> list[dict]:
    if messages is None:
        raise invalid("Missing required parameter: `messages`.", "messages")
    if not isinstance(messages, list):
        raise invalid(f"`messages` must be an array of messages, not {_type_name(messages)}.",
                      "messages")
    if not messages:
        raise invalid("`messages` is empty; send at least one message.", "messages")
    cleaned = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise invalid(f"`{where}` must be an object with `role` and `content`, not "
                          f"{_type_name(message)}.", where)
        role = message.get("role")
        if role in ("tool", "function"):
            raise invalid(f"`{where}.role` {role!r}: tool calling is not supported by this "
                          "gateway.", f"{where}.role")
        if role not in ROLES:
            raise invalid(f"`{where}.role` must be one of {', '.join(ROLES)}; got "
                          f"{_short(role)}.", f"{where}.role")
        content = _content(message.get("content"), f"{where}.content")
        clean = {"role": role, "content": content}
        if isinstance(message.get("name"), str):
            clean["name"] = message["name"]
        cleaned.append(clean)
    return cleaned


def _content(content: Any, where: str) -> str:
    """Text content; an array of text parts is joined (other part types are refused)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for index, part in enumerate(content):
            if not isinstance(part, dict):
                raise invalid(f"`{where}[{index}]` must be a content part object.",
                              f"{where}[{index}]")
            if part.get("type") != "text":
                raise invalid(f"`{where}[{index}].type` {_short(part.get('type'))}: only text "
                              "content parts are supported by this gateway.",
                              f"{where}[{index}].type")
            if not isinstance(part.get("text"), str):
                raise invalid(f"`{where}[{index}].text` must be a string.", f"{where}[{index}].text")
            texts.append(part["text"])
        return "\n".join(texts)
    if content is None:
        raise invalid(f"Missing required parameter: `{where}`.", where)
    raise invalid(f"`{where}` must be a string or an array of text parts, not "
                  f"{_type_name(content)}.", where)


def _number(body: dict, name: str, options: dict, *, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if _is_bool(value) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(f"`{name}` must be a number, not {_type_name(value)}.", name)
    if not low <= value <= high:
        raise invalid(f"`{name}` must be between {low} and {high}; got {value}.", name)
    options[name] = value


def _positive_int(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if _is_bool(value) or not isinstance(value, int):
        raise invalid(f"`{name}` must be an integer, not {_type_name(value)}.", name)
    if value < 1:
        raise invalid(f"`{name}` must be at least 1; got {value}.", name)
    return value


def _stop(stop: Any) -> list[str] | None:
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        if len(stop) > MAX_STOP_SEQUENCES:
            raise invalid(f"`stop` may hold at most {MAX_STOP_SEQUENCES} sequences.", "stop")
        return stop or None
    raise invalid("`stop` must be a string or an array of strings.", "stop")


def _check_response_format(response_format: Any) -> None:
    if response_format is None:
        return
    if not isinstance(response_format, dict) or response_format.get("type") != "text":
        raise invalid("`response_format`: only {\"type\": \"text\"} is supported by this gateway.",
                      "response_format")


def _include_usage(stream_options: Any, stream: bool) -> bool:
    if stream_options is None:
        return False
    if not isinstance(stream_options, dict):
        raise invalid("`stream_options` must be an object.", "stream_options")
    if not stream:
        raise invalid("`stream_options` is only allowed when `stream` is true.", "stream_options")
    include = stream_options.get("include_usage", False)
    if include is None:
        return False
    if not _is_bool(include):
        raise invalid("`stream_options.include_usage` must be true or false.",
                      "stream_options.include_usage")
    return include


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "a value")


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
