"""LlamaIndex's custom LLM example, ported with only its imports changed.

The class is the page's, decorators and all (``llm_completion_callback`` comes from
``llmplug.llm``); the lines that build an index around it (``Settings``,
``SimpleDirectoryReader``, ``SummaryIndex``) are LlamaIndex's RAG layer, which llmplug
does not have, so the test calls the LLM the way that layer would.
"""

from __future__ import annotations

from typing import Any

from llmplug import (
    ChatMessage,
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    LLMMetadata,
    PromptTemplate,
)
from llmplug.llm import llm_completion_callback
from llmplug.testing import recording_hooks

# --- example: https://developers.llamaindex.ai/python/framework/module_guides/models/llms/usage_custom/


class OurLLM(CustomLLM):
    context_window: int = 3900
    num_output: int = 256
    model_name: str = "custom"
    dummy_response: str = "My response"

    @property
    def metadata(self) -> LLMMetadata:
        """Get LLM metadata."""
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.num_output,
            model_name=self.model_name,
        )

    @llm_completion_callback()
    def complete(self, prompt: str, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self.dummy_response)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, **kwargs: Any) -> CompletionResponseGen:
        response = ""
        for token in self.dummy_response:
            response += token
            yield CompletionResponse(text=response, delta=token)


# --- end


def test_custom_llm_completes_and_streams() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/models/llms/usage_custom/"""
    llm = OurLLM()
    assert llm.complete("Hello").text == "My response"
    chunks = list(llm.stream_complete("Hello"))
    assert "".join(c.delta for c in chunks) == "My response" == chunks[-1].text
    assert llm.metadata.model_name == "custom"
    assert llm.class_name() == "OurLLM"


def test_custom_llm_chats_through_complete() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/models/llms/usage_custom/"""
    llm = OurLLM()
    messages = [ChatMessage(role="user", content="Hi")]
    assert str(llm.chat(messages)) == "assistant: My response"
    assert list(llm.stream_chat(messages))[-1].message.content == "My response"
    # what a query engine does with the LLM: predict over a prompt template
    assert llm.predict(PromptTemplate("Answer: {q}"), q="why?") == "My response"


async def test_custom_llm_async() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/models/llms/usage_custom/"""
    llm = OurLLM()
    messages = [ChatMessage(role="user", content="Hi")]
    assert (await llm.acomplete("Hello")).text == "My response"
    assert (await llm.achat(messages)).message.content == "My response"
    chunks = [c async for c in await llm.astream_chat(messages)]
    assert "".join(c.delta or "" for c in chunks) == "My response"
    tokens = [t async for t in await llm.astream(PromptTemplate("{q}"), q="x")]
    assert "".join(tokens) == "My response"


def test_custom_llm_calls_reach_hook_plugins() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/models/llms/usage_custom/

    "The decorator is optional, but provides observability via callbacks on the LLM
    calls": llmplug's hook plugins see the calls, decorated or not.
    """
    with recording_hooks() as recorder:
        OurLLM().complete("Hello")
        list(OurLLM().stream_complete("Hello"))
    assert recorder.hooks()[:2] == ["before_call", "after_call"]
    assert recorder.hooks().count("on_stream_chunk") == len("My response")
