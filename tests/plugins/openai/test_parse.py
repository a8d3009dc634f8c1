"""Responses and stream events -> ChatResponse: text, tool calls, reasoning, usage,
logprobs, finish reasons, and the errors a body may describe.

The OpenAI fixtures follow the API reference's examples and are checked against the
response schemas of the official OpenAPI spec; the others reproduce what DeepSeek,
llama.cpp and Azure add to the same format.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from llmplug import ChatResponse, LogProb, TextBlock, ThinkingBlock, ToolCallBlock, Usage
from llmplug.errors import ContextWindowExceededError
from llmplug.http import STREAM_END, ServerEvent

from .wire_data import (
    CONTEXT_ERROR,
    DEEPSEEK,
    LOGPROBS,
    OPENAI_BODIES,
    OPENAI_STREAMS,
    REFUSAL,
    TEXT,
    TEXT_STREAM,
    TOOL_CALLS,
    TOOL_STREAM,
    TRUNCATED,
    USAGE,
    chunk,
    completion,
)


def test_fixtures_match_the_spec(spec_errors: Any) -> None:
    for body in OPENAI_BODIES:
        assert spec_errors(body, "CreateChatCompletionResponse") == [], body
    for event in OPENAI_STREAMS:
        assert spec_errors(event, "CreateChatCompletionStreamResponse") == [], event


# -- whole responses ---------------------------------------------------------------------


def test_text_response(make: Any) -> None:
    response = make().parse_response(copy.deepcopy(TEXT))
    assert isinstance(response, ChatResponse)
    assert response.message.role == "assistant"
    assert response.message.content == "Hello! How can I assist you today?"
    assert response.additional_kwargs == {"finish_reason": "stop"}
    assert response.usage == Usage(input_tokens=19, output_tokens=10)
    assert response.raw == TEXT
    assert response.delta is None
    assert response.logprobs is None


def test_usage_with_cached_and_reasoning_tokens(make: Any) -> None:
    response = make().parse_response(TRUNCATED)
    assert response.usage == Usage(
        input_tokens=1200, output_tokens=300, cached_tokens=1024, reasoning_tokens=256
    )
    assert response.usage is not None
    assert response.usage.total_tokens == 1500
    assert response.additional_kwargs["finish_reason"] == "length"


def test_tool_calls_response(make: Any) -> None:
    response = make().parse_response(TOOL_CALLS)
    assert response.message.blocks == [
        ToolCallBlock(
            tool_call_id="call_abc123", tool_name="get_weather", tool_kwargs={"location": "Paris"}
        ),
        ToolCallBlock(tool_call_id="call_def456", tool_name="get_time", tool_kwargs="not json"),
    ]
    assert response.message.content is None
    assert response.additional_kwargs["finish_reason"] == "tool_calls"


def test_tool_calls_round_trip(make: Any, build: Any) -> None:
    reply = make().parse_response(TOOL_CALLS).message
    sent = build(make(), [reply]).json["messages"][0]
    assert sent["tool_calls"] == TOOL_CALLS["choices"][0]["message"]["tool_calls"]


def test_refusal(make: Any) -> None:
    response = make().parse_response(REFUSAL)
    assert response.additional_kwargs["refusal"] == "I can't help with that."
    assert response.message.content is None


def test_logprobs(make: Any) -> None:
    response = make().parse_response(LOGPROBS)
    assert response.logprobs == [
        [
            LogProb(token="Hi", logprob=-0.01, bytes=[72, 105]),
            LogProb(token="Hello", logprob=-4.6, bytes=[72, 101, 108, 108, 111]),
        ]
    ]


def test_reasoning_content(make: Any) -> None:
    response = make("deepseek", model="deepseek-reasoner").parse_response(DEEPSEEK)
    assert response.message.blocks == [
        ThinkingBlock(content="6 times 7..."),
        TextBlock(text="42"),
    ]
    assert response.usage == Usage(
        input_tokens=30, output_tokens=50, cached_tokens=16, reasoning_tokens=40
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"choices": []}, id="no-choices"),
        pytest.param({"choices": [{"index": 0, "message": {"role": "assistant"}}]}, id="empty"),
        pytest.param(completion({"content": ""}, usage=None), id="empty-text-no-usage"),
        pytest.param(completion({"content": [{"type": "text", "text": "Hi"}]}), id="content-parts"),
    ],
)
def test_sparse_bodies_never_crash(make: Any, body: dict[str, Any]) -> None:
    response = make().parse_response(body)
    assert response.message.role == "assistant"
    assert response.message.content in (None, "", "Hi")


# -- streams -----------------------------------------------------------------------------


def stream(llm: Any, events: list[Any]) -> list[ChatResponse]:
    """Feed SSE events to ``llm`` as the runtime does; collect the chunks."""
    state = llm.start_stream()
    chunks: list[ChatResponse] = []
    for data in [*events, "[DONE]"]:
        text = data if isinstance(data, str) else json.dumps(data)
        result = llm.parse_event(ServerEvent(data=text), state)
        if result is STREAM_END:
            break
        if isinstance(result, ChatResponse):
            chunks.append(result)
        else:
            assert result is None
    else:
        pytest.fail("no STREAM_END for [DONE]")
    return chunks


def test_text_stream(make: Any) -> None:
    chunks = stream(make(), TEXT_STREAM)
    assert [c.delta for c in chunks] == ["Hello", "!", "", ""]
    assert [c.message.content for c in chunks] == ["Hello", "Hello!", "Hello!", "Hello!"]
    assert [c.additional_kwargs.get("finish_reason") for c in chunks] == [
        None,
        None,
        "stop",
        "stop",
    ]
    assert [c.usage for c in chunks[:3]] == [None, None, None]
    last = chunks[-1]
    assert last.usage == Usage(
        input_tokens=1200, output_tokens=300, cached_tokens=1024, reasoning_tokens=256
    )
    assert last.raw == TEXT_STREAM[-1]


def test_tool_call_stream(make: Any) -> None:
    chunks = stream(make(), TOOL_STREAM)
    assert all(c.delta == "" for c in chunks)
    partial = chunks[1].message.blocks
    assert partial == [
        ToolCallBlock(tool_call_id="call_abc", tool_name="get_weather", tool_kwargs='{"location":')
    ]
    last = chunks[-1]
    assert last.message.blocks == [
        ToolCallBlock(
            tool_call_id="call_abc", tool_name="get_weather", tool_kwargs={"location": "Paris"}
        ),
        ToolCallBlock(tool_call_id="call_def", tool_name="get_time", tool_kwargs={}),
    ]
    assert last.additional_kwargs == {"finish_reason": "tool_calls"}
    assert last.usage is not None
    assert last.usage.output_tokens == 300


def _argument_stream(arguments: str, size: int) -> list[Any]:
    call = {"index": 0, "id": "call_1", "type": "function"}
    events = [chunk({"role": "assistant", "tool_calls": [{**call, "function": {"name": "f"}}]})]
    for i in range(0, len(arguments), size):
        piece = {"index": 0, "function": {"arguments": arguments[i : i + size]}}
        events.append(chunk({"tool_calls": [piece]}))
    return [*events, chunk({}, finish="tool_calls")]


def test_streamed_arguments_are_parsed_once_they_close(
    make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # parsing the arguments so far on every chunk costs time quadratic in their length
    from llmplug_openai import _parse

    arguments = json.dumps({"items": [{"name": f"item {i}", "n": {"v": i}} for i in range(50)]})
    parsed: list[str] = []
    real = _parse._arguments

    def counting(text: str) -> Any:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(_parse, "_arguments", counting)
    chunks = stream(make(), _argument_stream(arguments, 3))
    # while open, the text so far; then the object
    assert all(arguments.startswith(c.message.blocks[0].tool_kwargs) for c in chunks[1:-2])
    assert chunks[-1].message.blocks[0].tool_kwargs == json.loads(arguments)
    # parsed when the object closed, and for the finish chunk: not on every chunk
    assert [text for text in parsed if text] == [arguments, arguments]


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param('{"x": ' + "[" * 5000, id="unclosed"),
        pytest.param('{"x": ' + "[" * 5000 + "]" * 5000 + "}", id="closed"),
    ],
)
def test_deeply_nested_arguments_stay_text(make: Any, arguments: str) -> None:
    # a small model looping on "[[[[" must not crash the stream with RecursionError
    last = stream(make(), _argument_stream(arguments, len(arguments)))[-1]
    assert last.message.blocks[0].tool_kwargs == arguments
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
    body = completion({"tool_calls": [call]}, finish="tool_calls")
    assert make().parse_response(body).message.blocks[-1].tool_kwargs == arguments


def test_reasoning_stream(make: Any) -> None:
    events = [
        chunk({"role": "assistant", "content": None, "reasoning_content": ""}),
        chunk({"content": None, "reasoning_content": "Think"}),
        chunk({"content": None, "reasoning_content": "ing."}),
        chunk({"content": "42", "reasoning_content": None}),
        chunk({"content": "", "reasoning_content": None}, finish="stop", usage=USAGE),
    ]
    chunks = stream(make("deepseek", model="deepseek-reasoner"), events)
    assert [c.delta for c in chunks] == ["", "", "42", ""]
    assert chunks[-1].message.blocks == [ThinkingBlock(content="Thinking."), TextBlock(text="42")]
    # usage and finish reason in one chunk (llama.cpp, DeepSeek): one last chunk
    assert chunks[-1].usage is not None
    assert chunks[-1].additional_kwargs == {"finish_reason": "stop"}


def test_reasoning_field_of_openrouter(make: Any) -> None:
    chunks = stream(
        make("openrouter", model="x/y"), [chunk({"reasoning": "Hmm."}), chunk({"content": "Hi"})]
    )
    assert chunks[-1].message.blocks == [ThinkingBlock(content="Hmm."), TextBlock(text="Hi")]


def test_logprobs_stream(make: Any) -> None:
    entry = LOGPROBS["choices"][0]["logprobs"]["content"][0]
    first = chunk({"content": "Hi"})
    first["choices"][0]["logprobs"] = {"content": [entry], "refusal": None}
    second = chunk({"content": "!"})
    second["choices"][0]["logprobs"] = {
        "content": [{"token": "!", "logprob": -0.5, "bytes": [33], "top_logprobs": []}],
        "refusal": None,
    }
    chunks = stream(make(logprobs=True), [first, second])
    assert chunks[0].logprobs is not None
    assert len(chunks[0].logprobs) == 1
    assert chunks[1].logprobs == [
        [
            LogProb(token="Hi", logprob=-0.01, bytes=[72, 105]),
            LogProb(token="Hello", logprob=-4.6, bytes=[72, 101, 108, 108, 111]),
        ],
        [LogProb(token="!", logprob=-0.5, bytes=[33])],
    ]


def test_events_that_carry_nothing(make: Any) -> None:
    azure_filter = {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
    }
    role_only = chunk({"role": "assistant", "content": ""})
    empty = chunk({"content": ""})
    assert stream(make(), [azure_filter, role_only, empty]) == []


def test_stream_refusal(make: Any) -> None:
    chunks = stream(make(), [chunk({"refusal": "I can't"}), chunk({"refusal": " help."})])
    assert chunks[-1].additional_kwargs == {"refusal": "I can't help."}


def test_done_is_the_end(make: Any) -> None:
    assert make().parse_event(ServerEvent(data="[DONE]"), make().start_stream()) is STREAM_END


def test_each_stream_has_its_own_state(make: Any) -> None:
    llm = make()
    a, b = llm.start_stream(), llm.start_stream()
    llm.parse_event(ServerEvent(data=json.dumps(chunk({"content": "A"}))), a)
    result = llm.parse_event(ServerEvent(data=json.dumps(chunk({"content": "B"}))), b)
    assert isinstance(result, ChatResponse)
    assert result.message.content == "B"


def test_chunks_are_independent_snapshots(make: Any) -> None:
    chunks = stream(make(), TEXT_STREAM)
    assert chunks[0].message.content == "Hello"  # not changed by the chunks after it
    assert chunks[0].message is not chunks[1].message


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "message", "expected"),
    [
        pytest.param(400, CONTEXT_ERROR, "", ContextWindowExceededError, id="openai-code"),
        pytest.param(None, CONTEXT_ERROR, "", ContextWindowExceededError, id="in-stream"),
        pytest.param(
            400,
            {
                "error": {
                    "code": 400,
                    "message": "This model's maximum context length is 4096 "
                    "tokens. However, you requested 5000 tokens",
                    "type": "BadRequestError",
                }
            },
            "",
            ContextWindowExceededError,
            id="vllm-message",
        ),
        pytest.param(
            400,
            {
                "error": {
                    "code": 400,
                    "message": "the request exceeds the available context size, try increasing it",
                    "type": "exceed_context_size_error",
                }
            },
            "",
            ContextWindowExceededError,
            id="llama-cpp-type",
        ),
        pytest.param(
            400,
            "Prompt is longer than the context window",
            "",
            ContextWindowExceededError,
            id="text",
        ),
        pytest.param(
            429,
            {
                "error": {
                    "message": "Rate limit reached for gpt-4o on tokens per min (TPM)",
                    "type": "tokens",
                    "code": "rate_limit_exceeded",
                }
            },
            "",
            None,
            id="rate-limit",
        ),
        pytest.param(
            400,
            {
                "error": {
                    "message": "Invalid value for 'temperature'",
                    "type": "invalid_request_error",
                    "param": "temperature",
                    "code": "invalid_value",
                }
            },
            "",
            None,
            id="other-400",
        ),
        pytest.param(500, {"error": {"message": "maximum context length"}}, "", None, id="5xx"),
        pytest.param(400, None, "", None, id="no-body"),
    ],
)
def test_error_class(
    make: Any, status: int | None, body: Any, message: str, expected: type | None
) -> None:
    assert make().error_class(status, body, message) is expected


def test_error_event_in_stream(make: Any) -> None:
    llm = make()
    event = ServerEvent(data=json.dumps(CONTEXT_ERROR))
    with pytest.raises(ContextWindowExceededError):
        llm.parse_event(event, llm.start_stream())


def test_error_body_with_status_200(make: Any) -> None:
    with pytest.raises(ContextWindowExceededError):
        make().parse_response(CONTEXT_ERROR)


def test_text_paths_equal_validated_models() -> None:
    # the text-only chunk and completion are built unvalidated: same as validated ones
    from llmplug import ChatMessage, ChatResponse, MessageRole, TextBlock
    from llmplug_openai._parse import StreamState, parse_chunk, parse_completion

    def message(text: str) -> ChatMessage:
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=[TextBlock(text=text)])

    state = StreamState()
    event = {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    chunk = parse_chunk(event, state)
    expected = ChatResponse(message=message("Hi"), raw=event, delta="Hi", usage=None)
    assert chunk == expected
    assert chunk is not None
    assert chunk.model_dump_json() == expected.model_dump_json()
    assert chunk.model_fields_set == expected.model_fields_set
    body = {
        "choices": [{"message": {"role": "assistant", "content": "Yes"}, "finish_reason": "stop"}]
    }
    reply = parse_completion(body)
    expected = ChatResponse(
        message=message("Yes"),
        raw=body,
        logprobs=None,
        additional_kwargs={"finish_reason": "stop"},
        usage=None,
    )
    assert reply == expected
    assert reply.model_dump_json() == expected.model_dump_json()
    assert reply.message.model_fields_set == expected.message.model_fields_set
