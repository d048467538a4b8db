"""Google Gemini API (generativelanguage v1beta), translated to and from the OpenAI shapes."""

from __future__ import annotations

import itertools
import json
import time
import uuid
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
    conn_settings,
    to_int,
)

FILTER_REASONS = frozenset(
    {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY", "LANGUAGE"}
)
_FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "OTHER": "error",
    "FINISH_REASON_UNSPECIFIED": "error",
}


def map_finish_reason(reason: str | None) -> str | None:
    if not reason:
        return None
    if reason in FILTER_REASONS:
        return "content_filter"
    return _FINISH_REASONS.get(reason, "stop")


def strip_models_prefix(name: str) -> str:
    return name[len("models/") :] if name.startswith("models/") else name


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type", "text") == "text"
        )
    return "" if content is None else str(content)


def to_gemini_contents(messages: list[dict]) -> tuple[dict | None, list[dict]]:
    """OpenAI messages -> (systemInstruction, contents with roles user/model)."""
    system_parts: list[dict] = []
    contents: list[dict] = []
    for message in messages:
        role = message.get("role", "user")
        text = _text_of(message.get("content"))
        if role in ("system", "developer"):
            system_parts.append({"text": text})
            continue
        gemini_role = "model" if role == "assistant" else "user"
        if contents and contents[-1]["role"] == gemini_role:
            contents[-1]["parts"].append({"text": text})  # Gemini wants alternating turns
        else:
            contents.append({"role": gemini_role, "parts": [{"text": text}]})
    system = {"parts": system_parts} if system_parts else None
    return system, contents


def _candidate_text(candidate: Mapping[str, Any]) -> str:
    parts = (candidate.get("content") or {}).get("parts") or []
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict) and not p.get("thought"))


def _usage(meta: Mapping[str, Any] | None) -> tuple[int | None, int | None, int | None]:
    if not meta:
        return None, None, None
    prompt = to_int(meta.get("promptTokenCount"))
    candidates = to_int(meta.get("candidatesTokenCount"))
    thoughts = to_int(meta.get("thoughtsTokenCount"))
    completion = None if candidates is None and thoughts is None else (candidates or 0) + (thoughts or 0)
    total = to_int(meta.get("totalTokenCount"))
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    return prompt, completion, total


