"""The cache's background writer: a daemon thread writing queued answers in batches.

The hooks never write the file: a kept answer is queued (and answered from the queue
until it is written), a hit's "last used" time is noted. This thread writes what is
queued as soon as an answer waits, and the notes at least every ``interval`` seconds,
each batch in one transaction. It waits for another process's transaction itself (up
to SQLite's busy timeout), never a caller's thread, so a kept answer never blocks an
event loop.

Nothing queued is lost at a normal interpreter exit (an ``atexit`` handler writes it);
a crash loses what was not written yet, a cache's loss only (the next call asks the
provider again). After ``os.fork()`` the child starts with nothing queued and no thread.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable

__all__ = ["Writer"]


class Writer:
    """Runs ``flush`` on a thread of its own: when woken, else every ``interval`` seconds.

    Args:
        flush: Writes what is queued (the store's); it never raises.
        interval: Seconds between flushes when nobody wakes the thread.
    """

    def __init__(self, flush: Callable[[], object], *, interval: float) -> None:
        self._flush = flush
        self.interval = interval
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        atexit.register(self.close)

    @property
    def stopped(self) -> bool:
        """Whether :meth:`close` ran (what is queued then is written by the caller)."""
        return self._stopping

    def wake(self) -> None:
        """Write soon (an answer waits): starts the thread on first use."""
        if self._thread is None:
            self._start()
        self._wake.set()

    def noted(self) -> None:
        """Something waits that may wait for the next round (a hit's time)."""
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(
                    target=self._run, name="llmplug-cache-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.interval)
            self._wake.clear()
            if not self._stopping:
                self._flush()

    def close(self) -> None:
        """Stop the thread, then write what is queued (at exit, and on the store's close)."""
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=35)  # a batch waits for another process at most ~30 s
        self._flush()
        atexit.unregister(self.close)

    def after_fork(self) -> None:
        """In a forked child: no thread runs here; one starts when needed."""
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = None
        self._stopping = False
