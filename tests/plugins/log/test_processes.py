"""llmplug-log across processes: exit, two writers at once, a crash in the middle of a write."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmplug_log import LogStore

# each script makes calls with the installed plugin (entry point, LLMPLUG_LOG=1) or with a
# CallLog of its own; argv: path, count
_INSTALLED = """
import sys
import llmplug

llm = llmplug.load("mock")
for i in range(int(sys.argv[2])):
    llm.complete(f"{sys.argv[3]} call {i}")
# no flush: the queued calls are written at exit
"""

_OWN = """
import sys
import llmplug
from llmplug_log import CallLog

log = CallLog(sys.argv[1], batch_size=10, interval=0.01)
llmplug.register_plugin(log, "mine")
llm = llmplug.load("mock")
for i in range(int(sys.argv[2])):
    llm.complete(f"{sys.argv[3]} call {i}")
"""

# writes one batch, then dies (os._exit, as kill -9 would) in the middle of writing the
# next one: its insert done, its transaction not committed
_CRASH = """
import os, sys
import llmplug
from llmplug_log import CallLog

log = CallLog(sys.argv[1], interval=3600)
llmplug.register_plugin(log, "mine")
llm = llmplug.load("mock")
for i in range(int(sys.argv[2])):
    llm.complete(f"kept {i}")
assert log.flush() == int(sys.argv[2])


class DiesBeforeCommit:
    def __init__(self, db):
        self.db = db

    def execute(self, sql, *args):
        if sql == "COMMIT":
            assert self.db.in_transaction  # the batch is in, not committed
            os._exit(9)
        return self.db.execute(sql, *args)


log.writer._store.db = DiesBeforeCommit(log.writer._store.db)
for i in range(50):
    llm.complete(f"lost {i}")
log.flush()
"""


# calls made in multiprocessing children, which end with os._exit after their finalizers
_CHILDREN = """
import multiprocessing, sys
import llmplug

def work(tag):
    llm = llmplug.load("mock")
    for i in range(4):
        llm.complete(f"{tag} call {i}")

if __name__ == "__main__":
    llmplug.load("mock").complete("parent")  # the log starts in the parent, then forks
    context = multiprocessing.get_context(sys.argv[1])
    children = [context.Process(target=work, args=(f"child{n}",)) for n in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join()
        assert child.exitcode == 0
    pool = context.Pool(2)
    pool.map(work, ["pooled0", "pooled1"])
    pool.close()  # not terminate(): its workers end by a signal, losing what they queued
    pool.join()
"""


def _run(script: str, *args: str, **env: str) -> subprocess.Popen[str]:
    environ = {**os.environ, "LLMPLUG_LOG": "0", **env}
    environ.pop("LLMPLUG_LOG_PATH", None)
    environ.update(env)
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _count(path: Path, like: str = "%") -> int:
    store = LogStore(path)
    store.settle()  # the staged batches into the calls table, as any reader does
    store.close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        db.execute("INSERT INTO calls_fts(calls_fts) VALUES ('integrity-check')")
        return int(
            db.execute("SELECT COUNT(*) FROM calls WHERE prompt LIKE ?", [like]).fetchone()[0]
        )
    finally:
        db.close()


def test_the_installed_plugin_writes_everything_at_a_normal_exit(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    proc = _run(_INSTALLED, str(path), "25", "exit", LLMPLUG_LOG="1", LLMPLUG_LOG_PATH=str(path))
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert _count(path) == 25


@pytest.mark.parametrize("script", [pytest.param(_OWN, id="own-log"),
                                    pytest.param(_INSTALLED, id="installed-plugin")])  # fmt: skip
def test_two_processes_write_the_same_log_at_once(tmp_path: Path, script: str) -> None:
    path = tmp_path / "logs.db"
    env = {"LLMPLUG_LOG": "1", "LLMPLUG_LOG_PATH": str(path)} if script is _INSTALLED else {}
    procs = [_run(script, str(path), "300", name, **env) for name in ("left", "right")]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert _count(path, "left%") == 300
    assert _count(path, "right%") == 300
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT COUNT(DISTINCT id) FROM calls").fetchone() == (600,)
    finally:
        db.close()


def test_a_crash_mid_write_loses_only_the_batch_being_written(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    proc = _run(_CRASH, str(path), "20")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 9, err
    assert _count(path, "kept%") == 20  # the batch written before is whole
    assert _count(path, "lost%") == 0  # the half-written batch was rolled back
    # and the file takes new calls
    proc = _run(_OWN, str(path), "5", "after")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert _count(path, "after%") == 5


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_calls_in_multiprocessing_children_are_written(tmp_path: Path, method: str) -> None:
    path = tmp_path / "logs.db"
    script = tmp_path / "children.py"  # spawn imports the main module: a file, not -c
    script.write_text(textwrap.dedent(_CHILDREN))
    environ = {**os.environ, "LLMPLUG_LOG": "1", "LLMPLUG_LOG_PATH": str(path)}
    done = subprocess.run(
        [sys.executable, str(script), method],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert _count(path, "child%") == 8
    assert _count(path, "pooled%") == 8
    assert _count(path, "parent") == 1
