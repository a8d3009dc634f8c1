"""What the response cache (llmplug-cache) makes a caller's thread wait for, and its files.

The ``mock`` provider answers (no network), with a ``ResponseCache`` on a temporary
file. Measured on the caller's thread (an event loop's, for async code), wall time:

* a hit: ``llm.complete(prompt, plugins="cache")`` answered from the file (the lookup
  reads only; the hit's time is noted for the writer);
* a miss kept: the same for a new prompt (lookup, the mock's answer, the answer queued);
* without the cache, for reference;
* the same hit and miss while another process holds a write transaction on the file
  for ``HOLD`` seconds: the most any one call waited;
* open file descriptors after 400 short-lived threads made cached calls.

Medians of ``CALLS`` calls (the machine is shared and noisy).

    python bench/bench_cache.py
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# only the cache under test: no installed hook plugin loads on its own
os.environ["LLMPLUG_PLUGINS"] = "none"

import llmplug
from llmplug_cache import ResponseCache

CALLS = 2000
HOLD = 2.0
_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


def timed(run: Any, prompts: list[str]) -> list[float]:
    times = []
    for prompt in prompts:
        start = time.perf_counter()
        run(prompt)
        times.append(time.perf_counter() - start)
    return times


def micros(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1e6:7.1f} us, max {max(times) * 1e3:8.2f} ms"


def flush(cache: ResponseCache) -> None:
    written = getattr(cache.store, "flush", None)  # the store's writer (this version's)
    if written is not None:
        written()


def main() -> None:
    folder = tempfile.TemporaryDirectory(prefix="llmplug-bench-cache-")
    path = Path(folder.name) / "responses.db"
    cache = ResponseCache(path)
    llm = llmplug.load("mock")
    ask = lambda prompt: llm.complete(prompt, plugins="cache")  # noqa: E731

    plain = timed(lambda p: llm.complete(p), [f"plain {i}" for i in range(CALLS)])
    llmplug.register_plugin(cache, "cache")
    misses = timed(ask, [f"q{i}" for i in range(CALLS)])
    flush(cache)
    hits = timed(ask, [f"q{i}" for i in range(CALLS)])
    flush(cache)
    print(f"no cache          {micros(plain)}")
    print(f"miss, kept        {micros(misses)}")
    print(f"hit               {micros(hits)}")

    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), str(HOLD)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    start = time.perf_counter()
    locked_hits = timed(ask, [f"q{i}" for i in range(50)])
    locked_misses = timed(ask, [f"new {i}" for i in range(5)])
    spent = time.perf_counter() - start
    holder.wait()
    print(f"while another process writes for {HOLD} s (calls took {spent:.2f} s in all):")
    print(f"  hit             {micros(locked_hits)}")
    print(f"  miss, kept      {micros(locked_misses)}")

    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None

    def work(i: int) -> None:
        for j in range(20):
            ask(f"q{(i + j) % 50}")

    for _ in range(50):
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if before is not None:
        after = len(os.listdir("/proc/self/fd"))
        print(f"open files: {before} before, {after} after 400 short-lived threads")
    cache.close()
    sqlite3.connect(path).close()
    folder.cleanup()


if __name__ == "__main__":
    main()
