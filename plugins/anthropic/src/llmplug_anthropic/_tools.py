"""llmplug tools -> the Messages API's ``tools`` and ``tool_choice``: pure functions.

A :class:`~llmplug.tools.BaseTool` (a :class:`~llmplug.FunctionTool`...) is sent as a
custom tool definition: ``name``, ``description`` and ``input_schema`` (the tool's
argument schema). The tool choice that :func:`~llmplug.tools.resolve_tool_choice`
reduced the caller's ``tool_choice``/``tool_required`` to is sent as:

============  ===========================================
``auto``      ``{"type": "auto"}``
``required``  ``{"type": "any"}``
``tool``      ``{"type": "tool", "name": ...}``
``none``      ``{"type": "none"}``
``raw``       the caller's own object, as given
============  ===========================================

with ``"disable_parallel_tool_use": true`` added to the first three unless parallel
calls are allowed (``none`` takes no such field: no call, nothing to parallelise).

This module does not import llmplug's tool machinery: the caller passes tools in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmplug.errors import InvalidOptionError
from llmplug.tools import tools_option

if TYPE_CHECKING:
    from llmplug.tools import BaseTool, ToolChoice

__all__ = ["TOOL_NAME", "tool_choice_to_wire", "tool_definition", "tool_definitions"]

#: The names the API takes for a custom tool.
TOOL_NAME = r"[a-zA-Z0-9_-]{1,64}"  # compiled on first use (and cached by re)

Wire = dict[str, Any]


def tool_definition(tool: BaseTool, *, provider: str | None) -> Wire:
    """A tool as the API's custom tool definition; its name checked first.

    Raises:
        InvalidOptionError: A name the API would refuse (it answers 400).
    """
    metadata = tool.metadata
    name = metadata.name or ""
    if not re.fullmatch(TOOL_NAME, name):
        raise InvalidOptionError(
            f"tool name {name!r} is not one {provider or 'anthropic'} takes: 1 to 64 "
            f"letters, digits, '_' or '-'; rename it (FunctionTool.from_defaults(fn, "
            f"name=...))",
            provider=provider,
            option="tools",
        )
    definition: Wire = {"name": name}
    if metadata.description:
        definition["description"] = metadata.description
    definition["input_schema"] = metadata.get_parameters_dict()
    return definition


def tool_definitions(tools: Sequence[Any], *, provider: str | None) -> list[Wire]:
    """``tools`` as the API's definitions.

    Dicts (the API's own format) are kept as given; tools and plain functions are
    converted (see :func:`tool_definition`).

    Raises:
        InvalidOptionError: A tool name the API would refuse.
        ValueError: An item that is none of those.
    """
    return [
        tool if isinstance(tool, dict) else tool_definition(tool, provider=provider)
        for tool in tools_option(tools)
    ]


def tool_choice_to_wire(choice: ToolChoice, *, parallel: bool) -> Wire:
    """The ``tool_choice`` object for ``choice`` (see the module docstring)."""
    mode = choice.mode
    if mode == "raw":
        raw: Wire = choice.raw
        return raw
    if mode == "none":
        return {"type": "none"}
    if mode == "tool":
        wire: Wire = {"type": "tool", "name": choice.name}
    else:
        wire = {"type": "any" if mode == "required" else "auto"}
    if not parallel:
        wire["disable_parallel_tool_use"] = True
    return wire
