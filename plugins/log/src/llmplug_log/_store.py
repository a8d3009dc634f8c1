"""The log database: SQLite in WAL mode, a versioned schema, and the queries.

Several processes may write the same file at once: WAL lets readers and one writer
work together, and a writer waits (``busy_timeout``) for another's transaction rather
than failing. Each batch of calls is one transaction, so a crash loses at most the
batch being written (SQLite rolls it back) and never corrupts the file.

The schema's version is SQLite's ``user_version``; :data:`MIGRATIONS` brings an older
file up to date, each step in its own ``BEGIN IMMEDIATE`` transaction (two processes
opening a new file at once migrate it once). A file newer than this plugin is refused.

Writing is cheap, reading does the rest: a batch of calls is written as one row of the
``staged`` table (the batch packed by :mod:`llmplug_log._staging`, one ``INSERT``), and
moved into ``calls`` by whoever reads the log next (:meth:`LogStore.settle`, in one
transaction).
Likewise the FTS5 index over prompts and responses is brought up to date when a search
runs (:meth:`LogStore.index`). A process that logs thus pays one insert per batch, not
one per call with its indexes.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmplug.errors import ConfigError
from llmplug_log._staging import FORMAT, pack, unpack

__all__ = ["COLUMNS", "MIGRATIONS", "SCHEMA_VERSION", "Filters", "LogStore", "connect"]

#: A row's columns, in the order records are written.
COLUMNS = (
    "id",
    "parent_id",
    "conversation_id",
    "started_at",
    "provider",
    "model",
    "endpoint",
    "options",
    "messages",
    "prompt",
    "response",
    "tool_calls",
    "structured",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
    "cost",
    "latency",
    "time_to_first_chunk",
    "chunks",
    "error",
    "cancelled",
    "cache_hit",
    "answered_by",
)

_V1 = """
CREATE TABLE calls (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    parent_id TEXT,
    conversation_id TEXT NOT NULL,
    started_at REAL NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    options TEXT NOT NULL,
    messages TEXT,
    prompt TEXT,
    response TEXT,
    tool_calls TEXT,
    structured TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cached_tokens INTEGER,
    cache_creation_tokens INTEGER,
    reasoning_tokens INTEGER,
    cost REAL,
    latency REAL,
    time_to_first_chunk REAL,
    chunks INTEGER,
    error TEXT,
    cancelled INTEGER NOT NULL DEFAULT 0,
    cache_hit INTEGER NOT NULL DEFAULT 0,
    answered_by TEXT
);
CREATE VIRTUAL TABLE calls_fts USING fts5(
    prompt, response, content='calls', content_rowid='n'
);
CREATE TABLE staged (n INTEGER PRIMARY KEY, rows TEXT NOT NULL);
CREATE TABLE fts_state (indexed_up_to INTEGER NOT NULL);
INSERT INTO fts_state VALUES (0);
CREATE TRIGGER calls_fts_delete AFTER DELETE ON calls BEGIN
    INSERT INTO calls_fts(calls_fts, rowid, prompt, response)
    SELECT 'delete', old.n, old.prompt, old.response
    WHERE old.n <= (SELECT indexed_up_to FROM fts_state);
END;
"""

# listing by date, by conversation (chat -c) and by model, once logs grow
_V2 = """
CREATE INDEX calls_started_at ON calls(started_at);
CREATE INDEX calls_conversation ON calls(conversation_id, n);
CREATE INDEX calls_model ON calls(provider, model);
"""


# batches are packed (_staging.py), no longer JSON; those staged as JSON are still read
_V3 = """
ALTER TABLE staged ADD COLUMN format TEXT NOT NULL DEFAULT 'json';
"""

_log = logging.getLogger("llmplug_log")


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def migrate(db: sqlite3.Connection) -> None:
        for statement in _statements(sql):
            db.execute(statement)

    return migrate


def _statements(sql: str) -> list[str]:
    """Split a script into statements (``executescript`` would commit our transaction)."""
    statements, current = [], ""
    for line in sql.strip().splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


#: ``MIGRATIONS[i]`` brings a version-``i`` file to version ``i + 1``.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _script(_V1),
    _script(_V2),
    _script(_V3),
)
SCHEMA_VERSION = len(MIGRATIONS)
_BUSY_TIMEOUT_MS = 30_000


def connect(
    path: Path, *, migrations: Sequence[Callable[..., None]] = MIGRATIONS
) -> sqlite3.Connection:
    """Open (creating it if needed) the log at ``path``, migrated to the current schema.

    Raises:
        ConfigError: The file is from a newer llmplug-log, or not a log database.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(
        path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise ConfigError(f"the call log {str(path)!r} cannot use WAL journaling")
        db.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoints, never corrupt
        _migrate(db, path, migrations)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise ConfigError(f"the call log {str(path)!r} cannot be opened: {exc}") from exc
    except BaseException:
        db.close()
        raise
    return db


def _migrate(db: sqlite3.Connection, path: Path, migrations: Sequence[Callable[..., None]]) -> None:
    target = len(migrations)
    while True:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"the call log {str(path)!r} has schema version {version}, newer than this "
                f"llmplug-log knows ({SCHEMA_VERSION}): upgrade llmplug-log"
            )
        if version >= target:
            return
        db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it done
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] == version:
                migrations[version](db)
                db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


