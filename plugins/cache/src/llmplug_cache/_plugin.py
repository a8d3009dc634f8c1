"""The response cache as a hook plugin: :class:`ResponseCache`.

``answer_call`` looks the call up and answers it from the cache (setting
``call.cache_hit``); ``after_call`` keeps the provider's answer. Only calls that opt in
are cached: ``plugins={"cache": True}`` (or options, ``{"cache": {"ttl": 60}}``) on the
call, or ``?plugins=cache`` on the model. A call that made calls of its own (a route, a
structured call) is not kept: the calls it made are, and answer it next time. Each
instance keeps its per-call data in ``call.state`` under a key of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import llmplug
from llmplug_cache._keys import answer_from, cache_key, kept_answer
from llmplug_cache._store import CacheStore

if TYPE_CHECKING:
    from llmplug import CallContext

__all__ = ["NAME", "ResponseCache"]

#: The plugin's name in ``plugins={...}`` settings.
NAME = "cache"
_COMPOSITE = "llmplug-cache-composite"
_OPTIONS = ("ttl", "refresh")
_log = logging.getLogger("llmplug_cache")


class _Pending:
    """A cached call in progress: its key, its ttl, and a stream's deltas so far."""

    __slots__ = ("deltas", "key", "ttl")

    def __init__(self, key: str, ttl: float | None) -> None:
        self.key = key
        self.ttl = ttl
        self.deltas: list[str] = []


class ResponseCache:
    """A hook plugin answering repeated calls from a SQLite file.

    The ``llmplug_cache`` module registers one (see :func:`llmplug_cache.cache_path`);
    make your own to cache elsewhere (``llmplug.register_plugin(ResponseCache(path))``).

    Args:
        path: The cache file, or a function giving it (read on the first cached call).
        ttl: Seconds an answer is kept (``None``: until evicted); a call's
            ``{"cache": {"ttl": ...}}`` overrides it.
        max_entries: The most answers kept.
        max_bytes: The most bytes of answers kept.
        name: The name calls opt in with (``plugins={name: True}``).

    Raises:
        ValueError: ``ttl`` is not a number of seconds > 0 (or ``None``), or a bound is
            not a whole number > 0.
    """

    def __init__(
        self,
        path: Path | Callable[[], Path],
        *,
        ttl: float | None = 7 * 24 * 3600,
        max_entries: int = 10_000,
        max_bytes: int = 256 * 1024 * 1024,
        name: str = NAME,
    ) -> None:
        if ttl is not None and (
            isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0
        ):
            raise ValueError(f"ttl must be a number of seconds > 0, or None; got {ttl!r}")
        for bound, value in (("max_entries", max_entries), ("max_bytes", max_bytes)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{bound} must be a whole number > 0, got {value!r}")
        self.path: Callable[[], Path] = path if callable(path) else (lambda: Path(path))
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.name = name
        self._store: CacheStore | None = None
        #: This instance's key in ``call.state`` (several instances never mix their data).
        self.key = f"llmplug-cache:{id(self):x}"

    @property
    def store(self) -> CacheStore:
        """The cache file (opened on first use)."""
        path = self.path()
        store = self._store
        if store is None or store.path != path:
            if store is not None:
                store.close()  # the path changed (the env or config file said so)
            store = CacheStore(path, max_entries=self.max_entries, max_bytes=self.max_bytes)
            self._store = store
        return store

    def _setting(self, call: CallContext) -> dict[str, Any] | None:
        setting = call.plugins.get(self.name)
        if setting is None or setting is False:
            return None
        options: dict[str, Any] = {} if setting is True else setting
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ValueError(
                f"unknown cache option(s) {unknown}; the cache takes {', '.join(_OPTIONS)}"
            )
        return options

    @llmplug.hookimpl(tryfirst=True)  # a cache answers before anything else would
    def answer_call(self, call: CallContext) -> Any:
        """The kept answer, if the call opted in and one was kept (``call.cache_hit``)."""
        options = self._setting(call)
        if call.parent is not None:
            call.parent.state[_COMPOSITE] = True  # the parent made a call: not kept itself
        if options is None:
            return None
        ttl = options.get("ttl", self.ttl)
        if ttl is not None and (
            isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0
        ):
            raise ValueError(f"cache ttl must be a number of seconds > 0, got {ttl!r}")
        try:
            key = cache_key(call)
        except OSError as exc:
            # an attachment's file cannot be read: the provider reports it, as it would
            # without the cache (neither looked up nor kept)
            _log.debug("llmplug-cache: call not cached: %s", exc)
            return None
        call.state[self.key] = _Pending(key, ttl)
        if options.get("refresh"):
            return None  # ask the provider again, and keep its new answer
        kept = self.store.get(key)
        if kept is None:
            return None
        call.cache_hit = True
        return answer_from(call, kept)

    @llmplug.hookimpl
    def on_stream_chunk(self, call: CallContext, chunk: Any) -> None:
        """Keep a cached stream's delta (calls that did not opt in cost a dict lookup)."""
        pending = call.state.get(self.key)
        if pending is not None and not call.cache_hit:
            pending.deltas.append(chunk.delta or "")

    @llmplug.hookimpl
    def after_call(self, call: CallContext, response: Any) -> None:
        """Keep the provider's answer of a call that opted in."""
        pending = call.state.pop(self.key, None)
        if (
            pending is None
            or call.cache_hit
            or call.answered_by is not None
            or call.cancelled
            or response is None
            or call.state.get(_COMPOSITE)
        ):
            return
        deltas = pending.deltas if call.is_stream else None
        self.store.put(pending.key, kept_answer(call, response, deltas), pending.ttl)

    def clear(self) -> int:
        """Forget every kept answer; how many there were."""
        return self.store.clear()

    def close(self) -> None:
        """Write the answers still queued and close the cache file's connections."""
        if self._store is not None:
            self._store.close()
