from __future__ import annotations

from typing import Any

import pytest

import llmplug
from llmplug.prompts._output_parsers import BaseOutputParser
from llmplug.types._blocks import TextBlock
from llmplug.types._messages import ChatMessage, MessageRole

SUFFIX = "\nAnswer in JSON."


class JSONHintParser(BaseOutputParser):
    """Appends an instruction; parses by stripping whitespace."""

    def parse(self, output: str) -> Any:
        return output.strip()

    def format(self, query: str) -> str:
        return query + SUFFIX


class IdentityParser(BaseOutputParser):
    def parse(self, output: str) -> Any:
        return output


def texts(message: ChatMessage) -> list[str]:
    return [b.text for b in message.blocks if isinstance(b, TextBlock)]


def test_public_name() -> None:
    assert llmplug.BaseOutputParser is BaseOutputParser


def test_base_is_abstract() -> None:
    with pytest.raises(TypeError):
        BaseOutputParser()  # type: ignore[abstract]


def test_parse_is_the_subclass_hook() -> None:
    assert JSONHintParser().parse("  {}  ") == "{}"


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("", id="empty"),
        pytest.param("What is {x}?", id="braces-untouched"),
        pytest.param("line1\nline2", id="multiline"),
    ],
)
def test_default_format_is_identity(query: str) -> None:
    assert IdentityParser().format(query) == query


@pytest.mark.parametrize(
    ("roles", "formatted_index"),
    [
        pytest.param(["user"], 0, id="single-user"),
        pytest.param(["system", "user"], 0, id="leading-system-gets-it"),
        pytest.param(["user", "assistant", "user"], 2, id="else-the-last"),
        pytest.param(["user", "system"], 1, id="system-not-first-is-not-special"),
        pytest.param(["system"], 0, id="single-system"),
    ],
)
def test_format_messages_picks_one_message(roles: list[str], formatted_index: int) -> None:
    messages = [ChatMessage(role=MessageRole(r), content=f"m{i}") for i, r in enumerate(roles)]
    out = JSONHintParser().format_messages(messages)
    assert [m.role for m in out] == [m.role for m in messages]
    for i, message in enumerate(out):
        expected = f"m{i}" + (SUFFIX if i == formatted_index else "")
        assert message.content == expected


def test_format_messages_empty() -> None:
    assert JSONHintParser().format_messages([]) == []


def test_format_messages_formats_the_last_text_block() -> None:
    message = ChatMessage(
        role=MessageRole.USER, blocks=[TextBlock(text="first"), TextBlock(text="second")]
    )
    (out,) = JSONHintParser().format_messages([message])
    assert texts(out) == ["first", "second" + SUFFIX]


def test_format_messages_appends_a_text_block_when_there_is_none() -> None:
    message = ChatMessage(role=MessageRole.USER, blocks=[])
    (out,) = JSONHintParser().format_messages([message])
    assert texts(out) == [SUFFIX]


def test_format_messages_leaves_its_input_alone() -> None:
    messages = [ChatMessage(role=MessageRole.SYSTEM, content="s"), ChatMessage(content="u")]
    out = JSONHintParser().format_messages(messages)
    assert out is not messages
    assert [m.content for m in messages] == ["s", "u"]
    assert out[0] is not messages[0]
    assert out[1] is messages[1]  # untouched messages are not copied


def test_default_format_messages_keeps_the_text() -> None:
    messages = [ChatMessage(role=MessageRole.SYSTEM, content="s"), ChatMessage(content="u")]
    out = IdentityParser().format_messages(messages)
    assert [(m.role, m.content) for m in out] == [
        (MessageRole.SYSTEM, "s"),
        (MessageRole.USER, "u"),
    ]
