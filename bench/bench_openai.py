"""Client-side cost of llmplug's OpenAI provider next to raw httpx2 and the openai SDK.

One run, one loopback stub server (``_stub_server.py``, in its own process, so its CPU
is not the client's), the same requests from three clients:

* **raw httpx2** (the baseline): one pooled ``Client``/``AsyncClient`` with the pool
  limits llmplug uses; ``json.loads`` of the body; for a stream ``iter_lines``, strip
  ``data: ``, ``json.loads`` each event;
* **llmplug**: ``llmplug.load("openai:gpt-4o-mini?base_url=...")``, then ``chat``,
  ``stream_chat``, ``achat``, ``astream_chat``;
* **openai SDK** with its defaults, when importable. ``nox -s bench`` installs only
  llmplug's distributions, so there its column says "not installed"; to fill it, run
  ``pip install openai`` in the environment, then ``python bench/bench_openai.py``.

It measures the client process's CPU time (``time.process_time``) per call and per
streamed token, sync and async, in interleaved repeats after a warm-up (min and median
of the repeats); the wall time of 500 concurrent async calls; and cold import time in
fresh interpreters (bytecode enabled, median). The stub's own CPU per request is shown
to prove it is not the bottleneck. A target (issue 3) passes when both the ratio of the
mins and the ratio of the medians meet it.

Only this repository's provider plugins are loaded (``LLMPLUG_PLUGINS``, unless set):
observer hooks of other installed plugins (the test fixtures, the call log) would run on
every call.

    python bench/bench_openai.py                 # about a minute on a 2-core machine
    python bench/bench_openai.py --profile       # where the client time goes, by layer
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import gc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2

import llmplug
import llmplug.errors
import llmplug.http

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import _stub_server as stub  # noqa: E402 - bench/ is not a package
from _profile import profile_layers  # noqa: E402

# Only this repository's provider plugins: the dev environment also holds test-fixture
# plugins, and the repository's hook plugins (the call log, tracing...), whose hooks
# would run on every call and chunk (bench/bench_log.py measures the call log). Set
# LLMPLUG_PLUGINS yourself to measure with other plugins.
os.environ.setdefault(
    "LLMPLUG_PLUGINS",
    ",".join(
        project["name"]
        for path in sorted(HERE.parent.glob("plugins/*/pyproject.toml"))
        if "llmplug.providers"
        in (project := tomllib.loads(path.read_text())["project"]).get("entry-points", {})
    ),
)

MODEL = "gpt-4o-mini"
PROMPT = "Tell me about foxes and dogs."
IMPORT_RUNS = 11
# (client, statement): timed in fresh interpreters
IMPORTS = [
    ("raw httpx2", "import httpx2"),
    ("llmplug", f'import llmplug; llmplug.load("openai:{MODEL}", api_key="x")'),
    ("openai SDK", 'import openai; openai.OpenAI(api_key="x")'),
]
# The least any library whose types are pydantic models can take: pydantic imported and
# one small model (with a SecretStr, as an API key) built and validated.
FLOOR = (
    "pydantic floor",
    "import pydantic\nclass M(pydantic.BaseModel):\n    key: pydantic.SecretStr | None = None\nM()",
)
# what users get: installed packages have bytecode (the dev environment disables it)
IMPORT_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
IMPORT_TIMER = "import time\nt0 = time.perf_counter()\n{stmt}\nprint(time.perf_counter() - t0)"


# -- the stub server ------------------------------------------------------------------


class Server:
    """The stub in a child process; terminated on exit whatever happens."""

    def __init__(self, tokens: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_stub_server.py"), "--tokens", str(tokens)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        atexit.register(self.stop)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the stub server did not start")
        self.port = int(line)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> tuple[float, int]:
        """The server's CPU seconds so far and the chat requests it has answered."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats") as response:
            data = json.loads(response.read())
        return data["cpu"], data["requests"]

    def requests(self) -> int:
        """The chat requests served so far."""
        return self.stats()[1]

    def stop(self) -> None:
        """Terminate the server (idempotent)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- the clients ----------------------------------------------------------------------
# Each does the same four things and returns the reply text, so the run can check that
# every client really read and decoded every token.


class Raw:
    """The baseline: what one would write by hand with httpx2."""

    name = "raw httpx2"

    def __init__(self, base_url: str, limits: httpx2.Limits) -> None:
        self.url = f"{base_url}/chat/completions"
        self.limits = limits
        self.headers = {"Authorization": "Bearer x"}
        messages = [{"role": "user", "content": PROMPT}]
        self.body = {"model": MODEL, "messages": messages}
        self.stream_body = {**self.body, "stream": True, "stream_options": {"include_usage": True}}
        self.client = httpx2.Client(limits=limits, timeout=60)
        self.aclient: httpx2.AsyncClient | None = None

    def chat(self) -> str:
        response = self.client.post(self.url, json=self.body, headers=self.headers)
        if response.status_code != 200:
            raise RuntimeError(response.status_code)
        return str(json.loads(response.content)["choices"][0]["message"]["content"])

    def stream(self) -> str:
        parts = []
        with self.client.stream(
            "POST", self.url, json=self.stream_body, headers=self.headers
        ) as response:
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    break
                choices = json.loads(data)["choices"]
                if choices and choices[0]["delta"].get("content"):
                    parts.append(choices[0]["delta"]["content"])
        return "".join(parts)

    async def achat(self) -> str:
        if self.aclient is None:
            self.aclient = httpx2.AsyncClient(limits=self.limits, timeout=60)
        response = await self.aclient.post(self.url, json=self.body, headers=self.headers)
        if response.status_code != 200:
            raise RuntimeError(response.status_code)
        return str(json.loads(response.content)["choices"][0]["message"]["content"])

    async def astream(self) -> str:
        if self.aclient is None:
            self.aclient = httpx2.AsyncClient(limits=self.limits, timeout=60)
        parts = []
        async with self.aclient.stream(
            "POST", self.url, json=self.stream_body, headers=self.headers
        ) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    break
                choices = json.loads(data)["choices"]
                if choices and choices[0]["delta"].get("content"):
                    parts.append(choices[0]["delta"]["content"])
        return "".join(parts)

    async def aclose(self) -> None:
        if self.aclient is not None:
            await self.aclient.aclose()
        self.client.close()


class Llmplug:
    """llmplug's ``openai`` provider pointed at the stub."""

    name = "llmplug"

    def __init__(self, base_url: str) -> None:
        self.llm: Any = llmplug.load(f"openai:{MODEL}?base_url={base_url}", api_key="x")
        self.messages = [llmplug.ChatMessage(PROMPT)]

    def chat(self) -> str:
        return str(self.llm.chat(self.messages).message.content)

    def stream(self) -> str:
        return "".join(c.delta for c in self.llm.stream_chat(self.messages) if c.delta)

    async def achat(self) -> str:
        return str((await self.llm.achat(self.messages)).message.content)

    async def astream(self) -> str:
        return "".join(
            [c.delta async for c in await self.llm.astream_chat(self.messages) if c.delta]
        )

    async def aclose(self) -> None:
        await self.llm.aclose()


