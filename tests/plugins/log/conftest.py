"""Fixtures of llmplug-log's tests: a log file, and a CallLog writing it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import llmplug
from llmplug.testing import isolated_registry
from llmplug_log import CallLog


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "logs.db"


@pytest.fixture
def log(path: Path) -> Iterator[CallLog]:
    """A CallLog on a temporary file, registered in an isolated registry; never on its own
    schedule (interval of an hour): tests flush it."""
    with isolated_registry(with_routes=True):
        plugin = CallLog(path, interval=3600, batch_size=10_000)
        name = llmplug.register_plugin(plugin, "log")
        try:
            yield plugin
        finally:
            llmplug.unregister_plugin(name)
            plugin.close()
