"""Response bodies and stream events -> llmplug responses, without a transport."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmplug import (
    ChatMessage,
    ChatResponse,
    CitationBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    Usage,
)
from llmplug.errors import (
    APIError,
    ContextWindowExceededError,
    InternalServerError,
    RateLimitError,
)
from llmplug.http import STREAM_END, ServerEvent

from . import wire_data as w


def events(llm: Any, stream: list[Any]) -> tuple[list[ChatResponse], Any]:
    """Every chunk of ``stream`` parsed, and whatever ended it."""
    state = llm.start_stream()
    chunks: list[ChatResponse] = []
    end = None
    for data in stream:
        result = llm.parse_event(ServerEvent(json.dumps(data), event=data["type"]), state)
        if result is STREAM_END:
            end = result
            break
        if result is not None:
            chunks.append(result)
    return chunks, end


def test_text(make: Any) -> None:
    response = make().parse_response(w.TEXT)
    assert response.message == ChatMessage(
        role=MessageRole.ASSISTANT, content="Hello! How can I help you today?"
    )
    assert response.additional_kwargs == {"stop_reason": "end_turn", "stop_sequence": None}
    assert response.usage == Usage(input_tokens=12, output_tokens=6)
    assert response.raw is w.TEXT


def test_usage_counts_cache_reads_and_writes_as_input(make: Any) -> None:
    usage = make().parse_response(w.CACHED).usage
    assert usage == Usage(
        input_tokens=21 + 188086 + 1024,
        output_tokens=393,
        cached_tokens=1024,
        cache_creation_tokens=188086,
    )
    assert usage is not None
    assert usage.total_tokens == 21 + 188086 + 1024 + 393


def test_thinking_and_redacted_thinking(make: Any) -> None:
    response = make().parse_response(w.THINKING)
    thinking, redacted, text = response.message.blocks
    assert isinstance(thinking, ThinkingBlock)
    assert (thinking.content, thinking.signature) == (
        "The user says hi. I greet back.",
        w.SIGNATURE,
    )
    assert isinstance(redacted, ThinkingBlock)
    assert redacted.redacted
    assert redacted.redacted_data == w.REDACTED
    assert text == TextBlock(text="Hi there!")
    assert response.usage is not None
    assert response.usage.reasoning_tokens == 96


def test_thinking_round_trips(make: Any, build: Any) -> None:
    llm = make(model="claude-sonnet-4-5")
    reply = llm.parse_response(w.THINKING).message
    sent = build(llm, [ChatMessage(role="user", content="hi"), reply]).json
    assert sent["messages"][1]["content"][:2] == w.THINKING["content"][:2]


def test_tool_use(make: Any) -> None:
    response = make().parse_response(w.TOOL_USE)
    text, call = response.message.blocks
    assert text == TextBlock(text="I'll check the weather.")
    assert call == ToolCallBlock(
        tool_call_id="toolu_01A09q90qw90lq917835lq9",
        tool_name="get_weather",
        tool_kwargs={"location": "Paris"},
    )
    assert response.additional_kwargs["stop_reason"] == "tool_use"


def test_tool_use_round_trips(make: Any, build: Any) -> None:
    llm = make()
    reply = llm.parse_response(w.TOOL_USE).message
    result = ChatMessage(
        role="tool",
        content="18C",
        additional_kwargs={"tool_call_id": "toolu_01A09q90qw90lq917835lq9"},
    )
    sent = build(llm, [ChatMessage(role="user", content="weather?"), reply, result]).json
    assert sent["messages"][1]["content"] == w.TOOL_USE["content"]


def test_citations(make: Any) -> None:
    response = make().parse_response(w.CITATIONS)
    text, search, document = response.message.blocks
    # the answer's text blocks are one, so message.content is the text as written
    assert text == TextBlock(text="According to the handbook, the grass is green.")
    assert response.message.content == "According to the handbook, the grass is green."
    assert search == CitationBlock(
        cited_content="The grass is green.",
        source="https://example.com/handbook",
        title="Handbook",
        additional_location_info={
            "search_result_index": 0,
            "start_block_index": 0,
            "end_block_index": 1,
        },
    )
    assert document == CitationBlock(
        cited_content="The grass is green.",
        source="Notes",
        title="Notes",
        additional_location_info={"document_index": 1, "start_char_index": 0, "end_char_index": 19},
    )


@pytest.mark.parametrize(
    ("citation", "source", "title", "location"),
    [
        pytest.param(
            w.PAGE_CITATION,
            "Report",
            "Report",
            {"document_index": 0, "start_page_number": 3, "end_page_number": 4},
            id="page",
        ),
        pytest.param(w.WEB_CITATION, "https://en.wikipedia.org/wiki/Paris", "Paris", {}, id="web"),
        pytest.param(
            {
                "type": "content_block_location",
                "cited_text": "x",
                "document_index": 2,
                "document_title": None,
                "start_block_index": 1,
                "end_block_index": 2,
            },
            "",
            "",
            {"document_index": 2, "start_block_index": 1, "end_block_index": 2},
            id="content-block",
        ),
    ],
)
def test_citation_kinds(
    make: Any, citation: dict[str, Any], source: str, title: str, location: dict[str, int]
) -> None:
    body = w.message(w.text("Cited.", citations=[citation]))
    _, block = make().parse_response(body).message.blocks
    assert isinstance(block, CitationBlock)
    assert (block.source, block.title, block.additional_location_info) == (source, title, location)


def test_server_tool_blocks_stay_in_raw(make: Any) -> None:
    body = w.message(
        {
            "type": "server_tool_use",
            "id": "srvtoolu_1",
            "name": "web_search",
            "input": {"query": "q"},
        },
        w.text("Found it."),
    )
    response = make().parse_response(body)
    assert response.message.blocks == [TextBlock(text="Found it.")]
    assert response.raw["content"][0]["type"] == "server_tool_use"


def test_empty_content(make: Any) -> None:
    response = make().parse_response(w.message(stop="max_tokens"))
    assert response.message.blocks == []
    assert response.additional_kwargs["stop_reason"] == "max_tokens"


def test_error_body_with_status_200(make: Any) -> None:
    with pytest.raises(InternalServerError, match="Overloaded") as caught:
        make().parse_response(w.OVERLOADED)
    assert caught.value.status_code == 529


# -- streams -------------------------------------------------------------------------------


def test_text_stream(make: Any) -> None:
    chunks, end = events(make(), w.TEXT_STREAM)
    assert end is STREAM_END
    assert [c.delta for c in chunks] == ["Hello", "!", ""]
    assert [c.message.content for c in chunks] == ["Hello", "Hello!", "Hello!"]
    last = chunks[-1]
    assert last.additional_kwargs == {"stop_reason": "end_turn", "stop_sequence": None}
    assert last.usage == Usage(input_tokens=12, output_tokens=15)
    assert all(c.usage is None for c in chunks[:-1])


def test_thinking_and_tool_stream(make: Any) -> None:
    chunks, _ = events(make(), w.THINKING_TOOL_STREAM)
    assert "".join(c.delta or "" for c in chunks) == "Checking."
    thinking, redacted, text, call = chunks[-1].message.blocks
    assert thinking == ThinkingBlock(content="Let me check the weather.", signature=w.SIGNATURE)
    assert redacted == ThinkingBlock.from_redacted(w.REDACTED)
    assert text == TextBlock(text="Checking.")
    assert call == ToolCallBlock(
        tool_call_id="toolu_01T1x1fJ34qAmk2tNTrN7Up6",
        tool_name="get_weather",
        tool_kwargs={"location": "San Francisco, CA"},
    )
    assert chunks[-1].additional_kwargs["stop_reason"] == "tool_use"
    assert chunks[-1].usage == Usage(input_tokens=12, output_tokens=89, reasoning_tokens=40)
    assert all(c.usage is None and not c.additional_kwargs for c in chunks[:-1])
    # while the tool input arrives, the call holds the JSON text so far
    partial = [
        b.tool_kwargs for c in chunks for b in c.message.blocks if isinstance(b, ToolCallBlock)
    ]
    assert '{"location": "San Fra' in partial


def test_stream_equals_the_response(make: Any) -> None:
    # the same content streamed and answered at once gives the same message
    llm = make()
    chunks, _ = events(llm, w.THINKING_TOOL_STREAM)
    body = w.message(
        {"type": "thinking", "thinking": "Let me check the weather.", "signature": w.SIGNATURE},
        {"type": "redacted_thinking", "data": w.REDACTED},
        w.text("Checking."),
        {
            "type": "tool_use",
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "name": "get_weather",
            "input": {"location": "San Francisco, CA"},
        },
    )
    assert chunks[-1].message == llm.parse_response(body).message


def test_citation_stream(make: Any) -> None:
    chunks, _ = events(make(), w.CITATION_STREAM)
    text, citation = chunks[-1].message.blocks
    assert text == TextBlock(text="the grass is green")
    assert isinstance(citation, CitationBlock)
    assert citation.title == "Handbook"
    assert [c.delta for c in chunks] == ["", "the grass is green", ""]


def test_server_tool_stream(make: Any) -> None:
    # the server tool's call and result stay in raw; the cited answer is read as usual
    chunks, end = events(make(), w.WEB_SEARCH_STREAM)
    assert end is STREAM_END
    text, citation = chunks[-1].message.blocks
    assert text == TextBlock(text="It is sunny.")
    assert isinstance(citation, CitationBlock)
    assert citation.source == "https://example.com/weather/paris"
    assert "".join(c.delta or "" for c in chunks) == "It is sunny."


def test_cached_stream_usage(make: Any) -> None:
    chunks, _ = events(make(), w.CACHED_STREAM)
    assert chunks[-1].usage == Usage(
        input_tokens=21 + 188086 + 1024,
        output_tokens=393,
        cached_tokens=1024,
        cache_creation_tokens=188086,
    )


def test_message_delta_may_update_input_counts(make: Any) -> None:
    stream = [
        *w.CACHED_STREAM[:4],
        w.message_delta(input_tokens=30, cache_read_input_tokens=2048),
        w.STOP,
    ]
    chunks, _ = events(make(), stream)
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.input_tokens, usage.cached_tokens, usage.cache_creation_tokens) == (
        30 + 2048 + 188086,
        2048,
        188086,
    )


def test_events_that_carry_nothing(make: Any) -> None:
    llm = make()
    state = llm.start_stream()
    for data in (
        w.start(),
        w.PING,
        w.block_start(0, w.text("")),
        w.block_stop(0),
        {"type": "future_event"},
    ):
        assert llm.parse_event(ServerEvent(json.dumps(data), event=data["type"]), state) is None
    unknown_delta = w.delta(0, type="future_delta", value=1)
    assert llm.parse_event(ServerEvent(json.dumps(unknown_delta)), state) is None
    assert llm.parse_event(ServerEvent('{"type": "message_stop"}'), state) is STREAM_END


@pytest.mark.parametrize(
    ("body", "error", "status"),
    [
        pytest.param(w.OVERLOADED, InternalServerError, 529, id="overloaded"),
        pytest.param(
            w.error("rate_limit_error", "slow down"), RateLimitError, 429, id="rate-limit"
        ),
        pytest.param(w.CONTEXT_ERROR, ContextWindowExceededError, 400, id="context"),
        pytest.param(w.error("api_error", "boom"), InternalServerError, 500, id="api-error"),
    ],
)
def test_error_event(make: Any, body: dict[str, Any], error: type[APIError], status: int) -> None:
    llm = make()
    state = llm.start_stream()
    with pytest.raises(error) as caught:
        llm.parse_event(ServerEvent(json.dumps(body), event="error"), state)
    assert getattr(caught.value, "status_code", None) == status
    assert caught.value.provider == "anthropic"
    assert "req_011CSHoEeqs5C35K2UUqR7Fy" in str(caught.value)


def test_chunks_are_independent_snapshots(make: Any) -> None:
    chunks, _ = events(make(), w.THINKING_TOOL_STREAM)
    first_thinking = chunks[0].message.blocks[0]
    assert isinstance(first_thinking, ThinkingBlock)
    assert first_thinking.content == "Let me check "


def test_each_stream_has_its_own_state(make: Any) -> None:
    llm = make()
    first, _ = events(llm, w.TEXT_STREAM)
    second, _ = events(llm, w.TEXT_STREAM)
    assert first[-1].message.content == second[-1].message.content == "Hello!"


def test_fast_text_response_equals_the_validated_one(make: Any) -> None:
    response = make().parse_response(w.TEXT)
    validated = ChatResponse(
        message=ChatMessage(
            role=MessageRole.ASSISTANT, blocks=[TextBlock(text="Hello! How can I help you today?")]
        ),
        raw=w.TEXT,
        additional_kwargs={"stop_reason": "end_turn", "stop_sequence": None},
        usage=Usage(input_tokens=12, output_tokens=6),
    )
    assert response == validated
    assert response.model_dump_json() == validated.model_dump_json()


def test_fast_text_chunks_equal_validated_ones(make: Any) -> None:
    chunks, _ = events(make(), w.TEXT_STREAM)
    chunk = chunks[0]
    validated = ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, blocks=[TextBlock(text="Hello")]),
        raw=chunk.raw,
        delta="Hello",
    )
    assert chunk == validated
    assert chunk.model_dump_json() == validated.model_dump_json()


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        pytest.param(400, "prompt is too long: 210034 tokens > 200000 maximum", True, id="prompt"),
        pytest.param(
            400,
            "input length and `max_tokens` exceed context limit: 195000 + 8192 > 200000",
            True,
            id="with-max-tokens",
        ),
        pytest.param(None, "prompt is too long", True, id="in-stream"),
        pytest.param(400, "messages: roles must alternate", False, id="other-400"),
        pytest.param(500, "prompt is too long", False, id="server-error"),
    ],
)
def test_error_class(make: Any, status: int | None, message: str, expected: bool) -> None:
    result = make().error_class(status, {}, message)
    assert (result is ContextWindowExceededError) is expected
