"""Tool calling by text, for models without native tool calls: one ReAct round.

The model is shown the tools and asked to answer in the ReAct format::

    Thought: I need the weather in Paris.
    Action: get_weather
    Action Input: {"city": "Paris"}

or, when no tool is needed, ``Thought: ...`` then ``Answer: ...``. The parser is lenient
with what small models write: markdown bold labels, JSON in code fences, Python-style
single quotes and ``True``/``None``, trailing commas, prose after the JSON, a bare value
for a one-argument tool, and the ``{"name": ..., "arguments": {...}}`` objects that
models trained for tool calls write instead (also inside ``<tool_call>`` tags).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmplug.errors import ToolCallError
from llmplug.prompts._json_text import balanced_end, loads_lenient
from llmplug.tools._execution import (
    acall_selections,
    as_tools,
    call_selections,
    parse_arguments,
    tool_round_result,
)
from llmplug.tools._function_calling import resolve_tool_choice, tool_chat_messages
from llmplug.tools._types import AgentChatResponse, BaseTool, ToolSelection, tools_by_name
from llmplug.types._messages import ChatMessage, MessageRole

if TYPE_CHECKING:
    from llmplug.llm._base import LLM
    from llmplug.types._responses import ChatResponse

__all__ = [
    "ReActStep",
    "areact_round",
    "parse_react",
    "react_round",
    "react_system_prompt",
]

_LABEL = re.compile(
    r"^[ \t>*_#-]*(thought|action input|action|answer|final answer|observation)"
    r"[*_ \t]*:[*_]*[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_INSTRUCTION_ROLES = (MessageRole.SYSTEM, MessageRole.DEVELOPER)
_NAME_KEYS = ("name", "tool", "tool_name", "function")
_ARGS_KEYS = ("arguments", "parameters", "args", "tool_input", "input", "kwargs")


def react_system_prompt(
    tools: Sequence[BaseTool],
    *,
    prefix: str | None = None,
    allow_parallel_tool_calls: bool = False,
    tool_required: bool = False,
    tool_name: str | None = None,
) -> str:
    """The system prompt describing the tools and the ReAct answer format.

    Args:
        tools: The tools the model may call.
        prefix: Text to put first (the conversation's system message, or the LLM's
            ``system_prompt``).
        allow_parallel_tool_calls: Tell the model it may call several tools.
        tool_required: Tell the model it must call a tool.
        tool_name: Tell the model which tool to call.
    """
    names = [tool.metadata.get_name() for tool in tools]
    parts = [prefix.strip() + "\n"] if prefix and prefix.strip() else []
    parts.append("You can use these tools:\n")
    for tool in tools:
        meta = tool.metadata
        parts.append(
            f"> Tool Name: {meta.get_name()}\n"
            f"Tool Description: {meta.description}\n"
            f"Tool Args: {json.dumps(meta.get_parameters_dict(), ensure_ascii=False)}\n"
        )
    parts.append(
        "To use a tool, reply in exactly this format:\n\n"
        "Thought: why a tool is needed\n"
        f"Action: the tool's name (one of: {', '.join(names)})\n"
        'Action Input: the arguments as a JSON object, e.g. {"city": "Paris"}\n'
    )
    if allow_parallel_tool_calls:
        parts.append(
            "To use several tools at once, write one Action line and one Action Input "
            "line for each call.\n"
        )
    parts.append("Write nothing after the Action Input: the tool's result will be sent to you.\n")
    if tool_name:
        parts.append(f"You must use the tool {tool_name}.")
    elif tool_required:
        parts.append("You must use a tool: do not answer directly.")
    else:
        parts.append(
            "If you can answer without a tool, reply in this format:\n\n"
            "Thought: I can answer without using a tool.\n"
            "Answer: your answer"
        )
    return "\n".join(parts)


def react_messages(system: str, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """The messages of a ReAct round: one system message, then the conversation.

    System and developer messages opening the conversation are already part of
    ``system`` (see :func:`prepare_react`) and are left out here: many chat templates
    take one system message, first.
    """
    rest = list(messages)
    while rest and rest[0].role in _INSTRUCTION_ROLES:
        rest.pop(0)
    return [ChatMessage(role=MessageRole.SYSTEM, content=system), *rest]


def _instructions(llm: LLM, messages: Sequence[ChatMessage]) -> str | None:
    """The conversation's opening system text, else the LLM's ``system_prompt``."""
    texts = []
    for message in messages:
        if message.role not in _INSTRUCTION_ROLES:
            break
        texts.append(message.content or "")
    return "\n\n".join(texts) if texts else llm.system_prompt


@dataclass
class ReActStep:
    """What one ReAct reply said.

    Attributes:
        thought: The last ``Thought:`` text.
        calls: ``(tool name, argument text)`` per ``Action`` (JSON-style calls too).
        answer: The ``Answer:`` text, if the model answered.
    """

    thought: str | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)
    answer: str | None = None


def parse_react(text: str) -> ReActStep:
    """Read the thought, the tool calls and the answer in a model's ReAct reply."""
    step = ReActStep()
    labels = list(_LABEL.finditer(text))
    for i, match in enumerate(labels):
        label = match.group(1).lower()
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        value = text[match.end() : end].strip()
        if label == "thought":
            step.thought = value
        elif label == "action":
            name, _, rest = value.partition("\n")
            name, inline = _split_inline_input(name)
            step.calls.append((_clean_name(name), inline or rest.strip()))
        elif label == "action input":
            if step.calls and not step.calls[-1][1]:
                step.calls[-1] = (step.calls[-1][0], value)
            elif not step.calls:
                step.calls.append(("", value))
        elif label in ("answer", "final answer") and step.answer is None:
            step.answer = value
        elif label == "observation":
            break  # the model went on to imagine the tool's result: stop reading
    if not step.calls:
        step.calls = _json_calls(text)
    return step


