"""What a request authenticates with, checked before anything is sent.

* The API key: surrounding whitespace stripped (a key read from a file or a mounted
  secret often ends with a newline); a control or non-ASCII character inside it is
  refused up front, since httpx2 would raise an exception quoting the header.
* Header names and values: the same rule for every header a request carries.
* Credentials in a URL (``https://user:pass@host``): sent as ``Authorization: Basic``,
  which no other ``Authorization`` header may compete with (the one rule, see
  :func:`authorization_conflict`).

Every error here names the option or the header, never its value.
"""

from __future__ import annotations

import re
import threading
from base64 import b64encode
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import SecretStr

from llmplug._secrets import header_text_problem, is_secret_header
from llmplug._untrusted import shorten
from llmplug.errors import InvalidOptionError

__all__ = [
    "authorization_conflict",
    "check_headers",
    "checked_key",
    "recent_secrets",
    "remember_secrets",
    "sent_secrets",
    "split_credentials",
]

# an HTTP header name: a token (RFC 9110)
# compiled on first use (and cached by re), so importing stays cheap
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"


def checked_key(value: Any, provider: str, option: str = "api_key") -> SecretStr | None:
    """The API key as a ``SecretStr``, stripped; refused if unfit for a header.

    Args:
        value: The key as given (text or a ``SecretStr``), or ``None``.
        provider: Who is asking, for the error.
        option: Where the key came from (``api_key``, or the env var's name).

    Raises:
        InvalidOptionError: The key is not text, or holds a control or non-ASCII
            character; the message says which character, never the key.
    """
    if value is None:
        return None
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(text, str):
        raise InvalidOptionError(
            f"{option} must be text, got {type(text).__name__}",
            provider=provider,
            option="api_key",
        )
    text = text.strip()
    problem = header_text_problem(text)
    if problem is not None:
        raise InvalidOptionError(
            f"the API key ({option}) {problem} (its value is not shown); an API key is "
            f"ASCII letters, digits and punctuation: check where it was copied from",
            provider=provider,
            option="api_key",
        )
    return SecretStr(text)


def check_headers(headers: Mapping[str, str], provider: str, where: str) -> None:
    """Refuse header names that are not tokens and values that are not header text.

    Args:
        headers: The headers to check.
        provider: Who is asking, for the error.
        where: What holds them, for the error (``extra_headers``, ``the request``).

    Raises:
        InvalidOptionError: A bad name (shown, cut short) or value (never shown).
    """
    # one search over everything first: the per-call cost of a well-formed request
    names, values = "".join(headers), "".join(headers.values())
    if _well_formed(names, values):
        return
    for name, value in headers.items():
        if not isinstance(name, str) or not re.fullmatch(_TOKEN, name):
            raise InvalidOptionError(
                f"{where}: {shorten(name)} is not a header name (letters, digits and "
                f"!#$%&'*+-.^_`|~ only)",
                provider=provider,
                option="extra_headers",
            )
        problem = header_text_problem(value) if isinstance(value, str) else "is not text"
        if problem is not None:
            raise InvalidOptionError(
                f"{where}: the value of header {name!r} {problem} (the value is not shown)",
                provider=provider,
                option="extra_headers",
            )


@lru_cache(maxsize=64)  # a provider sends the same headers on every call
def _well_formed(names: str, values: str) -> bool:
    return re.fullmatch(_TOKEN, names) is not None and header_text_problem(values) is None


@lru_cache(maxsize=64)
def split_credentials(url: str) -> tuple[str, str | None]:
    """``url`` without its ``user:password@`` part, and the ``Basic`` value they make.

    ``("https://h/v1", None)`` for a URL without credentials.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    token = b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return urlunsplit(parts._replace(netloc=host)), f"Basic {token}"


def authorization_conflict(url: str, headers: Mapping[str, str]) -> str | None:
    """Why credentials in ``url`` cannot be sent with ``headers`` (``None``: they can).

    The rule: credentials in a URL are sent as ``Authorization: Basic``; a request
    carries one ``Authorization`` header, so an API key sent in ``Authorization``
    (``Bearer``, as OpenAI's API takes it) or an ``Authorization`` in ``extra_headers``
    cannot be sent with them. Keys sent in another header (``x-api-key``, ``api-key``)
    go along.
    """
    if "@" not in url or split_credentials(url)[1] is None:
        return None
    clash = next((name for name in headers if name.lower() == "authorization"), None)
    if clash is None:
        return None
    return (
        "base_url holds credentials (user:password@), which are sent as "
        "'Authorization: Basic', and this request also sends an Authorization header "
        "(the API key, or extra_headers); a request carries only one. Remove the "
        "credentials from base_url, or send no key (api_key='') and no Authorization "
        "in extra_headers"
    )


def sent_secrets(headers: Mapping[str, str]) -> tuple[str, ...]:
    """The secret values among ``headers``: whole values and their tokens.

    ``Authorization: Bearer sk-1`` gives ``Bearer sk-1`` and ``sk-1``.
    """
    found: list[str] = []
    for name, value in headers.items():
        if is_secret_header(name) and value:
            found.append(value)
            _scheme, space, token = value.partition(" ")
            if space and token:
                found.append(token)
    return tuple(found)


# the secrets recently sent (keys, secret headers, credentials, cookies), for redacting
# them by value where no call is at hand: the log filter, an error a provider builds
_recent: dict[tuple[str, ...], None] = {}
_RECENT_LIMIT = 64
_recent_lock = threading.Lock()  # only taken for a set not seen yet


def remember_secrets(secrets: tuple[str, ...]) -> None:
    """Note the secrets a call sends (the last 64 sets are kept)."""
    if secrets and secrets not in _recent:
        with _recent_lock:
            _recent[secrets] = None
            if len(_recent) > _RECENT_LIMIT:
                _recent.pop(next(iter(_recent)), None)


def recent_secrets() -> tuple[str, ...]:
    """Every secret recently sent, by any instance."""
    return tuple(secret for group in list(_recent) for secret in group)
