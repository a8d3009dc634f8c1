"""Recognising and hiding secrets (API keys, tokens) in text that may be shown or logged."""

from __future__ import annotations

import re
from base64 import b64encode
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from llmplug._untrusted import loads_json

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "header_text_problem",
    "is_secret_header",
    "is_secret_name",
    "redact_data",
    "redact_header_pairs",
    "redact_headers",
    "redact_options",
    "redact_query",
    "redact_text",
    "redact_url",
    "secret_forms",
    "url_secrets",
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
# patterns as text: compiled on first use (and cached by re), so importing stays cheap
_WORDS = r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])"
# ``?api_key=sk-...`` / ``&token=...`` inside a config string or URL
_QUERY_PAIR = r"(?P<key>[?&][\w.-]+)=[^&\s'\"]*"


@lru_cache(maxsize=1024)
def is_secret_name(name: str) -> bool:
    """Whether an option or parameter name holds a secret.

    ``api_key``, ``apiKey``, ``access_token``, ``client_secret``, ``key``: yes;
    ``max_tokens``, ``top_k``: no (whole words are compared, not substrings).
    """
    words = re.split(_WORDS, name)
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
    return re.sub(
        _QUERY_PAIR,
        lambda m: f"{m['key']}={REDACTED}" if is_secret_name(m["key"][1:]) else m[0],
        text,
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
_USERINFO = r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s'\"]+@"
# ``Bearer <token>`` anywhere in text (an echoed header, a proxy's error page)
_BEARER = r"(?i)\b(?P<scheme>bearer)\s+[A-Za-z0-9._~+/=-]{4,}"


@lru_cache(maxsize=512)
def is_secret_header(name: str) -> bool:
    """Whether an HTTP header carries a secret (``Authorization``, ``x-api-key``...)."""
    return name.lower() in SECRET_HEADERS or is_secret_name(name)


# what a header may hold as httpx2 sends it (ASCII, no control character but tab)
_BAD_HEADER_CHAR = r"[^\t\x20-\x7e]"


def header_text_problem(text: str) -> str | None:
    """What makes ``text`` unfit for an HTTP header value (``None``: nothing).

    The answer never quotes ``text``, which may be a secret.
    """
    if text.isascii() and text.replace("\t", " ").isprintable():
        return None  # the usual case, without a pattern: ASCII from space to "~", and tabs
    found = re.search(_BAD_HEADER_CHAR, text)
    if found is None:
        return None
    char = found[0]
    if char in "\r\n":
        return f"holds a line break at character {found.start() + 1}"
    if ord(char) < 0x80:
        return f"holds a control character at character {found.start() + 1}"
    return f"holds a non-ASCII character at character {found.start() + 1}"


# ``(b'Set-Cookie', b'id=...')``: headers as httpcore2's debug log prints them
_HEADER_PAIR = (
    r"""\((?P<q1>b?['"])(?P<name>[^'"]{1,100})['"],\s*"""
    r"""(?P<q2>b?['"])(?P<value>(?:\\.|[^'"\\])*)['"]\)"""
)


def redact_header_pairs(text: str) -> str:
    """``text`` with the values of secret headers printed as ``(name, value)`` redacted."""
    return re.sub(
        _HEADER_PAIR,
        lambda m: (
            f"({m['q1']}{m['name']}{m['q1'][-1]}, {m['q2']}{REDACTED}{m['q2'][-1]})"
            if is_secret_header(m["name"])
            else m[0]
        ),
        text,
    )


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of ``headers`` with the values of secret headers replaced by ``<redacted>``."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name: REDACTED if is_secret_header(name) else value for name, value in items}


def redact_url(url: object) -> str:
    """``url`` as text with its userinfo and secret-named query values redacted.

    ``https://user:pw@host/v1?key=abc&alt=sse`` becomes
    ``https://<redacted>@host/v1?key=<redacted>&alt=sse``.
    """
    return redact_query(re.sub(_USERINFO, rf"\g<scheme>{REDACTED}@", str(url)))


def secret_forms(secret: str) -> tuple[str, ...]:
    r"""The ways ``secret`` may appear in text: as is, stripped, and escaped as in a repr.

    A key with a trailing newline shows up as ``sk-...\n`` in an exception that
    quotes the header it was sent in.
    """
    forms = {secret, secret.strip(), repr(secret)[1:-1], repr(secret.encode("utf-8"))[2:-1]}
    return tuple(sorted((f for f in forms if len(f) >= 4), key=len, reverse=True))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secret values, credentials in URLs and auth tokens redacted.

    Args:
        text: Any text that may be shown or logged (an error body, a message).
        secrets: Exact secret values to remove wherever they appear (the API key), in
            each of their :func:`secret_forms`.
    """
    for secret in secrets:
        if secret and len(secret.strip()) >= 4:
            for form in secret_forms(secret):
                if form in text:
                    text = text.replace(form, REDACTED)
    text = re.sub(_BEARER, rf"\g<scheme> {REDACTED}", text)
    return redact_url(text)


@lru_cache(maxsize=64)
def url_secrets(url: str) -> tuple[str, ...]:
    """The secrets a request to ``url`` sends: its credentials and secret query values.

    ``https://user:pw@host/?key=k`` sends ``user``, ``pw``, ``user:pw``, their
    ``Basic`` encoding and ``k``. Values shorter than 4 characters are left out (they
    would redact common words).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    found: list[str] = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        plain = f"{unquote(user)}:{unquote(password)}"
        found += [userinfo, unquote(user), unquote(password), plain]
        found.append(b64encode(plain.encode("utf-8")).decode("ascii"))
    found += [value for name, value in parse_qsl(parts.query) if is_secret_name(name)]
    return tuple(dict.fromkeys(value for value in found if len(value) >= 4))


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
