"""A local Ray runtime for the llmplug-ray tests: two CPUs, no cluster, no dashboard.

Ray is a large install (``ray[data]``): these tests run in their own nox session
(``nox -s ray``, part of the README's test command); elsewhere they are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="ray is not installed: these tests run in `nox -s ray`")


@pytest.fixture(scope="session")
def ray_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``ray.init(num_cpus=2)`` once for the session, shut down at its end."""
    config = tmp_path_factory.mktemp("config")
    env = {"XDG_CONFIG_HOME": str(config), "LLMPLUG_DISABLE_PLUGIN_AUTOLOAD": "1"}
    for name in [n for n in os.environ if n.startswith("LLMPLUG_") and n not in env]:
        env[name] = ""
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": env},
    )
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture
def loads_log(tmp_path: Path) -> Path:
    """A file each actor's model load appends a line to (its process id)."""
    return tmp_path / "loads.txt"
