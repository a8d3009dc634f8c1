"""Run sync provider code from async callers without blocking the event loop.

A sync call runs in a worker thread; a sync stream is pulled one chunk per worker-thread
hop, so the first chunk reaches the async consumer as soon as the provider yields it.
Context variables are copied into the worker, as ``asyncio.to_thread`` does.

When the consumer stops (``break`` + ``aclose()``, or task cancellation) the sync
generator is closed; if a chunk is being produced in the worker at that moment, it is
closed right after that chunk, in the worker thread.

Importing this module is cheap: ``concurrent.futures`` is imported when the first
worker is needed, and ``asyncio`` by the async functions, which only run inside a loop.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["aiter_in_thread", "run_in_thread"]

T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_DONE = object()


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        from concurrent.futures import ThreadPoolExecutor  # lazy: ~10 ms, paid once used

        with _lock:
            if _executor is None:
                # LLM calls block on I/O or release the GIL: more threads than cores pay off
                workers = min(64, (os.cpu_count() or 1) + 16)
                _executor = ThreadPoolExecutor(workers, thread_name_prefix="llmplug")
    return _executor


def _submit(fn: Callable[..., T], *args: Any) -> Future[T]:
    ctx = contextvars.copy_context()
    return _pool().submit(ctx.run, fn, *args)


async def run_in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Await ``fn(*args, **kwargs)`` run in a worker thread."""
    import asyncio  # lazy for lightness; already loaded, since a loop runs this

    if kwargs:
        return await asyncio.wrap_future(_submit(lambda: fn(*args, **kwargs)))
    return await asyncio.wrap_future(_submit(fn, *args))


def _next(it: Iterator[T]) -> T | object:
    try:
        return next(it)
    except StopIteration:
        return _DONE


async def aiter_in_thread(make: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
    """Iterate a sync iterator from async code, one worker-thread hop per item.

    Every step runs in one context copied when iteration starts, so a generator that
    sets a context variable before a ``yield`` and resets it after (a tracing span)
    works as it does when iterated synchronously. Steps may run on different pool
    threads; thread-local state does not carry from one chunk to the next.

    Args:
        make: Creates the iterator; it is called in the worker too, since creating a
            provider's stream may already do I/O.
    """
    import asyncio  # lazy for lightness; already loaded, since a loop runs this

    ctx = contextvars.copy_context()
    pool = _pool()
    it: Iterator[T] | None = None
    pending: Future[Any] | None = None
    try:
        pending = pool.submit(ctx.run, lambda: iter(make()))
        current: Iterator[T] = await asyncio.wrap_future(pending)
        it = current
        while True:
            pending = pool.submit(ctx.run, _next, current)
            item = await asyncio.wrap_future(pending)
            pending = None
            if item is _DONE:
                return
            yield item
    finally:
        _close_later(it, pending, ctx, pool)


def _close(target: object) -> None:
    closer = getattr(target, "close", None)
    if closer is not None:
        closer()


def _close_later(
    it: Iterator[Any] | None,
    pending: Future[Any] | None,
    ctx: contextvars.Context,
    pool: ThreadPoolExecutor,
) -> None:
    """Close the sync iterator in a worker, never on the event loop's thread.

    A generator's cleanup (closing a response, joining a thread) may block. If a step is
    still running in a worker, the iterator is closed right after it, in that worker.
    """
    if pending is not None and not pending.done():

        def after(fut: Future[Any]) -> None:
            target = it
            if target is None and not fut.cancelled() and fut.exception() is None:
                target = fut.result()  # the iterator whose creation was in flight
            if target is not None:
                ctx.run(_close, target)

        pending.add_done_callback(after)
        return
    target = it
    created = pending is not None and not pending.cancelled() and pending.exception() is None
    if target is None and pending is not None and created:
        target = pending.result()  # created just as the consumer went away
    if target is not None:
        pool.submit(ctx.run, _close, target)
