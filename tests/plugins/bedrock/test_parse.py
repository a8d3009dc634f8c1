"""Converse responses and ConverseStream events -> ChatResponse: blocks, usage, stop reasons.

Every response fixture is first read through botocore's service model (it is one
Bedrock can send); stream bodies are checked by ``test_eventstream.py``.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from llmplug import CitationBlock, ImageBlock, TextBlock, ThinkingBlock, ToolCallBlock, Usage
from llmplug.http import STREAM_END
from llmplug_bedrock._eventstream import ConverseStreamDecoder
from llmplug_bedrock._parse import StreamState

from . import wire_data as w


def chunks_of(llm: Any, events: list[tuple[str, Any]]) -> list[Any]:
    state = llm.start_stream()
    out: list[Any] = []
    for event in ConverseStreamDecoder().feed(w.stream(events)):
        result = llm.parse_event(event, state)
        if result is None:
            continue
        items = result if isinstance(result, list) else [result]
        out.extend(item for item in items if item is not STREAM_END)
    return out


def test_a_text_answer(make: Any, boto: Any) -> None:
    boto.check_converse_response(w.TEXT)
    reply = make().parse_response(w.TEXT)
    assert reply.message.content == "Hello! How can I help you today?"
    assert reply.usage == Usage(input_tokens=12, output_tokens=6)
    assert reply.additional_kwargs == {"stop_reason": "end_turn", "latency_ms": 412}
    assert reply.raw is w.TEXT


def test_reasoning_text_and_a_tool_call(make: Any, boto: Any) -> None:
    boto.check_converse_response(w.TOOL_USE)
    blocks = make().parse_response(w.TOOL_USE).message.blocks
    assert blocks == [
        ThinkingBlock(content="The user wants the weather.", signature=w.SIGNATURE),
        TextBlock(text="Let me check."),
        ToolCallBlock(
            tool_call_id=w.TOOL_ID, tool_name="get_weather", tool_kwargs={"city": "Paris"}
        ),
    ]


def test_citations_and_cache_usage(make: Any, boto: Any) -> None:
    boto.check_converse_response(w.CITATIONS)
    reply = make().parse_response(w.CITATIONS)
    text, citation = reply.message.blocks
    assert text == TextBlock(text="Grass is green.")
    assert isinstance(citation, CitationBlock)
    assert (citation.source, citation.title) == ("https://example.com/handbook", "Handbook")
    assert citation.cited_content == TextBlock(text="The grass is green.")
    assert citation.additional_location_info == {"searchResultIndex": 0, "start": 0, "end": 1}
    # Converse counts cache reads and writes apart from inputTokens
    assert reply.usage == Usage(
        input_tokens=150, output_tokens=5, cached_tokens=100, cache_creation_tokens=20
    )


def test_redacted_reasoning_an_image_and_extras(make: Any, boto: Any) -> None:
    data = w.converse(
        {"reasoningContent": {"redactedContent": base64.b64encode(b"opaque").decode()}},
        {
            "image": {
                "format": "png",
                "source": {"bytes": base64.b64encode(b"\x89PNG\r\n\x1a\nxx").decode()},
            }
        },
        stop="guardrail_intervened",
        additionalModelResponseFields={"stop_sequence": "END"},
        trace={"guardrail": {"modelOutput": ["blocked"]}},
        performanceConfig={"latency": "optimized"},
        serviceTier={"type": "priority"},
    )
    boto.check_converse_response(data)
    reply = make().parse_response(data)
    thinking, image = reply.message.blocks
    assert thinking.redacted
    assert thinking.redacted_data == base64.b64encode(b"opaque").decode()
    assert isinstance(image, ImageBlock)
    assert image.image_mimetype == "image/png"
    assert reply.additional_kwargs == {
        "stop_reason": "guardrail_intervened",
        "latency_ms": 412,
        "additional_model_response_fields": {"stop_sequence": "END"},
        "trace": {"guardrail": {"modelOutput": ["blocked"]}},
        "performance_config": {"latency": "optimized"},
        "service_tier": {"type": "priority"},
    }


def test_a_text_stream(make: Any) -> None:
    chunks = chunks_of(make(), w.TEXT_STREAM)
    assert [c.delta for c in chunks] == ["Hel", "lo", "!", ""]
    assert [c.message.content for c in chunks] == ["Hel", "Hello", "Hello!", "Hello!"]
    last = chunks[-1]
    assert last.usage == Usage(input_tokens=12, output_tokens=6)
    assert last.additional_kwargs == {"stop_reason": "end_turn", "latency_ms": 321}
    assert all(c.usage is None for c in chunks[:-1])


def test_a_reasoning_and_tool_stream(make: Any) -> None:
    chunks = chunks_of(make(), w.REASONING_TOOL_STREAM)
    assert "".join(c.delta or "" for c in chunks) == "Let me check."
    partial = [b for b in chunks[-2].message.blocks if isinstance(b, ToolCallBlock)]
    assert partial[0].tool_kwargs == '{"city": "Paris"}'  # the input's text until the block stops
    last = chunks[-1]
    assert last.message.blocks == [
        ThinkingBlock(content="The user wants the weather.", signature=w.SIGNATURE),
        TextBlock(text="Let me check."),
        ToolCallBlock(
            tool_call_id=w.TOOL_ID, tool_name="get_weather", tool_kwargs={"city": "Paris"}
        ),
    ]
    assert last.additional_kwargs["stop_reason"] == "tool_use"
    assert last.additional_kwargs["trace"] == {"guardrail": {"modelOutput": ["Let me check."]}}
    assert last.additional_kwargs["performance_config"] == {"latency": "standard"}
    assert last.usage == Usage(input_tokens=40, output_tokens=30)


def test_a_citation_stream(make: Any) -> None:
    last = chunks_of(make(), w.CITATION_STREAM)[-1]
    text, citation = last.message.blocks
    assert text == TextBlock(text="Grass is green.")
    assert isinstance(citation, CitationBlock)
    assert citation.title == "Handbook"
    assert last.usage == Usage(
        input_tokens=150, output_tokens=5, cached_tokens=100, cache_creation_tokens=20
    )


def test_a_stream_message_equals_the_response_message(make: Any) -> None:
    llm = make()
    streamed = chunks_of(llm, w.REASONING_TOOL_STREAM)[-1].message
    assert streamed.blocks == llm.parse_response(w.TOOL_USE).message.blocks


def test_redacted_reasoning_and_message_stop_fields_in_a_stream(make: Any) -> None:
    data = base64.b64encode(b"opaque").decode()
    events = [
        w.START,
        (
            "contentBlockDelta",
            {"delta": {"reasoningContent": {"redactedContent": data}}, "contentBlockIndex": 0},
        ),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("contentBlockDelta", {"delta": {"text": "ok"}, "contentBlockIndex": 1}),
        ("messageStop", {"stopReason": "max_tokens", "additionalModelResponseFields": {"x": 1}}),
        w.metadata(),
    ]
    last = chunks_of(make(), events)[-1]
    assert last.message.blocks[0].redacted_data == data
    assert last.message.content == "ok"
    assert last.additional_kwargs["stop_reason"] == "max_tokens"
    assert last.additional_kwargs["additional_model_response_fields"] == {"x": 1}


def test_unknown_events_and_deltas_are_ignored(make: Any) -> None:
    events = [
        w.START,
        ("someNewEvent", {"x": 1}),
        ("contentBlockDelta", {"delta": {"someNewDelta": {}}, "contentBlockIndex": 0}),
        *w.TEXT_STREAM[1:],
    ]
    assert chunks_of(make(), events)[-1].message.content == "Hello!"


@pytest.mark.parametrize(
    "bad", [{"output": None}, ["not", "an", "object"]], ids=["no-output", "list"]
)
def test_a_malformed_response_is_an_api_error(make: Any, bad: Any) -> None:
    from llmplug.errors import APIError

    with pytest.raises(APIError, match="output"):
        make().parse_response(bad if isinstance(bad, list) else {"stopReason": "end_turn"})


def test_the_state_starts_empty() -> None:
    state = StreamState()
    assert state.content() == []
