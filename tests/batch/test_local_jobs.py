"""``run_batch`` / ``arun_batch`` against the loopback stub: every row once, errors kept."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmplug import load
from llmplug.batch import BatchSummary, RowDone, arun_batch, run_batch
from llmplug.errors import AuthenticationError, ConfigError
from llmplug.routing import FallbackLLM, LimitedLLM

from .conftest import read_output, write_jsonl
from .stub import Stub, answer

MODES = ["sync", "async"]


async def _run(mode: str, *args: Any, **options: Any) -> BatchSummary:
    if mode == "sync":
        return await asyncio.to_thread(run_batch, *args, **options)
    return await arun_batch(*args, **options)


async def test_ten_thousand_rows_each_answered_exactly_once(
    stub: Stub, rows_file: Callable[..., Path], tmp_path: Path
) -> None:
    source = rows_file(10_000)
    out = tmp_path / "out.jsonl"
    summary = await arun_batch(source, out, stub.spec(), prompt="{text}", concurrency=32)
    records = read_output(out)
    assert len(records) == 10_000
    assert Counter(r["id"] for r in records) == Counter(f"r{i}" for i in range(10_000))
    assert all(r["answer"] == answer(f"row {r['row']}") for r in records)
    assert all(r["id"] == f"r{r['row']}" and r["error"] is None for r in records)
    assert stub.requests == 10_000
    assert (summary.succeeded, summary.failed, summary.skipped) == (10_000, 0, 0)
    assert summary.input_tokens == 20_000  # "row N": two words each
    assert summary.output_tokens == 30_000  # "echo: row N"
    assert summary.cost is None  # no price known: never a made-up number
    assert all(r["cost"] is None for r in records)


@pytest.mark.parametrize("mode", MODES)
async def test_failing_rows_keep_their_errors_and_the_rest_finishes(
    mode: str, stub: Stub, tmp_path: Path
) -> None:
    texts = {
        "ok-1": "fine",
        "bad": "#400 refused",
        "flaky": "#503x2 busy twice",
        "limited": "#429 always",
        "ok-2": "also fine",
    }
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": k, "text": v} for k, v in texts.items()])
    out = tmp_path / "out.jsonl"
    summary = await _run(
        mode, source, out, stub.spec(), prompt="{text}", retries=2, backoff=0, concurrency=3
    )
    by_id = {r["id"]: r for r in read_output(out)}
    assert set(by_id) == set(texts)
    assert by_id["ok-1"]["answer"] == "echo: fine"
    assert by_id["flaky"]["answer"] == "echo: #503x2 busy twice"
    assert by_id["flaky"]["attempts"] == 3
    assert by_id["bad"]["answer"] is None
    assert by_id["bad"]["error"]["type"] == "BadRequestError"
    assert by_id["bad"]["error"]["status_code"] == 400
    assert "this row is refused" in by_id["bad"]["error"]["message"]
    assert by_id["bad"].get("attempts", 1) == 1  # a 400 is never tried again
    assert by_id["limited"]["error"]["type"] == "RateLimitError"
    assert by_id["limited"]["attempts"] == 3
    assert stub.seen["#429 always"] == 3
    assert (summary.succeeded, summary.failed) == (3, 2)


@pytest.mark.parametrize("mode", MODES)
async def test_an_error_every_row_would_hit_stops_the_job_and_keeps_what_is_done(
    mode: str, stub: Stub, tmp_path: Path
) -> None:
    rows = [{"id": f"r{i}", "text": f"row {i}"} for i in range(5)]
    rows.append({"id": "key", "text": "#401"})
    rows += [{"id": f"s{i}", "text": f"row {i}"} for i in range(200)]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    with pytest.raises(AuthenticationError):
        await _run(mode, source, out, stub.spec(), prompt="{text}", concurrency=1)
    done = [r["id"] for r in read_output(out)]
    assert done == [f"r{i}" for i in range(5)]  # the failing row is not written: resumable
    assert stub.requests == 6


async def test_rows_that_cannot_be_sent_are_recorded_as_input_errors(
    stub: Stub, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": "a", "text": "one"}\n'
        "not json\n"
        "\n"
        '{"text": "no id"}\n'
        '{"id": "b"}\n'
        "[1, 2]\n"
        '{"id": "c", "text": "three"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    summary = await arun_batch(source, out, stub.spec(), prompt="Say {text}")
    records = sorted(read_output(out), key=lambda r: r["row"])
    assert [r["row"] for r in records] == [0, 1, 2, 3, 4, 5]
    assert [r["id"] for r in records] == ["a", None, None, "b", None, "c"]
    errors = [r["error"]["message"] if r["error"] else None for r in records]
    assert errors[0] is None
    assert errors[5] is None
    assert "line 2 is not JSON" in errors[1]
    assert "row 2 has no 'id' (its fields: text)" in errors[2]
    assert "no field 'text' for the prompt (the row's fields: id)" in errors[3]
    assert "line 6 is a JSON list" in errors[4]
    assert {r["error"]["type"] for r in records if r["error"]} == {"InputError"}
    assert (summary.succeeded, summary.failed) == (2, 4)
    assert stub.requests == 2


@pytest.mark.parametrize(
    ("rows", "prompt", "message"),
    [
        pytest.param([{"text": "x"}], "{text}", "row 0 has no 'id'", id="no-id"),
        pytest.param([{"id": 1, "txt": "x"}], "{text}", "no field 'text'", id="template-field"),
        pytest.param([{"id": 1, "text": "x"}], None, r"no 'prompt' \(text\)", id="none"),
    ],
)
async def test_a_first_row_that_cannot_be_sent_stops_before_anything_is_sent(
    stub: Stub, tmp_path: Path, rows: list[dict[str, Any]], prompt: str | None, message: str
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    with pytest.raises(ConfigError, match=message):
        await arun_batch(source, tmp_path / "out.jsonl", stub.spec(), prompt=prompt)
    assert stub.requests == 0
    assert not (tmp_path / "out.jsonl").exists()


async def test_rows_may_bring_their_own_prompt_or_messages(stub: Stub, tmp_path: Path) -> None:
    rows = [
        {"id": 1, "prompt": "plain"},
        {"id": 2, "messages": [{"role": "system", "content": "S"}, {"content": "hi"}]},
        {"id": 3, "messages": [{"role": "wizard", "content": "x"}]},
    ]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    await arun_batch(source, out, stub.spec(), system="Be brief.")
    by_id = {r["id"]: r for r in read_output(out)}
    assert by_id[1]["answer"] == "echo: plain"
    assert by_id[2]["answer"] == "echo: hi"
    assert "role 'wizard'" in by_id[3]["error"]["message"]


async def test_routes_bring_fallbacks_and_rate_limits(stub: Stub, tmp_path: Path) -> None:
    rows = [{"id": i, "text": "#503x1 once" if i == 0 else f"row {i}"} for i in range(4)]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    # two deployments of the stub in a fallback chain, behind a client-side rate limit:
    # the 503 moves on to the second deployment at once, not to a retry of the row
    other = stub.url.replace("127.0.0.1", "localhost")
    chain = FallbackLLM([load(stub.spec("a")), load(f"openai:b?base_url={other}&max_retries=0")])
    limited = LimitedLLM(chain, rpm=6000, burst=60)
    summary = await arun_batch(source, out, limited, prompt="{text}", retries=0)
    records = read_output(out)
    assert [r["error"] for r in records] == [None] * 4
    assert summary.succeeded == 4
    assert stub.seen["#503x1 once"] == 2  # once on each deployment
    assert limited.limiter().rpm == 6000


def test_progress_is_told_of_every_row(
    stub: Stub, rows_file: Callable[..., Path], tmp_path: Path
) -> None:
    events: list[Any] = []

    class Recorder:
        counts_rows = True

        def start(self, total: int | None, done: int) -> None:
            events.append(("start", total, done))

        def advance(self, row: RowDone) -> None:
            events.append(("row", row.ok))

        def note(self, text: str) -> None:
            events.append(("note", text))

        def finish(self, summary: BatchSummary) -> None:
            events.append(("finish", summary.succeeded))

    source = rows_file(20)
    run_batch(source, tmp_path / "out.jsonl", stub.spec(), prompt="{text}", progress=Recorder())
    assert events[0] == ("start", 20, 0)
    assert events[1:-1] == [("row", True)] * 20
    assert events[-1] == ("finish", 20)
