from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

import llmplug
from llmplug.prompts._formatting import (
    completion_to_prompt,
    format_string,
    get_template_vars,
    messages_to_prompt,
    prompt_to_messages,
)
from llmplug.prompts._output_parsers import BaseOutputParser
from llmplug.prompts._templates import (
    BasePromptTemplate,
    ChatPromptTemplate,
    PromptTemplate,
    PromptType,
)
from llmplug.types._blocks import ImageBlock, TextBlock
from llmplug.types._messages import ChatMessage, MessageRole

SUFFIX = "\nAnswer in JSON."


class JSONHintParser(BaseOutputParser):
    def parse(self, output: str) -> Any:
        return output

    def format(self, query: str) -> str:
        return query + SUFFIX


def shout(**kwargs: Any) -> str:
    return str(kwargs["name"]).upper()


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name",
    ["PromptTemplate", "ChatPromptTemplate", "BasePromptTemplate", "PromptType"],
)
def test_public_names(name: str) -> None:
    import llmplug.prompts._templates as module

    assert getattr(llmplug, name) is getattr(module, name)


@pytest.mark.parametrize(
    ("member", "value"),
    [
        pytest.param(PromptType.CUSTOM, "custom", id="custom"),
        pytest.param(PromptType.SUMMARY, "summary", id="summary"),
        pytest.param(PromptType.QUESTION_ANSWER, "text_qa", id="text-qa"),
        pytest.param(PromptType.REFINE, "refine", id="refine"),
        pytest.param(PromptType.TREE_INSERT, "insert", id="tree-insert"),
    ],
)
def test_prompt_type_values(member: PromptType, value: str) -> None:
    assert member == value
    assert PromptType(value) is member


def test_base_template_is_abstract() -> None:
    with pytest.raises(TypeError):
        BasePromptTemplate(metadata={}, template_vars=[], kwargs={}, output_parser=None)  # type: ignore[abstract]


# --------------------------------------------------------------------------- variables


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("Hello {name}", ["name"], id="one"),
        pytest.param("{a} and {b} and {a}", ["a", "b", "a"], id="order-and-repeats-kept"),
        pytest.param('Return {"key": "value"} for {query}', ["query"], id="json-is-not-a-var"),
        pytest.param('{"a": {"b": 1}} {x}', ["x"], id="nested-json"),
        pytest.param("{user.name}", ["user.name"], id="dotted"),
        pytest.param("{0} {} {1name}", [], id="not-identifiers"),
        pytest.param("{ spaced }", [], id="spaces"),
        pytest.param("{{escaped}}", ["escaped"], id="doubled-braces-still-a-var"),
        pytest.param("no variables", [], id="none"),
        pytest.param("", [], id="empty"),
    ],
)
def test_get_template_vars(template: str, expected: list[str]) -> None:
    assert get_template_vars(template) == expected
    assert PromptTemplate(template).template_vars == expected


# --------------------------------------------------------------------------- format_string


@pytest.mark.parametrize(
    ("template", "kwargs", "expected"),
    [
        pytest.param("Hi {name}", {"name": "Bob"}, "Hi Bob", id="simple"),
        pytest.param("Hi {name}", {"name": "Bob", "x": 1}, "Hi Bob", id="extra-ignored"),
        pytest.param("Hi {name}, {greeting}", {"name": "B"}, "Hi B, {greeting}", id="missing-kept"),
        pytest.param(
            'Output {"answer": "..."} for {q}',
            {"q": "x"},
            'Output {"answer": "..."} for x',
            id="json-kept",
        ),
        pytest.param('{"a": {"b": 1}}', {}, '{"a": {"b": 1}}', id="nested-json-kept"),
        pytest.param("{{name}}", {"name": "x"}, "{x}", id="doubled-around-a-var"),
        pytest.param("{{literal}}", {}, "{{literal}}", id="doubled-not-unescaped"),
        pytest.param("{n} {none}", {"n": 3, "none": None}, "3 None", id="str-of-values"),
        pytest.param("{data}", {"data": b"hi"}, "aGk=", id="bytes-as-base64"),
        pytest.param("{data}", {"data": b"aGk="}, "aGk=", id="base64-bytes-kept"),
        pytest.param("{user.name}", {"user.name": "Ann"}, "Ann", id="dotted-key"),
        pytest.param("{template}", {"template": "t"}, "t", id="var-named-template"),
        pytest.param("{a}{a}", {"a": "x"}, "xx", id="repeated"),
    ],
)
def test_format_string(template: str, kwargs: dict[str, Any], expected: str) -> None:
    assert format_string(template, **kwargs) == expected


