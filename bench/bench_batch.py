"""``llmplug batch``: rows per second against raw httpx2, and memory against row count.

Throughput: one loopback stub (``_stub_server.py``, its own process), one JSONL input of
``--rows`` rows, the same concurrency (``-j``) for each contender, which each read the
input, send one chat request per row and append one JSON line per row to an output:

* **raw httpx2**: a hand-written ``asyncio.gather`` over an ``httpx2.AsyncClient``, a
  semaphore of ``-j`` permits, no retries, no resume, no validation;
* **llmplug.batch.arun_batch** in the same process, through the ``openai`` provider;
* **llmplug batch** the command, in a subprocess (its start-up included).

Each is run ``--repeats`` times, alternating; the best run of each is reported.

Memory: the peak RSS of a job in a child process, with a model that answers at once and
keeps nothing (so the batch runner itself is measured) at 10,000 and at ``--large``
rows (1,000,000 by default), and of resuming the large job once it is done (every row
skipped: the resume bookkeeping, about 4 bytes a row); then through the ``openai``
provider to the stub at 10,000 and ``--stub-rows`` rows (100,000).

    python bench/bench_batch.py                 # the default: 10,000 rows, -j 32
    python bench/bench_batch.py --large 200000  # a quicker memory check
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

from llmplug.batch import arun_batch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_openai import Server  # noqa: E402 - bench/ is not a package

_SCRIPT = Path(sys.executable).with_name("llmplug")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "llmplug"]


def write_input(path: Path, rows: int) -> None:
    """``rows`` rows of ``{"id", "text"}``."""
    with path.open("w", encoding="utf-8") as file:
        for i in range(rows):
            file.write(json.dumps({"id": f"r{i}", "text": f"Summarize item number {i}"}) + "\n")


async def raw_httpx2(source: Path, out: Path, base_url: str, concurrency: int) -> int:
    """The hand-written loop: read rows, gather the requests, write a line per answer."""
    gate = asyncio.Semaphore(concurrency)
    url = f"{base_url}/chat/completions"
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with source.open(encoding="utf-8") as file:
        rows = [json.loads(line) for line in file]
    async with httpx2.AsyncClient(limits=limits, timeout=60) as client:
        with out.open("w", encoding="utf-8") as output:

            async def one(row: dict[str, str]) -> None:
                body = {
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": row["text"]}],
                }
                async with gate:
                    response = await client.post(url, json=body)
                data = response.json()
                line = {
                    "id": row["id"],
                    "answer": data["choices"][0]["message"]["content"],
                    "usage": data["usage"],
                }
                output.write(json.dumps(line) + "\n")

            await asyncio.gather(*(one(row) for row in rows))
    return len(rows)


async def llmplug_inprocess(source: Path, out: Path, base_url: str, concurrency: int) -> int:
    """``arun_batch`` through the openai provider."""
    spec = f"openai:gpt-4o-mini?base_url={base_url}&api_key=x"
    summary = await arun_batch(source, out, spec, prompt="{text}", concurrency=concurrency)
    return summary.succeeded


def llmplug_command(source: Path, out: Path, base_url: str, concurrency: int) -> int:
    """``llmplug batch`` in a subprocess."""
    spec = f"openai:gpt-4o-mini?base_url={base_url}&api_key=x"
    command = [*COMMAND, "batch", str(source), "-m", spec, "-o", str(out)]
    subprocess.run([*command, "--prompt", "{text}", "-j", str(concurrency)], check=True)
    return sum(1 for _ in out.open())


def throughput(rows: int, concurrency: int, repeats: int) -> None:
    server = Server(tokens=16)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.jsonl"
        write_input(source, rows)
        contenders = {
            "raw httpx2 (asyncio.gather)": lambda out: asyncio.run(
                raw_httpx2(source, out, server.base_url, concurrency)
            ),
            "llmplug.batch.arun_batch": lambda out: asyncio.run(
                llmplug_inprocess(source, out, server.base_url, concurrency)
            ),
            "llmplug batch (command)": lambda out: llmplug_command(
                source, out, server.base_url, concurrency
            ),
        }
        best: dict[str, float] = {}
        for repeat in range(repeats):
            for name, run in contenders.items():
                out = Path(folder) / f"out-{repeat}-{len(best)}.jsonl"
                out.unlink(missing_ok=True)
                started = time.perf_counter()
                done = run(out)
                elapsed = time.perf_counter() - started
                assert done == rows, (name, done)
                best[name] = max(best.get(name, 0.0), rows / elapsed)
                out.unlink()
    server.stop()
    base = best["raw httpx2 (asyncio.gather)"]
    print(f"\nthroughput: {rows:,} rows, concurrency {concurrency}, best of {repeats}")
    print(f"{'':32} {'rows/s':>9} {'vs raw':>7}")
    for name, rate in best.items():
        print(f"{name:32} {rate:9.0f} {rate / base:7.2f}")


# A child process runs one job and prints its peak RSS. Its model answers at once and
# keeps nothing (the ``mock`` provider records every call, for tests: not this), so the
# memory measured is the batch runner's own.
PEAK = """
import asyncio, resource, sys
from llmplug import ChatLLM, ChatMessage, ChatResponse, LLMMetadata, Usage
from llmplug.batch import arun_batch


