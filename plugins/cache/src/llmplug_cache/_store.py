"""The cache file: SQLite in WAL mode, read by the callers, written by one background thread.

A lookup (:meth:`CacheStore.get`) only reads, on the caller's thread, with a connection
taken from a small pool (each thread has one only while it reads; at most ``_IDLE``
stay open between lookups, so short-lived threads leave none behind). In WAL mode a
read does not wait for writers; the rare wait (another process recovering the file)
lasts at most ``_READ_TIMEOUT_MS``, then the lookup is a miss. A hit's "last used" time
is noted, not written.

Kept answers (:meth:`CacheStore.put`) are queued and written by the store's
:class:`~llmplug_cache._writer.Writer` thread, with the noted times, in one transaction
per batch: the thread, never the caller, waits for another process's transaction
(``busy_timeout``). Until it is written, a queued answer answers from memory, so a call
repeated at once is a hit. Processes share the file (WAL): another process sees an
answer once it is written, a few milliseconds later.

An entry is ``key -> answer`` with when it expires and when it was last used: past its
time it is a miss, and when the cache holds more than ``max_entries`` entries or
``max_bytes`` bytes the least recently used go (down to 90% of the bound, so that
eviction is not paid on every batch).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any, NamedTuple

from llmplug.errors import ConfigError
from llmplug_cache._writer import Writer

__all__ = ["SCHEMA_VERSION", "CacheStore"]

SCHEMA_VERSION = 1
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS entries (
        key TEXT PRIMARY KEY,
        answer TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL,
        used_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS entries_used_at ON entries(used_at)",
    "CREATE INDEX IF NOT EXISTS entries_expires_at ON entries(expires_at)",
)
# the writer thread waits this long for another process's transaction
_WRITE_TIMEOUT_MS = 30_000
# a lookup waits at most this long (WAL readers wait only while a file is recovered)
_READ_TIMEOUT_MS = 100
# reading connections kept open between lookups
_IDLE = 4
# a batch that cannot be written is tried this many times in all, then dropped (said)
_ATTEMPTS = 3
_log = logging.getLogger("llmplug_cache")


class _Entry(NamedTuple):
    answer: str
    size: int
    created_at: float
    expires_at: float | None


def _connect(path: Path, *, busy_ms: int, writer: bool) -> sqlite3.Connection:
    if writer:
        path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(
        path,
        timeout=busy_ms / 1000,
        isolation_level=None,
        check_same_thread=False,  # pooled: used by one thread at a time, any thread
    )
    try:
        db.execute(f"PRAGMA busy_timeout = {busy_ms}")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"the response cache {str(path)!r} has schema version {version}, "
                f"newer than this llmplug-cache knows ({SCHEMA_VERSION}): upgrade it"
            )
        if writer:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            if version < SCHEMA_VERSION:
                db.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                db.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise ConfigError(f"the response cache {str(path)!r} cannot be opened: {exc}") from exc
    except BaseException:
        db.close()
        raise
    return db


class CacheStore:
    """Reading and writing one cache file, from any thread.

    Args:
        path: The SQLite file (made when the first answer is written).
        max_entries: The most entries kept.
        max_bytes: The most bytes of answers kept.
        interval: Seconds between writes of the noted "last used" times (a kept answer
            is written at once).
    """

    def __init__(
        self, path: Path, *, max_entries: int, max_bytes: int, interval: float = 1.0
    ) -> None:
        self.path = path
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._idle: list[sqlite3.Connection] = []
        self._queued: dict[str, _Entry] = {}
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()  # the idle connections and the queue
        self._flushing = threading.Lock()  # one batch at a time
        self._db: sqlite3.Connection | None = None  # the writer's
        self._failures = 0  # batches in a row that could not be written
        self._writer = Writer(self.flush, interval=interval)
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork(ref))

    # -- reading, on the caller's thread ---------------------------------------------------

    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]] | None:
        """The rows of one query, or ``None`` when there is no file (or table) yet."""
        with self._lock:
            db = self._idle.pop() if self._idle else None
        if db is None:
            if not self.path.exists():
                return None
            db = _connect(self.path, busy_ms=_READ_TIMEOUT_MS, writer=False)
        done = False
        try:
            rows = db.execute(sql, params).fetchall()
            done = True
        except sqlite3.OperationalError as exc:
            # no table yet (a file not written to), or a wait past _READ_TIMEOUT_MS
            done = True
            _log.debug("llmplug-cache: %s read as empty: %s", self.path, exc)
            return None
        finally:
            with self._lock:
                if done and len(self._idle) < _IDLE:
                    self._idle.append(db)
                    db = None
            if db is not None:
                db.close()
        return rows

    def get(self, key: str, now: float | None = None) -> str | None:
        """The answer kept for ``key``, if it has not expired (its use noted, not written)."""
        now = time.time() if now is None else now
        queued = self._queued.get(key)
        if queued is not None:
            answer, expires_at = queued.answer, queued.expires_at
        else:
            rows = self._read("SELECT answer, expires_at FROM entries WHERE key = ?", (key,))
            if not rows:
                return None
            answer, expires_at = rows[0]
        if isinstance(expires_at, int | float) and expires_at <= now:
            return None  # deleted with the next batch
        self._used[key] = now
        self._writer.noted()
        return str(answer)

    # -- writing, on the writer's thread ---------------------------------------------------

    def put(self, key: str, answer: str, ttl: float | None, now: float | None = None) -> None:
        """Keep ``answer`` for ``key`` (``ttl`` seconds, or for good): queued, written soon."""
        now = time.time() if now is None else now
        entry = _Entry(answer, len(answer.encode()), now, None if ttl is None else now + ttl)
        with self._lock:
            self._queued[key] = entry
        if self._writer.stopped:  # closed (a call in an atexit handler): write it now
            self.flush()
        else:
            self._writer.wake()

    def flush(self) -> int:
        """Write what is queued now (and the noted uses); how many answers were written.

        A batch that cannot be written (another process holding the file longer than
        the writer waits, a full disk) stays queued, answering this process's calls, and
        is tried again with the next batch; after three failures in a row it is dropped
        and logged (logger ``llmplug_cache``): a cache's loss only.
        """
        with self._flushing:
            with self._lock:
                batch = dict(self._queued)
            used, self._used = self._used, {}
            if not batch and not used:
                return 0
            try:
                self._write(batch, used)
            except Exception as exc:
                self._failures += 1
                if self._failures < _ATTEMPTS:
                    _log.warning(
                        "llmplug-cache: %d answer(s) not kept in %s yet (tried again with "
                        "the next batch): %s: %s",
                        len(batch),
                        self.path,
                        type(exc).__name__,
                        exc,
                    )
                    return 0
                _log.error(
                    "llmplug-cache: %d answer(s) not kept in %s: %s: %s",
                    len(batch),
                    self.path,
                    type(exc).__name__,
                    exc,
                )
            self._failures = 0
            with self._lock:
                for key, entry in batch.items():
                    if self._queued.get(key) is entry:  # not queued again meanwhile
                        del self._queued[key]
            return len(batch)

    def _write(self, batch: dict[str, _Entry], used: dict[str, float]) -> None:
        if self._db is None:
            self._db = _connect(self.path, busy_ms=_WRITE_TIMEOUT_MS, writer=True)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO entries (key, answer, size, created_at, expires_at, "
                "used_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (key, e.answer, e.size, e.created_at, e.expires_at, e.created_at)
                    for key, e in batch.items()
                ],
            )
            db.executemany(
                "UPDATE entries SET used_at = ? WHERE key = ? AND used_at < ?",
                [(at, key, at) for key, at in used.items()],
            )
            db.execute(
                "DELETE FROM entries WHERE expires_at IS NOT NULL AND expires_at <= ?",
                (time.time(),),
            )
            self._evict(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _evict(self, db: sqlite3.Connection) -> None:
        count, total = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries").fetchone()
        if count <= self.max_entries and total <= self.max_bytes:
            return
        keep_entries = max(int(self.max_entries * 0.9), 1)
        keep_bytes = int(self.max_bytes * 0.9)
        # the most recently used first: keep them while both bounds allow
        kept = 0
        size_kept = 0
        for (size,) in db.execute("SELECT size FROM entries ORDER BY used_at DESC, rowid DESC"):
            if kept + 1 > keep_entries or size_kept + size > keep_bytes:
                break
            kept += 1
            size_kept += size
        db.execute(
            "DELETE FROM entries WHERE rowid NOT IN "
            "(SELECT rowid FROM entries ORDER BY used_at DESC, rowid DESC LIMIT ?)",
            (kept,),
        )

    # -- the whole file ----------------------------------------------------------------------

    def stats(self) -> tuple[int, int]:
        """``(entries, bytes)`` kept now (what is queued is written first)."""
        self.flush()
        rows = self._read("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries")
        if not rows:
            return 0, 0
        entries, size = rows[0]
        return int(entries), int(size)

    def clear(self) -> int:
        """Forget every entry; how many there were."""
        self.flush()
        with self._flushing:
            if not self.path.exists():
                return 0
            if self._db is None:
                self._db = _connect(self.path, busy_ms=_WRITE_TIMEOUT_MS, writer=True)
            return int(self._db.execute("DELETE FROM entries").rowcount)

    def close(self) -> None:
        """Write what is queued, stop the writer and close every connection."""
        self._writer.close()
        with self._flushing:
            if self._db is not None:
                self._db.close()
                self._db = None
        with self._lock:
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()

    def _after_fork(self) -> None:
        # the parent's connections are not safe to use here, nor to close: forget them;
        # what it queued is its own to write
        self._idle = []
        self._queued = {}
        self._used = {}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._db = None
        self._writer.after_fork()


def _after_fork(ref: weakref.ref[CacheStore]) -> None:
    store = ref()
    if store is not None:
        store._after_fork()
