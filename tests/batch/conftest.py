"""Fixtures of the batch tests: the loopback stub, input files, a hermetic registry."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmplug.testing import fake_entry_point, isolated_registry, isolated_routing

from .stub import Stub


@pytest.fixture
def stub() -> Iterator[Stub]:
    with Stub() as server:
        yield server


@pytest.fixture(autouse=True)
def hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Only core's providers, the routes and openai; no config file, no key."""
    for name in ("LLMPLUG_MODEL", "LLMPLUG_PLUGINS", "LLMPLUG_CONFIG", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    eps = [fake_entry_point("openai", "llmplug_openai", dist="llmplug-openai")]
    with isolated_registry(eps, with_routes=True), isolated_routing():
        yield


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row) + "\n")
    return path


def read_output(path: Path) -> list[dict[str, Any]]:
    """Every line of an output, each checked to be whole JSON."""
    data = path.read_bytes()
    assert not data or data.endswith(b"\n")
    return [json.loads(line) for line in data.splitlines()]


@pytest.fixture
def rows_file(tmp_path: Path) -> Callable[..., Path]:
    """``rows_file(n, texts=...)``: an input of ``n`` rows ``{"id": "r<i>", "text": ...}``."""

    def make(n: int, text: Callable[[int], str] = lambda i: f"row {i}", name: str = "in.jsonl"):
        rows = [{"id": f"r{i}", "text": text(i)} for i in range(n)]
        return write_jsonl(tmp_path / name, rows)

    return make
