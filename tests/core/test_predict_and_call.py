"""predict_and_call and chat_with_tools on the mock: native calls and ReAct text, sync and async."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from llmplug import (
    AgentChatResponse,
    ChatMessage,
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    FunctionTool,
    LLMMetadata,
    ToolCallBlock,
    ToolSelection,
)
from llmplug.errors import InvalidOptionError, ToolCallError
from llmplug.mock import MockChatLLM
from llmplug.testing import isolated_registry, react_reply, scripted, tool_call
from llmplug.tools import ToolChoice


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    with isolated_registry():
        yield


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def boom(x: str) -> str:
    """Always fails."""
    raise RuntimeError(f"no {x}")


TOOLS = [FunctionTool.from_defaults(add), FunctionTool.from_defaults(boom)]


def native(*replies: Any, **options: Any) -> MockChatLLM:
    return scripted(*replies, function_calling=True, **options)


def react(*replies: Any, **options: Any) -> MockChatLLM:
    return scripted(*replies, function_calling=False, **options)


async def run(llm: Any, mode: str, *args: Any, **kwargs: Any) -> AgentChatResponse:
    if mode == "sync":
        return llm.predict_and_call(*args, **kwargs)  # type: ignore[no-any-return]
    return await llm.apredict_and_call(*args, **kwargs)  # type: ignore[no-any-return]


MODES = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
# the same call, scripted for each path
PATHS = {
    "native": lambda name, kwargs: native(tool_call(name, kwargs)),
    "react": lambda name, kwargs: react(react_reply(name, kwargs)),
}
BOTH = [
    pytest.param(path, mode, id=f"{path}-{mode}")
    for path in ("native", "react")
    for mode in ("sync", "async")
]


# -- one call, both paths ---------------------------------------------------------------------


@pytest.mark.parametrize(("path", "mode"), BOTH)
async def test_one_call(path: str, mode: str) -> None:
    llm = PATHS[path]("add", {"a": 2, "b": 3})
    result = await run(llm, mode, TOOLS, "What is 2 + 3?")
    assert isinstance(result, AgentChatResponse)
    assert result.response == str(result) == "5"
    [source] = result.sources
    assert (source.tool_name, source.raw_output, source.is_error) == ("add", 5, False)
    assert result.metadata is not None
    [selection] = result.metadata["tool_calls"]
    assert (selection.tool_name, selection.tool_kwargs) == ("add", {"a": 2, "b": 3})


@pytest.mark.parametrize(("path", "mode"), BOTH)
async def test_a_raising_tool_gives_an_error_output(path: str, mode: str) -> None:
    result = await run(PATHS[path]("boom", {"x": "luck"}), mode, TOOLS, "go")
    [source] = result.sources
    assert source.is_error
    assert result.response == "Error: tool 'boom' raised RuntimeError: no luck"
    assert isinstance(source.exception, RuntimeError)


@pytest.mark.parametrize(("path", "mode"), BOTH)
async def test_a_raising_tool_raises_with_error_on_tool_error(path: str, mode: str) -> None:
    with pytest.raises(ToolCallError, match="tool 'boom' raised RuntimeError") as info:
        await run(PATHS[path]("boom", {"x": "luck"}), mode, TOOLS, "go", error_on_tool_error=True)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert info.value.tool_name == "boom"
    assert info.value.output.is_error


@pytest.mark.parametrize(("path", "mode"), BOTH)
async def test_an_invented_tool_names_the_valid_ones(path: str, mode: str) -> None:
    result = await run(PATHS[path]("multiply", {"a": 2}), mode, TOOLS, "go")
    assert result.sources[0].is_error
    assert result.response == "Error: there is no tool named 'multiply'; the tools are: add, boom"
    with pytest.raises(ToolCallError, match="no tool named 'multiply'"):
        await run(PATHS[path]("multiply", {}), mode, TOOLS, "go", error_on_tool_error=True)


@pytest.mark.parametrize(("path", "mode"), BOTH)
async def test_bad_arguments_are_fed_back(path: str, mode: str) -> None:
    result = await run(PATHS[path]("add", {"a": "two"}), mode, TOOLS, "go")
    assert result.sources[0].is_error
    assert result.response.startswith("Error: invalid arguments for tool 'add': a: Input should")
    assert "b: Field required" in result.response
    with pytest.raises(ToolCallError, match="invalid arguments"):
        await run(PATHS[path]("add", {"a": 1}), mode, TOOLS, "go", error_on_tool_error=True)


@pytest.mark.parametrize("mode", MODES)
async def test_arguments_that_are_not_json(mode: str) -> None:
    result = await run(native(tool_call("add", '{"a": 1,')), mode, TOOLS, "go")
    assert result.response == (
        "Error: the arguments for tool 'add' are not a JSON object: '{\"a\": 1,'; "
        'send them as one, e.g. {"name": value}'
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", ["native", "react"])
async def test_deeply_nested_arguments_are_an_error_output(path: str, mode: str) -> None:
    # a small model looping on "[[[[": an error output, not a RecursionError
    arguments = '{"a": ' + "[" * 5000 + "]" * 5000 + ', "b": 1}'
    if path == "native":
        llm = native(tool_call("add", arguments))
    else:
        llm = react(f"Thought: add.\nAction: add\nAction Input: {arguments}")
    result = await run(llm, mode, TOOLS, "go")
    assert result.sources[0].is_error
    assert result.sources[0].tool_name == "add"


@pytest.mark.parametrize(("path", "mode"), BOTH)
async def test_no_tool_call(path: str, mode: str) -> None:
    reply = "Paris." if path == "native" else "Thought: easy.\nAnswer: Paris."
    llm = native(reply, reply) if path == "native" else react(reply, reply)
    with pytest.raises(ToolCallError, match="expected at least one tool call") as info:
        await run(llm, mode, TOOLS, "Capital of France?")
    assert isinstance(info.value, ValueError)  # what LlamaIndex raises
    result = await run(llm, mode, TOOLS, "Capital of France?", error_on_no_tool_call=False)
    assert (result.response, result.sources) == ("Paris.", [])


@pytest.mark.parametrize(("path", "mode"), BOTH)
async def test_chat_history_is_not_changed(path: str, mode: str) -> None:
    history = [
        ChatMessage(role="user", content="Hi"),
        ChatMessage(role="assistant", content="Hello"),
    ]
    snapshot = [m.model_copy(deep=True) for m in history]
    llm = PATHS[path]("add", {"a": 1, "b": 1})
    await run(llm, mode, TOOLS, "1+1?", chat_history=history)
    assert history == snapshot
    assert len(history) == 2
    sent = llm.calls[0]
    assert [m.content for m in sent[-3:]] == ["Hi", "Hello", "1+1?"]


@pytest.mark.parametrize(("path", "mode"), BOTH)
async def test_plain_functions_are_tools(path: str, mode: str) -> None:
    assert (await run(PATHS[path]("add", {"a": 1, "b": 2}), mode, [add], "go")).response == "3"


@pytest.mark.parametrize("mode", MODES)
async def test_user_message_as_chat_message_and_no_message(mode: str) -> None:
    llm = native(tool_call("add", {"a": 1, "b": 2}), tool_call("add", {"a": 1, "b": 2}))
    await run(llm, mode, TOOLS, ChatMessage(role="user", content="sum"))
    await run(llm, mode, TOOLS, chat_history=[ChatMessage(role="user", content="again")])
    assert [call[-1].content for call in llm.calls] == ["sum", "again"]


# -- parallel calls ---------------------------------------------------------------------------


def two_calls() -> ChatMessage:
    second = ToolCallBlock(tool_call_id="c2", tool_name="add", tool_kwargs={"a": 10, "b": 20})
    return tool_call("add", {"a": 1, "b": 2}, tool_call_id="c1", more=[second])


TWO_REACT = (
    'Thought: two sums.\nAction: add\nAction Input: {"a": 1, "b": 2}\n'
    'Action: add\nAction Input: {"a": 10, "b": 20}'
)


@pytest.mark.parametrize(("path", "mode"), BOTH)
async def test_parallel_calls(path: str, mode: str) -> None:
    llm = native(two_calls()) if path == "native" else react(TWO_REACT)
    result = await run(llm, mode, TOOLS, "go", allow_parallel_tool_calls=True)
    assert result.response == "3\n\n30"
    assert [s.raw_output for s in result.sources] == [3, 30]
    if path == "native":
        assert llm.call_options[0]["parallel_tool_calls"] is True
        assert [s.tool_id for s in result.metadata["tool_calls"]] == ["c1", "c2"]  # type: ignore[index]


@pytest.mark.parametrize(("path", "mode"), BOTH)
async def test_only_the_first_call_without_parallel(
    path: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    llm = native(two_calls()) if path == "native" else react(TWO_REACT)
    with caplog.at_level(logging.WARNING, logger="llmplug"):
        result = await run(llm, mode, TOOLS, "go")
    assert result.response == "3"
    if path == "native":
        assert llm.call_options[0]["parallel_tool_calls"] is False
        assert "only the first (add) is kept" in caplog.text


async def test_async_tools_run_concurrently() -> None:
    # each tool waits for the other to start: run one after the other, they never finish
    started = {"ping": asyncio.Event(), "pong": asyncio.Event()}

    async def ping() -> str:
        """Ping."""
        started["ping"].set()
        await started["pong"].wait()
        return "ping"

    async def pong() -> str:
        """Pong."""
        started["pong"].set()
        await started["ping"].wait()
        return "pong"

    reply = tool_call("ping", {}, more=[ToolCallBlock(tool_call_id="2", tool_name="pong")])
    llm = native(reply)
    result = await asyncio.wait_for(
        llm.apredict_and_call([ping, pong], "go", allow_parallel_tool_calls=True), timeout=5
    )
    assert result.response == "ping\n\npong"


async def test_a_failed_call_raises_once_the_others_have_finished() -> None:
    # raising at the first failure would leave the other calls running unobserved
    finished: list[str] = []
    release = asyncio.Event()

    async def slow() -> str:
        """Slow."""
        await release.wait()
        for _ in range(10):  # still busy when the other call fails
            await asyncio.sleep(0)
        finished.append("slow")
        return "slow"

    async def failing() -> str:
        """Fails."""
        release.set()
        raise RuntimeError("no")

    reply = tool_call("slow", {}, more=[ToolCallBlock(tool_call_id="2", tool_name="failing")])
    with pytest.raises(ToolCallError, match="tool 'failing' raised RuntimeError: no"):
        await native(reply).apredict_and_call(
            [slow, failing], "go", allow_parallel_tool_calls=True, error_on_tool_error=True
        )
    assert finished == ["slow"]


async def test_sync_tools_run_in_worker_threads_in_the_async_form() -> None:
    threads: list[str] = []

    def where() -> str:
        """Where am I."""
        threads.append(threading.current_thread().name)
        return "here"

    await native(tool_call("where", {})).apredict_and_call([where], "go")
    assert threads
    assert threads[0] != threading.current_thread().name


# -- chat_with_tools ------------------------------------------------------------------------


def test_chat_with_tools_sends_specs_and_choice() -> None:
    llm = native(tool_call("add", {"a": 1, "b": 2}))
    response = llm.chat_with_tools(TOOLS, "go", temperature=0.5)
    [options] = llm.call_options
    assert [t["function"]["name"] for t in options["tools"]] == ["add", "boom"]
    assert options["tool_choice"] == ToolChoice("auto")
    assert options["temperature"] == 0.5
    [selection] = llm.get_tool_calls_from_response(response)
    assert selection == ToolSelection(
        tool_id="call_add", tool_name="add", tool_kwargs={"a": 1, "b": 2}
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, ToolChoice("auto"), id="auto"),
        pytest.param({"tool_required": True}, ToolChoice("required"), id="required"),
        pytest.param({"tool_choice": "none"}, ToolChoice("none"), id="none"),
        pytest.param({"tool_choice": "any"}, ToolChoice("required"), id="any"),
        pytest.param({"tool_choice": "add"}, ToolChoice("tool", name="add"), id="by-name"),
        pytest.param({"tool_choice": {"x": 1}}, ToolChoice("raw", raw={"x": 1}), id="raw"),
    ],
)
def test_tool_choice(kwargs: dict[str, Any], expected: ToolChoice) -> None:
    llm = native("ok")
    llm.chat_with_tools(TOOLS, "go", **kwargs)
    assert llm.call_options[0]["tool_choice"] == expected


def test_tool_choice_naming_no_tool() -> None:
    with pytest.raises(
        InvalidOptionError, match=r"tool_choice='mul' is not one of the tools given \(add, boom\)"
    ):
        native("ok").chat_with_tools(TOOLS, "go", tool_choice="mul")


def test_get_tool_calls_without_any() -> None:
    llm = native("Just text.")
    response = llm.chat_with_tools(TOOLS, "go")
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
    with pytest.raises(ToolCallError, match=r"it answered: 'Just text\.'"):
        llm.get_tool_calls_from_response(response)


def test_stream_chat_with_tools_gives_partial_blocks() -> None:
    llm = native(tool_call("add", {"a": 1, "b": 2}, text="Let me add."))
    chunks = list(llm.stream_chat_with_tools(TOOLS, "go"))
    assert "".join(c.delta or "" for c in chunks) == "Let me add."
    partial = [
        b.tool_kwargs
        for c in chunks
        for b in c.message.blocks
        if isinstance(b, ToolCallBlock) and isinstance(b.tool_kwargs, str)
    ]
    assert partial[0] == ""
    assert all(isinstance(p, str) for p in partial)
    assert len(partial) >= 2
    last = chunks[-1]
    [selection] = llm.get_tool_calls_from_response(last)
    assert selection.tool_kwargs == {"a": 1, "b": 2}
    assert last.message.content == "Let me add."
    assert last.usage is not None


async def test_astream_chat_with_tools() -> None:
    llm = native(two_calls())
    chunks = [c async for c in await llm.astream_chat_with_tools(TOOLS, "go")]
    calls = [b for b in chunks[-1].message.blocks if isinstance(b, ToolCallBlock)]
    assert [c.tool_kwargs for c in calls] == [{"a": 1, "b": 2}, {"a": 10, "b": 20}]


async def test_achat_with_tools() -> None:
    llm = native(tool_call("add", {"a": 1, "b": 2}))
    response = await llm.achat_with_tools(TOOLS, "go", tool_choice="add")
    assert llm.get_tool_calls_from_response(response)[0].tool_name == "add"


# -- the ReAct prompt ------------------------------------------------------------------------


def test_react_prompt_shows_the_tools_and_keeps_the_system_prompt() -> None:
    llm = react(react_reply("add", {"a": 1, "b": 2}), system_prompt="You are terse.")
    llm.predict_and_call(TOOLS, "go")
    system = llm.calls[0][0]
    assert system.role == "system"
    text = system.content or ""
    assert text.startswith("You are terse.")
    assert "> Tool Name: add" in text
    assert '"required": ["a", "b"]' in text
    assert "Action: the tool's name (one of: add, boom)" in text
    assert "Answer: your answer" in text
    assert [m.role for m in llm.calls[0]] == ["system", "user"]


def test_react_prompt_with_a_required_or_named_tool() -> None:
    llm = react(react_reply("add", {"a": 1, "b": 2}), react_reply("add", {"a": 1, "b": 2}))
    llm.predict_and_call(TOOLS, "go", tool_required=True)
    llm.predict_and_call(TOOLS, "go", tool_choice="add")
    first, second = (call[0].content or "" for call in llm.calls)
    assert "You must use a tool" in first
    assert "You must use the tool add." in second
    assert "> Tool Name: boom" not in second


class Completer(CustomLLM):
    """A completion model (no chat): ReAct goes through messages_to_prompt."""

    reply: str

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata()

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self.reply)

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        yield self.complete(prompt)


@pytest.mark.parametrize("mode", MODES)
async def test_react_on_a_completion_model(mode: str) -> None:
    llm = Completer(reply=react_reply("add", {"a": 4, "b": 5}))
    assert (await run(llm, mode, TOOLS, "4+5?")).response == "9"


# -- reading ReAct replies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        pytest.param('Thought: sum.\nAction: add\nAction Input: {"a": 1, "b": 2}', "3", id="plain"),
        pytest.param(
            'Thought: sum.\nAction: add\nAction Input: ```json\n{"a": 1, "b": 2}\n```',
            "3",
            id="fenced",
        ),
        pytest.param(
            "Thought: sum.\nAction: add\nAction Input: {'a': 1, 'b': 2,}", "3", id="single-quotes"
        ),
        pytest.param(
            'Action: add\nAction Input: {"a": 1, "b": 2} I hope this helps!\nObservation: 3',
            "3",
            id="trailing-prose-and-imagined-observation",
        ),
        pytest.param(
            '**Thought:** sum.\n**Action:** `add`\n**Action Input:** {"a": 1, "b": 2}',
            "3",
            id="bold",
        ),
        pytest.param('Action: ADD\nAction Input: {"a": 1, "b": 2}', "3", id="name-case"),
        pytest.param('Action: add {"a": 1, "b": 2}', "3", id="inline-input"),
        pytest.param(
            '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>',
            "3",
            id="json-tool-call",
        ),
        pytest.param(
            '[{"name": "add", "parameters": {"a": 1, "b": 2}}]', "3", id="json-list-parameters"
        ),
        pytest.param(
            "Action: boom\nAction Input: luck",
            "Error: tool 'boom' raised RuntimeError: no luck",
            id="bare-value-one-argument-tool",
        ),
        pytest.param(
            "Action: add\nAction Input: {a: 1",
            "Error: the arguments for tool 'add' are not a JSON object: '{a: 1'; "
            'send them as one, e.g. {"name": value}',
            id="broken-json",
        ),
        pytest.param(
            'Action: add\nAction Input: {"a": true, "b": null}',
            "Error: invalid arguments for tool 'add': b: Input should be a valid integer "
            "(the tool takes: a (required), b (required))",
            id="json-words",
        ),
    ],
)
def test_react_parsing(reply: str, expected: str) -> None:
    assert react(reply).predict_and_call(TOOLS, "go").response == expected


@pytest.mark.parametrize("role", ["system", "developer"])
def test_react_merges_the_conversations_system_message(role: str) -> None:
    llm = react(react_reply("add", {"a": 1, "b": 2}), system_prompt="Not used.")
    history = [ChatMessage(role=role, content="Speak French."), ChatMessage(content="Salut")]
    llm.predict_and_call(TOOLS, "1+2?", chat_history=history)
    sent = llm.calls[0]
    assert [m.role for m in sent] == ["system", "user", "user"]
    assert (sent[0].content or "").startswith("Speak French.\n")
    assert "Not used." not in (sent[0].content or "")
