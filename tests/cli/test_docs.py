"""The examples of ``docs/cli.md`` run as shown: every ``console`` block, in order.

In a block, a line starting with ``$ `` is a command (run by bash, stderr merged into
stdout, in one isolated environment shared by the whole page); the lines after it are
its output. In the expected output, ``...`` alone on a line stands for any number of
lines, and ``...`` inside a line for any text; ``~`` is the test's home directory.
``$ echo $?`` shows the previous command's exit code. ``text`` blocks are not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Env

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
_BLOCK = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[str, list[str]]]:
    """``(command, expected output lines)`` of every console block, in page order."""
    found: list[tuple[str, list[str]]] = []
    for block in _BLOCK.findall(DOC.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            else:
                assert found, f"output before any command in docs/cli.md: {line!r}"
                found[-1][1].append(line)
    return found


def _line_matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual) is not None


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` fits ``expected`` (with its ``...`` wildcards)."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and _line_matches(head, actual[0]) and matches(rest, actual[1:])


def test_the_page_has_examples_of_every_command() -> None:
    commands = " ".join(command for command, _ in examples())
    for name in ("chat", "models", "options", "keys", "aliases", "providers"):
        assert f"llmplug {name}" in commands, name


def test_the_examples_run_as_shown(env: Env) -> None:
    home = env.root
    bin_dir = str(Path(sys.executable).parent)
    environ = env.environ(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
    )
    last_code = 0
    failures = []
    for command, expected in examples():
        if command == "echo $?":
            output, code = f"{last_code}\n", 0
        else:
            done = subprocess.run(
                ["bash", "-c", command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=environ,
                cwd=home,
                timeout=60,
                check=False,
            )
            output, code = done.stdout, done.returncode
        last_code = code
        actual = output.replace(str(home), "~").splitlines()
        if not matches(expected, actual):
            failures.append(
                f"$ {command}\n--- expected:\n" + "\n".join(expected) + "\n--- got:\n" + output
            )
    assert not failures, "docs/cli.md examples differ:\n\n" + "\n\n".join(failures)


@pytest.mark.parametrize(
    ("expected", "actual", "fits"),
    [
        pytest.param(["a", "...", "z"], ["a", "b", "c", "z"], True, id="lines"),
        pytest.param(["a", "..."], ["a"], True, id="no-lines"),
        pytest.param(["x ... y"], ["x 123 y"], True, id="inline"),
        pytest.param(["a"], ["a", "b"], False, id="extra-line"),
        pytest.param(["a (b)"], ["a b"], False, id="literal"),
    ],
)
def test_the_matcher(expected: list[str], actual: list[str], fits: bool) -> None:
    assert matches(expected, actual) is fits
