"""The examples of docs/routing.md run, and print what their comments say.

Each ``python`` block runs on its own (a fresh routing state and registry); a ``toml``
block just before it is its config file. A ``print(...)  # text`` line must print
``text``, and comment-only lines right after a ``print`` line are its further lines.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmplug.testing import isolated_registry, isolated_routing

DOC = Path(__file__).parents[2] / "docs" / "routing.md"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str | None]]:
    """Each python block, with the toml block right before it (if any)."""
    found = _BLOCK.findall(DOC.read_text(encoding="utf-8"))
    result = []
    for i, (lang, code) in enumerate(found):
        if lang == "python":
            before = found[i - 1] if i else ("", "")
            result.append((code, before[1] if before[0] == "toml" else None))
    return result


def expected_output(code: str) -> list[str]:
    lines = code.splitlines()
    expected = []
    for i, line in enumerate(lines):
        if "print(" not in line:
            continue
        _, hash_, comment = line.partition("  # ")
        if hash_:
            expected.append(comment)
        indent = len(line) - len(line.lstrip())
        for following in lines[i + 1 :]:
            text = following[indent:]
            if not text.startswith("# "):
                break
            expected.append(text[2:])
    return expected


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    monkeypatch.delenv("LLMPLUG_CONFIG", raising=False)
    monkeypatch.delenv("LLMPLUG_MODEL", raising=False)
    with isolated_registry(with_routes=True), isolated_routing():
        yield


@pytest.mark.parametrize(
    ("code", "config"), [pytest.param(c, t, id=f"block-{i}") for i, (c, t) in enumerate(blocks())]
)
def test_example_runs_and_prints_what_it_says(
    code: str, config: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if config is not None:
        path = tmp_path / "config.toml"
        path.write_text(config, encoding="utf-8")
        monkeypatch.setenv("LLMPLUG_CONFIG", str(path))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "__docs__"})
    assert out.getvalue().splitlines() == expected_output(code)


def test_every_block_is_found() -> None:
    assert len(blocks()) >= 12
