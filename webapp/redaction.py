"""Mask secrets in text before it is stored, logged or shown."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_MESSAGE_CHARS = 500

# Key-shaped strings. Order matters only for readability: each match is masked on its own.
_KEY_PATTERNS = [
    re.compile(r"\bsk-(?:proj-|or-v1-|ant-|svcacct-|admin-)?[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bAIza[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bacm-[A-Za-z0-9_\-]{8,}"),
]
_BEARER = re.compile(r"(\bBearer\s+)([A-Za-z0-9._~+/=\-]{8,})", re.IGNORECASE)
_QUERY_KEY = re.compile(r"([?&](?:key|api_key|apikey)=)([^&\s\"']+)", re.IGNORECASE)


def mask_key(key: str | None) -> str:
    """A hint that identifies a key without revealing it: ``sk-…a1b2``.

    Keeps at most the first three letters of the prefix (plus its dash) and the last four
    characters; keys shorter than 12 characters are fully masked.
    """
    if not key:
        return ""
    key = str(key)
    if len(key) < 12:
        return "****"
    head = re.match(r"[A-Za-z]{1,3}-?", key)
    prefix = head.group(0) if head else ""
    return f"{prefix}…{key[-4:]}"


def truncate(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def redact(text: object, secrets: Iterable[str | None] = (), *, limit: int | None = MAX_MESSAGE_CHARS) -> str:
    """Return ``text`` with every key-shaped string and every given secret masked.

    The result is cut to ``limit`` characters (500 by default, the size stored for error
    messages); pass ``limit=None`` to keep the full length.
    """
    if text is None:
        return ""
    out = str(text)
    # Explicit secrets first, longest first, so a key that is a prefix of another is not
    # left half-visible.
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        out = out.replace(secret, mask_key(secret))
    out = _BEARER.sub(lambda m: m.group(1) + mask_key(m.group(2)), out)
    out = _QUERY_KEY.sub(lambda m: m.group(1) + "[redacted]", out)
    for pattern in _KEY_PATTERNS:
        out = pattern.sub(lambda m: mask_key(m.group(0)), out)
    if limit is not None:
        out = truncate(out, limit)
    return out