class SDK:
    """The official openai SDK with its defaults (its own pool, 2 retries)."""

    name = "openai SDK"

    def __init__(self, base_url: str) -> None:
        import openai

        self.client = openai.OpenAI(base_url=base_url, api_key="x")
        self.aclient = openai.AsyncOpenAI(base_url=base_url, api_key="x")
        self.messages: Any = [{"role": "user", "content": PROMPT}]
        self.options: Any = {"include_usage": True}

    def chat(self) -> str:
        reply = self.client.chat.completions.create(model=MODEL, messages=self.messages)
        return str(reply.choices[0].message.content)

    def stream(self) -> str:
        chunks = self.client.chat.completions.create(
            model=MODEL, messages=self.messages, stream=True, stream_options=self.options
        )
        return "".join(
            c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
        )

    async def achat(self) -> str:
        reply = await self.aclient.chat.completions.create(model=MODEL, messages=self.messages)
        return str(reply.choices[0].message.content)

    async def astream(self) -> str:
        chunks = await self.aclient.chat.completions.create(
            model=MODEL, messages=self.messages, stream=True, stream_options=self.options
        )
        return "".join(
            [
                c.choices[0].delta.content
                async for c in chunks
                if c.choices and c.choices[0].delta.content
            ]
        )

    async def aclose(self) -> None:
        await self.aclient.close()
        self.client.close()


# -- measuring ------------------------------------------------------------------------

