"""Recognising and hiding secrets (API keys, tokens) in text that may be shown or logged."""

from __future__ import annotations

import re

__all__ = ["REDACTED", "is_secret_name", "redact_query"]

REDACTED = "<redacted>"
_HINTS = (
    "key",
    "keys",
    "token",
    "secret",
    "password",
    "passwd",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "cookie",
)
_WORDS = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# ``?api_key=sk-...`` / ``&token=...`` inside a config string or URL
_QUERY_PAIR = re.compile(r"(?P<key>[?&][\w.-]+)=[^&\s'\"]*")


def is_secret_name(name: str) -> bool:
    """Whether an option or parameter name holds a secret.

    ``api_key``, ``apiKey``, ``access_token``, ``client_secret``, ``key``: yes;
    ``max_tokens``, ``top_k``: no (whole words are compared, not substrings).
    """
    words = _WORDS.split(name)
    return any(word.lower().endswith(hint) for word in words if word for hint in _HINTS)


def redact_query(text: str) -> str:
    """Replace the values of secret-named ``?key=value`` pairs in ``text``."""
    return _QUERY_PAIR.sub(
        lambda m: f"{m['key']}={REDACTED}" if is_secret_name(m["key"][1:]) else m[0], text
    )