class GeminiAdapter(ProviderAdapter):
    kind = "gemini"
    name = "Google Gemini"
    default_base_url = "https://generativelanguage.googleapis.com/v1beta"
    page_size = 1000
    max_pages = 50

    def headers(self, connection: Any) -> dict[str, str]:
        # The key goes in a header, never in the URL (URLs end up in logs).
        headers = {"Content-Type": "application/json", "x-goog-api-key": getattr(connection, "api_key", "") or ""}
        headers.update(self.extra_headers(connection))
        return headers

    def build_body(self, connection: Any, messages: list[dict], options: Mapping[str, Any] | None) -> dict:
        options = dict(options or {})
        settings = conn_settings(connection)
        system, contents = to_gemini_contents(messages)
        body: dict[str, Any] = {"contents": contents}
        if system:
            body["systemInstruction"] = system
        config: dict[str, Any] = {}
        temperature = options.get("temperature", settings.get("temperature"))
        if temperature is not None:
            config["temperature"] = temperature
        max_tokens = options.get("max_tokens", options.get("max_completion_tokens", settings.get("max_tokens")))
        if max_tokens is not None:
            config["maxOutputTokens"] = int(max_tokens)
        if options.get("top_p") is not None:
            config["topP"] = options["top_p"]
        if options.get("top_k") is not None:
            config["topK"] = options["top_k"]
        stop = options.get("stop")
        if stop:
            config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
        if config:
            body["generationConfig"] = config
        return body

    def _session(self, connection: Any) -> requests.Session:
        return http.pool.get(connection, self.base_url(connection))

    def _send(self, connection: Any, method: str, path: str, **kwargs: Any) -> requests.Response:
        return http.send(
            self._session(connection),
            method,
            f"{self.base_url(connection)}/{path}",
            timeout=self.timeouts(connection),
            headers=self.headers(connection),
            secrets=self.secrets(connection),
            **kwargs,
        )

    def _json_or_error(self, response: requests.Response, secrets: tuple[str, ...]) -> Any:
        if response.status_code >= 400:
            body = http.read_body(response, secrets)
            raise map_gemini_error(response.status_code, http.try_json(body), http.body_text(body), secrets)
        data = http.parse_json(response, secrets)
        if isinstance(data, dict) and data.get("error"):
            raise map_gemini_error(None, data, "", secrets)
        return data

    # -- calls ---------------------------------------------------------------------------
    def execute(self, connection: Any, messages: list[dict], options: dict | None = None) -> Completion:
        model = strip_models_prefix(self.model_for(connection, options))
        secrets = self.secrets(connection)
        body = self.build_body(connection, messages, options)
        response = self._send(connection, "POST", f"models/{model}:generateContent", json_body=body)
        data = self._json_or_error(response, secrets)
        if not isinstance(data, dict):
            raise ProviderError(ErrorClass.UNAVAILABLE, "Answer is not a JSON object.", secrets=secrets)
        block = (data.get("promptFeedback") or {}).get("blockReason")
        if block:
            raise ProviderError(
                ErrorClass.CONTENT_FILTERED, f"Prompt blocked by Gemini: {block}", status=response.status_code,
                code=block, secrets=secrets,
            )
        candidates = data.get("candidates") or []
        if not candidates:
            raise ProviderError(
                ErrorClass.UNAVAILABLE, "Gemini answered without candidates.", status=response.status_code,
                secrets=secrets,
            )
        candidate = candidates[0]
        reason = candidate.get("finishReason")
        if reason in FILTER_REASONS:
            raise ProviderError(
                ErrorClass.CONTENT_FILTERED, f"Answer stopped by Gemini: finishReason {reason}",
                status=response.status_code, code=reason, secrets=secrets,
            )
        prompt, completion, total = _usage(data.get("usageMetadata"))
        return Completion(
            text=_candidate_text(candidate),
            finish_reason=map_finish_reason(reason),
            model=data.get("modelVersion") or model,
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=total,
            provider_cost=None,
            raw=data,
            response_id=data.get("responseId"),
        )

    def stream(self, connection: Any, messages: list[dict], options: dict | None = None) -> CompletionStream:
        model = strip_models_prefix(self.model_for(connection, options))
        secrets = self.secrets(connection)
        body = self.build_body(connection, messages, options)
        response = self._send(
            connection, "POST", f"models/{model}:streamGenerateContent", json_body=body,
            params={"alt": "sse"}, stream=True,
        )
        try:
            if response.status_code >= 400:
                self._json_or_error(response, secrets)  # raises
            chunks = _translate(http.iter_sse(response, secrets), model, secrets)
            first = next(chunks, None)
        except BaseException:
            response.close()
            raise
        rest = itertools.chain([first], chunks) if first is not None else iter(())
        return CompletionStream(rest, model=model, on_close=response.close)

    def list_models(self, connection: Any) -> list[ModelInfo]:
        secrets = self.secrets(connection)
        models: list[ModelInfo] = []
        token = None
        for _ in range(self.max_pages):
            params = {"pageSize": self.page_size}
            if token:
                params["pageToken"] = token
            data = self._json_or_error(self._send(connection, "GET", "models", params=params), secrets)
            for model in (data.get("models") or []) if isinstance(data, dict) else []:
                if "generateContent" not in (model.get("supportedGenerationMethods") or []):
                    continue
                model_id = strip_models_prefix(str(model.get("name", "")))
                if model_id:
                    models.append(
                        ModelInfo(
                            id=model_id,
                            name=model.get("displayName") or model_id,
                            context_length=to_int(model.get("inputTokenLimit")),
                        )
                    )
            token = data.get("nextPageToken") if isinstance(data, dict) else None
            if not token:
                break
        return models


