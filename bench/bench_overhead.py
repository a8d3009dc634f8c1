"""Per-call and per-chunk cost of llmplug's endpoint layer (hooks, nesting, prompt prep).

Compares, on a provider that does no work, the public endpoint with the provider's own
implementation called directly (the function the instrumentation wraps), with no hook
plugins registered and with one no-op observer registered. Numbers are CPU time.

    python bench/bench_overhead.py
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import llmplug
from llmplug import ChatLLM, ChatMessage, ChatResponse, LLMMetadata
from llmplug.testing import isolated_registry

N = 20_000
CHUNKS = 100
REPLY = ChatResponse(message=ChatMessage(role="assistant", content="x"))
CHUNK = ChatResponse(message=ChatMessage(role="assistant", content="x"), delta="x")


class Null(ChatLLM):
    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True)

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return REPLY

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Iterator[ChatResponse]:
        for _ in range(CHUNKS):
            yield CHUNK


class NoOp:
    @llmplug.hookimpl
    def after_call(self, call: Any, response: Any) -> None:
        pass

    @llmplug.hookimpl
    def on_stream_chunk(self, call: Any, chunk: Any) -> None:
        pass


def cpu_per(fn: Callable[[], Any], n: int) -> float:
    fn()
    best = float("inf")
    for _ in range(5):
        t = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - t) / n)
    return best * 1e6


def main() -> None:
    llm = Null()
    messages = [ChatMessage(role="user", content="hi")]
    raw_chat = Null.chat.__wrapped__  # type: ignore[attr-defined]
    raw_stream = Null.stream_chat.__wrapped__  # type: ignore[attr-defined]
    rows = []
    with isolated_registry(with_mock=False):
        rows.append(("chat, provider code only", cpu_per(lambda: raw_chat(llm, messages), N)))
        rows.append(("chat, no hooks", cpu_per(lambda: llm.chat(messages), N)))
        stream_raw = cpu_per(lambda: list(raw_stream(llm, messages)), N // CHUNKS) / CHUNKS
        stream = cpu_per(lambda: list(llm.stream_chat(messages)), N // CHUNKS) / CHUNKS
        rows.append(("stream chunk, provider code only", stream_raw))
        rows.append(("stream chunk, no hooks", stream))
        name = llmplug.register_plugin(NoOp())
        rows.append(("chat, one no-op observer", cpu_per(lambda: llm.chat(messages), N)))
        per_chunk = cpu_per(lambda: list(llm.stream_chat(messages)), N // CHUNKS) / CHUNKS
        rows.append(("stream chunk, one no-op observer", per_chunk))
        llmplug.unregister_plugin(name)
    print(f"{'case':36} {'CPU µs':>8}")
    for label, us in rows:
        print(f"{label:36} {us:8.2f}")


if __name__ == "__main__":
    main()
