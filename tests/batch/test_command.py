"""``llmplug batch`` in-process: arguments, exit codes, the summary, --schema, --rpm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmplug.cli import main

from .conftest import read_output, write_jsonl
from .stub import Stub


def _input(tmp_path: Path, *texts: str) -> Path:
    return write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": t} for i, t in enumerate(texts)])


def test_a_job_with_failed_rows_exits_1_and_says_so(
    stub: Stub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _input(tmp_path, "one", "#400 two")
    out = tmp_path / "out.jsonl"
    code = main(["batch", str(source), "-m", stub.spec(), "-o", str(out), "--prompt", "{text}"])
    err = capsys.readouterr().err
    assert code == 1
    assert "2 rows written to" in err
    assert "1 answered, 1 failed; 0 already done" in err
    assert "cost: unknown" in err
    assert len(read_output(out)) == 2


def test_schema_and_rate_limit(
    stub: Stub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _input(tmp_path, '{"name": "Ann", "age": 36}')
    out = tmp_path / "out.jsonl"
    args = ["batch", str(source), "-m", stub.spec(), "-o", str(out), "--prompt", "{text}"]
    code = main([*args, "--schema", "name, age int", "--rpm", "600", "-j", "2"])
    assert code == 0, capsys.readouterr().err
    (record,) = read_output(out)
    assert record["answer"] == {"name": "Ann", "age": 36}


def test_a_system_prompt_and_options(stub: Stub, tmp_path: Path) -> None:
    source = _input(tmp_path, "hi")
    out = tmp_path / "out.jsonl"
    args = ["batch", str(source), "-m", stub.spec(), "-o", str(out), "--prompt", "{text}"]
    assert main([*args, "-s", "Be brief.", "--option", "temperature=0"]) == 0
    assert read_output(out)[0]["answer"] == "echo: hi"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["-j", "0"], "expected a whole number of at least 1", id="concurrency"),
        pytest.param(["--retries", "-1"], "expected a whole number (0 or more)", id="retries"),
        pytest.param(["--poll-interval", "0"], "number of seconds above 0", id="poll"),
        pytest.param(["--schema", "{not json"], "--schema:", id="schema"),
    ],
)
def test_bad_arguments_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    source = _input(tmp_path, "x")
    code = main(["batch", str(source), "-m", "mock", "-o", str(tmp_path / "o.jsonl"), *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_output_is_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", str(_input(tmp_path, "x")), "-m", "mock"]) == 2
    assert "-o/--output" in capsys.readouterr().err


def test_help_lists_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "run every row of a file through a model" in capsys.readouterr().out
    assert main(["batch", "--help"]) == 0
    assert "--provider-batch" in capsys.readouterr().out


def test_the_output_is_valid_json_lines(stub: Stub, tmp_path: Path) -> None:
    source = _input(tmp_path, "naïve ☕", 'quote " and \\ backslash')
    out = tmp_path / "out.jsonl"
    assert (
        main(["batch", str(source), "-m", stub.spec(), "-o", str(out), "--prompt", "{text}"]) == 0
    )
    answers = sorted(
        json.loads(line)["answer"] for line in out.read_text(encoding="utf-8").splitlines()
    )
    assert answers == ["echo: naïve ☕", 'echo: quote " and \\ backslash']