def _split_inline_input(name: str) -> tuple[str, str]:
    """``Action: get_weather {"city": "Paris"}`` -> name and input."""
    for opener in ("{", "("):
        at = name.find(opener)
        if at > 0:
            rest = name[at:].strip()
            if opener == "(" and rest.endswith(")"):
                rest = rest[1:-1].strip()
            return name[:at], rest
    return name, ""


def _clean_name(name: str) -> str:
    return name.strip().strip("`'\"[]*<>.,:;").strip()


def _json_calls(text: str) -> list[tuple[str, str]]:
    """Calls written as ``{"name": ..., "arguments": {...}}`` objects (or a list of them)."""
    calls: list[tuple[str, str]] = []
    for value in _json_values(text):
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, dict):
                continue
            name = next((item[k] for k in _NAME_KEYS if isinstance(item.get(k), str)), None)
            if name is None:
                continue
            args: Any = next((item[k] for k in _ARGS_KEYS if k in item), {})
            text_args = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
            calls.append((name, text_args))
    return calls


def _json_values(text: str) -> list[Any]:
    values: list[Any] = []
    at = 0
    while True:
        start = _next_opener(text, at)
        if start < 0:
            return values
        end = balanced_end(text, start)
        if end < 0:
            return values
        value = loads_lenient(text[start:end])
        if value is not None:
            values.append(value)
            at = end
        else:
            at = start + 1


def _next_opener(text: str, at: int) -> int:
    brace, bracket = text.find("{", at), text.find("[", at)
    found = [i for i in (brace, bracket) if i >= 0]
    return min(found) if found else -1


# -- one ReAct round -------------------------------------------------------------------


def _resolve_name(name: str, tools: dict[str, BaseTool]) -> str:
    if name in tools:
        return name
    if not name and len(tools) == 1:
        return next(iter(tools))
    folded = {key.lower(): key for key in tools}
    return folded.get(name.lower(), name)


def _selection(i: int, name: str, text: str, tools: dict[str, BaseTool]) -> ToolSelection:
    name = _resolve_name(name, tools)
    kwargs, bare = parse_arguments(text)
    invalid = None
    if kwargs is None:
        tool = tools.get(name)
        schema = tool.metadata.fn_schema if tool is not None else None
        fields = list(schema.model_fields) if schema is not None else ["input"]
        if bare is not None and len(fields) == 1:
            kwargs = {fields[0]: bare}  # a bare value for a one-argument tool
        else:
            kwargs, invalid = {}, text.strip()
    return ToolSelection(
        tool_id=f"react_{i}", tool_name=name, tool_kwargs=kwargs, invalid_arguments=invalid
    )


