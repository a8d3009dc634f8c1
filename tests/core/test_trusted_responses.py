"""The unvalidated builders of text responses equal the validated models."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from llmplug import ChatMessage, ChatResponse, MessageRole, TextBlock, Usage
from llmplug.types._responses import assistant_text_chunk, assistant_text_message


def _validated_message(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=[TextBlock(text=text)])


@pytest.mark.parametrize("text", ["", "Hello", "héllo 🦊\n"])
def test_message_equals_validated(text: str) -> None:
    fast = assistant_text_message(text)
    slow = _validated_message(text)
    assert type(fast) is ChatMessage
    assert fast == slow
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_dump() == slow.model_dump()
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.blocks[0].model_fields_set == slow.blocks[0].model_fields_set
    assert fast.content == slow.content
    assert repr(fast) == repr(slow)


@pytest.mark.parametrize(
    ("raw", "usage"),
    [({"choices": []}, None), (None, Usage(input_tokens=3, output_tokens=4))],
)
def test_chunk_equals_validated(raw: Any, usage: Usage | None) -> None:
    fast = assistant_text_chunk("Hello world", "world", raw, usage)
    slow = ChatResponse(
        message=_validated_message("Hello world"), raw=raw, delta="world", usage=usage
    )
    assert type(fast) is ChatResponse
    assert fast == slow
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_dump(exclude_unset=True) == slow.model_dump(exclude_unset=True)
    assert fast.model_fields_set == slow.model_fields_set
    assert str(fast) == str(slow)
    fast_back = ChatResponse.model_validate_json(fast.model_dump_json())
    assert fast_back == ChatResponse.model_validate_json(slow.model_dump_json())


def test_chunks_share_no_mutable_state() -> None:
    first = assistant_text_chunk("a", "a", None, None)
    second = assistant_text_chunk("a", "a", None, None)
    first.additional_kwargs["x"] = 1
    first.message.additional_kwargs["y"] = 2
    first.message.blocks.append(TextBlock(text="b"))
    first.delta = "changed"
    assert second == assistant_text_chunk("a", "a", None, None)
    assert "delta" in first.model_fields_set
    assert second.message.blocks == [TextBlock(text="a")]


def test_chunk_copies_and_pickles() -> None:
    fast = assistant_text_chunk("Hi", "Hi", {"k": 1}, None)
    assert copy.deepcopy(fast) == fast
    assert fast.model_copy(update={"delta": ""}).delta == ""
    assert pickle.loads(pickle.dumps(fast)) == fast
    message = fast.message
    message.content = "Bye"
    assert message.blocks == [TextBlock(text="Bye")]


def test_trusted_usage_equals_validated() -> None:
    from llmplug import Usage
    from llmplug.types._responses import trusted_usage

    for counts in ({}, {"input_tokens": 3, "output_tokens": 5}, {"reasoning_tokens": 2}):
        fast, slow = trusted_usage(**counts), Usage(**counts)
        assert fast == slow
        assert fast.model_dump_json() == slow.model_dump_json()
        assert fast.model_fields_set == slow.model_fields_set
        assert repr(fast) == repr(slow)
        assert fast.total_tokens == slow.total_tokens


def test_trusted_chat_response_equals_validated() -> None:
    from llmplug import ChatResponse, LogProb, Usage
    from llmplug.types._responses import assistant_text_message, trusted_chat_response

    cases: list[dict[str, object]] = [
        {"message": assistant_text_message("hi")},
        {
            "message": assistant_text_message("hi"),
            "raw": {"id": "x"},
            "logprobs": [[LogProb(token="hi", logprob=-0.1)]],
            "additional_kwargs": {"finish_reason": "stop"},
            "usage": Usage(input_tokens=1, output_tokens=2),
        },
        {"message": assistant_text_message(""), "delta": "", "usage": None},
    ]
    for fields in cases:
        fast, slow = trusted_chat_response(**fields), ChatResponse(**fields)  # type: ignore[arg-type]
        assert fast == slow
        assert fast.model_dump_json() == slow.model_dump_json()
        assert fast.model_fields_set == slow.model_fields_set
        assert repr(fast) == repr(slow)