def _translate(payloads: Iterator[str], model: str, secrets: tuple[str, ...]) -> Iterator[dict]:
    """Gemini SSE events -> OpenAI chat.completion.chunk dicts, then one usage chunk."""
    chunk_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    role_sent = False
    usage_meta: dict | None = None
    for payload in payloads:
        try:
            event = json.loads(payload)
        except ValueError:
            raise ProviderError(
                ErrorClass.UNAVAILABLE, f"Streamed event is not JSON: {payload[:200]!r}", secrets=secrets
            ) from None
        if not isinstance(event, dict):
            continue
        if event.get("error"):
            raise map_gemini_error(None, event, "", secrets)
        if event.get("responseId"):
            chunk_id = f"chatcmpl-{event['responseId']}"
        model = event.get("modelVersion") or model
        if event.get("usageMetadata"):
            usage_meta = event["usageMetadata"]
        base = {"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": model}
        block = (event.get("promptFeedback") or {}).get("blockReason")
        candidates = event.get("candidates") or []
        if block and not candidates:
            yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant"} if not role_sent else {},
                                        "logprobs": None, "finish_reason": "content_filter"}]}
            role_sent = True
            continue
        if not candidates:
            continue
        candidate = candidates[0]
        delta: dict[str, Any] = {}
        if not role_sent:
            delta["role"] = "assistant"
            role_sent = True
        text = _candidate_text(candidate)
        if text:
            delta["content"] = text
        finish = map_finish_reason(candidate.get("finishReason"))
        if not delta and finish is None:
            continue
        yield {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
    prompt, completion, total = _usage(usage_meta)
    yield {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total},
    }


# -- errors --------------------------------------------------------------------------------


def _details(error: Mapping[str, Any]) -> tuple[str | None, list[str], float | None]:
    """(ErrorInfo reason, QuotaFailure quotaIds, RetryInfo delay in seconds)."""
    reason, quota_ids, delay = None, [], None
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        kind = str(detail.get("@type", ""))
        if kind.endswith("google.rpc.ErrorInfo"):
            reason = detail.get("reason") or reason
        elif kind.endswith("google.rpc.QuotaFailure"):
            quota_ids += [str(v.get("quotaId", "")) for v in detail.get("violations") or [] if isinstance(v, dict)]
        elif kind.endswith("google.rpc.RetryInfo"):
            delay = http.parse_duration(detail.get("retryDelay"))
    return reason, quota_ids, delay


def map_gemini_error(status: int | None, data: Any, text: str, secrets: tuple[str, ...]) -> ProviderError:
    error = http.error_object(data)
    if status is None:
        status = to_int(error.get("code"))
    message = str(error.get("message") or text or f"HTTP {status}")
    rpc_status = str(error.get("status") or "")
    reason, quota_ids, delay = _details(error)
    if delay is None:
        delay = http.retry_after_from_text(message)
    quota_scope = None

    if status == 400 and (reason == "API_KEY_INVALID" or "api key not valid" in message.lower()):
        cls = ErrorClass.AUTH
    elif status == 400 and rpc_status == "FAILED_PRECONDITION":
        cls = ErrorClass.AUTH  # billing/region: the account, not the request, must change
    elif status in (401, 403):
        cls = ErrorClass.AUTH
    elif status == 404:
        cls = ErrorClass.MODEL_NOT_FOUND
    elif status == 429:
        if any("PerDay" in q for q in quota_ids):
            cls, quota_scope = ErrorClass.QUOTA, "day"
        else:
            cls = ErrorClass.RATE_LIMITED
            if any("PerMinute" in q for q in quota_ids):
                quota_scope = "minute"
    elif status is None or status in (408, 409) or status >= 500:
        cls = ErrorClass.UNAVAILABLE
    else:
        cls = ErrorClass.INVALID_REQUEST
    label = f"HTTP {status} {rpc_status}".strip() if status else rpc_status or "error"
    keep_hint = cls in (ErrorClass.RATE_LIMITED, ErrorClass.UNAVAILABLE, ErrorClass.QUOTA)
    return ProviderError(
        cls,
        f"{label}: {message}",
        status=status,
        retry_after=delay if keep_hint else None,
        quota_scope=quota_scope,
        code=reason or rpc_status or None,
        secrets=secrets,
    )
