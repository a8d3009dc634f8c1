"""Where the Ollama server is: the ``OLLAMA_HOST`` convention, as Ollama's clients read it.

``OLLAMA_HOST`` may be a full URL (``https://ollama.example.com``), a host with a port
(``10.0.0.5:11434``), a bare host (``gpu-box``), a bare port (``:8080``) or an IPv6
address (``[::1]:11434``): a value without a scheme is ``http``; without a port, the port
is 11434 (a URL keeps its scheme's: 80, 443); a path is kept (a reverse proxy).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "HOST_ENV",
    "is_loopback",
    "ollama_host",
    "parse_host",
    "redact",
]

#: The env var Ollama's server and clients read.
HOST_ENV = "OLLAMA_HOST"
#: The port Ollama listens on unless told otherwise.
DEFAULT_PORT = 11434
#: The server's address when ``OLLAMA_HOST`` is not set.
DEFAULT_HOST = f"http://localhost:{DEFAULT_PORT}"

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"})


def parse_host(value: str | None) -> str:
    """The base URL for an ``OLLAMA_HOST`` value (``None`` or empty: :data:`DEFAULT_HOST`).

    Raises:
        ValueError: The value has a scheme other than http or https, or a bad port.
    """
    text = (value or "").strip()
    if not text:
        return DEFAULT_HOST
    scheme, sep, rest = text.partition("://")
    if sep:
        if scheme.lower() not in ("http", "https"):
            raise ValueError(
                f"{HOST_ENV}/base_url {value!r}: the scheme must be http or https "
                f"(or none: host[:port], as {HOST_ENV} usually is)"
            )
        # a URL: its own port, or the scheme's (80, 443)
        return f"{scheme.lower()}://{rest.rstrip('/')}"
    parts = urlsplit(f"http://{text}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise ValueError(f"{HOST_ENV}/base_url {value!r}: {exc}") from None
    host = parts.hostname or "localhost"
    if ":" in host:  # IPv6: urlsplit drops the brackets
        host = f"[{host}]"
    path = parts.path.strip("/")
    return f"http://{host}:{port}" + (f"/{path}" if path else "")


def ollama_host() -> str:
    """The base URL from ``OLLAMA_HOST``, or :data:`DEFAULT_HOST` when it is not set."""
    return parse_host(os.environ.get(HOST_ENV))


def is_loopback(base_url: str) -> bool:
    """Whether ``base_url`` points at this machine (where ``ollama serve`` would run)."""
    try:
        host = urlsplit(base_url).hostname or ""
    except ValueError:
        return False
    return host.lower() in _LOOPBACK or host.startswith("127.")


def redact(base_url: str) -> str:
    """``base_url`` without the credentials it may hold (``https://user:pass@host``)."""
    try:
        parts = urlsplit(base_url)
    except ValueError:
        return "<invalid URL>"
    if parts.username is None and parts.password is None:
        return base_url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()
