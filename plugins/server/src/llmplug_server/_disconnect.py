"""Noticing that a client went away, and cancelling its upstream call when it does.

ASGI servers tell an app that its client disconnected through ``receive()`` (an
``http.disconnect`` message), but only an app that is reading; an app waiting for a
model's next token would notice only when it next writes. :class:`CancelOnDisconnect`
reads ``receive()`` in a small watcher task and cancels the request's own task when the
client leaves, so the model's call is cancelled at once: its HTTP request is closed (the
upstream sees the connection drop), or its local generation stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

__all__ = ["CancelOnDisconnect"]


class CancelOnDisconnect:
    """``async with CancelOnDisconnect(receive) as watch:`` cancels the block on disconnect.

    When the client disconnects while the block runs, the block is cancelled and the
    ``async with`` ends quietly with ``watch.gone`` true; the caller then sends nothing
    more. Use it once the request body has been read.
    """

    __slots__ = ("_receive", "_task", "_watcher", "gone")

    def __init__(self, receive: Any) -> None:
        self._receive = receive
        self._task: asyncio.Task[Any] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.gone = False

    async def __aenter__(self) -> CancelOnDisconnect:
        self._task = asyncio.current_task()
        self._watcher = asyncio.get_running_loop().create_task(self._watch())
        return self

    async def _watch(self) -> None:
        while True:
            message = await self._receive()
            if message.get("type") == "http.disconnect":
                self.gone = True
                assert self._task is not None
                self._task.cancel()
                return

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        assert self._watcher is not None
        assert self._task is not None
        self._watcher.cancel()
        if not self.gone:
            return False
        if exc_type is not asyncio.CancelledError:
            # the block ended just as the client left: take the pending cancellation here
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0)
        self._task.uncancel()
        return exc_type is None or issubclass(exc_type, asyncio.CancelledError | OSError)
