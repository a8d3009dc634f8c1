"""The conformance suite against core's ``mock`` provider (scripted by its options)."""

from __future__ import annotations

import pytest

from llmplug import LLM
from llmplug.testing.conformance import ProviderConformance


class TestMockConformance(ProviderConformance):
    provider = "mock"

    def llm_answering(self, text: str, *, stream: bool) -> LLM:
        return self.load(responses=[text], echo=False)

    def test_unknown_call_option_is_refused(self) -> None:  # type: ignore[override]
        pytest.skip("mock keeps every per-call option in call_options, for tests to inspect")