class Echo(ChatLLM):
    @property
    def metadata(self):
        return LLMMetadata(is_chat_model=True, model_name="echo")

    def chat(self, messages, **kwargs):
        text = messages[-1].content or ""
        return ChatResponse(
            message=ChatMessage(role="assistant", content=text),
            usage=Usage(input_tokens=len(text.split()), output_tokens=len(text.split())),
        )

    def stream_chat(self, messages, **kwargs):
        yield self.chat(messages)

    async def achat(self, messages, **kwargs):
        return self.chat(messages)


source, out, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
spec = sys.argv[4] if len(sys.argv) > 4 else None
model = spec if spec else Echo()
asyncio.run(arun_batch(source, out, model, prompt="{text}", concurrency=concurrency))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss(source: Path, out: Path, concurrency: int, spec: str = "") -> tuple[float, float]:
    """Peak RSS (MB) and seconds of one job in a child process."""
    command = [sys.executable, "-c", PEAK, str(source), str(out), str(concurrency), spec]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1]) / 1024, time.perf_counter() - started


def memory(large: int, concurrency: int, stub_rows: int) -> None:
    print(f"\nmemory: peak RSS of a job (arun_batch, -j {concurrency}), by rows")
    with tempfile.TemporaryDirectory() as folder:
        for rows in (10_000, large):
            source = Path(folder) / f"in-{rows}.jsonl"
            out = Path(folder) / f"out-{rows}.jsonl"
            write_input(source, rows)
            peak, seconds = peak_rss(source, out, concurrency)
            print(f"  instant model {rows:>10,} rows: {peak:7.1f} MB  ({seconds:.0f} s)")
            if rows == large:
                peak, seconds = peak_rss(source, out, concurrency)
                print(f"  resumed when done {rows:>6,} rows: {peak:7.1f} MB  ({seconds:.0f} s)")
        server = Server(tokens=16)
        spec = f"openai:gpt-4o-mini?base_url={server.base_url}&api_key=x"
        for rows in (10_000, stub_rows):
            source = Path(folder) / f"stub-in-{rows}.jsonl"
            out = Path(folder) / f"stub-out-{rows}.jsonl"
            write_input(source, rows)
            peak, seconds = peak_rss(source, out, concurrency, spec)
            print(f"  openai -> stub {rows:>10,} rows: {peak:7.1f} MB  ({seconds:.0f} s)")
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("-j", "--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--stub-rows", type=int, default=100_000)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    throughput(args.rows, args.concurrency, args.repeats)
    if not args.skip_memory:
        memory(args.large, args.concurrency, args.stub_rows)


if __name__ == "__main__":
    main()
