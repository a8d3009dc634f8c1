"""The optional model-listing provider methods: ``known_models`` and ``list_models``."""

from __future__ import annotations

import pytest

import llmplug
from llmplug import Capabilities, ModelInfo
from llmplug.errors import UnsupportedFeatureError
from llmplug.mock import MockChatLLM


class Listing(MockChatLLM):
    capabilities = Capabilities(model_listing=True)

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        return [ModelInfo(id="small", context_window=4096)]

    def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(id="live-1", owned_by="me")]


def test_known_models_default_to_none() -> None:
    # LlamaIndex's MockLLM declares no table: the base's default
    assert llmplug.MockLLM.known_models() == []


def test_a_provider_without_listing_says_so() -> None:
    llm = llmplug.load("mock")
    assert [m.id for m in type(llm).known_models()] == ["mock-echo"]
    assert not type(llm).capabilities.model_listing
    with pytest.raises(UnsupportedFeatureError, match="no model-listing endpoint") as caught:
        llm.list_models()
    assert caught.value.provider == "mock"
    assert caught.value.feature == "list_models"


async def test_async_listing_defaults_to_the_sync_one() -> None:
    llm = Listing()
    assert [m.id for m in await llm.alist_models()] == ["live-1"]
    with pytest.raises(UnsupportedFeatureError):
        await MockChatLLM().alist_models()


def test_model_info_keeps_the_raw_record_out_of_its_repr() -> None:
    info = ModelInfo(id="m", raw={"id": "m", "secret-ish": "x" * 50})
    assert "secret-ish" not in repr(info)
    assert Listing.known_models()[0].context_window == 4096
