"""What the call log (llmplug-log) costs a call and a streamed chunk, on the loopback stub.

llmplug's ``openai`` provider talks to the loopback stub (``_stub_server.py``, its own
process), with no hook plugin, then with the call log (a ``CallLog`` writing to a
temporary file with its default batching), then with the log and the cost plugin, and,
for reference, with a plugin that only appends each chunk's delta to a list ("a
buffer"). Numbers are the client process's CPU time (``time.process_time``: every
thread, so the log's writer thread is counted), each repeat ending with the log flushed,
so every call measured was also written. Configurations are interleaved, repeats
reported as min and median (the machine is shared and noisy).

* per call: ``chat`` (sync) and ``achat``; the target is at most 5% over no plugin;
* per chunk: the difference between streams of 256 and 16 tokens, divided by 240; the
  log has no per-chunk hook (time to first chunk is the core's), so its per-chunk cost
  must not exceed the "buffer" plugin's.

    python bench/bench_log.py            # about a minute on a 2-core machine
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# only the provider under test: no installed hook plugin loads on its own
os.environ["LLMPLUG_PLUGINS"] = "llmplug-openai"
os.environ["LLMPLUG_LOG"] = "0"
os.environ["LLMPLUG_COST"] = "0"

import llmplug
import llmplug_cost
from llmplug_log import CallLog

HERE = Path(__file__).parent
MODEL = "gpt-4o-mini"
CALLS = 150
STREAMS = 12
REPEATS = 9
SHORT, LONG = 16, 256


class Server:
    """The stub in a child process, answering ``tokens`` tokens."""

    def __init__(self, tokens: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_stub_server.py"), "--tokens", str(tokens)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        atexit.register(self.stop)
        assert self.proc.stdout is not None
        self.base_url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}/v1"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


class Buffer:
    """The reference: a plugin doing no more per chunk than appending to a buffer."""

    def __init__(self) -> None:
        self.deltas: list[str] = []

    @llmplug.hookimpl
    def on_stream_chunk(self, chunk: Any) -> None:
        self.deltas.append(chunk.delta)

    def flush(self) -> None:
        self.deltas.clear()


class Config:
    """A set of plugins registered while its measurements run."""

    def __init__(self, name: str, make: Callable[[], list[Any]]) -> None:
        self.name = name
        self.make = make
        self.plugins: list[Any] = []
        self.names: list[str] = []

    def __enter__(self) -> Config:
        self.plugins = self.make()
        self.names = [llmplug.register_plugin(p) for p in self.plugins]
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
        for name in self.names:
            llmplug.unregister_plugin(name)

    def flush(self) -> None:
        for plugin in self.plugins:
            flush = getattr(plugin, "flush", None)
            if flush is not None:
                flush()


def cpu(config: Config, work: Callable[[], Any], n: int) -> float:
    """CPU seconds per run of ``work``, the log's writing included."""
    gc.collect()
    start = time.process_time()
    for _ in range(n):
        work()
    config.flush()
    return (time.process_time() - start) / n


def main() -> None:
    short, long = Server(SHORT), Server(LONG)
    folder = tempfile.TemporaryDirectory(prefix="llmplug-bench-log-")
    path = Path(folder.name)
    messages = [llmplug.ChatMessage(role="user", content="Tell me about foxes and dogs.")]
    llm = llmplug.load(f"openai:{MODEL}?base_url={short.base_url}", api_key="x")
    llm_long = llmplug.load(f"openai:{MODEL}?base_url={long.base_url}", api_key="x")
    loop = asyncio.new_event_loop()

    def log() -> list[Any]:
        return [CallLog(path / f"log-{time.monotonic_ns()}.db")]

    def log_and_cost() -> list[Any]:
        llmplug_cost.enable()
        return [*log(), llmplug_cost]

    configs = [
        Config("no plugin", list),
        Config("call log", log),
        Config("call log + cost", log_and_cost),
        Config("buffer (reference)", lambda: [Buffer()]),
    ]

    def stream(model: Any) -> Callable[[], str]:
        return lambda: "".join(c.delta or "" for c in model.stream_chat(messages))

    cases: dict[str, Callable[[], Any]] = {
        "chat": lambda: llm.chat(messages),
        "achat": lambda: loop.run_until_complete(llm.achat(messages)),
        "stream16": stream(llm),
        "stream256": stream(llm_long),
    }
    results: dict[tuple[str, str], list[float]] = {}
    for config in configs:  # warm-up: imports, connections, the log files
        with config:
            for work in cases.values():
                work()
    for _ in range(REPEATS):
        for config in configs:
            with config:
                for case, work in cases.items():
                    n = CALLS if case in ("chat", "achat") else STREAMS
                    results.setdefault((config.name, case), []).append(cpu(config, work, n))
    loop.close()
    folder.cleanup()
    report(configs, results)


def report(configs: list[Config], results: dict[tuple[str, str], list[float]]) -> None:
    def per_chunk(name: str, pick: Callable[[list[float]], float]) -> float:
        return (pick(results[name, "stream256"]) - pick(results[name, "stream16"])) / (LONG - SHORT)

    print(f"CPU per call and per streamed chunk, µs (min / median of {REPEATS} repeats)")
    print(f"{'':22}{'chat':>18}{'achat':>18}{'per chunk':>18}")
    base = configs[0].name
    for config in configs:
        cells = []
        for case in ("chat", "achat"):
            values = results[config.name, case]
            cells.append(f"{min(values) * 1e6:7.1f} /{statistics.median(values) * 1e6:7.1f}")
        chunk = f"{per_chunk(config.name, min) * 1e6:7.2f} /" + (
            f"{per_chunk(config.name, statistics.median) * 1e6:7.2f}"
        )
        print(f"{config.name:22}{cells[0]:>18}{cells[1]:>18}{chunk:>18}")
    print()
    for config in configs[1:3]:
        for case in ("chat", "achat"):
            over = [
                pick(results[config.name, case]) / pick(results[base, case]) - 1
                for pick in (min, statistics.median)
            ]
            verdict = "ok" if max(over) <= 0.05 else "OVER the 5% target"
            print(
                f"{config.name}, {case}: +{over[0]:.1%} (min) / +{over[1]:.1%} (median) "
                f"over no plugin: {verdict}"
            )
    log_chunk = per_chunk("call log", statistics.median)
    buffer_chunk = per_chunk("buffer (reference)", statistics.median)
    verdict = "ok" if log_chunk <= buffer_chunk else "MORE than appending to a buffer"
    print(
        f"call log, per chunk: {log_chunk * 1e6:.2f} µs vs {buffer_chunk * 1e6:.2f} µs for a "
        f"plugin appending to a buffer (medians): {verdict}"
    )


if __name__ == "__main__":
    main()
