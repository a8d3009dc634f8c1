"""Running the tools a model called: arguments checked, failures turned into outputs.

Whatever goes wrong in one call (an invented tool name, arguments that do not fit the
schema, a tool that raises) becomes a :class:`~llmplug.ToolOutput` with
``is_error=True`` whose content says what happened and what the tool expects, so it can
go back to the model; ``error_on_tool_error=True`` raises
:class:`~llmplug.errors.ToolCallError` instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from llmplug.errors import ToolCallError
from llmplug.prompts._json_text import FENCE, balanced_end, loads_lenient
from llmplug.tools._function_tool import FunctionTool
from llmplug.tools._types import (
    AgentChatResponse,
    BaseTool,
    ToolOutput,
    ToolSelection,
    adapt_to_async_tool,
    tools_by_name,
)
from llmplug.types._blocks import ToolCallBlock
from llmplug.types._responses import ChatResponse

__all__ = [
    "acall_selections",
    "acall_tool",
    "acall_tool_with_selection",
    "call_tool",
    "call_tool_with_selection",
    "call_selections",
    "parse_arguments",
    "tool_round_result",
]


def as_tools(tools: Sequence[Any]) -> list[BaseTool]:
    """The tools, plain functions wrapped in :class:`FunctionTool` (names checked)."""
    if isinstance(tools, BaseTool) or (callable(tools) and not isinstance(tools, Sequence)):
        raise TypeError("tools must be a list of tools (or functions), not one tool")
    result = [
        FunctionTool.from_defaults(tool)
        if callable(tool) and not isinstance(tool, BaseTool)
        else tool
        for tool in tools
    ]
    tools_by_name(result)  # raises for a non-tool or a duplicate name
    return result


def selections_from_blocks(blocks: Sequence[ToolCallBlock]) -> list[ToolSelection]:
    """Tool-call blocks as :class:`ToolSelection` s (arguments that are not an object kept)."""
    selections = []
    for i, block in enumerate(blocks):
        kwargs = block.tool_kwargs
        invalid = None
        if isinstance(kwargs, str):
            parsed, _ = parse_arguments(kwargs)
            if parsed is None:
                invalid, parsed = kwargs, {}
            kwargs = parsed
        selections.append(
            ToolSelection(
                tool_id=block.tool_call_id or f"call_{i}",
                tool_name=block.tool_name,
                tool_kwargs=kwargs,
                invalid_arguments=invalid,
            )
        )
    return selections


def parse_arguments(text: str) -> tuple[dict[str, Any] | None, Any]:
    """Read a tool's arguments from text: ``(the object, None)`` or ``(None, a bare value)``.

    ``(None, None)`` means nothing could be read.
    """
    text = text.strip()
    fenced = FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text:
        return {}, None
    start = text.find("{")
    if start >= 0:
        end = balanced_end(text, start)
        if end > 0:
            value = loads_lenient(text[start:end])
            if isinstance(value, dict):
                return {str(key): item for key, item in value.items()}, None
    # a bare value: a quoted string, a number, or the first line as it is
    first = text.splitlines()[0].strip()
    value = loads_lenient(first)
    if value is None or isinstance(value, dict | list):
        return None, (first or None) if start < 0 else None
    return None, value


# -- checking the arguments ----------------------------------------------------------------


def _signature_text(schema: type[BaseModel]) -> str:
    parts = []
    for name, info in schema.model_fields.items():
        shown = info.alias or name
        parts.append(f"{shown} (required)" if info.is_required() else shown)
    return ", ".join(parts) or "no arguments"


def check_arguments(tool: BaseTool, arguments: dict[str, Any]) -> dict[str, Any] | str:
    """The arguments validated against the tool's schema, or why they do not fit.

    A one-argument tool called with one differently named argument gets it under its
    own name (models often write ``{"input": ...}``).
    """
    schema = tool.metadata.fn_schema
    if schema is None:
        return arguments
    fields = schema.model_fields
    names = {info.alias or name for name, info in fields.items()} | set(fields)
    if len(fields) == 1 and len(arguments) == 1:
        (key,) = arguments
        if key not in names:
            arguments = {next(iter(fields)): arguments[key]}
    expected = _signature_text(schema)
    if schema.model_config.get("extra") != "allow":
        unknown = [key for key in arguments if key not in names]
        if unknown:
            return (
                f"unexpected argument{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}; the tool takes: {expected}"
            )
    try:
        model = schema.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'arguments'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        return f"{problems} (the tool takes: {expected})"
    given = model.model_fields_set
    # by parameter name: a field renamed because it shadows a BaseModel attribute
    # (``schema``, ``json``...) has the parameter's name as its alias
    values = {
        info.alias or name: getattr(model, name) for name, info in fields.items() if name in given
    }
    values.update(model.model_extra or {})
    return values


def _error(tool_name: str, arguments: dict[str, Any], text: str, exc: Any = None) -> ToolOutput:
    return ToolOutput(
        content=f"Error: {text}",
        tool_name=tool_name,
        raw_input={"kwargs": arguments},
        raw_output=text,
        is_error=True,
        exception=exc,
    )


def _prepare(tool: BaseTool, arguments: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """``(error output, None)`` or ``(None, checked arguments)``."""
    checked = check_arguments(tool, arguments)
    if isinstance(checked, str):
        name = tool.metadata.get_name()
        return _error(name, arguments, f"invalid arguments for tool {name!r}: {checked}"), None
    return None, checked


def _single_value(tool: BaseTool, arguments: dict[str, Any]) -> tuple[bool, Any]:
    """Whether a non-function tool takes its one argument positionally (LlamaIndex)."""
    if isinstance(tool, FunctionTool) or len(arguments) != 1:
        return False, None
    if len(tool.metadata.get_parameters_dict().get("properties", {})) != 1:
        return False, None
    return True, next(iter(arguments.values()))


def call_tool(tool: BaseTool, arguments: dict[str, Any]) -> ToolOutput:
    """Call ``tool`` with ``arguments`` checked against its schema; never raises for the tool.

    Returns:
        The tool's output, or an error output (``is_error=True``) saying why the
        arguments do not fit or what the tool raised (the exception is kept in
        ``exception``).
    """
    error, checked = _prepare(tool, arguments)
    if checked is None:
        return error  # type: ignore[no-any-return]
    try:
        single, value = _single_value(tool, checked)
        return tool(value) if single else tool(**checked)
    except Exception as exc:
        return _raised(tool, arguments, exc)


async def acall_tool(tool: BaseTool, arguments: dict[str, Any]) -> ToolOutput:
    """Async :func:`call_tool`: an async tool is awaited, a sync one runs in a thread."""
    error, checked = _prepare(tool, arguments)
    if checked is None:
        return error  # type: ignore[no-any-return]
    async_tool = adapt_to_async_tool(tool)
    try:
        single, value = _single_value(tool, checked)
        return await (async_tool.acall(value) if single else async_tool.acall(**checked))
    except Exception as exc:
        return _raised(tool, arguments, exc)


def _raised(tool: BaseTool, arguments: dict[str, Any], exc: Exception) -> ToolOutput:
    name = tool.metadata.get_name()
    return _error(name, arguments, f"tool {name!r} raised {type(exc).__name__}: {exc}", exc)


# -- calls the model asked for ---------------------------------------------------------------


def _unknown(selection: ToolSelection, tools: dict[str, BaseTool]) -> ToolOutput:
    names = ", ".join(tools) or "none"
    return _error(
        selection.tool_name,
        selection.tool_kwargs,
        f"there is no tool named {selection.tool_name!r}; the tools are: {names}",
    )


def _bad_json(selection: ToolSelection) -> ToolOutput:
    return _error(
        selection.tool_name,
        selection.tool_kwargs,
        f"the arguments for tool {selection.tool_name!r} are not a JSON object: "
        f'{selection.invalid_arguments!r}; send them as one, e.g. {{"name": value}}',
    )


def _before(
    selection: ToolSelection, tools: dict[str, BaseTool], verbose: bool
) -> ToolOutput | BaseTool:
    if verbose:
        print("=== Calling Function ===")
        print(
            f"Calling function: {selection.tool_name} with args: "
            f"{json.dumps(selection.tool_kwargs, default=str)}"
        )
    tool = tools.get(selection.tool_name)
    if tool is None:
        return _unknown(selection, tools)
    if selection.invalid_arguments is not None:
        return _bad_json(selection)
    return tool


def _after(output: ToolOutput, verbose: bool, error_on_tool_error: bool) -> ToolOutput:
    if verbose:
        print("=== Function Output ===")
        print(output.content)
    if output.is_error and error_on_tool_error:
        raise ToolCallError(
            output.content.removeprefix("Error: "), tool_name=output.tool_name, output=output
        ) from output.exception
    return output


def call_tool_with_selection(
    tool_call: ToolSelection,
    tools: Sequence[BaseTool],
    verbose: bool = False,
    error_on_tool_error: bool = False,
) -> ToolOutput:
    """Run the call the model asked for; an unknown tool gives an error output.

    Args:
        tool_call: The call.
        tools: The tools offered.
        verbose: Print the call and its output.
        error_on_tool_error: Raise instead of returning an error output.

    Raises:
        ToolCallError: The call failed and ``error_on_tool_error`` is set.
    """
    found = _before(tool_call, tools_by_name(tools), verbose)
    output = found if isinstance(found, ToolOutput) else call_tool(found, tool_call.tool_kwargs)
    return _after(output, verbose, error_on_tool_error)


async def acall_tool_with_selection(
    tool_call: ToolSelection,
    tools: Sequence[BaseTool],
    verbose: bool = False,
    error_on_tool_error: bool = False,
) -> ToolOutput:
    """Async :func:`call_tool_with_selection`."""
    found = _before(tool_call, tools_by_name(tools), verbose)
    if isinstance(found, ToolOutput):
        output = found
    else:
        output = await acall_tool(found, tool_call.tool_kwargs)
    return _after(output, verbose, error_on_tool_error)


def call_selections(
    selections: Sequence[ToolSelection],
    tools: Sequence[BaseTool],
    *,
    verbose: bool,
    error_on_tool_error: bool,
) -> list[ToolOutput]:
    """Run the calls one after the other."""
    return [
        call_tool_with_selection(s, tools, verbose=verbose, error_on_tool_error=error_on_tool_error)
        for s in selections
    ]


async def acall_selections(
    selections: Sequence[ToolSelection],
    tools: Sequence[BaseTool],
    *,
    verbose: bool,
    error_on_tool_error: bool,
) -> list[ToolOutput]:
    """Run the calls concurrently; outputs in call order.

    With ``error_on_tool_error``, the first failed call (in call order) raises once
    every call has finished: raising as soon as one fails would leave the others
    running unobserved after the caller has its error.
    """
    run: Callable[[ToolSelection], Any] = lambda s: acall_tool_with_selection(  # noqa: E731
        s, tools, verbose=verbose
    )
    outputs: list[ToolOutput] = list(await asyncio.gather(*(run(s) for s in selections)))
    if error_on_tool_error:
        for output in outputs:
            _after(output, verbose=False, error_on_tool_error=True)
    return outputs


def tool_round_result(
    response: ChatResponse | None,
    selections: Sequence[ToolSelection],
    outputs: Sequence[ToolOutput],
    text: str | None,
) -> AgentChatResponse:
    """The :class:`AgentChatResponse` of one round: the outputs' text, or the model's."""
    answer = "\n\n".join(out.content for out in outputs) if outputs else text or ""
    return AgentChatResponse(
        response=answer,
        sources=list(outputs),
        metadata={"tool_calls": list(selections), "chat_response": response},
    )
