"""llmplug-cache: repeated calls answered from a persistent cache (SQLite).

Calls opt in: on the call (``llm.chat(messages, plugins={"cache": True})``, or with
options: ``{"cache": {"ttl": 60, "refresh": True}}``), or on the model
(``llmplug.load("openai:gpt-4o-mini?plugins=cache")``). A call is the same as an
earlier one when it has the same provider, model, messages (or prompt) and the options
that change the answer (not timeouts, retries or keys). A streamed answer is replayed
as a stream, piece by piece; a plain call can be answered by a stream's answer and the
other way round. Other hooks see ``call.cache_hit`` (the call log records it; the cost
plugin makes a hit cost 0).

The cache is ``responses.db`` in the user's cache directory (:func:`cache_path`);
``LLMPLUG_CACHE_PATH``, or the config file's ``[plugins.cache]`` table (``path``,
``ttl`` in seconds, ``max_entries``, ``max_bytes``), change that. Threads, tasks and
processes may share it; the hooks only read it, on the caller's thread, and the cache's
own thread writes the answers kept.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import llmplug
from llmplug.errors import ConfigError
from llmplug_cache._keys import IGNORED_OPTIONS, cache_key
from llmplug_cache._plugin import NAME, ResponseCache
from llmplug_cache._store import CacheStore

if TYPE_CHECKING:
    from llmplug import CallContext

__all__ = [
    "IGNORED_OPTIONS",
    "NAME",
    "PATH_ENV",
    "CacheStore",
    "ResponseCache",
    "after_call",
    "answer_call",
    "cache_key",
    "cache_path",
    "default_cache",
    "on_stream_chunk",
    "register_commands",
]

LLMPLUG_PLUGIN_API = 1
#: Where the cache is, instead of ``responses.db`` in the user's cache directory.
PATH_ENV = "LLMPLUG_CACHE_PATH"


# the config file's [plugins.cache] keys: what a valid value is, and an example
_CONFIG_KEYS = {
    "path": ("a file path", 'path = "~/llm-cache.db"'),
    "ttl": ("a number of seconds > 0", "ttl = 86400 (one day)"),
    "max_entries": ("a whole number > 0", "max_entries = 10000"),
    "max_bytes": ("a whole number of bytes > 0", "max_bytes = 268435456 (256 MB)"),
}
# the table last checked, by the config file it came from (read_config keeps one object
# per file while it is unchanged): checked once, not on every call
_checked: list[Any] = [None, {}]


def _valid(key: str, value: Any) -> bool:
    if key == "path":
        return isinstance(value, str) and bool(value.strip())
    if isinstance(value, bool):
        return False
    if key == "ttl":
        return isinstance(value, int | float) and value > 0
    return isinstance(value, int) and value > 0


def _settings() -> dict[str, Any]:
    """The config file's ``[plugins.cache]`` table, checked.

    Raises:
        ConfigError: An unknown key, or a value of the wrong kind (naming the file, the
            key and what a valid value looks like).
    """
    from llmplug.config import read_config

    config = read_config()
    if config is _checked[0]:
        return dict(_checked[1])
    table = config.plugins.get(NAME, {})
    where = f"config file {str(config.path)!r}: [plugins.{NAME}]"
    unknown = sorted(set(table) - set(_CONFIG_KEYS))
    if unknown:
        raise ConfigError(f"{where} has unknown key(s) {unknown}; valid: {', '.join(_CONFIG_KEYS)}")
    for key, value in table.items():
        if not _valid(key, value):
            kind, example = _CONFIG_KEYS[key]
            raise ConfigError(f"{where} {key} must be {kind}, e.g. {example}; got {value!r}")
    _checked[:] = [config, dict(table)]
    return dict(table)


def cache_path() -> Path:
    """Where the cache file is.

    ``$LLMPLUG_CACHE_PATH``, else ``path`` in the config file's ``[plugins.cache]``,
    else ``responses.db`` in platformdirs' ``user_cache_dir("llmplug")``
    (``~/.cache/llmplug`` on Linux, honouring ``$XDG_CACHE_HOME``).

    Raises:
        ConfigError: The config file's ``[plugins.cache]`` table is not valid.
    """
    explicit = os.environ.get(PATH_ENV)
    if explicit:
        return Path(explicit).expanduser()
    configured = _settings().get("path")
    if isinstance(configured, str) and configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("llmplug", appauthor=False)) / "responses.db"


_default: ResponseCache | None = None


def default_cache() -> ResponseCache:
    """The cache this module's hooks use, set up from the config file on first use.

    Raises:
        ConfigError: The config file's ``[plugins.cache]`` table is not valid (raised
            again on each use until it is fixed: nothing is cached meanwhile).
    """
    global _default
    if _default is None:
        settings = _settings()
        options: dict[str, Any] = {}
        for key in ("ttl", "max_entries", "max_bytes"):
            if key in settings:
                options[key] = settings[key]
        _default = ResponseCache(cache_path, **options)
    return _default


@llmplug.hookimpl(tryfirst=True)
def answer_call(call: CallContext) -> Any:
    """Answer a call that opted in from the cache, if its answer is kept."""
    if call.plugins.get(NAME) in (None, False) and call.parent is None:
        return None  # the common case: not a cached call, and no parent to tell
    return default_cache().answer_call(call)


@llmplug.hookimpl
def on_stream_chunk(call: CallContext, chunk: Any) -> None:
    """Keep a cached stream's deltas."""
    if _default is not None and _default.key in call.state:
        _default.on_stream_chunk(call, chunk)


@llmplug.hookimpl
def after_call(call: CallContext, response: Any) -> None:
    """Keep the answer of a call that opted in."""
    if _default is not None and _default.key in call.state:
        _default.after_call(call, response)


@llmplug.hookimpl
def register_commands(register: Callable[..., None]) -> None:
    """Add ``llmplug cache`` (where the cache is, how big, clear it)."""
    register("cache", _command, help="show or clear the response cache", configure=_configure)


def _configure(parser: Any) -> None:
    parser.add_argument("--path", action="store_true", help="print where the cache is")
    parser.add_argument("--clear", action="store_true", help="forget every kept answer")


def _command(args: Any) -> int:
    _settings()  # a bad [plugins.cache] table is an error here too (exit 2, naming the key)
    path = cache_path()
    if args.path:
        print(path)
        return 0
    if not path.exists():
        print(f"the cache is empty ({path})")
        return 0
    cache = default_cache()
    if args.clear:
        print(f"forgot {cache.clear()} answer(s) ({path})")
        return 0
    entries, size = cache.store.stats()
    print(f"{entries} answer(s), {size} bytes ({path})")
    return 0
