"""Secrets never survive into stored or shown text."""

from __future__ import annotations

import pytest

from webapp.redaction import MAX_MESSAGE_CHARS, mask_key, redact


@pytest.mark.parametrize(("key", "hint"), [
    ("sk-proj-abcdefghijklmnopqrstuvwxyza1b2", "sk-…a1b2"),
    ("sk-or-v1-0123456789abcdef0123456789abcdef", "sk-…cdef"),
    ("AIzaSyA1234567890abcdefghijklmnopqrs", "AIz…pqrs"),
    ("acm-0123456789abcdefXYZW", "acm-…XYZW"),
    ("0123456789abcdef", "…cdef"),  # no vendor prefix to show
    ("short-key", "****"),
    ("", ""),
    (None, ""),
])
def test_mask_key(key, hint):
    assert mask_key(key) == hint


@pytest.mark.parametrize("secret", [
    "sk-abcdefghijklmnop1234",
    "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
    "sk-or-v1-0123456789abcdef0123456789abcdef",
    "AIzaSyA1234567890abcdefghijklmnopqrs",
    "acm-0123456789abcdefghij",
])
def test_key_shaped_strings_are_masked(secret):
    text = f"Incorrect API key provided: {secret}. You can find your API key at https://example."
    out = redact(text)
    assert secret not in out
    assert mask_key(secret) in out
    assert out.startswith("Incorrect API key provided: ")


def test_bearer_tokens_and_query_keys():
    out = redact("headers: Authorization: Bearer abc.def-ghi_jkl123 url=https://x/y?key=AIzaXYZ&alt=sse")
    assert "abc.def-ghi_jkl123" not in out and "AIzaXYZ" not in out
    assert "Bearer abc…l123" in out and "?key=[redacted]&alt=sse" in out


def test_given_secrets_are_masked_even_if_not_key_shaped():
    secret = "local-vllm-token-987654321"
    out = redact(f"denied for {secret} (and {secret})", secrets=[secret, None, ""])
    assert secret not in out and out.count("loc…4321") == 2


def test_truncates_to_500_characters():
    out = redact("x" * 2000)
    assert len(out) == MAX_MESSAGE_CHARS and out.endswith("…")
    assert len(redact("y" * 2000, limit=None)) == 2000


def test_text_without_secrets_is_unchanged():
    text = "The model `gpt-4o` does not exist or you do not have access to it."
    assert redact(text) == text
    assert redact(None) == ""


def test_masking_is_idempotent():
    once = redact("key sk-proj-abcdefghijklmnopqrstuvwxyz")
    assert redact(once) == once
