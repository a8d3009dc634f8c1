"""llmplug tools -> Converse's ``toolConfig``: pure functions.

A :class:`~llmplug.tools.BaseTool` (a :class:`~llmplug.FunctionTool`...) is sent as a
``toolSpec``: ``name``, ``description`` and ``inputSchema.json`` (the tool's argument
schema). The tool choice :func:`~llmplug.tools.resolve_tool_choice` reduced the caller's
``tool_choice``/``tool_required`` to is sent as:

============  ===========================================
``auto``      ``{"auto": {}}``
``required``  ``{"any": {}}``
``tool``      ``{"tool": {"name": ...}}``
``raw``       the caller's own object, as given
============  ===========================================

Converse has no "none" choice: it is refused (:class:`InvalidOptionError`) rather than
sent as something else.

Converse has no switch for parallel tool calls: a model may make several, and
``FunctionCallingLLM`` keeps the first unless they were allowed. This module does not
import llmplug's tool machinery: the caller passes tools in.
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

#: The names Converse takes for a tool.
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")

Wire = dict[str, Any]


def tool_definition(tool: BaseTool, *, provider: str | None) -> Wire:
    """A tool as a Converse ``toolSpec`` (in its ``Tool`` wrapper); its name checked first.

    Raises:
        InvalidOptionError: A name Converse would refuse.
    """
    metadata = tool.metadata
    name = metadata.name or ""
    if not TOOL_NAME.fullmatch(name):
        raise InvalidOptionError(
            f"tool name {name!r} is not one Bedrock takes: 1 to 64 letters, digits, '_' "
            f"or '-'; rename it (FunctionTool.from_defaults(fn, name=...))",
            provider=provider,
            option="tools",
        )
    spec: Wire = {"name": name}
    if metadata.description:
        spec["description"] = metadata.description
    spec["inputSchema"] = {"json": metadata.get_parameters_dict()}
    return {"toolSpec": spec}


def tool_definitions(tools: Sequence[Any], *, provider: str | None) -> list[Wire]:
    """``tools`` as Converse ``Tool`` objects.

    Dicts (Converse's own ``{"toolSpec": ...}`` objects) are kept as given; tools and
    plain functions are converted (see :func:`tool_definition`).

    Raises:
        InvalidOptionError: A tool name Converse would refuse.
        ValueError: An item that is none of those.
    """
    return [
        tool if isinstance(tool, dict) else tool_definition(tool, provider=provider)
        for tool in tools_option(tools)
    ]


def tool_choice_to_wire(choice: ToolChoice, *, provider: str | None) -> Wire:
    """The ``toolChoice`` object for ``choice``.

    Raises:
        InvalidOptionError: ``none``, which Converse does not have.
    """
    mode = choice.mode
    if mode == "raw":
        raw: Wire = choice.raw
        return raw
    if mode == "none":
        raise InvalidOptionError(
            "Converse has no tool_choice 'none' (only auto, any and a named tool); to "
            "keep the model from calling tools, call chat() without tools",
            provider=provider,
            option="tool_choice",
            valid_options=["auto", "required", "any", "<a tool's name>"],
        )
    if mode == "tool":
        return {"tool": {"name": choice.name}}
    return {"any": {}} if mode == "required" else {"auto": {}}