# --------------------------------------------------------------------------- PromptTemplate


@pytest.mark.parametrize(
    ("template", "fixed", "kwargs", "expected"),
    [
        pytest.param("Hi {name}", {}, {"name": "Bob"}, "Hi Bob", id="simple"),
        pytest.param("{a} {b}", {"a": "1"}, {"b": "2"}, "1 2", id="fixed-plus-call"),
        pytest.param("{a} {b}", {"a": "1"}, {"a": "3", "b": "2"}, "3 2", id="call-wins"),
        pytest.param("Hi {name}", {}, {}, "Hi {name}", id="missing-no-keyerror"),
        pytest.param(
            'Reply as {"answer": str} to: {q}',
            {},
            {"q": "why?"},
            'Reply as {"answer": str} to: why?',
            id="json-in-template",
        ),
    ],
)
def test_prompt_template_format(
    template: str, fixed: dict[str, Any], kwargs: dict[str, Any], expected: str
) -> None:
    assert PromptTemplate(template, **fixed).format(**kwargs) == expected


def test_prompt_template_fields() -> None:
    parser = JSONHintParser()
    prompt = PromptTemplate("{q}", output_parser=parser, a="1")
    assert prompt.template == "{q}"
    assert prompt.get_template() == "{q}"
    assert prompt.kwargs == {"a": "1"}
    assert prompt.output_parser is parser
    assert prompt.metadata == {"prompt_type": PromptType.CUSTOM}
    assert prompt.template_var_mappings is None
    assert prompt.function_mappings is None