MODES = ("chat", "achat", "stream", "astream")
LIFECYCLE = ("before_call", "answer_call", "on_stream_chunk", "after_call", "on_call_error")


class Bench:
    """Runs the cells, keeping the samples (µs per call or per token) and stub CPU."""

    def __init__(self, args: argparse.Namespace, server: Server, runner: asyncio.Runner) -> None:
        self.args = args
        self.server = server
        self.runner = runner
        self.expected = "".join(stub.tokens(args.tokens))
        self.samples: dict[tuple[str, str], list[float]] = {}
        self.stub_cpu: dict[tuple[str, str], list[float]] = {}

    def call(self, client: Any, mode: str) -> str:
        """One call of ``mode``, run to the end (on the shared event loop if async)."""
        result = getattr(client, mode)()
        return self.runner.run(result) if mode.startswith("a") else result  # type: ignore[no-any-return]

    def warm_up(self, client: Any) -> None:
        """Open connections, import lazily imported modules, check every reply."""
        for mode in MODES:
            for _ in range(self.args.warmup):
                text = self.call(client, mode)
                if text != self.expected:
                    raise AssertionError(f"{client.name} {mode}: unexpected reply {text[:60]!r}")

    def sample(self, client: Any, mode: str) -> None:
        """Time one repeat of ``mode``: CPU µs per call (per token for streams)."""
        streams = "stream" in mode
        n = self.args.streams if streams else self.args.calls
        per = n * self.args.tokens if streams else n
        gc.collect()
        cpu0, requests0 = self.server.stats()
        if mode.startswith("a"):
            fn: Callable[[], Awaitable[str]] = getattr(client, mode)

            async def loop() -> float:
                t = time.process_time()
                for _ in range(n):
                    await fn()
                return time.process_time() - t

            spent = self.runner.run(loop())
        else:
            sync_fn: Callable[[], str] = getattr(client, mode)
            t = time.process_time()
            for _ in range(n):
                sync_fn()
            spent = time.process_time() - t
        cpu1, requests1 = self.server.stats()
        key = (client.name, mode)
        self.samples.setdefault(key, []).append(spent / per * 1e6)
        self.stub_cpu.setdefault(key, []).append((cpu1 - cpu0) / (requests1 - requests0) * 1e6)

    def concurrent(self, client: Any) -> None:
        """``--concurrency`` calls at once: wall ms, client CPU µs per call, stub CPU share."""
        n = self.args.concurrency

        async def burst() -> tuple[float, float]:
            t, c = time.perf_counter(), time.process_time()
            replies = await asyncio.gather(*(client.achat() for _ in range(n)))
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            if any(reply != self.expected for reply in replies):
                raise AssertionError(f"{client.name}: unexpected reply under concurrency")
            return wall, cpu

        gc.collect()
        server0, _ = self.server.stats()
        wall, cpu = self.runner.run(burst())
        server1, _ = self.server.stats()
        key = (client.name, "concurrent")
        self.samples.setdefault(key, []).append(wall * 1e3)
        self.samples.setdefault((client.name, "concurrent cpu"), []).append(cpu / n * 1e6)
        self.stub_cpu.setdefault(key, []).append((server1 - server0) / wall * 100)


