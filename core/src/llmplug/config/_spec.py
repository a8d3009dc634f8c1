"""Config strings: ``provider[:model][?key=value&...]``, parsed into a :class:`ModelSpec`.

Grammar::

    spec     := provider [":" model] ["?" option ("&" option)*]
    option   := key "=" value            (URL-query encoded)

The provider is split off at the **first** ``:`` (``ollama:llama3.2:1b``); options stay
strings here, to be validated by the provider class's pydantic fields when loading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote_plus

from llmplug._secrets import redact_options, redact_query
from llmplug._untrusted import shorten
from llmplug.errors import ConfigError

__all__ = ["NAME_RE", "ModelSpec", "parse_spec"]

#: A provider or alias name: what may stand before the ``:`` of a config string.
# patterns as text: compiled on first use (and cached by re), so importing stays cheap
#: What a provider or alias name may be (``re.match(NAME_RE, name)``).
NAME_RE = r"^[a-z0-9][a-z0-9._-]*$"
_KEY_RE = r"^[A-Za-z_][A-Za-z0-9_]*$"
_EXAMPLE = "e.g. 'openai:gpt-4o-mini?temperature=0'"


@dataclass(frozen=True, repr=False)
class ModelSpec:
    """A parsed config string.

    Attributes:
        provider: The provider (or alias) name.
        model: The model part, if any (everything after the first ``:``).
        options: The query options, URL-decoded, as strings.
    """

    provider: str
    model: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        text = self.provider if self.model is None else f"{self.provider}:{self.model}"
        if self.options:
            pairs = (f"{k}={quote(str(v), safe='')}" for k, v in self.options.items())
            text += "?" + "&".join(pairs)
        return text

    def __repr__(self) -> str:
        return (
            f"ModelSpec(provider={self.provider!r}, model={self.model!r}, "
            f"options={redact_options(self.options)!r})"
        )


def _shown(text: str) -> str:
    """A config string as an error quotes it: secret option values redacted, shortened."""
    return shorten(redact_query(text), 200)


def parse_spec(text: str) -> ModelSpec:
    """Parse ``provider[:model][?key=value&...]``.

    Raises:
        ConfigError: The string does not follow the grammar; the message says where.
    """
    if not isinstance(text, str):
        raise ConfigError(f"a config string must be a str, got {type(text).__name__}; {_EXAMPLE}")
    original = text
    text = text.strip()
    if not text:
        raise ConfigError(f"empty config string; expected provider[:model][?options], {_EXAMPLE}")
    head, sep, query = text.partition("?")
    provider, colon, model = head.partition(":")
    if not re.match(NAME_RE, provider):
        raise ConfigError(
            f"bad provider name {shorten(provider)} in config string {_shown(original)}: use "
            f"lower-case letters, digits, '.', '_' or '-', then ':model', {_EXAMPLE}"
        )
    if colon and not model:
        raise ConfigError(
            f"config string {_shown(original)} has ':' but no model after it; drop the ':' to "
            f"use the provider's default model, or name one ({_EXAMPLE})"
        )
    options: dict[str, Any] = {}
    if sep:
        if not query:
            raise ConfigError(f"config string {_shown(original)} ends with '?' but gives no option")
        for part in query.split("&"):
            key, eq, value = part.partition("=")
            key = unquote_plus(key)
            if not eq or not re.match(_KEY_RE, key):
                raise ConfigError(
                    f"bad option {shorten(redact_query('&' + part)[1:])} in config string "
                    f"{_shown(original)}: options are key=value pairs joined by '&' ({_EXAMPLE})"
                )
            if key in options:
                raise ConfigError(
                    f"option {shorten(key)} is given twice in config string {_shown(original)}"
                )
            options[key] = unquote_plus(value)
    return ModelSpec(provider=provider, model=model or None, options=options)