@pytest.mark.parametrize(
    ("prompt_type", "metadata", "expected"),
    [
        pytest.param(PromptType.CUSTOM, None, {"prompt_type": "custom"}, id="default"),
        pytest.param(PromptType.SUMMARY, None, {"prompt_type": "summary"}, id="enum"),
        pytest.param("mine", {"k": 1}, {"k": 1, "prompt_type": "mine"}, id="str-and-extra"),
        pytest.param(
            PromptType.REFINE, {"prompt_type": "x"}, {"prompt_type": "refine"}, id="overrides"
        ),
    ],
)
def test_metadata_holds_prompt_type(
    prompt_type: str, metadata: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    given = None if metadata is None else dict(metadata)
    prompt = PromptTemplate("x", prompt_type=prompt_type, metadata=given)
    assert prompt.metadata == expected
    assert given == metadata  # the caller's dict is not changed


def test_prompt_template_output_parser_then_completion_to_prompt() -> None:
    prompt = PromptTemplate("Q: {q}", output_parser=JSONHintParser())
    assert prompt.format(q="x") == "Q: x" + SUFFIX
    wrapped = prompt.format(q="x", completion_to_prompt=lambda p: f"<s>{p}</s>")
    assert wrapped == f"<s>Q: x{SUFFIX}</s>"


def test_prompt_template_format_ignores_llm() -> None:
    class LLMish:
        def messages_to_prompt(self, messages: Sequence[ChatMessage]) -> str:
            raise AssertionError("not used by a completion template")

    assert PromptTemplate("{a}").format(llm=LLMish(), a="x") == "x"


@pytest.mark.parametrize(
    ("parser", "expected"),
    [
        pytest.param(None, "Hi Bob", id="plain"),
        pytest.param(JSONHintParser(), "Hi Bob" + SUFFIX, id="with-parser"),
    ],
)
def test_prompt_template_format_messages(parser: BaseOutputParser | None, expected: str) -> None:
    messages = PromptTemplate("Hi {name}", output_parser=parser).format_messages(name="Bob")
    assert len(messages) == 1
    assert messages[0].role == MessageRole.USER
    assert messages[0].content == expected


# --------------------------------------------------------------------------- partial_format


def test_partial_format_returns_a_copy() -> None:
    parser = JSONHintParser()
    prompt = PromptTemplate("{a} {b}", output_parser=parser, metadata={"k": [1]})
    partial = prompt.partial_format(a="1")
    assert isinstance(partial, PromptTemplate)
    assert partial is not prompt
    assert partial.kwargs == {"a": "1"}
    assert prompt.kwargs == {}
    assert prompt.format(b="2") == "{a} 2" + SUFFIX
    assert partial.format(b="2") == "1 2" + SUFFIX
    assert partial.output_parser is parser  # shared, not copied
    assert prompt.output_parser is parser
    assert partial.metadata == prompt.metadata
    assert partial.metadata["k"] is not prompt.metadata["k"]  # the rest is deep-copied


def test_partial_format_chains_and_call_kwargs_win() -> None:
    prompt = PromptTemplate("{a} {b} {c}").partial_format(a="1").partial_format(b="2")
    assert prompt.kwargs == {"a": "1", "b": "2"}
    assert prompt.format(c="3") == "1 2 3"
    assert prompt.format(b="x", c="3") == "1 x 3"


def test_partial_format_keeps_mappings() -> None:
    prompt = PromptTemplate(
        "{context_str} {shouted}",
        template_var_mappings={"context": "context_str"},
        function_mappings={"shouted": shout},
    )
    partial = prompt.partial_format(context="ctx")
    assert partial.function_mappings is not None
    assert partial.function_mappings["shouted"] is shout
    assert partial.format(name="ann") == "ctx ANN"


def test_partial_format_accepts_non_str_values() -> None:
    assert PromptTemplate("{n}").partial_format(n=3).format() == "3"


# --------------------------------------------------------------------------- mappings


@pytest.mark.parametrize(
    ("template", "options", "kwargs", "expected"),
    [
        pytest.param(
            "{context_str}",
            {"template_var_mappings": {"context": "context_str"}},
            {"context": "c"},
            "c",
            id="rename",
        ),
        pytest.param(
            "{context_str} {context}",
            {"template_var_mappings": {"context": "context_str"}},
            {"context": "c"},
            "c {context}",
            id="renamed-key-is-gone",
        ),
        pytest.param(
            "{name} {shouted}",
            {"function_mappings": {"shouted": shout}},
            {"name": "ann"},
            "ann ANN",
            id="function",
        ),
        pytest.param(
            "{name}",
            {"function_mappings": {"name": lambda **kw: "from-fn"}},
            {"name": "given"},
            "from-fn",
            id="function-overrides-value",
        ),
        pytest.param(
            "{ctx_str}",
            {
                "function_mappings": {"ctx": shout},
                "template_var_mappings": {"ctx": "ctx_str"},
            },
            {"name": "bo"},
            "BO",
            id="function-then-rename",
        ),
    ],
)
def test_mappings(
    template: str, options: dict[str, Any], kwargs: dict[str, Any], expected: str
) -> None:
    assert PromptTemplate(template, **options).format(**kwargs) == expected
    chat = ChatPromptTemplate.from_messages([("user", template)], **options)
    assert chat.format_messages(**kwargs)[0].content == expected


def test_function_mapping_sees_fixed_and_call_kwargs() -> None:
    seen: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> str:
        seen.append(kwargs)
        return "r"

    prompt = PromptTemplate("{out}", function_mappings={"out": record}, fixed="f")
    assert prompt.format(call="c") == "r"
    assert seen == [{"fixed": "f", "call": "c"}]


def test_function_mappings_serialize_by_name() -> None:
    dumped = PromptTemplate("{shouted}", function_mappings={"shouted": shout}).model_dump(
        mode="json"
    )
    assert dumped["function_mappings"] == {"shouted": f"{__name__}.shout"}
    assert dumped["template"] == "{shouted}"


# --------------------------------------------------------------------------- ChatPromptTemplate


@pytest.mark.parametrize(
    "source",
    [
        pytest.param([("system", "You speak {language}."), ("user", "{question}")], id="tuples"),
        pytest.param(
            [
                ChatMessage(role=MessageRole.SYSTEM, content="You speak {language}."),
                ChatMessage(role=MessageRole.USER, content="{question}"),
            ],
            id="messages",
        ),
        pytest.param(
            [
                (MessageRole.SYSTEM, "You speak {language}."),
                ChatMessage(role=MessageRole.USER, content="{question}"),
            ],
            id="mixed",
        ),
    ],
)
def test_from_messages(source: list[Any]) -> None:
    chat = ChatPromptTemplate.from_messages(source)
    assert [m.role for m in chat.message_templates] == [MessageRole.SYSTEM, MessageRole.USER]
    assert chat.template_vars == ["language", "question"]
    assert chat.metadata == {"prompt_type": PromptType.CUSTOM}
    messages = chat.format_messages(language="French", question="Hi?")
    assert [(m.role, m.content) for m in messages] == [
        (MessageRole.SYSTEM, "You speak French."),
        (MessageRole.USER, "Hi?"),
    ]


def test_from_messages_passes_options() -> None:
    chat = ChatPromptTemplate.from_messages(
        [("user", "{a} {b}")], prompt_type=PromptType.CONVERSATION, a="1"
    )
    assert chat.metadata["prompt_type"] == "conversation"
    assert chat.kwargs == {"a": "1"}
    assert chat.format_messages(b="2")[0].content == "1 2"


def test_from_messages_rejects_unknown_role() -> None:
    with pytest.raises(ValueError, match="human"):
        ChatPromptTemplate.from_messages([("human", "hi")])


@pytest.mark.parametrize(
    "role",
    [MessageRole.SYSTEM, MessageRole.USER, MessageRole.ASSISTANT, MessageRole.TOOL],
    ids=lambda r: r.value,
)
def test_format_messages_keeps_roles(role: MessageRole) -> None:
    chat = ChatPromptTemplate([ChatMessage(role=role, content="x={x}")])
    (message,) = chat.format_messages(x=1)
    assert message.role == role
    assert message.content == "x=1"


def test_format_messages_copies_and_keeps_the_template() -> None:
    template = ChatMessage(role=MessageRole.USER, content="Hi {name}")
    chat = ChatPromptTemplate([template])
    (message,) = chat.format_messages(name="Bob")
    assert message.content == "Hi Bob"
    assert message is not chat.message_templates[0]
    assert chat.message_templates[0].content == "Hi {name}"
    assert template.content == "Hi {name}"


def test_format_messages_formats_every_text_block() -> None:
    chat = ChatPromptTemplate(
        [ChatMessage(role=MessageRole.USER, blocks=[TextBlock(text="{a}"), TextBlock(text="{b}")])]
    )
    assert chat.template_vars == ["a", "b"]
    (message,) = chat.format_messages(a="1", b="2")
    assert [b.text for b in message.blocks if isinstance(b, TextBlock)] == ["1", "2"]


def test_format_messages_keeps_other_blocks_and_fields() -> None:
    image = ImageBlock(url="https://example.com/cat.png")
    template = ChatMessage(
        role=MessageRole.USER,
        blocks=[TextBlock(text="What is in {where}?"), image],
        additional_kwargs={"tag": ["t"]},
    )
    chat = ChatPromptTemplate([template])
    assert chat.template_vars == ["where"]
    (message,) = chat.format_messages(where="the picture")
    assert message.blocks[0] == TextBlock(text="What is in the picture?")
    assert message.blocks[1] == image
    assert message.additional_kwargs == {"tag": ["t"]}
    assert message.additional_kwargs["tag"] is not template.additional_kwargs["tag"]


def test_format_messages_keeps_a_message_without_blocks() -> None:
    chat = ChatPromptTemplate([ChatMessage(role=MessageRole.ASSISTANT, blocks=[])])
    (message,) = chat.format_messages(x="1")
    assert message.role == MessageRole.ASSISTANT
    assert message.blocks == []


def test_format_messages_missing_and_json() -> None:
    chat = ChatPromptTemplate.from_messages([("user", 'Give {"k": 1} for {q} and {other}')])
    (message,) = chat.format_messages(q="x")
    assert message.content == 'Give {"k": 1} for x and {other}'


def test_format_messages_only_fills_template_variables() -> None:
    # As LlamaIndex: chat messages get only the kwargs that are template variables,
    # so a non-identifier field is left alone (a completion template would fill it).
    text = "{a b} {a}"
    values: dict[str, Any] = {"a b": "X", "a": "Y"}
    chat = ChatPromptTemplate.from_messages([("user", text)])
    assert chat.format_messages(**values)[0].content == "{a b} Y"
    assert PromptTemplate(text).format(**values) == "X Y"


def test_format_messages_with_output_parser() -> None:
    chat = ChatPromptTemplate.from_messages(
        [("system", "Be {tone}."), ("user", "{q}")], output_parser=JSONHintParser()
    )
    messages = chat.format_messages(tone="brief", q="hi")
    assert [m.content for m in messages] == ["Be brief." + SUFFIX, "hi"]
    assert chat.message_templates[0].content == "Be {tone}."


def test_chat_partial_format() -> None:
    chat = ChatPromptTemplate.from_messages([("system", "{a}"), ("user", "{b}")])
    partial = chat.partial_format(a="1")
    assert isinstance(partial, ChatPromptTemplate)
    assert chat.kwargs == {}
    assert [m.content for m in partial.format_messages(b="2")] == ["1", "2"]
    assert partial.message_templates[0] is not chat.message_templates[0]


class HasRenderer:
    def __init__(self, tag: str) -> None:
        self.tag = tag

    def messages_to_prompt(self, messages: Sequence[ChatMessage]) -> str:
        return self.tag + "|".join(str(m.content) for m in messages)


class NoRenderer:
    messages_to_prompt = None


CHAT = [("system", "Be {tone}."), ("user", "{q}")]
DEFAULT_RENDER = "system: Be brief.\nuser: hi\nassistant: "


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param({}, DEFAULT_RENDER, id="default"),
        pytest.param({"llm": HasRenderer("L:")}, "L:Be brief.|hi", id="llm-renderer"),
        pytest.param({"llm": object()}, DEFAULT_RENDER, id="llm-without-renderer"),
        pytest.param({"llm": NoRenderer()}, DEFAULT_RENDER, id="llm-renderer-none"),
        pytest.param(
            {"messages_to_prompt": HasRenderer("M:").messages_to_prompt},
            "M:Be brief.|hi",
            id="explicit-renderer",
        ),
        pytest.param(
            {
                "llm": HasRenderer("L:"),
                "messages_to_prompt": HasRenderer("M:").messages_to_prompt,
            },
            "M:Be brief.|hi",
            id="explicit-beats-llm",
        ),
        pytest.param(
            {"completion_to_prompt": lambda p: "unused"},
            DEFAULT_RENDER,
            id="completion-to-prompt-is-ignored",
        ),
    ],
)
def test_chat_format_to_string(options: dict[str, Any], expected: str) -> None:
    chat = ChatPromptTemplate.from_messages(CHAT)
    assert chat.format(tone="brief", q="hi", **options) == expected


