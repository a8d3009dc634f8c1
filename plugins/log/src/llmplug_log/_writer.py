"""The background writer: calls are queued by the hooks and written in batches.

A hook only appends the finished call's packed row (bytes) to a deque (no lock, no
I/O), so it never blocks an event loop, and a stream pays nothing per chunk. A daemon
thread wakes every ``interval`` seconds, or as soon as ``batch_size`` calls wait, and
writes them as one batch in one transaction.

Nothing is lost at a normal interpreter exit: an ``atexit`` handler writes what is
still queued, and in a process forked by :mod:`multiprocessing` (which ends with
``os._exit``) a multiprocessing finalizer does. A process ended by a signal (SIGTERM,
as ``Pool.terminate()`` and a ``with Pool()`` block's end do) loses what is queued. A
crash (``kill -9``, a power cut) loses the calls not yet written: at most one
``interval`` worth, or one batch being written (SQLite rolls a transaction that did
not commit back; the file stays consistent). After ``os.fork()`` the child
starts with an empty queue and its own thread.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable
from pathlib import Path

from llmplug_log._store import LogStore

__all__ = ["Writer"]

_log = logging.getLogger("llmplug_log")
# a batch that failed to be written is tried again this many times, then dropped (said)
_ATTEMPTS = 3


class Writer:
    """Writes queued calls to the log file at ``path()``, in batches, on its own thread.

    Args:
        path: Gives the log file (called when the first batch is written).
        batch_size: Write as soon as this many calls wait.
        interval: Otherwise write every this many seconds.
    """

    def __init__(
        self, path: Callable[[], Path], *, batch_size: int = 200, interval: float = 0.5
    ) -> None:
        self.path = path
        self.batch_size = batch_size
        self.interval = interval
        self.queue: deque[bytes] = deque()
        self._failed: list[tuple[int, list[bytes]]] = []
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one flush at a time (the thread, atexit, flush())
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._store: LogStore | None = None
        self._store_path: Path | None = None
        atexit.register(self.close)
        ref = weakref.ref(self)  # a writer dropped (in tests) must not live on for fork's sake
        os.register_at_fork(after_in_child=lambda: _after_fork(ref))

    def add(self, row: bytes) -> None:
        """Queue one finished call's packed row (from a hook: cheap, never blocks)."""
        self.queue.append(row)
        if self._stopping:  # after close (a call in an atexit handler): write it now
            self.flush()
        elif self._thread is None:
            self._start()
        elif len(self.queue) >= self.batch_size:
            self._wake.set()

    def _start(self) -> None:
        with self._start_lock:  # not the flush lock: a write in progress must not hold a call
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(
                    target=self._run, name="llmplug-log-writer", daemon=True
                )
                self._thread.start()
                # a multiprocessing child ends with os._exit (no atexit handlers), after
                # multiprocessing's finalizers (registered after the fork, as here, since
                # a child clears those of its parent): write what is queued then
                util = sys.modules.get("multiprocessing.util")
                if util is not None:
                    util.Finalize(self, self.close, exitpriority=100)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Write every queued call now; how many were written."""
        with self._lock:
            rows: list[bytes] = []
            while self.queue:
                rows.append(self.queue.popleft())
            pending = [*self._failed, (0, rows)] if rows else list(self._failed)
            self._failed = []
            written = 0
            for attempts, rows in pending:
                try:
                    written += self._write(rows)
                except Exception as exc:
                    if attempts + 1 < _ATTEMPTS:
                        self._failed.append((attempts + 1, rows))
                    else:
                        _log.error(
                            "llmplug-log: %d call(s) not logged to %s: %s: %s",
                            len(rows),
                            self._store_path,
                            type(exc).__name__,
                            exc,
                        )
            return written

    def _write(self, rows: list[bytes]) -> int:
        path = self.path()
        if self._store is None or self._store_path != path:
            if self._store is not None:
                self._store.close()
            self._store, self._store_path = None, path
            self._store = LogStore(path)
        return self._store.write(rows)

    def close(self) -> None:
        """Stop the thread and write what is queued (at interpreter exit, and in tests)."""
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            # a write in progress ends well within this; then what is left is written here
            thread.join(timeout=5)
        self.flush()
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
        atexit.unregister(self.close)

    def _after_fork(self) -> None:
        # the parent's thread and connection do not exist here; its queued calls are its own
        self.queue = deque()
        self._failed = []
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread = None
        self._store = None


def _after_fork(ref: weakref.ref[Writer]) -> None:
    writer = ref()
    if writer is not None:
        writer._after_fork()
