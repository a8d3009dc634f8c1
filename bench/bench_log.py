"""What the call log (llmplug-log) costs a call and a streamed chunk, on the loopback stub.

llmplug's ``openai`` provider talks to the loopback stub (``_stub_server.py``, its own
process), with no hook plugin, then with the call log (a ``CallLog`` writing to a
temporary file with its default batching), then with the log and the cost plugin, and,
for reference, with a plugin that only appends each chunk's delta to a list ("a
buffer"). Numbers are the client process's CPU time (``time.process_time``: every
thread, so the log's writer thread is counted), each repeat ending with the log flushed,
so every call measured was also written. Configurations are interleaved, repeats
reported as min and median (the machine is shared and noisy).

* per call: ``chat`` (sync) and ``achat``; the target is at most 5% over no plugin:
  met in instructions (``--callgrind``: +4.2%), not in CPU time (+6-8% on ``chat``,
  +3-7% on ``achat``, on an idle 2-core machine; see docs/plugins/log.md);
* per chunk: the difference between streams of 256 and 16 tokens, divided by 240; the
  log has no per-chunk hook (time to first chunk is the core's), so its per-chunk cost
  must not exceed the "buffer" plugin's.

With ``--callgrind`` it counts instructions instead (valgrind's callgrind, every thread
of the client; the stub runs outside it): each configuration runs in a child process
twice, with two numbers of calls, and the difference divided by the difference in calls
is the cost of one call, start-up and exit cancelling out. Instruction counts do not
move with the load of a shared machine; they do not see cache misses or waiting, and
over a socket they still vary a little with timing (a slower client finds more data
waiting), so compare configurations of one run only.

    python bench/bench_log.py              # about a minute on a 2-core machine
    python bench/bench_log.py --callgrind  # a few minutes: valgrind is ~50x slower
"""

from __future__ import annotations

import asyncio
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
sys.path.insert(0, str(HERE))

from bench_openai import Server  # noqa: E402 - bench/ is not a package

MODEL = "gpt-4o-mini"
CALLS = 300
STREAMS = 12
REPEATS = 15
SHORT, LONG = 16, 256


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
    """A set of plugins (made once) registered while its measurements run."""

    def __init__(self, name: str, plugins: list[Any]) -> None:
        self.name = name
        self.plugins = plugins
        self.names: list[str] = []

    def __enter__(self) -> Config:
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

    llmplug_cost.enable()
    configs = [
        Config("no plugin", []),
        Config("call log", [CallLog(path / "log.db")]),
        Config("call log + cost", [CallLog(path / "log-and-cost.db"), llmplug_cost]),
        Config("buffer (reference)", [Buffer()]),
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
    report(configs, results)
    folder.cleanup()


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
    for label, pick in (("min", min), ("median", statistics.median)):
        log_chunk = per_chunk("call log", pick)
        buffer_chunk = per_chunk("buffer (reference)", pick)
        verdict = "ok" if log_chunk <= buffer_chunk else "MORE than appending to a buffer"
        print(
            f"call log, per chunk ({label}): {log_chunk * 1e6:.2f} µs vs "
            f"{buffer_chunk * 1e6:.2f} µs for a plugin appending to a buffer: {verdict}"
        )
    for config in configs:
        for plugin in config.plugins:
            close = getattr(plugin, "close", None)
            if close is not None:
                close()


# -- instruction counts (callgrind) ---------------------------------------------------------

# (config, case, calls): a child runs `case` `calls` times with `config`'s plugins
_CHILD_CALLS = {"chat": (20, 120), "stream16": (4, 24), "stream256": (4, 24)}


def child(config: str, case: str, calls: int, url: str) -> None:
    """Run inside callgrind: warm up, then ``calls`` calls, then flush the log."""
    folder = tempfile.TemporaryDirectory(prefix="llmplug-bench-log-")
    plugins: list[Any] = {
        "no plugin": [],
        "call log": [
            CallLog(Path(folder.name) / "log.db", batch_size=int(os.environ.get("BATCH", "200")))
        ],
        "buffer (reference)": [Buffer()],
    }[config]
    for plugin in plugins:
        llmplug.register_plugin(plugin)
    llm = llmplug.load(f"openai:{MODEL}?base_url={url}", api_key="x")
    messages = [llmplug.ChatMessage(role="user", content="Tell me about foxes and dogs.")]

    def work() -> None:
        if case == "chat":
            llm.chat(messages)
        else:
            "".join(c.delta or "" for c in llm.stream_chat(messages))

    if os.environ.get("NOGC"):
        gc.disable()
    for _ in range(3):  # warm-up: lazy imports, the connection, the log file
        work()
    for plugin in plugins:
        getattr(plugin, "flush", lambda: None)()
    for _ in range(calls):
        work()
    for plugin in plugins:
        getattr(plugin, "close", lambda: None)()
    folder.cleanup()


def instructions(config: str, case: str, calls: int, url: str) -> int:
    """Instructions callgrind counts for one child run."""
    with tempfile.TemporaryDirectory() as out:
        target = Path(out) / "callgrind.out"
        subprocess.run(
            [
                "valgrind", "--tool=callgrind", f"--callgrind-out-file={target}",
                sys.executable, __file__, "--child", config, case, str(calls), url,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for line in target.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def main_callgrind() -> None:
    short, long = Server(SHORT), Server(LONG)
    urls = {"chat": short.base_url, "stream16": short.base_url, "stream256": long.base_url}
    configs = ("no plugin", "call log", "buffer (reference)")
    per: dict[tuple[str, str], float] = {}
    for config in configs:
        for case, (few, many) in _CHILD_CALLS.items():
            low = instructions(config, case, few, urls[case])
            high = instructions(config, case, many, urls[case])
            per[config, case] = (high - low) / (many - few)
    print("instructions per call and per streamed chunk (callgrind, every client thread)")
    print(f"{'':22}{'chat':>14}{'per chunk':>14}")
    for config in configs:
        chunk = (per[config, "stream256"] - per[config, "stream16"]) / (LONG - SHORT)
        print(f"{config:22}{per[config, 'chat']:>14,.0f}{chunk:>14,.0f}")
    base = per["no plugin", "chat"]
    over = per["call log", "chat"] / base - 1
    print()
    verdict = "ok" if over <= 0.05 else "OVER the 5% target"
    print(f"call log, chat: +{over:.1%} over no plugin: {verdict}")
    chunks = {
        c: (per[c, "stream256"] - per[c, "stream16"]) / (LONG - SHORT)
        for c in ("call log", "buffer (reference)")
    }
    verdict = "ok" if chunks["call log"] <= chunks["buffer (reference)"] else "MORE"
    print(
        f"call log, per chunk: {chunks['call log']:,.0f} vs {chunks['buffer (reference)']:,.0f} "
        f"instructions for a plugin appending to a buffer: {verdict}"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif sys.argv[1:2] == ["--callgrind"]:
        main_callgrind()
    else:
        main()