def cold_imports(available: set[str]) -> dict[str, list[float]]:
    """Import times (ms) of each available client, each run in a fresh interpreter."""
    wanted = [(name, stmt) for name, stmt in IMPORTS if name in available] + [FLOOR]
    times: dict[str, list[float]] = {name: [] for name, _ in wanted}
    for _name, stmt in wanted:  # one untimed run writes the bytecode
        subprocess.run([sys.executable, "-c", stmt], env=IMPORT_ENV, check=True)
    for _ in range(IMPORT_RUNS):  # interleaved, so drift hits every case alike
        for name, stmt in wanted:
            out = subprocess.run(
                [sys.executable, "-c", IMPORT_TIMER.format(stmt=stmt)],
                env=IMPORT_ENV,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            times[name].append(float(out) * 1e3)
    return times


# -- the report -----------------------------------------------------------------------

CLIENTS = ("raw httpx2", "llmplug", "openai SDK")
ROWS = [
    # key, label, unit, target ratio against raw httpx2 (None: information only)
    ("chat", "sync chat, CPU per call", "µs", 1.10),
    ("achat", "async chat, CPU per call", "µs", 1.10),
    ("stream", "sync stream, CPU per token", "µs", 1.25),
    ("astream", "async stream, CPU per token", "µs", 1.25),
    ("concurrent", "async x{n} at once, wall", "ms", 1.00),
    ("concurrent cpu", "async x{n} at once, CPU per call", "µs", None),
]
IMPORT_TARGET = 1.20
WIDTHS = (34, 21, 21, 13, 7, 4, 21, 13, 14)


def _line(*cells: str) -> str:
    first, *rest = cells
    return f"{first:{WIDTHS[0]}}" + "".join(
        f" {c:>{w}}" for c, w in zip(rest, WIDTHS[1:], strict=True)
    )


def _cell(values: list[float] | None, unit: str, absent: str) -> str:
    if not values:
        return absent
    digits = 1 if unit == "µs" else 0
    return f"{min(values):,.{digits}f} / {statistics.median(values):,.{digits}f} {unit}"


def _ratios(values: list[float] | None, base: list[float] | None) -> tuple[float, float] | None:
    """The ratio of the mins and the ratio of the medians."""
    if not values or not base:
        return None
    return min(values) / min(base), statistics.median(values) / statistics.median(base)


def _ratio_cell(ratios: tuple[float, float] | None) -> str:
    return "-" if ratios is None else f"{ratios[0]:.2f}/{ratios[1]:.2f}x"


def _verdict(ratios: tuple[float, float] | None, target: float | None) -> str:
    # both the mins and the medians must meet it: a lucky low sample cannot pass alone
    if target is None or ratios is None:
        return ""
    return "PASS" if max(ratios) <= target else "MISS"


def _stub_cell(bench: Bench, key: str) -> str:
    values = bench.stub_cpu.get(("raw httpx2", key))
    raw = bench.samples.get(("raw httpx2", key))
    if not values or not raw:
        return ""
    if key == "concurrent":
        return f"{max(values):.0f}% busy"
    per_request = min(raw) * (bench.args.tokens if "stream" in key else 1)
    stub = statistics.median(values)
    return f"{stub:,.0f} µs ({stub / per_request:.0%})"


def report(bench: Bench, absent: dict[str, str], imports: dict[str, list[float]]) -> None:
    """Print the table: min / median, ratios against raw httpx2, verdicts."""
    n = bench.args.concurrency
    header = _line(
        "case: min / median",
        CLIENTS[0],
        CLIENTS[1],
        "ratio min/med",
        "target",
        "",
        CLIENTS[2],
        "ratio min/med",
        "stub CPU",
    )
    print(header)
    print("-" * len(header))
    for key, label, unit, target in ROWS:
        raw, ours, sdk = (bench.samples.get((name, key)) for name in CLIENTS)
        ratios, sdk_ratios = _ratios(ours, raw), _ratios(sdk, raw)
        print(
            _line(
                label.format(n=n),
                _cell(raw, unit, absent.get(CLIENTS[0], "")),
                _cell(ours, unit, absent.get(CLIENTS[1], "")),
                _ratio_cell(ratios),
                "" if target is None else f"<={target:.2f}x",
                _verdict(ratios, target),
                _cell(sdk, unit, absent.get(CLIENTS[2], "")),
                _ratio_cell(sdk_ratios),
                _stub_cell(bench, key),
            )
        )
    if imports:
        medians = {name: statistics.median(times) for name, times in imports.items()}
        base = medians[CLIENTS[0]]
        ours_ms, sdk_ms = medians.get(CLIENTS[1]), medians.get(CLIENTS[2])
        ratio = None if ours_ms is None else ours_ms / base
        verdict = "" if ratio is None else ("PASS" if ratio <= IMPORT_TARGET else "MISS")
        print(
            _line(
                f"cold import, median of {IMPORT_RUNS}",
                f"{base:,.0f} ms",
                absent.get(CLIENTS[1], "-") if ours_ms is None else f"{ours_ms:,.0f} ms",
                "-" if ratio is None else f"{ratio:.2f}x",
                f"<={IMPORT_TARGET:.2f}x",
                verdict,
                absent.get(CLIENTS[2], "") if sdk_ms is None else f"{sdk_ms:,.0f} ms",
                "-" if sdk_ms is None else f"{sdk_ms / base:.2f}x",
                "",
            )
        )
        print("  cold import statements: " + "; ".join(f"{n}: `{stmt}`" for n, stmt in IMPORTS))
        floor = medians[FLOOR[0]]
        print(
            f"  floor: importing pydantic and building one model takes {floor:,.0f} ms "
            f"({floor / base:.2f}x raw httpx2) on its own; llmplug's types are pydantic models"
        )
    print(
        "\nratio: against raw httpx2 in this run, of the mins and of the medians; PASS needs "
        "both within the target. stub CPU: the server process's "
        "CPU per request (per stream for streams) in the raw httpx2 cells, and its share of the "
        "raw client's; under concurrency its busiest share of the wall time."
    )


def main() -> None:
    """Start the stub, build the clients, measure, report; always stop the stub."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=256, help="tokens per streamed reply")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per cell")
    parser.add_argument("--calls", type=int, default=300, help="calls per non-stream repeat")
    parser.add_argument("--streams", type=int, default=10, help="streams per stream repeat")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls per mode")
    parser.add_argument("--concurrency", type=int, default=500, help="concurrent async calls")
    parser.add_argument("--rounds", type=int, default=7, help="concurrent bursts per client")
    parser.add_argument("--no-import", action="store_true", help="skip the cold import runs")
    parser.add_argument("--profile", action="store_true", help="profile llmplug instead")
    parser.add_argument("--profile-top", type=int, default=25, help="functions per profile")
    args = parser.parse_args()

    server = Server(args.tokens)
    absent: dict[str, str] = {}  # client -> what its column says instead of numbers
    try:
        with asyncio.Runner() as runner:
            bench = Bench(args, server, runner)
            clients: list[Any] = []
            try:
                ours = Llmplug(server.base_url)
                limits = ours.llm.limits
            except llmplug.errors.UnknownProviderError as exc:  # llmplug-openai not installed
                print(f"llmplug openai provider unavailable: {exc}", file=sys.stderr)
                absent["llmplug"] = "not installed"
                ours, limits = None, llmplug.http.DEFAULT_LIMITS
            pool = httpx2.Limits(
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
            )
            clients.append(Raw(server.base_url, pool))
            if ours is not None:
                clients.append(ours)
            if importlib.util.find_spec("openai") is not None:
                clients.append(SDK(server.base_url))
            else:
                absent["openai SDK"] = "not installed"
            try:
                if args.profile:
                    if ours is None:
                        raise SystemExit("--profile needs llmplug-openai")
                    for client in clients[:2]:
                        bench.warm_up(client)
                    per_token = args.streams * args.tokens
                    cases = [("chat", args.calls, args.calls), ("stream", args.streams, per_token)]
                    profile_layers(clients[:2], cases, args.profile_top)
                    return
                run(bench, clients)
            finally:
                for client in clients:
                    runner.run(client.aclose())
    finally:
        server.stop()
    imports = {} if args.no_import else cold_imports({c.name for c in clients})
    report(bench, absent, imports)


def run(bench: Bench, clients: list[Any]) -> None:
    """Warm up, then every repeat runs every client on every cell (interleaved)."""
    args = bench.args
    started = time.perf_counter()
    print(
        f"stub on 127.0.0.1:{bench.server.port}, {args.tokens} tokens per stream; "
        f"{args.repeats} repeats x ({args.calls} calls | {args.streams} streams) per cell; "
        f"clients: {', '.join(c.name for c in clients)}",
        file=sys.stderr,
    )
    for client in clients:
        bench.warm_up(client)
    hooks = llmplug.plugin_manager().hook
    observers = sorted(
        {impl.plugin_name for name in LIFECYCLE for impl in getattr(hooks, name).get_hookimpls()}
    )
    print(
        f"LLMPLUG_PLUGINS={os.environ['LLMPLUG_PLUGINS']}; "
        f"lifecycle hook plugins: {', '.join(observers) or 'none'}",
        file=sys.stderr,
    )
    for _ in range(args.repeats):
        for mode in MODES:
            for client in clients:
                bench.sample(client, mode)
    for client in clients:  # a burst opens the pool's connections: not timed
        bench.concurrent(client)
        bench.samples.pop((client.name, "concurrent"))
        bench.samples.pop((client.name, "concurrent cpu"))
        bench.stub_cpu.pop((client.name, "concurrent"))
    for _ in range(args.rounds):
        for client in clients:
            bench.concurrent(client)
    print(f"measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