def prepare_react(
    llm: LLM,
    tools: Sequence[Any],
    user_msg: str | ChatMessage | None,
    chat_history: Sequence[ChatMessage] | None,
    allow_parallel_tool_calls: bool,
    kwargs: dict[str, Any],
) -> tuple[list[BaseTool], list[ChatMessage], dict[str, Any]]:
    """The tools, the messages and the per-call options of a ReAct round."""
    checked = as_tools(tools)
    options = dict(kwargs)
    tool_required = bool(options.pop("tool_required", False))
    choice = resolve_tool_choice(
        checked, options.pop("tool_choice", None), tool_required, llm.provider_label
    )
    if choice.mode == "none":
        shown = []
    elif choice.mode == "tool":
        shown = [t for t in checked if t.metadata.get_name() == choice.name]
    else:
        shown = checked
    conversation = tool_chat_messages(user_msg, chat_history)
    system = react_system_prompt(
        shown,
        prefix=_instructions(llm, conversation),
        allow_parallel_tool_calls=allow_parallel_tool_calls,
        tool_required=choice.mode in ("required", "tool"),
        tool_name=choice.name,
    )
    return checked, react_messages(system, conversation), options


def react_selections(
    llm: LLM,
    response: ChatResponse,
    tools: Sequence[BaseTool],
    allow_parallel_tool_calls: bool,
    error_on_no_tool_call: bool,
) -> tuple[list[ToolSelection], str]:
    """The calls a ReAct reply asked for, and the text to answer with if there are none.

    Raises:
        ToolCallError: No call, and ``error_on_no_tool_call`` is set.
    """
    text = response.message.content or ""
    step = parse_react(text)
    named = tools_by_name(tools)
    selections = [_selection(i, n, t, named) for i, (n, t) in enumerate(step.calls)]
    if not allow_parallel_tool_calls:
        selections = selections[:1]
    if not selections and error_on_no_tool_call:
        shown = text.strip()[:200]
        raise ToolCallError(
            f"expected at least one tool call, but the model's reply has no "
            f"'Action:' line it could be read from; it answered: {shown!r} (pass "
            f"error_on_no_tool_call=False to accept an answer without a tool call)",
            provider=llm.provider_label,
        )
    answer = step.answer if step.answer is not None else text.strip()
    return selections, answer


def react_round(
    llm: LLM,
    tools: Sequence[Any],
    user_msg: str | ChatMessage | None,
    chat_history: Sequence[ChatMessage] | None,
    *,
    verbose: bool,
    allow_parallel_tool_calls: bool,
    error_on_no_tool_call: bool,
    error_on_tool_error: bool,
    options: dict[str, Any],
) -> AgentChatResponse:
    """One ReAct round: ``LLM.predict_and_call`` on a model without native tool calls."""
    checked, messages, call_options = prepare_react(
        llm, tools, user_msg, chat_history, allow_parallel_tool_calls, options
    )
    response = llm.chat(messages, **call_options)
    selections, answer = react_selections(
        llm, response, checked, allow_parallel_tool_calls, error_on_no_tool_call
    )
    outputs = call_selections(
        selections, checked, verbose=verbose, error_on_tool_error=error_on_tool_error
    )
    return tool_round_result(response, selections, outputs, answer)


async def areact_round(
    llm: LLM,
    tools: Sequence[Any],
    user_msg: str | ChatMessage | None,
    chat_history: Sequence[ChatMessage] | None,
    *,
    verbose: bool,
    allow_parallel_tool_calls: bool,
    error_on_no_tool_call: bool,
    error_on_tool_error: bool,
    options: dict[str, Any],
) -> AgentChatResponse:
    """Async :func:`react_round`: the tools called run concurrently."""
    checked, messages, call_options = prepare_react(
        llm, tools, user_msg, chat_history, allow_parallel_tool_calls, options
    )
    response = await llm.achat(messages, **call_options)
    selections, answer = react_selections(
        llm, response, checked, allow_parallel_tool_calls, error_on_no_tool_call
    )
    outputs = await acall_selections(
        selections, checked, verbose=verbose, error_on_tool_error=error_on_tool_error
    )
    return tool_round_result(response, selections, outputs, answer)
