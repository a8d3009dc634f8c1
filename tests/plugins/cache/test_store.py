"""The cache file: bounded connections, and hooks that never wait for a writer."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import llmplug
from llmplug import ChatMessage
from llmplug.testing import isolated_registry
from llmplug_cache import CacheStore, ResponseCache

from .conftest import Hits


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts /proc/self/fd (Linux)")
def test_short_lived_threads_leave_no_connections_behind(cache: ResponseCache) -> None:
    llm = llmplug.load("mock?plugins=cache")
    llm.complete("warm up")  # the writer's connection, and one to read
    cache.store.flush()
    before = _open_fds()
    for _ in range(25):
        threads = [
            threading.Thread(
                target=lambda i=i: [llm.complete(f"q{j % 5}") for j in range(i, i + 5)]
            )
            for i in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # 200 threads came and went: at most a few reading connections stay open
    assert _open_fds() - before <= 4 * 3  # each: the file, its WAL, its shared memory
    assert len(cache.store._idle) <= 4
    cache.close()
    assert len(cache.store._idle) == 0


@contextmanager
def _locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's write transaction on the cache file (held until the block ends)."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("COMMIT")
        other.close()


def _returns_soon(run: Callable[[], Any]) -> Any:
    """``run()`` in a thread; fails if it has not returned within 10 s (it waited)."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(run()), daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the call waited for the other process's transaction"
    return result[0]


ASK = [
    pytest.param(lambda llm, text: llm.complete(text, plugins="cache").text, id="complete"),
    pytest.param(lambda llm, text: asyncio.run(llm.acomplete(text, plugins="cache")).text,
                 id="acomplete"),
]  # fmt: skip


@pytest.mark.parametrize("ask", ASK)
def test_keeping_an_answer_never_waits_for_another_writer(
    cache: ResponseCache, hits: Hits, tmp_path: Path, ask: Any
) -> None:
    llm = llmplug.load("mock")
    ask(llm, "warm up")  # makes the file
    cache.store.flush()
    with _locked(tmp_path / "responses.db"):
        assert _returns_soon(lambda: ask(llm, "q")) == "q"  # a miss, its answer queued
        assert _returns_soon(lambda: ask(llm, "q")) == "q"  # a hit, from the queue
    assert hits.seen == [False, False, True]
    assert len(llm.calls) == 2
    assert cache.store.stats()[0] == 2  # written once the other transaction ended


@pytest.mark.parametrize("ask", ASK)
def test_a_hit_never_writes_and_its_use_is_written_later(
    cache: ResponseCache, hits: Hits, tmp_path: Path, ask: Any
) -> None:
    path = tmp_path / "responses.db"
    llm = llmplug.load("mock")
    ask(llm, "q")
    cache.store.flush()
    (created,) = sqlite3.connect(path).execute("SELECT used_at FROM entries").fetchone()
    with _locked(path):
        assert _returns_soon(lambda: ask(llm, "q")) == "q"  # read only: WAL readers never wait
    assert hits.seen == [False, True]
    cache.store.flush()
    (used,) = sqlite3.connect(path).execute("SELECT used_at FROM entries").fetchone()
    assert used > created  # the hit's time, in the writer's next batch


async def test_hits_and_misses_in_an_event_loop_while_another_process_writes(
    cache: ResponseCache, hits: Hits, tmp_path: Path
) -> None:
    llm = llmplug.load("mock?plugins=cache")
    await llm.acomplete("warm up")
    cache.store.flush()
    loop = asyncio.get_running_loop()
    ticks: list[float] = []

    async def ticking() -> None:
        while True:
            ticks.append(loop.time())
            await asyncio.sleep(0)

    ticker = asyncio.create_task(ticking())
    await asyncio.sleep(0)
    with _locked(tmp_path / "responses.db"):
        for i in range(20):
            assert (await llm.acomplete(f"q{i % 4}")).text == f"q{i % 4}"
    ticker.cancel()
    assert hits.seen.count(True) == 16
    # the loop ran on: a call waiting for the lock would have held it up to 30 s
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 5


def test_answers_queued_are_written_on_close_and_seen_by_another_store(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with isolated_registry():
        plugin = ResponseCache(path)
        name = llmplug.register_plugin(plugin, "cache")
        try:
            llm = llmplug.load("mock?plugins=cache")
            for i in range(30):
                llm.complete(f"q{i}")
        finally:
            llmplug.unregister_plugin(name)
            plugin.close()  # as at interpreter exit (atexit)
    other = CacheStore(path, max_entries=100, max_bytes=10**6)
    try:
        assert other.stats()[0] == 30
        assert other.get(_key_of(path, "q7")) is not None
    finally:
        other.close()


def _key_of(path: Path, prompt: str) -> str:
    """The key the cache gave the mock's call of ``prompt`` (read back from the file)."""
    db = sqlite3.connect(path)
    try:
        for key, answer in db.execute("SELECT key, answer FROM entries"):
            if f'"text": "{prompt}"' in answer:
                return str(key)
    finally:
        db.close()
    raise AssertionError(f"no entry for {prompt!r}")


def test_an_answer_kept_after_close_is_written_at_once(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "c.db", max_entries=10, max_bytes=10**6)
    store.close()
    store.put("k", '{"final": {}}', None)  # a call in an atexit handler, after close
    other = CacheStore(tmp_path / "c.db", max_entries=10, max_bytes=10**6)
    try:
        assert other.get("k") == '{"final": {}}'
    finally:
        other.close()
        store.close()


def test_a_batch_that_cannot_be_written_is_dropped_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    store = CacheStore(blocker / "c.db", max_entries=10, max_bytes=10**6)
    try:
        with caplog.at_level(logging.WARNING, logger="llmplug_cache"):
            store.put("k", "answer", None)
            for _ in range(3):  # tried three times in all (the writer's thread may too)
                store.flush()
        assert "not kept in" in caplog.text
        assert "yet (tried again with the next batch)" in caplog.text
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert "1 answer(s) not kept in" in errors[0].getMessage()
        assert store.get("k") is None  # dropped: a cache's loss only
    finally:
        store.close()


def test_a_batch_not_written_once_stays_queued_and_is_written_with_the_next(
    tmp_path: Path,
) -> None:
    store = CacheStore(tmp_path / "c.db", max_entries=10, max_bytes=10**6)
    real = store._write
    attempts: list[int] = []

    def locked_once(batch: Any, used: Any) -> None:
        attempts.append(len(batch))
        if len(attempts) == 1:  # another process held the file past the writer's wait
            raise sqlite3.OperationalError("database is locked")
        real(batch, used)

    store._write = locked_once  # type: ignore[method-assign]
    try:
        store.put("k", "answer", None)
        store.flush()
        store.flush()
        assert len(attempts) >= 2
        assert store._queued == {}  # written
        assert store.get("k") == "answer"  # from the file
    finally:
        store.close()
