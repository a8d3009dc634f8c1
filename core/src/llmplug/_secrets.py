"""Recognising and hiding secrets (API keys, tokens) in text that may be shown or logged."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from llmplug._untrusted import loads_json

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "is_secret_header",
    "is_secret_name",
    "redact_data",
    "redact_headers",
    "redact_options",
    "redact_query",
    "redact_text",
    "redact_url",
]

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


def redact_options(value: Any) -> Any:
    """``value`` with secret-named keys' values redacted, at any depth.

    For option values about to be shown: a JSON object or array given as text (as in a
    config string) is read and redacted too.
    """
    if isinstance(value, dict):
        return {
            k: REDACTED if is_secret_name(str(k)) else redact_options(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_options(v) for v in value]
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return redact_options(loads_json(value))
        except ValueError:  # not JSON, or nested too deeply to be options
            return value
    return value


def redact_query(text: str) -> str:
    """Replace the values of secret-named ``?key=value`` pairs in ``text``."""
    return _QUERY_PAIR.sub(
        lambda m: f"{m['key']}={REDACTED}" if is_secret_name(m["key"][1:]) else m[0], text
    )


# -- HTTP: headers, URLs and free text ---------------------------------------------------

#: Headers that carry credentials, whatever their name says (lower case).
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
    }
)
# ``https://user:password@host`` -> the userinfo part
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s'\"]+@")
# ``Bearer <token>`` anywhere in text (an echoed header, a proxy's error page)
_BEARER = re.compile(r"(?i)\b(?P<scheme>bearer)\s+[A-Za-z0-9._~+/=-]{4,}")


def is_secret_header(name: str) -> bool:
    """Whether an HTTP header carries a secret (``Authorization``, ``x-api-key``...)."""
    return name.lower() in SECRET_HEADERS or is_secret_name(name)


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of ``headers`` with the values of secret headers replaced by ``<redacted>``."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name: REDACTED if is_secret_header(name) else value for name, value in items}


def redact_url(url: object) -> str:
    """``url`` as text with its userinfo and secret-named query values redacted.

    ``https://user:pw@host/v1?key=abc&alt=sse`` becomes
    ``https://<redacted>@host/v1?key=<redacted>&alt=sse``.
    """
    return redact_query(_USERINFO.sub(rf"\g<scheme>{REDACTED}@", str(url)))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secret values, credentials in URLs and auth tokens redacted.

    Args:
        text: Any text that may be shown or logged (an error body, a message).
        secrets: Exact secret values to remove wherever they appear (the API key).
    """
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(rf"\g<scheme> {REDACTED}", text)
    return redact_url(text)


def redact_data(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of decoded JSON ``value`` with secret-named keys and secret values redacted."""
    secrets = tuple(secrets)
    if isinstance(value, dict):
        return {
            k: REDACTED if is_secret_name(str(k)) else redact_data(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(v, secrets) for v in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value
