"""What the simulated providers answer: scenario names and the bodies for each wire format.

Pure functions; the HTTP server (server.py) decides which scenario applies and sends the
reply. Shapes follow reference/provider-wire-formats.md.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

SLOW_SECONDS = 3.0

# Scenario names. A key containing one of them (e.g. "sk-sim-rate-limited") selects it.
OK = "ok"
SCENARIOS = (
    "ok",
    "bad-key",
    "forbidden",
    "no-credits",
    "insufficient-quota",
    "rate-limited",
    "rate-limited-reset",  # only x-ratelimit-reset-* headers (OpenAI)
    "rate-limited-text",  # no headers, only "Please try again in 644ms" (OpenAI)
    "daily-quota",
    "server-error",
    "overloaded",
    "slow",
    "drop",
    "garbage",
    "error-in-200",
    "filtered",
    "refusal",  # OpenAI message.refusal
    "prompt-blocked",  # Gemini promptFeedback.blockReason
    "moderated",  # OpenRouter 403 moderation
    "model-missing",
    "invalid-request",
    "legacy-key-endpoint",  # OpenRouter: /key answers 404, /auth/key works
    "no-key",
)
# Longest first so "rate-limited-reset" wins over "rate-limited".
_BY_LENGTH = sorted((s for s in SCENARIOS if s != OK), key=len, reverse=True)

OPENAI_MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3-mini", "text-embedding-3-small"]

# id, name, context, prompt $/token, completion $/token
OPENROUTER_MODELS = [
    ("openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", 128000, "0.00000015", "0.0000006"),
    ("openai/gpt-4o", "OpenAI: GPT-4o", 128000, "0.0000025", "0.00001"),
    ("google/gemini-2.5-flash", "Google: Gemini 2.5 Flash", 1048576, "0.0000003", "0.0000025"),
    ("meta-llama/llama-3.3-70b-instruct:free", "Meta: Llama 3.3 70B Instruct (free)", 131072, "0", "0"),
]

# name, display name, generation methods
GEMINI_MODELS = [
    ("gemini-2.5-flash", "Gemini 2.5 Flash", ["generateContent", "countTokens"]),
    ("gemini-2.5-pro", "Gemini 2.5 Pro", ["generateContent", "countTokens"]),
    ("gemini-2.0-flash", "Gemini 2.0 Flash", ["generateContent", "countTokens"]),
    ("gemini-2.0-flash-lite", "Gemini 2.0 Flash-Lite", ["generateContent", "countTokens"]),
    ("embedding-001", "Embedding 001", ["embedContent"]),
    ("text-embedding-004", "Text Embedding 004", ["embedContent"]),
    ("gemini-1.5-flash", "Gemini 1.5 Flash", ["generateContent", "countTokens"]),
    ("gemini-1.5-pro", "Gemini 1.5 Pro", ["generateContent", "countTokens"]),
    ("aqa", "Model that performs Attributed Question Answering", ["generateAnswer"]),
    ("gemma-3-27b-it", "Gemma 3 27B", ["generateContent", "countTokens"]),
    ("imagen-3.0-generate-002", "Imagen 3.0", ["predict"]),
]
GEMINI_MAX_PAGE_SIZE = 5  # small on purpose, so clients must paginate


def scenario_from_key(key: str | None) -> str:
    if not key:
        return "no-key"
    lowered = key.lower()
    for name in _BY_LENGTH:
        if name in lowered:
            return name
    return OK


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict -> JSON; bytes/str -> as is
    headers: dict[str, str] = field(default_factory=dict)
    events: list[bytes] | None = None  # an SSE stream (sent chunked)
    drop: bool = False
    content_type: str = "application/json"


# -- helpers ---------------------------------------------------------------------------------


def words(text: str) -> int:
    return len(text.split())


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def echo_answer(last_user: str, max_tokens: int | None) -> tuple[str, str]:
    """Deterministic answer text and finish reason ("stop" or "length")."""
    text = "Echo: " + " ".join(last_user.split())[:200]
    parts = text.split()
    if max_tokens is not None and 0 < max_tokens < len(parts):
        return " ".join(parts[:max_tokens]), "length"
    return text, "stop"


def sse(obj: Any) -> bytes:
    data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    return f"data: {data}\n\n".encode()


def stream_pieces(text: str) -> list[str]:
    parts = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(parts)]


# -- OpenAI and OpenRouter ---------------------------------------------------------------


def openai_error(status: int, message: str, type_: str, code: str | None = None, param: str | None = None,
                 headers: dict | None = None) -> Reply:
    return Reply(status, {"error": {"message": message, "type": type_, "param": param, "code": code}},
                 headers or {})


def openrouter_error(status: int, message: str, metadata: dict | None = None, headers: dict | None = None) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message}
    if metadata:
        error["metadata"] = metadata
    return Reply(status, {"error": error}, headers or {})


def openai_failure(scenario: str, key: str, model: str, *, router: bool) -> Reply | None:
    """The error reply for ``scenario`` on an OpenAI-format endpoint, or None for success."""
    if router:
        reply = _openrouter_failure(scenario, key, model)
        if reply is not None or scenario in ("filtered", "refusal", "error-in-200", "ok"):
            return reply
    if scenario == "no-key":
        return openai_error(401, "You didn't provide an API key. You need to provide your API key in an "
                            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                            "invalid_request_error")
    if scenario == "bad-key":
        return openai_error(401, f"Incorrect API key provided: {key}. You can find your API key at "
                            "https://platform.openai.com/account/api-keys.", "invalid_request_error",
                            "invalid_api_key")
    if scenario == "forbidden":
        return openai_error(403, "Country, region, or territory not supported", "request_forbidden",
                            "unsupported_country_region_territory")
    if scenario in ("insufficient-quota", "no-credits", "daily-quota"):
        return openai_error(429, "You exceeded your current quota, please check your plan and billing "
                            "details. For more information on this error, read the docs: "
                            "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                            "insufficient_quota", "insufficient_quota")
    if scenario.startswith("rate-limited"):
        message = (f"Rate limit reached for {model} in organization org-sim on requests per min (RPM): "
                   "Limit 3, Used 3, Requested 1. Please try again in 644ms. Visit "
                   "https://platform.openai.com/account/rate-limits to learn more.")
        headers = {"x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0",
                   "x-ratelimit-reset-requests": "20s", "x-ratelimit-limit-tokens": "150000",
                   "x-ratelimit-remaining-tokens": "149984", "x-ratelimit-reset-tokens": "6m0s"}
        if scenario == "rate-limited":
            headers.update({"retry-after": "2", "retry-after-ms": "1500"})
        elif scenario == "rate-limited-text":
            headers = {}
        return openai_error(429, message, "requests", "rate_limit_exceeded", headers=headers)
    if scenario == "server-error":
        return openai_error(500, "The server had an error while processing your request. Sorry about that!",
                            "server_error")
    if scenario == "overloaded":
        return openai_error(503, "The engine is currently overloaded, please try again later",
                            "service_unavailable_error", "server_is_overloaded")
    if scenario == "model-missing":
        return openai_error(404, f"The model `{model}` does not exist or you do not have access to it.",
                            "invalid_request_error", "model_not_found")
    if scenario == "invalid-request":
        return openai_error(400, "This model's maximum context length is 128000 tokens. However, your "
                            "messages resulted in 130000 tokens. Please reduce the length of the messages.",
                            "invalid_request_error", "context_length_exceeded", "messages")
    if scenario == "error-in-200":
        return Reply(200, {"error": {"message": "The server had an error while processing your request.",
                                     "type": "server_error", "param": None, "code": None}})
    if scenario == "garbage":
        return Reply(200, b"<html><body><h1>Upstream proxy error</h1></body></html>",
                     content_type="text/html; charset=utf-8")
    return None


def _openrouter_failure(scenario: str, key: str, model: str) -> Reply | None:
    if scenario == "no-key":
        return openrouter_error(401, "No auth credentials found")
    if scenario == "bad-key":
        return openrouter_error(401, "User not found.")
    if scenario == "forbidden":
        return openrouter_error(403, "This API key has been disabled.")
    if scenario == "moderated":
        return openrouter_error(403, f'{model} requires moderation on OpenAI. Your input was flagged for '
                                '"harassment". No credits were charged.',
                                {"reasons": ["harassment"], "flagged_input": "…", "provider_name": "OpenAI",
                                 "model_slug": model})
    if scenario in ("no-credits", "insufficient-quota"):
        return openrouter_error(402, "Insufficient credits. This account never purchased credits. Make sure "
                                "your key is on the correct account or org, and if so, purchase more at "
                                "https://openrouter.ai/settings/credits")
    if scenario == "daily-quota":
        reset_ms = str(int((time.time() // 86400 + 1) * 86400 * 1000))
        return openrouter_error(429, "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock "
                                "1000 free model requests per day",
                                {"headers": {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0",
                                             "X-RateLimit-Reset": reset_ms}})
    if scenario.startswith("rate-limited"):
        reset_ms = str(int(time.time() * 1000) + 5000)
        return openrouter_error(429, "Rate limit exceeded: free-models-per-min.",
                                {"headers": {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0",
                                             "X-RateLimit-Reset": reset_ms}},
                                headers={"Retry-After": "3"})
    if scenario == "server-error":
        return openrouter_error(500, "Internal Server Error")
    if scenario == "overloaded":
        return openrouter_error(503, "No allowed providers are available for the selected model.")
    if scenario == "model-missing":
        return openrouter_error(400, f"{model} is not a valid model ID")
    if scenario == "invalid-request":
        return openrouter_error(400, "Input required: specify \"prompt\" or \"messages\"")
    if scenario == "error-in-200":
        return Reply(200, {"error": {"code": 502, "message": "Provider returned error",
                                     "metadata": {"provider_name": "SimProvider",
                                                  "raw": "upstream connection reset"}}})
    if scenario == "garbage":
        return Reply(200, b"<html><body>Bad gateway</body></html>", content_type="text/html")
    return None


def openai_completion(body: dict, scenario: str, *, router: bool, request_id: str) -> Reply:
    """A successful (or filtered) chat completion, streamed or not."""
    model = str(body.get("model") or "gpt-4o-mini")
    messages = body.get("messages") or []
    last_user = next((text_of(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    text, finish = echo_answer(last_user, max_tokens if isinstance(max_tokens, int) else None)
    refusal = None
    if scenario == "filtered":
        text, finish = "", "content_filter"
    elif scenario == "refusal":
        text, finish, refusal = "", "stop", "I'm sorry, but I can't help with that request."
    prompt_tokens = max(1, sum(words(text_of(m.get("content"))) for m in messages)) + 3 * len(messages)
    completion_tokens = words(text) if text else (words(refusal) if refusal else 0)
    usage: dict[str, Any] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                             "total_tokens": prompt_tokens + completion_tokens}
    if router:
        in_price, out_price = _router_prices(model)
        usage["cost"] = round(prompt_tokens * in_price + completion_tokens * out_price, 12)
        usage["is_byok"] = False
    else:
        usage["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        usage["completion_tokens_details"] = {"reasoning_tokens": 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    created = int(time.time())
    response_id = ("gen-" if router else "chatcmpl-") + request_id
    served_model = model if router else (model + "-2024-07-18" if model == "gpt-4o-mini" else model)

    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": text if not refusal else None,
                                   "refusal": refusal}
        if router:
            message["reasoning"] = None
        else:
            message["annotations"] = []
        choice: dict[str, Any] = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        if router:
            choice["native_finish_reason"] = finish
        data: dict[str, Any] = {"id": response_id, "object": "chat.completion", "created": created,
                                "model": served_model, "choices": [choice], "usage": usage}
        if router:
            data["provider"] = "SimProvider"
        else:
            data["service_tier"] = "default"
            data["system_fingerprint"] = "fp_sim"
        return Reply(200, data, {"x-request-id": request_id} if not router else {"X-Generation-Id": response_id})

    base = {"id": response_id, "object": "chat.completion.chunk", "created": created, "model": served_model,
            "system_fingerprint": "fp_sim"}
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: dict, finish_reason: str | None = None) -> dict:
        c = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}
        if include_usage:
            c["usage"] = None
        return c

    events: list[bytes] = []
    if router:
        events.append(b": OPENROUTER PROCESSING\n\n")
    events.append(sse(chunk({"role": "assistant", "content": "", "refusal": None})))
    if router:
        events.append(b": OPENROUTER PROCESSING\n\n")
    if refusal:
        events.append(sse(chunk({"refusal": refusal})))
    for piece in stream_pieces(text) if text else []:
        events.append(sse(chunk({"content": piece})))
    if scenario == "error-in-200":
        error_event = {**base, "error": {"code": 502, "message": "Provider returned error: upstream reset"},
                       "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]}
        events.append(sse(error_event))
        return Reply(200, events=events, headers={"X-Generation-Id": response_id})
    events.append(sse(chunk({}, finish)))
    if include_usage:
        events.append(sse({**base, "choices": [], "usage": usage}))
    events.append(sse("[DONE]"))
    return Reply(200, events=events, headers={"X-Generation-Id": response_id} if router else {})


def _router_prices(model: str) -> tuple[float, float]:
    for model_id, _name, _ctx, prompt, completion in OPENROUTER_MODELS:
        if model_id == model:
            return float(prompt), float(completion)
    return 0.15e-6, 0.6e-6


def openai_models() -> dict:
    return {"object": "list", "data": [
        {"id": m, "object": "model", "created": 1686935002, "owned_by": "system"} for m in OPENAI_MODELS
    ]}


def openrouter_models() -> dict:
    return {"data": [
        {"id": mid, "canonical_slug": mid, "name": name, "created": 1721260800, "description": "simulated",
         "context_length": ctx,
         "architecture": {"modality": "text->text", "input_modalities": ["text"], "output_modalities": ["text"],
                          "tokenizer": "GPT", "instruct_type": None},
         "pricing": {"prompt": prompt, "completion": completion, "request": "0", "image": "0"},
         "top_provider": {"context_length": ctx, "max_completion_tokens": 16384, "is_moderated": True},
         "per_request_limits": None, "supported_parameters": ["max_tokens", "temperature", "top_p"]}
        for mid, name, ctx, prompt, completion in OPENROUTER_MODELS
    ]}


def openrouter_key_info(key: str, scenario: str) -> dict:
    no_credit = scenario in ("no-credits", "insufficient-quota")
    return {"data": {"label": f"{key[:10]}...{key[-3:]}" if len(key) > 13 else "sim-key",
                     "limit": 5 if not no_credit else 0, "limit_reset": None,
                     "limit_remaining": 4.8984355238 if not no_credit else 0,
                     "include_byok_in_limit": False, "usage": 0.1015644762 if not no_credit else 0,
                     "usage_daily": 0.01, "usage_weekly": 0.05, "usage_monthly": 0.1,
                     "is_free_tier": no_credit, "rate_limit": {"requests": 50, "interval": "10s"}}}


# -- Gemini ----------------------------------------------------------------------------------


def gemini_error(status: int, rpc_status: str, message: str, details: list | None = None) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
    if details:
        error["details"] = details
    return Reply(status, {"error": error})


def _quota_details(quota_id: str, delay: str, model: str) -> list:
    return [
        {"@type": "type.googleapis.com/google.rpc.Help",
         "links": [{"description": "Learn more about Gemini API quotas",
                    "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
         "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                         "quotaId": quota_id, "quotaDimensions": {"model": model, "location": "global"},
                         "quotaValue": "10"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
    ]


def gemini_failure(scenario: str, key: str, model: str) -> Reply | None:
    if scenario == "no-key":
        return gemini_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers "
                            "without established identity). Please use API Key or other form of API "
                            "consumer identity to call this API.")
    if scenario == "bad-key":
        return gemini_error(400, "INVALID_ARGUMENT", f"API key not valid. Please pass a valid API key. ({key})", [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
             "message": "API key not valid. Please pass a valid API key."}])
    if scenario == "forbidden":
        return gemini_error(403, "PERMISSION_DENIED", "Permission denied: Consumer 'api_key:…' has been suspended.")
    if scenario in ("daily-quota", "insufficient-quota", "no-credits"):
        return gemini_error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan "
                            "and billing details. Please retry in 48.805646254s.",
                            _quota_details("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "48s", model))
    if scenario.startswith("rate-limited"):
        return gemini_error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan "
                            "and billing details. Please retry in 12.345s.",
                            _quota_details("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "12s", model))
    if scenario == "server-error":
        return gemini_error(500, "INTERNAL", "An internal error has occurred. Please retry or report in "
                            "https://developers.generativeai.google/guide/troubleshooting")
    if scenario == "overloaded":
        return gemini_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
    if scenario == "model-missing":
        return gemini_error(404, "NOT_FOUND", f"models/{model} is not found for API version v1beta, or is not "
                            "supported for generateContent. Call ListModels to see the list of available "
                            "models and their supported methods.")
    if scenario == "invalid-request":
        return gemini_error(400, "INVALID_ARGUMENT", 'Invalid JSON payload received. Unknown name "ref": '
                            "Cannot find field.")
    if scenario == "error-in-200":
        return Reply(200, {"error": {"code": 500, "message": "An internal error has occurred.",
                                     "status": "INTERNAL"}})
    if scenario == "garbage":
        return Reply(200, b"<html><body>Bad gateway</body></html>", content_type="text/html")
    return None


def gemini_completion(body: dict, model: str, scenario: str, *, stream: bool, request_id: str) -> Reply:
    contents = body.get("contents") or []
    last_user = ""
    for content in reversed(contents):
        if content.get("role", "user") == "user":
            last_user = " ".join(str(p.get("text", "")) for p in content.get("parts") or [])
            break
    config = body.get("generationConfig") or {}
    max_tokens = config.get("maxOutputTokens")
    text, finish = echo_answer(last_user, max_tokens if isinstance(max_tokens, int) else None)
    gemini_finish = "MAX_TOKENS" if finish == "length" else "STOP"
    all_text = [p.get("text", "") for c in contents for p in c.get("parts") or []]
    all_text += [p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts") or []]
    prompt_tokens = max(1, sum(words(str(t)) for t in all_text))
    usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": words(text),
             "thoughtsTokenCount": 2, "totalTokenCount": prompt_tokens + words(text) + 2,
             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}]}
    base = {"modelVersion": model, "responseId": request_id}

    if scenario == "prompt-blocked":
        data = {"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
                "usageMetadata": {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens}, **base}
        return Reply(200, events=[sse(data)]) if stream else Reply(200, data)
    if scenario == "filtered":
        data = {"candidates": [{"finishReason": "SAFETY", "index": 0, "safetyRatings": [
            {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": True}]}],
            "usageMetadata": {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens}, **base}
        return Reply(200, events=[sse(data)]) if stream else Reply(200, data)

    if not stream:
        # Two parts, as Gemini sometimes splits an answer: clients must join them.
        head, _, tail = text.partition(" ")
        parts = [{"text": head + (" " if tail else "")}] + ([{"text": tail}] if tail else [])
        return Reply(200, {"candidates": [{"content": {"role": "model", "parts": parts},
                                           "finishReason": gemini_finish, "index": 0}],
                           "usageMetadata": usage, **base})
    events = []
    pieces = stream_pieces(text)
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}
        if last:
            candidate["finishReason"] = gemini_finish
        partial = dict(usage) if last else {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens}
        events.append(sse({"candidates": [candidate], "usageMetadata": partial, **base}))
    return Reply(200, events=events)


def gemini_model(name: str, display: str, methods: list[str]) -> dict:
    return {"name": f"models/{name}", "version": "001", "displayName": display, "description": "simulated",
            "inputTokenLimit": 1048576, "outputTokenLimit": 8192, "supportedGenerationMethods": methods,
            "temperature": 1.0, "maxTemperature": 2.0, "topP": 0.95, "topK": 40}


def gemini_models_page(page_size: int | None, page_token: str | None) -> dict:
    size = min(max(page_size or 50, 1), GEMINI_MAX_PAGE_SIZE)
    start = int(page_token) if page_token and page_token.isdigit() else 0
    page = GEMINI_MODELS[start : start + size]
    data: dict[str, Any] = {"models": [gemini_model(*m) for m in page]}
    if start + size < len(GEMINI_MODELS):
        data["nextPageToken"] = str(start + size)
    return data
