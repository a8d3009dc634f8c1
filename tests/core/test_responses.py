from __future__ import annotations

import collections.abc
import typing
from typing import Any

import pytest

from llmplug import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    ImageBlock,
    LLMMetadata,
    LogProb,
    MessageRole,
    ThinkingBlock,
    ToolCallBlock,
    Usage,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def test_logprob_defaults() -> None:
    assert LogProb() == LogProb(token="", logprob=0.0, bytes=[])
    assert LogProb(token="a", logprob=-0.1, bytes=[97]).bytes == [97]


def test_chat_response_defaults_and_str() -> None:
    response = ChatResponse(message=ChatMessage(role="assistant", content="Hi there"))
    assert (response.raw, response.delta, response.logprobs, response.usage) == (
        None,
        None,
        None,
        None,
    )
    assert response.additional_kwargs == {}
    assert str(response) == "assistant: Hi there"


def test_completion_response_defaults_and_str() -> None:
    response = CompletionResponse(text="Hi there")
    assert (response.raw, response.delta, response.logprobs, response.usage) == (
        None,
        None,
        None,
        None,
    )
    assert response.additional_kwargs == {}
    assert str(response) == "Hi there"


def test_chat_response_keeps_the_message_object() -> None:
    message = ChatMessage(role="assistant", content="x")
    assert ChatResponse(message=message).message is message


def test_raw_may_be_anything() -> None:
    sentinel = object()
    assert ChatResponse(message=ChatMessage(), raw=sentinel).raw is sentinel
    assert CompletionResponse(text="", raw=sentinel).raw is sentinel


def test_streamed_chunks_carry_accumulated_text_and_delta() -> None:
    deltas = ["Hel", "lo", "!"]
    text = ""
    chunks = []
    for delta in deltas:
        text += delta
        chunks.append(CompletionResponse(text=text, delta=delta))
    assert [c.delta for c in chunks] == deltas
    assert chunks[-1].text == "Hello!"


def test_usage_defaults_and_total() -> None:
    assert Usage() == Usage(
        input_tokens=0,
        output_tokens=0,
        cached_tokens=0,
        cache_creation_tokens=0,
        reasoning_tokens=0,
    )
    usage = Usage(input_tokens=10, output_tokens=5, cached_tokens=4, reasoning_tokens=2)
    assert usage.total_tokens == 15
    assert usage.model_dump()["total_tokens"] == 15


def test_usage_adds_up() -> None:
    a = Usage(
        input_tokens=1,
        output_tokens=2,
        cached_tokens=3,
        cache_creation_tokens=4,
        reasoning_tokens=5,
    )
    b = Usage(
        input_tokens=10,
        output_tokens=20,
        cached_tokens=30,
        cache_creation_tokens=40,
        reasoning_tokens=50,
    )
    expected = Usage(
        input_tokens=11,
        output_tokens=22,
        cached_tokens=33,
        cache_creation_tokens=44,
        reasoning_tokens=55,
    )
    assert a + b == expected
    assert sum([a, b]) == expected
    assert sum([a, b], Usage()) == expected
    assert (a + b).total_tokens == 33
    assert a == Usage(
        input_tokens=1,
        output_tokens=2,
        cached_tokens=3,
        cache_creation_tokens=4,
        reasoning_tokens=5,
    )


@pytest.mark.parametrize("other", [pytest.param(1, id="int"), pytest.param("x", id="str")])
def test_usage_does_not_add_other_types(other: Any) -> None:
    with pytest.raises(TypeError):
        Usage() + other
    with pytest.raises(TypeError):
        other + Usage()


def test_usage_round_trips_with_total_in_dump() -> None:
    usage = Usage(input_tokens=3, output_tokens=4, cache_creation_tokens=1)
    assert Usage.model_validate(usage.model_dump()) == usage
    assert Usage.model_validate_json(usage.model_dump_json()) == usage


@pytest.mark.parametrize(
    ("field", "default"),
    [
        pytest.param("context_window", 3900, id="context_window"),
        pytest.param("num_output", 256, id="num_output"),
        pytest.param("is_chat_model", False, id="is_chat_model"),
        pytest.param("is_function_calling_model", False, id="is_function_calling_model"),
        pytest.param("model_name", "unknown", id="model_name"),
        pytest.param("system_role", MessageRole.SYSTEM, id="system_role"),
    ],
)
def test_llm_metadata_defaults(field: str, default: Any) -> None:
    assert getattr(LLMMetadata(), field) == default


def test_llm_metadata_values() -> None:
    meta = LLMMetadata(
        model_name="gpt-x", context_window=128_000, is_chat_model=True, system_role="chatbot"
    )
    assert meta.system_role is MessageRole.CHATBOT
    assert LLMMetadata.model_validate_json(meta.model_dump_json()) == meta


def test_chat_response_round_trips() -> None:
    response = ChatResponse(
        message=ChatMessage(
            role="assistant",
            blocks=[
                ThinkingBlock(content="hmm", signature="s"),
                ToolCallBlock(tool_call_id="1", tool_name="f", tool_kwargs={"x": 1}),
                ImageBlock(image=PNG),
            ],
        ),
        delta="",
        logprobs=[[LogProb(token="a", logprob=-0.5, bytes=[97])]],
        additional_kwargs={"finish_reason": "tool_calls"},
        usage=Usage(input_tokens=7, output_tokens=3, reasoning_tokens=1),
    )
    assert ChatResponse.model_validate_json(response.model_dump_json()) == response
    assert ChatResponse.model_validate(response.model_dump()) == response


def test_completion_response_round_trips() -> None:
    response = CompletionResponse(
        text="abc",
        delta="c",
        logprobs=[[LogProb(token="c", logprob=-1.0)]],
        usage=Usage(input_tokens=1, output_tokens=3),
        additional_kwargs={"k": [1, 2]},
    )
    assert CompletionResponse.model_validate_json(response.model_dump_json()) == response


@pytest.mark.parametrize(
    ("alias", "origin", "item"),
    [
        pytest.param(
            ChatResponseGen, collections.abc.Generator, ChatResponse, id="ChatResponseGen"
        ),
        pytest.param(
            ChatResponseAsyncGen,
            collections.abc.AsyncGenerator,
            ChatResponse,
            id="ChatResponseAsyncGen",
        ),
        pytest.param(
            CompletionResponseGen,
            collections.abc.Generator,
            CompletionResponse,
            id="CompletionResponseGen",
        ),
        pytest.param(
            CompletionResponseAsyncGen,
            collections.abc.AsyncGenerator,
            CompletionResponse,
            id="CompletionResponseAsyncGen",
        ),
    ],
)
def test_generator_aliases(alias: Any, origin: Any, item: Any) -> None:
    assert typing.get_origin(alias) is origin
    assert typing.get_args(alias)[0] is item


async def test_generator_aliases_annotate_real_generators() -> None:
    def gen() -> ChatResponseGen:
        yield ChatResponse(message=ChatMessage(content="a"), delta="a")

    async def agen() -> CompletionResponseAsyncGen:
        yield CompletionResponse(text="a", delta="a")

    assert [r.delta for r in gen()] == ["a"]
    assert [r.delta async for r in agen()] == ["a"]
