"""Streamed structured output against plain streaming of the same text, per token.

The target (issue 23): ``stream_structured_predict`` with its partial objects costs at
most 2x the CPU per token of a plain ``stream_chat`` of the same text, at 1 KB, 100 KB
and 1 MB of output, for every shape of schema, and the cost per token does not grow with
the output's length.

Both sides run the OpenAI provider over an in-process transport
(``llmplug.http.testing.MockServer``: no socket, so the client's own work is all that
is measured, and plain streaming is as cheap as it gets). The same server-sent events
carry the JSON in 4-character tokens. One side calls ``stream_chat``; the other calls
``stream_structured_predict`` (the native path, as OpenAI's ``response_format``) and
consumes every partial object and the validated one. Four shapes of output:

* **string**: one long string field (``Article.body``);
* **wide**: 64 fields of mixed types (strings, numbers, booleans, lists of strings);
* **deep**: a tree of sections nested 12 levels deep (open path ~26 objects/arrays);
* **list**: a catalog with a long list of small items.

CPU time (``time.process_time``) of whole calls, plain and structured interleaved, after
a warm-up; min and median over the repeats; the ratio is structured over plain (of the
mins, and of the medians). ``--async`` measures ``astream_chat`` against
``astream_structured_predict`` as well. ``--parser`` prints the older tables: the
incremental parser against re-parsing the whole buffer on every chunk.

    python bench/bench_structured.py [--sizes 1000,100000,1000000] [--repeat 5] [--async]
    python bench/bench_structured.py --parser
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, create_model

import llmplug
from llmplug import ChatMessage, PromptTemplate
from llmplug.http.testing import MockServer, Reply, sse

sys.path.insert(0, str(Path(__file__).parent))
from _structured_parsing import parser_tables

os.environ.setdefault("LLMPLUG_DISABLE_PLUGIN_AUTOLOAD", "1")

SIZES = (1_000, 100_000, 1_000_000)
TOKEN = 4  # characters per streamed token
PROMPT = PromptTemplate("Write it.")
MESSAGES = [ChatMessage(role="user", content="Write it.")]


# -- the shapes --------------------------------------------------------------------------


class Article(BaseModel):
    title: str
    body: str


WIDE_TYPES: tuple[Any, ...] = (str, int, float, bool, list[str])
Wide = create_model(  # type: ignore[call-overload]
    "Wide", **{f"field_{i:02d}": (WIDE_TYPES[i % len(WIDE_TYPES)], ...) for i in range(64)}
)


class Section(BaseModel):
    title: str
    text: str
    sections: list[Section] = []


class Document(BaseModel):
    name: str
    sections: list[Section]


class Item(BaseModel):
    name: str
    price: float
    tags: list[str]
    in_stock: bool
    note: str | None = None


class Catalog(BaseModel):
    title: str
    items: list[Item]


def string_value(size: int) -> dict[str, Any]:
    body = ("The quick brown fox jumps over the lazy dog. " * (size // 45 + 1))[:size]
    return {"title": "A long article", "body": body}


def _wide(per_field: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for i in range(64):
        kind = WIDE_TYPES[i % len(WIDE_TYPES)]
        if kind is str:
            value[f"field_{i:02d}"] = ("wide text " * (per_field // 10 + 1))[:per_field]
        elif kind is int:
            value[f"field_{i:02d}"] = i * 1_000_003
        elif kind is float:
            value[f"field_{i:02d}"] = i * 3.25
        elif kind is bool:
            value[f"field_{i:02d}"] = i % 3 == 0
        else:
            value[f"field_{i:02d}"] = ["tag"] * max(1, per_field // 7)
    return value


def wide_value(size: int) -> dict[str, Any]:
    # the strings and lists grow with the size; scaled once to land near it
    per_field = max(1, size // 64)
    actual = len(Wide.model_validate(_wide(per_field)).model_dump_json())
    return _wide(max(1, per_field * size // actual))


def _chain(depth: int, n: int) -> dict[str, Any]:
    section: dict[str, Any] = {"title": f"{n}.{depth}", "text": "Some words here.", "sections": []}
    return section if depth == 1 else {**section, "sections": [_chain(depth - 1, n)]}


def deep_value(size: int) -> dict[str, Any]:
    chain_size = len(json.dumps(_chain(12, 0)))
    return {"name": "doc", "sections": [_chain(12, n) for n in range(max(1, size // chain_size))]}


def list_value(size: int) -> dict[str, Any]:
    count = max(1, size // 100)
    items = [
        {
            "name": f"Item number {i}",
            "price": round(i * 1.25, 2),
            "tags": ["red", "small"] if i % 2 else ["blue"],
            "in_stock": i % 3 != 0,
            "note": None if i % 4 else 'ships in "two" days',
        }
        for i in range(count)
    ]
    return {"title": "Spring catalog", "items": items}


SHAPES: dict[str, tuple[type[BaseModel], Callable[[int], dict[str, Any]]]] = {
    "string": (Article, string_value),
    "wide": (Wide, wide_value),
    "deep": (Document, deep_value),
    "list": (Catalog, list_value),
}


# -- the provider ------------------------------------------------------------------------


def events(text: str) -> list[bytes]:
    """The SSE body of a chat.completion stream carrying ``text`` in tokens."""
    head = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    chunks = [
        {**head, "choices": [{"index": 0, "delta": {"content": text[i : i + TOKEN]}}]}
        for i in range(0, len(text), TOKEN)
    ]
    chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return sse(*chunks)


def provider(body: list[bytes]) -> Any:
    server = MockServer(Reply(200, headers={"content-type": "text/event-stream"}, body=body))
    return llmplug.load(
        "openai:gpt-4o-mini",
        api_key="sk-bench",
        transport=server.transport(),
        async_transport=server.async_transport(),
    )


class Case:
    """One shape at one size: the plain and the structured call, sync and async."""

    def __init__(self, shape: str, size: int) -> None:
        self.model, make = SHAPES[shape]
        value = self.model.model_validate(make(size))
        self.text = value.model_dump_json()
        self.expected = value
        self.llm = provider(events(self.text))
        self.tokens = -(-len(self.text) // TOKEN)
        self.partials = 0

    def plain(self) -> None:
        for _ in self.llm.stream_chat(MESSAGES):
            pass

    def structured(self) -> None:
        items = 0
        last = None
        for last in self.llm.stream_structured_predict(self.model, PROMPT):  # noqa: B007
            items += 1
        assert last == self.expected, "the final object differs"
        self.partials = items - 1

    def aplain(self) -> None:
        async def run() -> None:
            async for _ in await self.llm.astream_chat(MESSAGES):
                pass

        asyncio.run(run())

    def astructured(self) -> None:
        async def run() -> None:
            items = 0
            last = None
            async for last in await self.llm.astream_structured_predict(  # noqa: B007
                self.model, PROMPT
            ):
                items += 1
            assert last == self.expected, "the final object differs"
            self.partials = items - 1

        asyncio.run(run())


def cpu(fn: Callable[[], None]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def measure(case: Case, repeat: int, sync: bool) -> tuple[list[float], list[float]]:
    """CPU seconds of the plain and the structured call, interleaved, after a warm-up."""
    plain, structured = (case.plain, case.structured) if sync else (case.aplain, case.astructured)
    plain()
    structured()
    plains, structureds = [], []
    for i in range(repeat):
        pair = ((plains, plain), (structureds, structured))
        for times, fn in pair if i % 2 == 0 else reversed(pair):
            times.append(cpu(fn))
    return plains, structureds


def report(sizes: list[int], repeat: int, sync: bool) -> None:
    label = "stream_chat vs stream_structured_predict" if sync else "async forms"
    print(f"\n{label}: CPU per token (µs), min / median of {repeat}; ratio structured/plain")
    print(
        f"{'shape':7} {'chars':>9} {'tokens':>8} {'partials':>8} | {'plain':>13} | "
        f"{'structured':>13} | {'ratio min':>9} {'median':>7} | {'extra/token':>11}"
    )
    worst = 0.0
    for shape in SHAPES:
        for size in sizes:
            case = Case(shape, size)
            runs = max(3, repeat if size < 1_000_000 else min(repeat, 3))
            plains, structureds = measure(case, runs, sync)
            per = 1e6 / case.tokens
            p_min, p_med = min(plains) * per, statistics.median(plains) * per
            s_min, s_med = min(structureds) * per, statistics.median(structureds) * per
            ratio_min, ratio_med = s_min / p_min, s_med / p_med
            worst = max(worst, ratio_min, ratio_med)
            print(
                f"{shape:7} {len(case.text):>9,} {case.tokens:>8,} {case.partials:>8,} | "
                f"{p_min:6.2f} {p_med:6.2f} | {s_min:6.2f} {s_med:6.2f} | "
                f"{ratio_min:8.2f}x {ratio_med:6.2f}x | {s_med - p_med:10.2f}"
            )
    verdict = "met" if worst <= 2.0 else "NOT met"
    print(f"worst ratio {worst:.2f}x: the 2x target is {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="output characters")
    parser.add_argument("--repeat", type=int, default=5, help="runs per side (3 at 1 MB)")
    parser.add_argument("--async", dest="run_async", action="store_true", help="async forms too")
    parser.add_argument("--parser", action="store_true", help="the parser tables instead")
    args = parser.parse_args()
    if args.parser:
        parser_tables()
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"python {sys.version.split()[0]}, {TOKEN}-character tokens, load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    report(sizes, args.repeat, sync=True)
    if args.run_async:
        report(sizes, args.repeat, sync=False)


if __name__ == "__main__":
    main()
