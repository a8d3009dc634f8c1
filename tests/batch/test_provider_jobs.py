"""``run_provider_batch`` and ``llmplug batch --provider-batch`` against a loopback Batch API."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from llmplug.batch import BatchSummary, arun_provider_batch, run_provider_batch
from llmplug.cli import main
from llmplug.errors import APIError, ConfigError, UnsupportedFeatureError
from llmplug.types import BatchLimits
from llmplug_openai import OpenAILLM

from .batch_servers import BatchServer, serving
from .conftest import read_output, write_jsonl

MODES = ["sync", "async"]
FAST = {"poll_interval": 0.001, "max_poll_interval": 0.001}


@pytest.fixture
def server() -> Iterator[BatchServer]:
    with serving("openai") as running:
        yield running
        assert running.errors == []


def _spec(server: BatchServer) -> str:
    return f"openai:gpt-4o-mini?base_url={server.url}&api_key=sk-test&max_retries=0"


def _input(tmp_path: Path, texts: list[str]) -> Path:
    return write_jsonl(
        tmp_path / "in.jsonl", [{"id": f"r{i}", "text": t} for i, t in enumerate(texts)]
    )


async def _run(mode: str, *args: Any, **options: Any) -> BatchSummary:
    if mode == "sync":
        return await asyncio.to_thread(run_provider_batch, *args, **options)
    return await arun_provider_batch(*args, **options)


@pytest.mark.parametrize("mode", MODES)
async def test_a_job_is_sent_polled_and_written_like_a_local_one(
    mode: str, server: BatchServer, tmp_path: Path
) -> None:
    source = _input(tmp_path, ["one", "#400 two", "three"])
    out = tmp_path / "out.jsonl"
    summary = await _run(mode, source, out, _spec(server), prompt="{text}", **FAST)
    by_id = {r["id"]: r for r in read_output(out)}
    assert by_id["r0"]["answer"] == "echo: one"
    assert by_id["r0"]["usage"]["output_tokens"] == 2
    assert by_id["r1"]["error"]["type"] == "BadRequestError"
    assert by_id["r2"]["row"] == 2
    assert (summary.succeeded, summary.failed, summary.running) == (2, 1, [])
    assert not (tmp_path / "out.jsonl.batches.json").exists()
    assert len(server.created) == 1


async def test_rows_a_batch_never_ran_are_sent_again_by_the_next_run(tmp_path: Path) -> None:
    source = _input(tmp_path, [f"row {i}" for i in range(5)])
    out = tmp_path / "out.jsonl"
    with serving("openai", expire_after=2) as server:
        first = await arun_provider_batch(source, out, _spec(server), prompt="{text}", **FAST)
        assert (first.succeeded, first.not_run) == (2, 3)
        assert "3 not run" in first.describe()
        server.expire_after = None
        second = await arun_provider_batch(source, out, _spec(server), prompt="{text}", **FAST)
        assert (second.skipped, second.succeeded) == (2, 3)
        assert len(server.created) == 2
        lines = [
            json.loads(line)
            for line in server.files[server.created[1]["input_file_id"]].splitlines()
        ]
    assert [line["custom_id"] for line in lines] == ["row-2", "row-3", "row-4"]
    records = read_output(out)
    assert Counter(r["id"] for r in records) == Counter(f"r{i}" for i in range(5))


async def test_a_job_sent_without_waiting_is_picked_up_from_its_state_file(
    server: BatchServer, tmp_path: Path
) -> None:
    source = _input(tmp_path, ["one", "two"])
    out = tmp_path / "out.jsonl"
    sent = await arun_provider_batch(
        source, out, _spec(server), prompt="{text}", wait=False, **FAST
    )
    state = json.loads((tmp_path / "out.jsonl.batches.json").read_text())
    assert state == {"provider": "openai", "batches": sent.running}
    assert len(sent.running) == 1
    assert read_output(out) == []
    done = await arun_provider_batch(source, out, _spec(server), prompt="{text}", **FAST)
    assert done.succeeded == 2
    assert len(server.created) == 1  # picked up, never sent twice
    assert not (tmp_path / "out.jsonl.batches.json").exists()


async def test_another_machine_picks_a_batch_up_by_its_id(
    server: BatchServer, tmp_path: Path
) -> None:
    source = _input(tmp_path, ["one", "two"])
    sent = await arun_provider_batch(
        source, tmp_path / "a.jsonl", _spec(server), prompt="{text}", wait=False, **FAST
    )
    out = tmp_path / "elsewhere.jsonl"
    done = await arun_provider_batch(
        source, out, _spec(server), prompt="{text}", batch_ids=sent.running, **FAST
    )
    assert done.succeeded == 2
    assert sorted(r["answer"] for r in read_output(out)) == ["echo: one", "echo: two"]
    assert len(server.created) == 1


async def test_a_refused_batch_raises_and_is_forgotten(tmp_path: Path) -> None:
    source = _input(tmp_path, ["one"])
    out = tmp_path / "out.jsonl"
    with (
        serving("openai", fail="bad line") as server,
        pytest.raises(APIError, match="failed, no row ran: line 1: bad line"),
    ):
        await arun_provider_batch(source, out, _spec(server), prompt="{text}", **FAST)
    assert not (tmp_path / "out.jsonl.batches.json").exists()


async def test_rows_are_split_into_batches_the_provider_takes(
    server: BatchServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(OpenAILLM, "batch_limits", BatchLimits(2, 10**6))
    source = _input(tmp_path, [f"row {i}" for i in range(5)])
    summary = await arun_provider_batch(
        source, tmp_path / "o.jsonl", _spec(server), prompt="{text}", **FAST
    )
    assert summary.succeeded == 5
    assert len(server.created) == 3


class Person(BaseModel):
    name: str


async def test_a_schema_goes_through_the_providers_native_json_output(
    server: BatchServer, tmp_path: Path
) -> None:
    source = _input(tmp_path, ['{"name": "Ann"}', "no json here"])
    out = tmp_path / "out.jsonl"
    await arun_provider_batch(
        source, out, _spec(server), prompt="{text}", output_cls=Person, **FAST
    )
    lines = [
        json.loads(line) for line in server.files[server.created[0]["input_file_id"]].splitlines()
    ]
    assert lines[0]["body"]["response_format"]["type"] == "json_schema"
    by_id = {r["id"]: r for r in read_output(out)}
    assert by_id["r0"]["answer"] == {"name": "Ann"}
    assert by_id["r1"]["error"]["type"] == "StructuredOutputError"


async def test_a_provider_without_a_batch_api_is_refused(tmp_path: Path) -> None:
    source = _input(tmp_path, ["one"])
    with pytest.raises(UnsupportedFeatureError, match="has no batch API"):
        await arun_provider_batch(source, tmp_path / "o.jsonl", "mock", prompt="{text}")


async def test_a_state_file_of_another_provider_is_refused(
    server: BatchServer, tmp_path: Path
) -> None:
    (tmp_path / "o.jsonl.batches.json").write_text('{"provider": "anthropic", "batches": ["m1"]}')
    with pytest.raises(ConfigError, match="were sent to 'anthropic'"):
        await arun_provider_batch(_input(tmp_path, ["x"]), tmp_path / "o.jsonl", _spec(server))


# -- the command line -----------------------------------------------------------------


def test_the_command_sends_waits_and_writes(
    server: BatchServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _input(tmp_path, ["one", "two"])
    out = tmp_path / "out.jsonl"
    args = ["batch", str(source), "-m", _spec(server), "-o", str(out), "--prompt", "{text}"]
    code = main([*args, "--provider-batch", "--poll-interval", "0.001", "--no-wait"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "sent provider batch batch_0001 (2 rows)" in err
    assert "the provider batches keep running" in err
    assert main([*args, "--provider-batch", "--poll-interval", "0.001"]) == 0
    err = capsys.readouterr().err
    assert "2 rows written" in err
    assert len(read_output(out)) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(["--job", "b1"], "--job go with --provider-batch", id="job-alone"),
        pytest.param(["--no-wait"], "--no-wait go with --provider-batch", id="no-wait-alone"),
        pytest.param(["--provider-batch", "-m", "mock"], "has no batch API", id="no-batch-api"),
    ],
)
def test_the_command_refuses_what_cannot_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    source = _input(tmp_path, ["one"])
    code = main(
        ["batch", str(source), "-o", str(tmp_path / "o.jsonl"), "--prompt", "{text}", *extra]
    )
    assert code == 2
    assert message in capsys.readouterr().err
