"""Resuming: a job killed at any point (SIGKILL) and run again writes every row once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from llmplug.batch import arun_batch, run_batch
from llmplug.batch._output import ResultFile
from llmplug.errors import ConfigError

from .conftest import read_output, write_jsonl
from .stub import Stub, answer

_SCRIPT = Path(sys.executable).with_name("llmplug")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "llmplug"]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMPLUG_", "OPENAI_"))}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env.pop("NO_COLOR", None)
    return env


def _normal(records: list[dict[str, object]]) -> set[tuple[object, ...]]:
    return {(r["id"], r["row"], r["answer"], json.dumps(r["error"])) for r in records}


def test_a_job_killed_at_random_points_and_resumed_gives_the_same_output(
    stub: Stub, rows_file: Callable[..., Path], tmp_path: Path
) -> None:
    rows = 3000
    source = rows_file(rows, text=lambda i: f"row {i}" + (" #400" if i % 97 == 0 else ""))
    out = tmp_path / "out.jsonl"
    command = [*COMMAND, "batch", str(source), "-m", stub.spec(), "-o", str(out)]
    command += ["--prompt", "{text}", "-j", "16"]
    env = _env(tmp_path)
    chance = random.Random(21)
    kills = 0
    for _ in range(4):
        point = stub.after(stub.requests + chance.randrange(50, 500))
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            assert point.wait(60), "the job never got that far"
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
        finally:
            process.communicate(timeout=60)
        whole = out.read_bytes()
        cut = whole.rfind(b"\n") + 1
        lines = [json.loads(line) for line in whole[:cut].splitlines()]
        assert len({r["row"] for r in lines}) == len(lines)  # no row twice, even mid-way
    assert kills >= 3  # the job was stopped mid-way, not after it ended
    done = subprocess.run(
        command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    assert done.returncode == 1, done.stderr  # some rows failed (#400): exit 1
    assert "already done" in done.stderr
    records = read_output(out)
    assert Counter(r["id"] for r in records) == Counter(f"r{i}" for i in range(rows))
    for r in records:
        if r["row"] % 97 == 0:
            assert r["error"]["type"] == "BadRequestError"
        else:
            assert r["answer"] == answer(f"row {r['row']}")
    # the same output as a job never stopped (lines in another order: rows finish in any)
    clean = tmp_path / "clean.jsonl"
    run_batch(source, clean, stub.spec(), prompt="{text}", concurrency=16)
    assert _normal(records) == _normal(read_output(clean))


# -- the output file --------------------------------------------------------------------


async def test_a_cut_short_last_line_is_dropped_and_its_row_done_again(
    stub: Stub, rows_file: Callable[..., Path], tmp_path: Path
) -> None:
    source = rows_file(10)
    out = tmp_path / "out.jsonl"
    await arun_batch(source, out, stub.spec(), prompt="{text}", concurrency=1)
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:6]) + lines[6][:17])  # killed while writing row 6's line
    summary = await arun_batch(source, out, stub.spec(), prompt="{text}")
    assert summary.dropped == 17
    assert (summary.skipped, summary.succeeded) == (6, 4)
    assert sorted(r["row"] for r in read_output(out)) == list(range(10))
    assert "dropped a cut-short last line (17 bytes)" in summary.describe()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"hello\n", "not a result of llmplug batch", id="not-json"),
        pytest.param(b'{"a": 1}\n', "not a result of llmplug batch", id="another-json"),
        pytest.param(b'{"id": "r1", "row": -1}\n', "not a result of llmplug batch", id="bad-row"),
        pytest.param(b'{"id": "r1", "row": 1}\n' * 2, "holds row 1 twice", id="duplicate"),
    ],
)
def test_an_output_that_is_not_this_jobs_is_refused(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        ResultFile(path).open()
    assert path.read_bytes() == content  # never changed


async def test_an_output_of_another_input_is_refused(
    stub: Stub, rows_file: Callable[..., Path], tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    await arun_batch(rows_file(3), out, stub.spec(), prompt="{text}")
    other = write_jsonl(tmp_path / "other.jsonl", [{"id": "x", "text": "y"}])
    with pytest.raises(ConfigError, match="written from another input"):
        await arun_batch(other, out, stub.spec(), prompt="{text}")
    assert stub.requests == 3


async def test_resuming_keeps_ids_of_any_type_apart(stub: Stub, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": 7, "text": "a"}, {"id": "7", "text": "b"}])
    out = tmp_path / "out.jsonl"
    await arun_batch(source, out, stub.spec(), prompt="{text}")
    summary = await arun_batch(source, out, stub.spec(), prompt="{text}")
    assert summary.skipped == 2
    assert sorted(json.dumps(r["id"]) for r in read_output(out)) == ['"7"', "7"]