@dataclass
class Filters:
    """What ``llmplug logs`` asks for.

    Attributes:
        search: Full-text query over prompts and responses (SQLite FTS5 syntax).
        model: Only this model (or ``provider:model``).
        provider: Only this provider.
        since: Only calls started at or after this time (seconds since 1970).
        until: Only calls started before this time (seconds since 1970).
        conversation: Only this conversation.
    """

    search: str | None = None
    model: str | None = None
    provider: str | None = None
    since: float | None = None
    until: float | None = None
    conversation: str | None = None

    def sql(self) -> tuple[str, list[Any]]:
        """The ``WHERE`` clause (possibly empty) and its parameters."""
        where: list[str] = []
        params: list[Any] = []
        if self.search:
            where.append("calls.n IN (SELECT rowid FROM calls_fts WHERE calls_fts MATCH ?)")
            params.append(self.search)
        if self.model:
            provider, colon, model = self.model.partition(":")
            if colon:  # provider:model, or a model whose name has a colon (llama3.2:1b)
                where.append("((calls.provider = ? AND calls.model = ?) OR calls.model = ?)")
                params += [provider, model, self.model]
            else:
                where.append("calls.model = ?")
                params.append(self.model)
        if self.provider:
            where.append("calls.provider = ?")
            params.append(self.provider)
        if self.since is not None:
            where.append("calls.started_at >= ?")
            params.append(self.since)
        if self.until is not None:
            where.append("calls.started_at < ?")
            params.append(self.until)
        if self.conversation:
            where.append("calls.conversation_id = ?")
            params.append(self.conversation)
        return (" WHERE " + " AND ".join(where)) if where else "", params


_INSERT = f"INSERT INTO calls ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
# a batch staged as JSON (schema version 2): json_extract reads numbers, text and nulls
# back as such, and the JSON columns (arrays, objects) as JSON text
_FROM_JSON = (
    f"INSERT INTO calls ({', '.join(COLUMNS)}) SELECT "
    + ", ".join(f"json_extract(r.value, '$[{i}]')" for i in range(len(COLUMNS)))
    + " FROM staged AS s, json_each(s.rows) AS r WHERE s.n = ? ORDER BY r.key"
)


