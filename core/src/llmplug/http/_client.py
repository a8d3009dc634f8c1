"""The httpx2 clients of a provider instance: created on first use, pooled, reused.

One ``httpx2.Client`` per instance, and one ``httpx2.AsyncClient`` per instance and
event loop: an async client's connections belong to the loop that opened them, so a
call from another loop gets its own client, and the client is closed when its loop
shuts down (``asyncio.run`` ending): repeated ``asyncio.run(llm.achat(...))`` leaves no
socket open. Imported on the first request.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import AsyncGenerator
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import httpx2

from llmplug._secrets import redact_header_pairs, redact_text
from llmplug.http._auth import recent_secrets, remember_secrets as _remember

if TYPE_CHECKING:
    import asyncio

    from llmplug.http._config import Limits
    from llmplug.http._runtime import HTTPChatLLM

__all__ = ["async_client", "close_async", "close_sync", "remember_secrets", "sync_client"]

_lock = threading.Lock()  # creating a client is rare: one lock for every instance
# an async client's entry: (a weak reference to its loop, the client, its closer)
_AsyncEntry = tuple[Any, httpx2.AsyncClient, AsyncGenerator[None, None]]

# -- redacting the log records of every logger that can print request or response data

#: Loggers (with their children) that print requests or responses: httpx2's request
#: line, httpcore2's per-module debug lines (response headers: ``Set-Cookie``, a
#: ``Location`` with credentials), the HTTP/2 libraries', llmplug's own.
LOGGERS = ("httpx2", "httpcore2", "h11", "h2", "hpack", "llmplug.http")
_loggers_seen = 0


class _RedactRecords(logging.Filter):
    """Redacts secrets from a record: by value, in URLs, and in printed header pairs."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot be formatted: logging reports it
            return True
        clean = redact_header_pairs(redact_text(message, recent_secrets()))
        if clean != message:
            record.msg, record.args = clean, ()
        return True


_FILTER = _RedactRecords()


def install_log_filters() -> None:
    """Put the redacting filter on every logger under :data:`LOGGERS`, children included.

    A filter on a logger sees only the records logged to that logger, never those
    its children propagate to it: each child gets it. Run again whenever loggers
    were added (httpcore2 creates its own when a client is first made).
    """
    global _loggers_seen
    known = logging.Logger.manager.loggerDict
    for name in LOGGERS:
        logging.getLogger(name)
    for name, logger in list(known.items()):
        if (
            isinstance(logger, logging.Logger)
            and (name in LOGGERS or name.startswith(tuple(f"{root}." for root in LOGGERS)))
            and _FILTER not in logger.filters
        ):
            logger.addFilter(_FILTER)
    _loggers_seen = len(known)


def remember_secrets(secrets: tuple[str, ...]) -> None:
    """Note the secrets a call sends, so the log filter redacts them by value."""
    _remember(secrets)
    if len(logging.Logger.manager.loggerDict) != _loggers_seen:
        install_log_filters()  # a library created loggers since (a lazily imported module)


install_log_filters()


def _limits(limits: Limits) -> httpx2.Limits:
    return httpx2.Limits(
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
    )


def sync_client(llm: HTTPChatLLM) -> httpx2.Client:
    """The instance's sync client, created on first use (again after ``close()``)."""
    # the private attributes' dict directly: pydantic's __getattr__ costs microseconds
    private = llm.__pydantic_private__
    assert private is not None
    client: httpx2.Client | None = private["_client"]
    if client is not None and not client.is_closed:
        return client
    with _lock:
        client = private["_client"]
        if client is None or client.is_closed:
            if llm.transport is not None:
                client = httpx2.Client(transport=llm.transport, timeout=None)
            else:  # httpx2 makes the transports, honouring HTTP(S)_PROXY / NO_PROXY
                client = httpx2.Client(limits=_limits(llm.limits), timeout=None)
            install_log_filters()  # httpcore2's loggers exist once a transport does
            private["_client"] = client
    return client


async def _closer(client: httpx2.AsyncClient) -> AsyncGenerator[None, None]:
    """Closes ``client`` when the event loop that made it finalizes its async generators.

    ``asyncio.run`` (and ``asyncio.Runner``) finalize every live async generator before
    closing the loop: this one, started when the client is made, then closes the
    client's connections on the loop that opened them. ``aclose()`` closes it earlier.
    """
    try:
        yield
    finally:
        await client.aclose()


def _bind_to_loop(client: httpx2.AsyncClient) -> AsyncGenerator[None, None]:
    closer = _closer(client)
    # run it to its yield without awaiting (nothing before the yield awaits): the first
    # asend() hands it to the running loop's async generator hooks, which keep it
    with suppress(StopIteration):
        closer.asend(None).send(None)
    return closer


def async_client(llm: HTTPChatLLM, loop: asyncio.AbstractEventLoop) -> httpx2.AsyncClient:
    """The instance's async client for ``loop``, created on first use.

    The client is bound to ``loop``: closed when the loop shuts down (``asyncio.run``
    ending), and never used from another loop.
    """
    private = llm.__pydantic_private__
    assert private is not None
    last: _AsyncEntry | None = private["_alast"]
    if last is not None and last[0]() is loop and not last[1].is_closed:
        return last[1]
    with _lock:
        clients: dict[int, _AsyncEntry] = llm._aclients
        for key, (ref, client, _closer_gen) in list(clients.items()):
            owner = ref()
            if owner is None or owner.is_closed() or client.is_closed:
                del clients[key]  # the loop is gone (and closed its client on the way)
        entry = clients.get(id(loop))
        if entry is None:
            if llm.async_transport is not None:
                client = httpx2.AsyncClient(transport=llm.async_transport, timeout=None)
            else:  # httpx2 makes the transports, honouring HTTP(S)_PROXY / NO_PROXY
                client = httpx2.AsyncClient(limits=_limits(llm.limits), timeout=None)
            install_log_filters()
            entry = (weakref.ref(loop), client, _bind_to_loop(client))
            clients[id(loop)] = entry
        llm._alast = entry
    return entry[1]


def close_sync(llm: HTTPChatLLM) -> None:
    """Close the sync client; drop async clients whose loop has closed."""
    with _lock:
        client, llm._client = llm._client, None
        _drop_dead(llm)
    if client is not None:
        client.close()


async def close_async(llm: HTTPChatLLM, loop: asyncio.AbstractEventLoop) -> None:
    """Close the async client of ``loop``; drop those whose loop has closed."""
    with _lock:
        entry = llm._aclients.pop(id(loop), None)
        if llm._alast is entry:
            llm._alast = None
        _drop_dead(llm)
    if entry is not None:
        await entry[2].aclose()  # the closer closes the client
        await entry[1].aclose()  # (already closed if the closer had run)


def _drop_dead(llm: HTTPChatLLM) -> None:
    for key, (ref, _client, _closer_gen) in list(llm._aclients.items()):
        owner = ref()
        if owner is None or owner.is_closed():
            del llm._aclients[key]
            if llm._alast is not None and llm._alast[0] is ref:
                llm._alast = None
