"""llmplug tools -> ``tools`` and ``toolConfig``: pure functions.

A :class:`~llmplug.tools.BaseTool` (a :class:`~llmplug.FunctionTool`...) becomes a
function declaration, ``name``, ``description`` and ``parametersJsonSchema`` (the tool's
argument schema as JSON Schema, which the API takes as it is); the declarations of one
request go in one ``{"functionDeclarations": [...]}`` tool. The tool choice that
:func:`~llmplug.tools.resolve_tool_choice` reduced the caller's
``tool_choice``/``tool_required`` to is sent as ``toolConfig.functionCallingConfig``:

============  =====================================================
``auto``      ``{"mode": "AUTO"}``
``required``  ``{"mode": "ANY"}``
``tool``      ``{"mode": "ANY", "allowedFunctionNames": [name]}``
``none``      ``{"mode": "NONE"}``
``raw``       the caller's own object: a ``toolConfig`` (it has
              ``functionCallingConfig``), else a ``functionCallingConfig``
============  =====================================================

Gemini has no switch for parallel calls: the model may make several in one reply, and
``chat_with_tools(..., allow_parallel_tool_calls=False)`` keeps the first.

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

__all__ = [
    "FUNCTION_NAME",
    "MODES",
    "function_declaration",
    "tool_choice_to_config",
    "tools_to_wire",
]

#: The names the API takes for a function: a letter or ``_`` first, then letters,
#: digits, ``_``, ``.``, ``:`` or ``-``; 128 characters at most.
FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,127}")
#: The function calling modes, by the names a config string may give them.
MODES = {"auto": "AUTO", "any": "ANY", "required": "ANY", "none": "NONE", "validated": "VALIDATED"}

Wire = dict[str, Any]


def function_declaration(tool: BaseTool, *, provider: str | None) -> Wire:
    """A tool as a function declaration; its name checked first.

    Raises:
        InvalidOptionError: A name the API would refuse (it answers 400).
    """
    metadata = tool.metadata
    name = metadata.name or ""
    if not FUNCTION_NAME.fullmatch(name):
        raise InvalidOptionError(
            f"tool name {name!r} is not one {provider or 'gemini'} takes: a letter or '_' "
            f"first, then letters, digits, '_', '.', ':' or '-', 128 at most; rename it "
            f"(FunctionTool.from_defaults(fn, name=...))",
            provider=provider,
            option="tools",
        )
    declaration: Wire = {"name": name}
    if metadata.description:
        declaration["description"] = metadata.description
    declaration["parametersJsonSchema"] = metadata.get_parameters_dict()
    return declaration


def tools_to_wire(tools: Sequence[Any], *, provider: str | None) -> list[Wire]:
    """``tools`` as the request's ``tools``.

    Dicts are the API's own ``Tool`` objects (``{"googleSearch": {}}``,
    ``{"functionDeclarations": [...]}``), kept as given; tools and plain functions are
    declared, together, in one ``functionDeclarations`` tool placed first.

    Raises:
        InvalidOptionError: A function name the API would refuse.
        ValueError: An item that is none of those.
    """
    items = tools_option(tools)
    given = [tool for tool in items if isinstance(tool, dict)]
    if len(given) == len(items):
        return given  # the API's own objects
    declarations = [
        function_declaration(tool, provider=provider)
        for tool in items
        if not isinstance(tool, dict)
    ]
    return [{"functionDeclarations": declarations}, *given]


def tool_choice_to_config(choice: ToolChoice) -> Wire:
    """The ``toolConfig`` for ``choice`` (see the module docstring)."""
    mode = choice.mode
    if mode == "raw":
        raw: Wire = choice.raw
        if "functionCallingConfig" in raw or "retrievalConfig" in raw:
            return raw
        return {"functionCallingConfig": raw}
    if mode == "tool":
        config: Wire = {"mode": "ANY", "allowedFunctionNames": [choice.name]}
    else:
        config = {"mode": MODES[mode]}
    return {"functionCallingConfig": config}
