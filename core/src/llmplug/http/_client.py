"""The httpx2 clients of a provider instance: created on first use, pooled, reused.

One ``httpx2.Client`` per instance, and one ``httpx2.AsyncClient`` per instance and
event loop: an async client's connections belong to the loop that opened them, so a
call from another loop gets its own client, and the client of a loop that has closed
is dropped (its connections went with the loop). Imported on the first request.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any

import httpx2

from llmplug._secrets import redact_url

if TYPE_CHECKING:
    import asyncio

    from llmplug.http._config import Limits
    from llmplug.http._runtime import HTTPChatLLM

__all__ = ["async_client", "close_async", "close_sync", "sync_client"]

_lock = threading.Lock()  # creating a client is rare: one lock for every instance


class _RedactURLs(logging.Filter):
    """Redacts URLs in httpx2's own log records (``HTTP Request: POST https://...?key=``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_url(arg) if isinstance(arg, httpx2.URL | str) else arg for arg in record.args
            )
        return True


def _install_log_filter() -> None:
    for name in ("httpx2", "httpcore2"):
        target = logging.getLogger(name)
        if not any(isinstance(f, _RedactURLs) for f in target.filters):
            target.addFilter(_RedactURLs())


_install_log_filter()


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
            private["_client"] = client
    return client


def async_client(llm: HTTPChatLLM, loop: asyncio.AbstractEventLoop) -> httpx2.AsyncClient:
    """The instance's async client for ``loop``, created on first use."""
    private = llm.__pydantic_private__
    assert private is not None
    last: tuple[Any, httpx2.AsyncClient] | None = private["_alast"]
    if last is not None and last[0]() is loop and not last[1].is_closed:
        return last[1]
    with _lock:
        clients: dict[int, tuple[Any, httpx2.AsyncClient]] = llm._aclients
        for key, (ref, client) in list(clients.items()):
            owner = ref()
            if owner is None or owner.is_closed() or client.is_closed:
                del clients[key]  # the loop is gone: its connections went with it
        entry = clients.get(id(loop))
        if entry is None:
            if llm.async_transport is not None:
                client = httpx2.AsyncClient(transport=llm.async_transport, timeout=None)
            else:  # httpx2 makes the transports, honouring HTTP(S)_PROXY / NO_PROXY
                client = httpx2.AsyncClient(limits=_limits(llm.limits), timeout=None)
            entry = (weakref.ref(loop), client)
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
        await entry[1].aclose()


def _drop_dead(llm: HTTPChatLLM) -> None:
    for key, (ref, _client) in list(llm._aclients.items()):
        owner = ref()
        if owner is None or owner.is_closed():
            del llm._aclients[key]
            if llm._alast is not None and llm._alast[0] is ref:
                llm._alast = None
