"""The real gateway on loopback (uvicorn in a thread), and keys for it.

``serve(models=..., **server_options)`` starts a :class:`GatewayServer` on a free port of
127.0.0.1 and returns a :class:`Running` (its base URL, its gateway); every server started
in a test is stopped (gracefully) at the end of it. Each test gets its own key file and
a fresh routing state, so keys' limits never leak between tests.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("llmplug_server") is None:  # pragma: no cover
    reason = "llmplug-server is not installed: pip install -e plugins/server"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from llmplug.testing import isolated_routing
from llmplug_server import GatewayConfig, GatewayKeys, GatewayServer


@dataclass
class Running:
    """A gateway serving on loopback."""

    server: GatewayServer
    url: str  # http://127.0.0.1:PORT
    key: str  # an unlimited key for every model

    @property
    def v1(self) -> str:
        return self.url + "/v1"


@pytest.fixture(autouse=True)
def _fresh_routing() -> Iterator[None]:
    with isolated_routing():
        yield


@pytest.fixture
def keys(tmp_path: Path) -> GatewayKeys:
    return GatewayKeys(tmp_path / "gateway-keys.json")


@pytest.fixture
def serve(keys: GatewayKeys) -> Iterator[Callable[..., Running]]:
    started: list[tuple[GatewayServer, Any]] = []

    def start(models: dict[str, Any], **config: Any) -> Running:
        key, _ = keys.create("tests")
        settings = GatewayConfig(host="127.0.0.1", port=0, **config)
        server = GatewayServer(
            settings, models=models, keys=keys, access_log=False, log_level="warning"
        )
        thread = server.run_in_thread()
        started.append((server, thread))
        return Running(server, f"http://127.0.0.1:{server.port}", key)

    yield start
    for server, thread in started:
        server.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the gateway did not stop"
