"""The cache file: SQLite in WAL mode, one connection per thread, bounded in size.

Threads each use their own connection; processes share the file (WAL: readers do not
wait for the writer, a writer waits for another's transaction, ``busy_timeout``). An
entry is ``key -> answer`` with when it expires and when it was last used: past its
time it is a miss, and when the cache holds more than ``max_entries`` entries or
``max_bytes`` bytes the least recently used go (down to 90% of the bound, so that
eviction is not paid on every store).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path

from llmplug.errors import ConfigError

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
_BUSY_TIMEOUT_MS = 30_000


class CacheStore:
    """Reading and writing one cache file, from any thread.

    Args:
        path: The SQLite file (made on first use).
        max_entries: The most entries kept.
        max_bytes: The most bytes of answers kept.
    """

    def __init__(self, path: Path, *, max_entries: int, max_bytes: int) -> None:
        self.path = path
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_connections(ref))

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
            with self._lock:
                self._connections.append(db)
        return db

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            self.path,
            timeout=_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,  # each thread uses its own; close() may run anywhere
        )
        try:
            db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"the response cache {str(self.path)!r} has schema version {version}, "
                    f"newer than this llmplug-cache knows ({SCHEMA_VERSION}): upgrade it"
                )
            if version < SCHEMA_VERSION:
                db.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise ConfigError(
                f"the response cache {str(self.path)!r} cannot be opened: {exc}"
            ) from exc
        return db

    def get(self, key: str, now: float | None = None) -> str | None:
        """The answer kept for ``key``, if it has not expired (marking it used)."""
        now = time.time() if now is None else now
        db = self._db()
        found = db.execute(
            "SELECT answer, expires_at FROM entries WHERE key = ?", (key,)
        ).fetchone()
        if found is None:
            return None
        answer, expires_at = found
        if expires_at is not None and expires_at <= now:
            db.execute("DELETE FROM entries WHERE key = ? AND expires_at <= ?", (key, now))
            return None
        db.execute("UPDATE entries SET used_at = ? WHERE key = ?", (now, key))
        return str(answer)

    def put(self, key: str, answer: str, ttl: float | None, now: float | None = None) -> None:
        """Keep ``answer`` for ``key`` (``ttl`` seconds, or for good), then keep the bounds."""
        now = time.time() if now is None else now
        size = len(answer.encode())
        expires = None if ttl is None else now + ttl
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT OR REPLACE INTO entries (key, answer, size, created_at, expires_at, "
                "used_at) VALUES (?, ?, ?, ?, ?, ?)",
                (key, answer, size, now, expires, now),
            )
            db.execute(
                "DELETE FROM entries WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
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
        cut = None
        for used_at, size in db.execute(
            "SELECT used_at, size FROM entries ORDER BY used_at DESC, rowid DESC"
        ):
            if kept + 1 > keep_entries or size_kept + size > keep_bytes:
                cut = used_at
                break
            kept += 1
            size_kept += size
        if cut is not None:
            db.execute(
                "DELETE FROM entries WHERE rowid NOT IN "
                "(SELECT rowid FROM entries ORDER BY used_at DESC, rowid DESC LIMIT ?)",
                (kept,),
            )

    def stats(self) -> tuple[int, int]:
        """``(entries, bytes)`` kept now."""
        row = self._db().execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries").fetchone()
        return int(row[0]), int(row[1])

    def clear(self) -> int:
        """Forget every entry; how many there were."""
        return int(self._db().execute("DELETE FROM entries").rowcount)

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()


def _forget_connections(ref: weakref.ref[CacheStore]) -> None:
    # a connection inherited across fork is not safe to use: the child opens its own
    store = ref()
    if store is not None:
        store._local = threading.local()
        store._connections = []
        store._lock = threading.Lock()
