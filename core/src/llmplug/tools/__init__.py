"""Tools and tool calling: the public names, for applications and for provider plugins.

Applications mostly need :class:`FunctionTool` and ``llm.predict_and_call(...)`` (both
also importable from ``llmplug``). A provider plugin whose API takes tools derives from
:class:`FunctionCallingLLM` and implements ``_prepare_chat_with_tools`` with the help of
:func:`tool_chat_messages` and :func:`resolve_tool_choice`.

Names are imported on first use: a provider importing ``FunctionCallingLLM`` does not
load the tool machinery (schemas, docstring parsing) until tools are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "acall_tool": "llmplug._calling",
    "acall_tool_with_selection": "llmplug._calling",
    "call_tool": "llmplug._calling",
    "call_tool_with_selection": "llmplug._calling",
    "FunctionCallingLLM": "llmplug._function_calling",
    "ToolChoice": "llmplug._function_calling",
    "resolve_tool_choice": "llmplug._function_calling",
    "tool_chat_messages": "llmplug._function_calling",
    "function_schema": "llmplug._tool_schema",
    "parse_param_docs": "llmplug._tool_schema",
    "AgentChatResponse": "llmplug._tools",
    "AsyncBaseTool": "llmplug._tools",
    "BaseTool": "llmplug._tools",
    "BaseToolAsyncAdapter": "llmplug._tools",
    "DefaultToolFnSchema": "llmplug._tools",
    "FunctionTool": "llmplug._tools",
    "ToolMetadata": "llmplug._tools",
    "ToolOutput": "llmplug._tools",
    "ToolSelection": "llmplug._tools",
    "adapt_to_async_tool": "llmplug._tools",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug._calling import (
        acall_tool as acall_tool,
        acall_tool_with_selection as acall_tool_with_selection,
        call_tool as call_tool,
        call_tool_with_selection as call_tool_with_selection,
    )
    from llmplug._function_calling import (
        FunctionCallingLLM as FunctionCallingLLM,
        ToolChoice as ToolChoice,
        resolve_tool_choice as resolve_tool_choice,
        tool_chat_messages as tool_chat_messages,
    )
    from llmplug._tool_schema import (
        function_schema as function_schema,
        parse_param_docs as parse_param_docs,
    )
    from llmplug._tools import (
        AgentChatResponse as AgentChatResponse,
        AsyncBaseTool as AsyncBaseTool,
        BaseTool as BaseTool,
        BaseToolAsyncAdapter as BaseToolAsyncAdapter,
        DefaultToolFnSchema as DefaultToolFnSchema,
        FunctionTool as FunctionTool,
        ToolMetadata as ToolMetadata,
        ToolOutput as ToolOutput,
        ToolSelection as ToolSelection,
        adapt_to_async_tool as adapt_to_async_tool,
    )