def test_chat_get_template() -> None:
    chat = ChatPromptTemplate.from_messages(CHAT)
    assert chat.get_template() == "system: Be {tone}.\nuser: {q}\nassistant: "


# --------------------------------------------------------------------------- converters


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        pytest.param([], "assistant: ", id="empty"),
        pytest.param([ChatMessage(content="hi")], "user: hi\nassistant: ", id="one-user"),
        pytest.param(
            [
                ChatMessage(role=MessageRole.SYSTEM, content="Be brief."),
                ChatMessage(role=MessageRole.USER, content="Hi"),
                ChatMessage(role=MessageRole.ASSISTANT, content="Hello."),
                ChatMessage(role=MessageRole.USER, content="Bye"),
            ],
            "system: Be brief.\nuser: Hi\nassistant: Hello.\nuser: Bye\nassistant: ",
            id="conversation",
        ),
        pytest.param(
            [ChatMessage(role=MessageRole.USER, content="a\nb")],
            "user: a\nb\nassistant: ",
            id="multiline-content",
        ),
        pytest.param(
            [ChatMessage(content="hi", additional_kwargs={"name": "bob"})],
            "user: hi\n{'name': 'bob'}\nassistant: ",
            id="additional-kwargs-on-next-line",
        ),
        pytest.param(
            [ChatMessage(role=MessageRole.TOOL, blocks=[])],
            "tool: None\nassistant: ",
            id="no-text-is-None-as-llamaindex",
        ),
    ],
)
def test_messages_to_prompt(messages: list[ChatMessage], expected: str) -> None:
    assert messages_to_prompt(messages) == expected


@pytest.mark.parametrize("text", ["", "Say hi", "a\n{b}"])
def test_completion_to_prompt_is_identity(text: str) -> None:
    assert completion_to_prompt(text) == text


def test_prompt_to_messages() -> None:
    (message,) = prompt_to_messages("Say hi")
    assert message.role == MessageRole.USER
    assert message.content == "Say hi"
