"""The call context: one call to an LLM endpoint, as the lifecycle hooks see it.

Also the settings a call carries for plugins: ``llm.chat(messages, plugins={"log":
False}, conversation_id="...")`` (the two reserved per-call keywords, which never reach
the provider), and a model's own (``"openai:gpt-4o?plugins=cache"``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from llmplug.llm._options import shown_options

if TYPE_CHECKING:
    from llmplug.llm._base import LLM
    from llmplug.types._messages import ChatMessage
    from llmplug.types._responses import ChatResponse, CompletionResponse, Usage

__all__ = [
    "CHAT_ENDPOINTS",
    "CONVERSATION_KEYWORD",
    "PLUGINS_KEYWORD",
    "CallContext",
    "check_conversation_id",
    "plugin_settings",
]

#: The endpoints that take messages (the others take a prompt).
CHAT_ENDPOINTS = frozenset({"chat", "stream_chat", "achat", "astream_chat"})
#: The per-call keyword holding settings for plugins (``plugins={"log": False}``).
PLUGINS_KEYWORD = "plugins"
#: The per-call keyword naming the conversation a call belongs to.
CONVERSATION_KEYWORD = "conversation_id"

# compiled on first use (and cached by re), so importing stays cheap
_PLUGIN_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
_SETTINGS_EXAMPLE = (
    "e.g. plugins='cache' (on), '-log' (off), 'cache,-log', or a mapping "
    "{'cache': {'ttl': 60}, 'log': False}"
)


def plugin_settings(value: Any) -> dict[str, Any]:
    """Read settings for plugins: ``{plugin name: True | False | {option: value}}``.

    Accepts that mapping, or text as a config string carries it: ``"cache"`` (on),
    ``"-log"`` (off), ``"cache,-log"``, or a JSON object (``{"cache": {"ttl": 60}}``).
    ``None`` is no settings. ``False`` switches a plugin off for the call (llmplug
    skips its hooks); ``True`` or a mapping of options is read by the plugin itself.

    Raises:
        ValueError: Not one of those forms; the message shows the forms accepted.
    """
    if value is None:
        return {}
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            # lazy for lightness: JSON only when the settings are written as JSON
            from llmplug._untrusted import loads_json

            try:
                value = loads_json(text)
            except ValueError as exc:
                raise ValueError(f"plugin settings are not valid JSON: {exc}") from None
        else:
            parsed: dict[str, Any] = {}
            for part in text.split(","):
                part = part.strip()
                if not part:
                    continue
                on = not part.startswith("-")
                parsed[part.lstrip("+-").strip()] = on
            value = parsed
    if not isinstance(value, Mapping):
        raise ValueError(f"plugin settings must be a mapping or text, {_SETTINGS_EXAMPLE}")
    settings: dict[str, Any] = {}
    for name, setting in value.items():
        if not isinstance(name, str) or not re.match(_PLUGIN_NAME, name):
            shown = repr(name)[:60]
            raise ValueError(f"bad plugin name {shown} in plugin settings, {_SETTINGS_EXAMPLE}")
        if isinstance(setting, Mapping) and all(isinstance(key, str) for key in setting):
            settings[name] = dict(setting)
        elif isinstance(setting, bool):
            settings[name] = setting
        else:
            raise ValueError(
                f"the setting for plugin {name!r} must be true, false or a mapping of its "
                f"options, got {type(setting).__name__}"
            )
    return settings


def check_conversation_id(value: Any) -> str | None:
    """A conversation id as a call may carry it: a non-empty ``str`` or ``None``.

    Raises:
        ValueError: Anything else.
    """
    if value is None or (isinstance(value, str) and value and len(value) <= 200):
        return value
    raise ValueError(
        f"conversation_id must be a non-empty str of at most 200 characters (or None), "
        f"got {type(value).__name__}"
    )


# the model name of each LLM seen lately, with the ``__dict__`` it was read from: an LLM
# validating assignments (llmplug's do) gets a new ``__dict__`` on each one, so the name
# is current while that dict is the LLM's. The dict kept cannot be freed, so its
# identity cannot pass to another LLM's. Other LLMs are read every time.
_model_names: dict[int, tuple[dict[str, Any], str]] = {}


def model_name(llm: LLM) -> str:
    """``llm.metadata.model_name``, kept per LLM while its fields are unchanged."""
    values = llm.__dict__
    kept = _model_names.get(id(llm))
    if kept is not None and kept[0] is values:
        return kept[1]
    name = llm.metadata.model_name
    if type(llm).model_config.get("validate_assignment"):
        if len(_model_names) >= 256:
            _model_names.clear()
        _model_names[id(llm)] = (values, name)
    return name


class CallContext:
    """One call to an LLM endpoint, as the lifecycle hooks see it.

    Hooks may change ``messages``, ``prompt`` and ``kwargs`` in ``before_call`` and keep
    their own per-call data in ``state``. A plugin that answers from a cache sets
    ``cache_hit``.

    A call made while another call's implementation runs (a route's call of one of its
    models, a structured call's call of the model) has that call as ``parent`` and
    inherits its ``plugins`` settings and ``conversation_id``.

    Attributes:
        llm: The LLM instance called.
        endpoint: ``"chat"``, ``"complete"``, ``"stream_chat"``, ``"stream_complete"``,
            ``"achat"``, ``"acomplete"``, ``"astream_chat"`` or ``"astream_complete"``.
        messages: The messages sent (chat endpoints), system prompt applied.
        prompt: The prompt sent (completion endpoints), formatting applied.
        kwargs: Per-call options passed to the endpoint.
        provider: The provider name the LLM was loaded as (or its class name).
        started: ``time.perf_counter()`` at the start of the call.
        ended: ``time.perf_counter()`` at the end, once it ended.
        response: The final response (for streams: the last chunk), once there is one.
        error: The exception the call failed with, if it did.
        cancelled: True when a stream's consumer stopped before its end.
        chunks: How many chunks a stream delivered so far.
        first_chunk_at: ``time.perf_counter()`` when a stream's first chunk arrived.
        answered_by: The plugin whose ``answer_call`` answered, if one did.
        cache_hit: True when the answer came from a cache (set by the plugin that
            answered it; ``answered_by`` names it).
        conversation_id: The conversation the call belongs to, if the caller said
            (``conversation_id=`` on the call) or the parent call had one.
        plugins: Settings for plugins, by plugin name: the model's (its ``plugins``
            option), then the parent call's, then the call's own (``plugins=`` on the
            call). ``True`` or a dict of options is for the plugin to read
            (``call.plugins.get("cache")``); a plugin set to ``False`` is skipped.
        parent: The call whose implementation made this call, if any.
        state: Free space for plugins (keep per-call data here, keyed by plugin).
    """

    __slots__ = (
        "answered_by",
        "cache_hit",
        "cancelled",
        "chunks",
        "conversation_id",
        "ended",
        "endpoint",
        "error",
        "first_chunk_at",
        "kwargs",
        "llm",
        "messages",
        "parent",
        "plugins",
        "prompt",
        "provider",
        "response",
        "started",
        "state",
    )

    def __init__(
        self,
        llm: LLM,
        endpoint: str,
        *,
        messages: list[ChatMessage] | None = None,
        prompt: str | None = None,
        kwargs: dict[str, Any] | None = None,
        provider: str = "",
        plugins: dict[str, Any] | None = None,
        conversation_id: str | None = None,
        parent: CallContext | None = None,
    ) -> None:
        self.llm = llm
        self.endpoint = endpoint
        self.messages = messages
        self.prompt = prompt
        self.kwargs: dict[str, Any] = {} if kwargs is None else kwargs
        self.provider = provider
        self.started = time.perf_counter()
        self.ended: float | None = None
        self.response: ChatResponse | CompletionResponse | None = None
        self.error: BaseException | None = None
        self.cancelled = False
        self.chunks = 0
        self.first_chunk_at: float | None = None
        self.answered_by: str | None = None
        self.cache_hit = False
        self.conversation_id = conversation_id
        self.plugins: dict[str, Any] = {} if plugins is None else plugins
        self.parent = parent
        self.state: dict[str, Any] = {}

    def __repr__(self) -> str:
        return (
            f"CallContext(endpoint={self.endpoint!r}, provider={self.provider!r}, "
            f"chunks={self.chunks}, cancelled={self.cancelled}, latency={self.latency})"
        )

    @property
    def is_async(self) -> bool:
        """True for ``achat``, ``acomplete``, ``astream_chat``, ``astream_complete``."""
        return self.endpoint.startswith("a")

    @property
    def is_stream(self) -> bool:
        """True for the four streaming endpoints."""
        return "stream" in self.endpoint

    @property
    def is_chat(self) -> bool:
        """True for chat endpoints (``messages`` is set), false for completion ones."""
        return self.endpoint in CHAT_ENDPOINTS

    @property
    def model(self) -> str:
        """The model name from the LLM's metadata (read once while its fields are the same).

        Hooks read it on every call and ``metadata`` builds a new object on each read,
        so the name is kept per LLM until a field of the LLM is assigned: a provider's
        ``metadata.model_name`` follows from its fields, as every provider's does.
        """
        return model_name(self.llm)

    @property
    def latency(self) -> float | None:
        """Seconds from the start to the end of the call, once it ended."""
        return None if self.ended is None else self.ended - self.started

    @property
    def time_to_first_chunk(self) -> float | None:
        """Seconds from the start of a stream to its first chunk, once it came."""
        return None if self.first_chunk_at is None else self.first_chunk_at - self.started

    def options(self) -> dict[str, Any]:
        """The call's options, secrets redacted: for logs and traces.

        The options the LLM was loaded with (its model, and every option set
        explicitly), then the call's own keyword arguments over them; values as JSON
        would hold them. Secrets (``SecretStr`` options, secret-looking names, keys in
        a URL) are ``"<redacted>"``. Builds a new dict on each use: call it when the
        call ended, or off the hot path.
        """
        return shown_options(self.llm, self.kwargs)

    @property
    def usage(self) -> Usage | None:
        """The token usage of the response, if the provider reported it."""
        return None if self.response is None else self.response.usage
