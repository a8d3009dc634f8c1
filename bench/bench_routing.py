"""Routing: its own CPU cost per call, and how exactly its rate limits hold.

One loopback OpenAI-compatible stub (``_stub_server.py``, in its own process), the
``openai`` provider pointed at it, and three routes over that provider:

* **fallback**: ``FallbackLLM([primary, backup])``, the primary answering;
* **balance**: ``BalancedLLM([deployment, deployment])``, round-robin;
* **limit**: ``LimitedLLM(model, rpm=..., tpm=...)`` with limits never reached, so the
  tokens are estimated, reserved and corrected from the usage on every call.

**Overhead.** The client process's CPU time (``time.process_time``) per call of the
bare provider and of each route, for ``chat``, ``achat``, ``stream_chat`` and
``astream_chat``, in interleaved repeats after a warm-up; the route's overhead is the
ratio of the mins and of the medians (target: under 3%, issue 20).

**Rate limits.** 200 concurrent callers (asyncio tasks, then threads) call through one
``limit`` route for a while; the stub counts the requests it serves. After the first
burst, the served rate must be within 5% of the configured one: requests per minute,
then tokens per minute (the stub reports the same usage for every call).

    python bench/bench_routing.py              # about two minutes on a 2-core machine
    python bench/bench_routing.py --quick      # fewer repeats, shorter rate windows
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import llmplug
from llmplug.routing import BalancedLLM, FallbackLLM, LimitedLLM, RoutingState, set_routing_state

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from bench_openai import Server  # noqa: E402 - bench/ is not a package

# Only this repository's provider plugins: hook plugins (the test fixtures', the call
# log's) would run on every call.
os.environ.setdefault(
    "LLMPLUG_PLUGINS",
    ",".join(
        project["name"]
        for path in sorted(HERE.parent.glob("plugins/*/pyproject.toml"))
        if "llmplug.providers"
        in (project := tomllib.loads(path.read_text())["project"]).get("entry-points", {})
    ),
)

TOKENS = 64  # tokens per streamed reply
USAGE = 12 + TOKENS  # the total tokens the stub reports for every call
MESSAGES = [llmplug.ChatMessage("Tell me about foxes and dogs.")]
TARGET_OVERHEAD = 0.03
TARGET_RATE = 0.05


def provider(server: Server, model: str = "gpt-4o-mini") -> Any:
    return llmplug.load(f"openai:{model}?base_url={server.base_url}", api_key="x")


# -- overhead ---------------------------------------------------------------------------


def sync_cases(llm: Any) -> dict[str, Callable[[], Any]]:
    return {
        "chat": lambda: llm.chat(MESSAGES),
        "stream_chat": lambda: [c.delta for c in llm.stream_chat(MESSAGES)],
    }


def async_cases(llm: Any) -> dict[str, Callable[[], Any]]:
    async def achat() -> Any:
        return await llm.achat(MESSAGES)

    async def astream() -> Any:
        return [c.delta async for c in await llm.astream_chat(MESSAGES)]

    return {"achat": achat, "astream_chat": astream}


def cpu_per_call(fn: Callable[[], Any], n: int, loop: asyncio.AbstractEventLoop | None) -> float:
    started = time.process_time()
    if loop is None:
        for _ in range(n):
            fn()
    else:

        async def many() -> None:
            for _ in range(n):
                await fn()

        loop.run_until_complete(many())
    return (time.process_time() - started) / n


def overhead(server: Server, repeats: int) -> list[tuple[str, str, float, float, float, float]]:
    """Per endpoint and route: (endpoint, route, bare min, route min, ratio of mins,
    median of the paired ratios: route / bare measured back to back in each round)."""
    bare = provider(server)
    routes = {
        "fallback": FallbackLLM([bare, provider(server, "gpt-4o")]),
        "balance": BalancedLLM([bare, provider(server, "gpt-4.1-mini")]),
        "limit": LimitedLLM(bare, rpm=10**9, tpm=10**12),
    }
    loop = asyncio.new_event_loop()
    rows = []
    counts = {"chat": 200, "achat": 200, "stream_chat": 40, "astream_chat": 40}
    for endpoint in counts:
        is_async = endpoint.startswith("a")
        cases = async_cases if is_async else sync_cases
        clients = {"bare": cases(bare)[endpoint]}
        clients.update({name: cases(route)[endpoint] for name, route in routes.items()})
        runner = loop if is_async else None
        for fn in clients.values():  # warm-up: pools, imports, caches
            cpu_per_call(fn, counts[endpoint] // 4, runner)
        samples: dict[str, list[float]] = {name: [] for name in clients}
        names = list(clients)
        for round_ in range(repeats):
            # back to back, in an order that turns each round: drift hits all alike
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                samples[name].append(cpu_per_call(clients[name], counts[endpoint], runner))
        base = samples["bare"]
        for name in routes:
            paired = [r / b - 1 for r, b in zip(samples[name], base, strict=True)]
            ratio_min = min(samples[name]) / min(base) - 1
            rows.append(
                (
                    endpoint,
                    name,
                    min(base),
                    min(samples[name]),
                    ratio_min,
                    statistics.median(paired),
                )
            )
    for llm in (bare, *routes.values()):
        loop.run_until_complete(llm.aclose())
    loop.close()
    return rows


class _Null(llmplug.ChatLLM):
    """A provider that does no work: what is left of a call is the layers around it."""

    model: str = "null"

    @property
    def metadata(self) -> llmplug.LLMMetadata:
        return llmplug.LLMMetadata(is_chat_model=True, model_name=self.model)

    def chat(self, messages: Any, **kwargs: Any) -> llmplug.ChatResponse:
        return _REPLY

    def stream_chat(self, messages: Any, **kwargs: Any) -> Any:
        yield _REPLY


_REPLY = llmplug.ChatResponse(
    message=llmplug.ChatMessage(role="assistant", content="x"),
    usage=llmplug.Usage(input_tokens=12, output_tokens=64),
)


def own_cost(repeats: int) -> dict[str, float]:
    """Each route's own CPU per ``chat``, in seconds: over a provider that does no work.

    The route's cost adds to its model's: this is the overhead with nothing else in the
    measurement, free of the network stack's noise.
    """
    null = _Null()
    routes = {
        "fallback": FallbackLLM([null, _Null(model="null-2")]),
        "balance": BalancedLLM([null, _Null(model="null-3")]),
        "limit": LimitedLLM(null, rpm=10**9, tpm=10**12),
    }
    n = 20_000

    def best(fn: Callable[[], Any]) -> float:
        return min(cpu_per_call(fn, n, None) for _ in range(repeats))

    bare = best(lambda: null.chat(MESSAGES))
    return {name: best(lambda r=route: r.chat(MESSAGES)) - bare for name, route in routes.items()}


# -- rate limits ---------------------------------------------------------------------------


def measure_rate(
    server: Server, run: Callable[[threading.Event], None], warmup: float, window: float
) -> float:
    """Requests per second the stub served during ``window`` s, after ``warmup`` s."""
    stop = threading.Event()
    runner = threading.Thread(target=run, args=(stop,))
    runner.start()
    time.sleep(warmup)
    first, t0 = server.requests(), time.monotonic()
    time.sleep(window)
    last, t1 = server.requests(), time.monotonic()
    stop.set()
    runner.join(60)
    return (last - first) / (t1 - t0)


def async_callers(llm: Any, callers: int) -> Callable[[threading.Event], None]:
    def run(stop: threading.Event) -> None:
        async def caller() -> None:
            while not stop.is_set():
                await llm.achat(MESSAGES, max_tokens=TOKENS)

        async def main() -> None:
            await asyncio.gather(*(caller() for _ in range(callers)))
            await llm.aclose()

        asyncio.run(main())

    return run


def thread_callers(llm: Any, callers: int) -> Callable[[threading.Event], None]:
    def run(stop: threading.Event) -> None:
        def caller() -> None:
            while not stop.is_set():
                llm.chat(MESSAGES, max_tokens=TOKENS)

        threads = [threading.Thread(target=caller) for _ in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        llm.close()

    return run


def rate_limits(server: Server, window: float) -> list[tuple[str, float, float, float]]:
    """Per case: (case, configured per second, served per second, deviation)."""
    rows = []
    rpm, tpm = 1200, 45_600  # 20 requests/s; 760 tokens/s = 10 calls/s of USAGE tokens
    cases = [
        ("rpm=1200, 200 async tasks", dict(rpm=rpm), async_callers, rpm / 60),
        ("rpm=1200, 200 threads", dict(rpm=rpm), thread_callers, rpm / 60),
        ("tpm=45600, 200 async tasks", dict(tpm=tpm), async_callers, tpm / 60 / USAGE),
        ("tpm=45600, 200 threads", dict(tpm=tpm), thread_callers, tpm / 60 / USAGE),
    ]
    for label, limits, callers, expected in cases:
        previous = set_routing_state(RoutingState())  # each case its own, fresh limit
        try:
            llm = LimitedLLM(provider(server), **limits)
            served = measure_rate(server, callers(llm, 200), warmup=2.0, window=window)
        finally:
            set_routing_state(previous)
        rows.append((label, expected, served, served / expected - 1))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter windows")
    args = parser.parse_args()
    server = Server(TOKENS)
    try:
        own = own_cost(repeats=3 if args.quick else 7)
        rows = overhead(server, repeats=5 if args.quick else 15)
        print(f"Router overhead: client CPU per call (stub: {TOKENS}-token replies)")
        head = f"{'endpoint':14} {'route':9} {'bare µs':>9} {'route µs':>9}"
        print(f"{head} {'mins':>7} {'paired':>7}")
        for endpoint, name, base, routed, ratio_min, ratio_paired in rows:
            print(
                f"{endpoint:14} {name:9} {base * 1e6:9.1f} {routed * 1e6:9.1f} "
                f"{ratio_min:+7.1%} {ratio_paired:+7.1%}"
            )
        bare_chat = min(base for endpoint, _, base, *_ in rows if endpoint == "chat")
        print("\nEach route's own CPU per chat (over a provider doing no work), against the")
        print(f"bare provider's CPU per chat on the stub ({bare_chat * 1e6:.1f} µs):")
        worst = 0.0
        for name, cost in own.items():
            share = cost / bare_chat
            worst = max(worst, share)
            print(f"  {name:9} {cost * 1e6:6.2f} µs  {share:6.1%}")
        verdict = "meets" if worst < TARGET_OVERHEAD else "MISSES"
        print(f"worst {worst:.1%}: {verdict} the target (< {TARGET_OVERHEAD:.0%})\n")
        limits = rate_limits(server, window=5.0 if args.quick else 10.0)
        print("Client-side rate limits under 200 concurrent callers (after a 2 s burst)")
        print(f"{'case':28} {'limit /s':>9} {'served /s':>10} {'deviation':>10}")
        for label, expected, served, deviation in limits:
            print(f"{label:28} {expected:9.2f} {served:10.2f} {deviation:+10.1%}")
        off = max(abs(d) for *_, d in limits)
        verdict = "meets" if off <= TARGET_RATE else "MISSES"
        print(f"largest deviation {off:.1%}: {verdict} the target (within {TARGET_RATE:.0%})")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
