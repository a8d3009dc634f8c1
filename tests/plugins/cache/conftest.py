"""The response cache's tests: a :class:`ResponseCache` on a file of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import llmplug
from llmplug import CallContext
from llmplug.testing import isolated_registry
from llmplug_cache import ResponseCache


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[ResponseCache]:
    with isolated_registry(with_routes=True):
        plugin = ResponseCache(tmp_path / "responses.db")
        name = llmplug.register_plugin(plugin, "cache")
        try:
            yield plugin
        finally:
            llmplug.unregister_plugin(name)
            plugin.close()


class Hits:
    """Another plugin, seeing whether calls were cache hits."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    @llmplug.hookimpl
    def after_call(self, call: CallContext) -> None:
        self.seen.append(call.cache_hit)


@pytest.fixture
def hits(cache: ResponseCache) -> Iterator[Hits]:
    plugin = Hits()
    name = llmplug.register_plugin(plugin, "hits")
    yield plugin
    llmplug.unregister_plugin(name)