class LogStore:
    """Reading and writing one log file.

    Args:
        path: The SQLite file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = connect(path)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def write(self, rows: Sequence[bytes]) -> int:
        """Write ``rows`` (each packed by :func:`~llmplug_log._staging.pack_row`) as one batch."""
        rows = list(rows)
        if not rows:
            return 0
        batch = pack(rows)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT INTO staged (rows, format) VALUES (?, ?)", (batch, FORMAT))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return len(rows)

    def settle(self) -> int:
        """Move the staged batches into ``calls``, in the order written; how many calls.

        A batch this llmplug-log cannot read (another program wrote the file) stays
        staged, with a warning each time, and the others are moved.
        """
        if self.db.execute("SELECT 1 FROM staged LIMIT 1").fetchone() is None:
            return 0
        moved = 0
        self.db.execute("BEGIN IMMEDIATE")
        try:
            batches = self.db.execute("SELECT n, format, rows FROM staged ORDER BY n").fetchall()
            for n, form, batch in batches:
                if form == "json":  # staged by schema version 2
                    moved += self.db.execute(_FROM_JSON, (n,)).rowcount
                elif form == FORMAT:
                    try:
                        rows = unpack(batch, len(COLUMNS))
                    except ValueError as exc:
                        _log.warning(
                            "llmplug-log: %s: staged batch %d left unread: %s", self.path, n, exc
                        )
                        continue
                    self.db.executemany(_INSERT, rows)
                    moved += len(rows)
                else:
                    _log.warning(
                        "llmplug-log: %s: staged batch %d is in format %r, unknown to this "
                        "llmplug-log: left unread (upgrade llmplug-log)",
                        self.path,
                        n,
                        form,
                    )
                    continue
                self.db.execute("DELETE FROM staged WHERE n = ?", (n,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return moved

    def index(self) -> int:
        """Bring the full-text index up to date; how many calls it took in."""
        self.settle()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            (done,) = self.db.execute("SELECT indexed_up_to FROM fts_state").fetchone()
            (last,) = self.db.execute("SELECT COALESCE(MAX(n), 0) FROM calls").fetchone()
            if last > done:
                self.db.execute(
                    "INSERT INTO calls_fts(rowid, prompt, response) "
                    "SELECT n, prompt, response FROM calls WHERE n > ?",
                    (done,),
                )
                self.db.execute("UPDATE fts_state SET indexed_up_to = ?", (last,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return int(last - done) if last > done else 0

    def calls(self, filters: Filters, limit: int | None) -> list[dict[str, Any]]:
        """The last ``limit`` calls matching ``filters`` (all with ``None``), oldest first."""
        self.settle()
        if filters.search:
            self.index()
        where, params = filters.sql()
        sql = f"SELECT * FROM calls{where} ORDER BY calls.n DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params = [*params, limit]
        try:
            cursor = self.db.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if filters.search:  # FTS5 syntax errors come back here
                raise ConfigError(
                    f"bad search {filters.search!r}: {exc}; to search for text as written, "
                    f"put it in double quotes: -q '\"{filters.search}\"' (the search syntax "
                    'is SQLite FTS5\'s: words, "phrases", AND, OR, NOT, prefix*)'
                ) from exc
            raise
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in reversed(cursor.fetchall())]

    def totals(self, filters: Filters) -> list[dict[str, Any]]:
        """Calls, tokens and cost by provider and model.

        Only calls that made no call of their own count (a route's call is counted in
        its model's, which spent the tokens), and a cache hit's tokens are not spent.
        """
        self.settle()
        if filters.search:
            self.index()
        where, params = filters.sql()
        leaf = "calls.id NOT IN (SELECT parent_id FROM calls WHERE parent_id IS NOT NULL)"
        where = f"{where} AND {leaf}" if where else f" WHERE {leaf}"
        spent = "CASE WHEN calls.cache_hit THEN 0 ELSE COALESCE(calls.{0}, 0) END"
        sql = (
            "SELECT provider, model, COUNT(*) AS calls, "
            f"SUM({spent.format('input_tokens')}) AS input_tokens, "
            f"SUM({spent.format('output_tokens')}) AS output_tokens, "
            "SUM(CASE WHEN calls.cache_hit THEN 0 ELSE calls.cost END) AS cost, "
            "SUM(CASE WHEN cost IS NULL AND NOT cache_hit THEN 1 ELSE 0 END) AS unpriced, "
            "SUM(cache_hit) AS cache_hits, "
            "SUM(CASE WHEN error IS NULL THEN 0 ELSE 1 END) AS errors "
            f"FROM calls{where} GROUP BY provider, model ORDER BY cost DESC, calls DESC"
        )
        cursor = self.db.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def last_call(self, conversation: str | None) -> dict[str, Any] | None:
        """The latest top-level call that did not fail (of ``conversation``, or of any).

        A failed call's prompt got no answer: a conversation goes on from the turn
        before it, as ``llmplug chat`` drops a failed turn.
        """
        self.settle()
        sql = "SELECT * FROM calls WHERE parent_id IS NULL AND error IS NULL"
        params: list[Any] = []
        if conversation is not None:
            sql += " AND conversation_id = ?"
            params.append(conversation)
        cursor = self.db.execute(sql + " ORDER BY n DESC LIMIT 1", params)
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))
