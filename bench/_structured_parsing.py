"""``bench_structured.py --parser``: incremental parsing against re-parsing, per chunk.

A structured stream shows the object so far after every chunk. Two ways to get it:

* **incremental** (llmplug): each chunk's new text goes to a ``PartialJSONParser`` that
  keeps its state, and partial objects reuse what was built from closed containers;
* **re-parse**: the whole buffer is parsed again on every chunk, here with the fastest
  parser at hand, pydantic_core's ``from_json(buffer, allow_partial="trailing-strings")``
  (Rust), and the partial object is built again from the whole value.

Outputs of about 1k, 10k and 100k characters (a ``Catalog`` of items, as a model would
write it) are cut into 4-character chunks (about one token each). Two tables: the parse
alone, and the parse plus the partial object handed to the caller. The per-character
cost shows the growth: flat is linear, rising is quadratic. Re-parsing a 100k output
chunk by chunk takes minutes, so at that size its cost is measured on every ``--sample``
th chunk and scaled up (marked "est.": each chunk's cost depends only on the buffer's
length, so a uniform sample estimates the sum).

    python bench/bench_structured.py --parser
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pydantic_core import from_json

from llmplug.structured import PartialBuilder, PartialJSONParser, output_schema

SIZES = (1_000, 10_000, 100_000)


class Item(BaseModel):
    name: str
    price: float
    tags: list[str]
    in_stock: bool
    note: str | None = None


class Catalog(BaseModel):
    title: str
    items: list[Item]


def catalog_text(size: int) -> str:
    """The JSON of a catalog whose text is about ``size`` characters."""
    items: list[dict[str, Any]] = []
    text = ""
    while len(text) < size:
        i = len(items)
        items.append(
            {
                "name": f"Item number {i}",
                "price": round(i * 1.25, 2),
                "tags": ["red", "small"] if i % 2 else ["blue"],
                "in_stock": i % 3 != 0,
                "note": None if i % 4 else 'ships in "two" days\n',
            }
        )
        text = json.dumps({"title": "Spring catalog", "items": items}, indent=1)
    return text


def chunks_of(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


# -- the four ways ------------------------------------------------------------------------


def incremental_parse(chunks: list[str]) -> Any:
    parser = PartialJSONParser("{")
    for chunk in chunks:
        parser.feed(chunk)
        value = parser.value
    return value


def incremental_objects(chunks: list[str]) -> Any:
    parser = PartialJSONParser("{")
    builder = PartialBuilder(output_schema(Catalog))
    partial = None
    for chunk in chunks:
        before = parser.version
        parser.feed(chunk)
        if parser.version != before:
            partial = builder.build(parser.value, parser.closed)
    return partial


def reparse_step(buffer: str) -> Any:
    return from_json(buffer, allow_partial="trailing-strings")


def reparse_objects_step(buffer: str) -> Any:
    value = from_json(buffer, allow_partial="trailing-strings")
    return PartialBuilder(output_schema(Catalog)).build(value, set())


def reparse(chunks: list[str], step: Callable[[str], Any], sample: int) -> tuple[float, bool]:
    """Seconds to run ``step`` on the buffer after every chunk (or every ``sample``th, scaled)."""
    buffers = []
    buffer = ""
    for chunk in chunks:
        buffer += chunk
        buffers.append(buffer)
    picked = buffers[sample // 2 :: sample] if sample > 1 else buffers
    start = time.perf_counter()
    for buffer in picked:
        step(buffer)
    elapsed = time.perf_counter() - start
    return elapsed * len(buffers) / len(picked), sample > 1


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def table(title: str, rows: list[tuple[int, int, float, float, bool]]) -> None:
    print(f"\n{title}")
    print(
        f"{'chars':>8} {'chunks':>7} | {'incremental':>12} {'us/char':>8} | "
        f"{'re-parse':>14} {'us/char':>8} | {'speed-up':>9}"
    )
    for chars, n, fast, slow, estimated in rows:
        mark = " est." if estimated else ""
        print(
            f"{chars:>8,} {n:>7,} | {fast * 1e3:>10.1f}ms {fast / chars * 1e6:>8.2f} | "
            f"{slow * 1e3:>10.0f}ms{mark:<4} {slow / chars * 1e6:>8.1f} | {slow / fast:>8.0f}x"
        )


def parser_tables(chunk: int = 4, sample: int = 20, repeat: int = 3) -> None:
    """Print both tables: parse only, and parse + partial objects, per output size."""
    parse_rows = []
    object_rows = []
    for size in SIZES:
        text = catalog_text(size)
        chunks = chunks_of(text, chunk)
        expected = Catalog.model_validate_json(text)
        final = incremental_objects(chunks)
        assert Catalog.model_validate(final.model_dump()) == expected, "partials disagree"
        assert incremental_parse(chunks) == json.loads(text)
        step = sample if size >= 100_000 else 1
        fast = best(lambda c=chunks: incremental_parse(c), repeat)
        slow, est = reparse(chunks, reparse_step, step)
        parse_rows.append((len(text), len(chunks), fast, slow, est))
        fast = best(lambda c=chunks: incremental_objects(c), repeat)
        slow, est = reparse(chunks, reparse_objects_step, step * (5 if size >= 10_000 else 1))
        object_rows.append((len(text), len(chunks), fast, slow, est))

    print(f"Streamed structured output, {chunk}-character chunks (best of {repeat})")
    table("Parse only: the value so far after every chunk", parse_rows)
    table("Parse + partial object (FlexibleModel) after every chunk", object_rows)
