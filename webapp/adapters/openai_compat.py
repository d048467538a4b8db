"""OpenAI Chat Completions, and any OpenAI-compatible server (vLLM, Ollama…) via base_url."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from webapp.adapters import http
from webapp.adapters.base import (
    Completion,
    CompletionStream,
    ErrorClass,
    ModelInfo,
    ProviderAdapter,
    ProviderError,
    conn_credential,
    conn_settings,
    usage_from_openai,
)

# Keys of ``options`` that are ours, not the provider's.
_NOT_PASSED = frozenset({"model", "messages", "stream", "stream_options", "timeout", "max_tokens"})

_FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "error": "error",
}

_CONTENT_CODES = {"content_filter", "content_policy_violation", "moderation_blocked"}


def normalise_finish_reason(value: str | None) -> str | None:
    if value is None:
        return None
    return _FINISH_REASONS.get(str(value).lower(), "stop")


class OpenAiAdapter(ProviderAdapter):
    kind = "openai"
    name = "OpenAI"
    default_base_url = "https://api.openai.com/v1"
    # OpenAI deprecated max_tokens; OpenAI-compatible servers that predate the new name can
    # set settings["max_tokens_param"] = "max_tokens".
    max_tokens_param = "max_completion_tokens"

    # -- request building ----------------------------------------------------------------
    @staticmethod
    def bearer_headers(connection: Any) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        api_key = getattr(connection, "api_key", None)
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return headers

    def headers(self, connection: Any) -> dict[str, str]:
        headers = self.bearer_headers(connection)
        settings = conn_settings(connection)
        organization = conn_credential(connection, "organization") or settings.get("organization")
        project = conn_credential(connection, "project") or settings.get("project")
        if organization:
            headers["OpenAI-Organization"] = str(organization)
        if project:
            headers["OpenAI-Project"] = str(project)
        headers.update(self.extra_headers(connection))
        return headers

    def build_body(
        self, connection: Any, messages: list[dict], options: Mapping[str, Any] | None, *, stream: bool
    ) -> dict[str, Any]:
        options = dict(options or {})
        settings = conn_settings(connection)
        body: dict[str, Any] = {"model": self.model_for(connection, options), "messages": messages}
        if settings.get("temperature") is not None:
            body["temperature"] = settings["temperature"]
        max_tokens = options.get("max_tokens", settings.get("max_tokens"))
        if max_tokens is not None and "max_completion_tokens" not in options:
            param = settings.get("max_tokens_param") or self.max_tokens_param
            body[param] = int(max_tokens)
        for key, value in options.items():
            if key not in _NOT_PASSED and not key.startswith("_") and value is not None:
                body[key] = value
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def url(self, connection: Any, path: str) -> str:
        return f"{self.base_url(connection)}/{path.lstrip('/')}"

    def _session(self, connection: Any) -> requests.Session:
        return http.pool.get(connection, self.base_url(connection))

    def _send(self, connection: Any, method: str, path: str, **kwargs: Any) -> requests.Response:
        return http.send(
            self._session(connection),
            method,
            self.url(connection, path),
            timeout=self.timeouts(connection),
            headers=self.headers(connection),
            secrets=self.secrets(connection),
            **kwargs,
        )

    # -- calls ---------------------------------------------------------------------------
    def execute(self, connection: Any, messages: list[dict], options: dict | None = None) -> Completion:
        body = self.build_body(connection, messages, options, stream=False)
        secrets = self.secrets(connection)
        response = self._send(connection, "POST", "chat/completions", json_body=body)
        data = self._json_or_error(response, secrets)
        return self.completion_from(data, body["model"], secrets, status=response.status_code)

    def stream(self, connection: Any, messages: list[dict], options: dict | None = None) -> CompletionStream:
        body = self.build_body(connection, messages, options, stream=True)
        secrets = self.secrets(connection)
        response = self._send(connection, "POST", "chat/completions", json_body=body, stream=True)
        try:
            if response.status_code >= 400:
                self._json_or_error(response, secrets)  # raises
            if "text/event-stream" not in response.headers.get("Content-Type", ""):
                # Some servers ignore stream=true (or put an error in a 200): answer as one chunk.
                data = http.parse_json(response, secrets)
                completion = self.completion_from(data, body["model"], secrets, status=response.status_code)
                chunks: Iterator[dict] = iter(_completion_as_chunks(completion))
            else:
                chunks = self._chunks(response, secrets)
            # Read up to the first chunk so an error that comes first fails over before the
            # caller has sent anything on.
            first = next(chunks, None)
        except BaseException:
            response.close()
            raise
        rest = itertools.chain([first], chunks) if first is not None else iter(())
        return CompletionStream(rest, model=body["model"], on_close=response.close)

    def list_models(self, connection: Any) -> list[ModelInfo]:
        secrets = self.secrets(connection)
        data = self._json_or_error(self._send(connection, "GET", "models"), secrets)
        models = data.get("data") if isinstance(data, dict) else None
        if not isinstance(models, list):
            raise ProviderError(
                ErrorClass.UNAVAILABLE, "Model list answer has no 'data' list.", secrets=secrets
            )
        return [self.model_info(m) for m in models if isinstance(m, dict) and m.get("id")]

    def model_info(self, model: Mapping[str, Any]) -> ModelInfo:
        return ModelInfo(id=str(model["id"]), name=model.get("name") or str(model["id"]))

    # -- responses -----------------------------------------------------------------------
    def _json_or_error(self, response: requests.Response, secrets: tuple[str, ...]) -> Any:
        if response.status_code >= 400:
            body = http.read_body(response, secrets)
            raise self.map_error(
                response.status_code, response.headers, http.try_json(body), http.body_text(body), secrets
            )
        return http.parse_json(response, secrets)

    def completion_from(
        self, data: Any, requested_model: str, secrets: tuple[str, ...], *, status: int | None = None
    ) -> Completion:
        if not isinstance(data, dict):
            raise ProviderError(ErrorClass.UNAVAILABLE, "Answer is not a JSON object.", status=status, secrets=secrets)
        if data.get("error"):
            raise self.error_in_body(data, secrets)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ProviderError(
                ErrorClass.UNAVAILABLE, "Answer has no choices.", status=status, secrets=secrets
            )
        choice = choices[0] or {}
        message = choice.get("message") or {}
        finish = normalise_finish_reason(choice.get("finish_reason"))
        if finish == "error":
            raise self.error_in_body({"error": choice.get("error") or {}}, secrets)
        if finish == "content_filter" or message.get("refusal"):
            detail = message.get("refusal") or "the provider's content filter stopped the answer"
            raise ProviderError(
                ErrorClass.CONTENT_FILTERED, f"Content filtered: {detail}", status=status, secrets=secrets
            )
        usage = usage_from_openai(data.get("usage"))
        content = message.get("content")
        if isinstance(content, list):  # some compatible servers return content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return Completion(
            text=content or "",
            finish_reason=finish,
            model=data.get("model") or requested_model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
            provider_cost=usage.provider_cost,
            raw=data,
            response_id=data.get("id"),
        )

    def _chunks(self, response: requests.Response, secrets: tuple[str, ...]) -> Iterator[dict]:
        for payload in http.iter_sse(response, secrets):
            if payload.strip() == "[DONE]":
                return
            try:
                chunk = json.loads(payload)
            except ValueError:
                raise ProviderError(
                    ErrorClass.UNAVAILABLE,
                    f"Streamed event is not JSON: {payload[:200]!r}",
                    secrets=secrets,
                ) from None
            if not isinstance(chunk, dict):
                continue
            if chunk.get("error"):
                raise self.error_in_body(chunk, secrets)
            for choice in chunk.get("choices") or []:
                if choice.get("finish_reason") == "error":
                    raise self.error_in_body({"error": choice.get("error") or chunk.get("error") or {}}, secrets)
            yield chunk

    # -- errors --------------------------------------------------------------------------
    def error_in_body(self, data: Mapping[str, Any], secrets: tuple[str, ...]) -> ProviderError:
        """An error reported inside a 200 answer or a stream: classify by its code."""
        error = data.get("error") or {}
        if not isinstance(error, dict):
            error = {"message": str(error)}
        code = error.get("code")
        status = code if isinstance(code, int) and 400 <= code < 600 else None
        if status is not None:
            return self.map_error(status, {}, {"error": error}, "", secrets)
        message = error.get("message") or "The provider reported an error in its answer."
        code_text = str(code or error.get("type") or "")
        if code_text == "insufficient_quota":
            cls = ErrorClass.QUOTA
        elif code_text in ("rate_limit_exceeded", "rate_limit_error"):
            cls = ErrorClass.RATE_LIMITED
        elif code_text == "model_not_found":
            cls = ErrorClass.MODEL_NOT_FOUND
        elif code_text in _CONTENT_CODES:
            cls = ErrorClass.CONTENT_FILTERED
        else:
            cls = ErrorClass.UNAVAILABLE
        return ProviderError(cls, message, code=code_text or None, secrets=secrets,
                             retry_after=http.retry_after_from_text(message))

    def map_error(
        self,
        status: int,
        headers: Mapping[str, str],
        data: Any,
        text: str,
        secrets: tuple[str, ...],
    ) -> ProviderError:
        error = http.error_object(data)
        message = error.get("message") or text or f"HTTP {status}"
        code = str(error.get("code") or "")
        err_type = str(error.get("type") or "")
        retry_after = http.retry_after_from_headers(headers)
        if retry_after is None:
            retry_after = http.retry_after_from_text(message)

        if status in (401, 403):
            cls = ErrorClass.AUTH
        elif status == 429:
            cls = ErrorClass.QUOTA if "insufficient_quota" in (code, err_type) else ErrorClass.RATE_LIMITED
        elif status == 404:
            if code == "model_not_found" or "model" in message.lower():
                cls = ErrorClass.MODEL_NOT_FOUND
            else:
                cls = ErrorClass.UNAVAILABLE  # wrong base URL/path: the connection is at fault
        elif status in (408, 409) or status >= 500:
            cls = ErrorClass.UNAVAILABLE
        elif code in _CONTENT_CODES:
            cls = ErrorClass.CONTENT_FILTERED
        else:
            cls = ErrorClass.INVALID_REQUEST
        return ProviderError(
            cls,
            f"HTTP {status}: {message}",
            status=status,
            retry_after=retry_after if cls in (ErrorClass.RATE_LIMITED, ErrorClass.UNAVAILABLE, ErrorClass.QUOTA) else None,
            code=code or err_type or None,
            secrets=secrets,
        )


def _completion_as_chunks(completion: Completion) -> list[dict]:
    base = {
        "id": completion.response_id or "chatcmpl-local",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": completion.model,
    }
    return [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": completion.text},
                              "finish_reason": completion.finish_reason}]},
        {**base, "choices": [], "usage": {
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "total_tokens": completion.total_tokens,
            **({"cost": float(completion.provider_cost)} if completion.provider_cost is not None else {}),
        }},
    ]
