"""Tools and tool calling: the public names, for applications and for provider plugins.

Applications mostly need :class:`FunctionTool` and ``llm.predict_and_call(...)`` (both
also importable from ``llmplug``). A provider plugin whose API takes tools derives from
:class:`FunctionCallingLLM` and implements ``_prepare_chat_with_tools`` with the help of
:func:`tool_chat_messages` and :func:`resolve_tool_choice`.

Names are imported on first use: a provider importing ``FunctionCallingLLM`` does not
load the tool machinery (schemas, docstring parsing) until tools are used. This layer
imports ``llmplug.llm`` and the layers below it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "acall_tool": "llmplug.tools._execution",
    "acall_tool_with_selection": "llmplug.tools._execution",
    "call_tool": "llmplug.tools._execution",
    "call_tool_with_selection": "llmplug.tools._execution",
    "FunctionCallingLLM": "llmplug.tools._function_calling",
    "ToolChoice": "llmplug.tools._function_calling",
    "resolve_tool_choice": "llmplug.tools._function_calling",
    "tool_call_arguments": "llmplug.tools._function_calling",
    "tool_chat_messages": "llmplug.tools._function_calling",
    "tools_option": "llmplug.tools._function_calling",
    "function_schema": "llmplug.tools._function_schema",
    "parse_param_docs": "llmplug.tools._function_schema",
    "FunctionTool": "llmplug.tools._function_tool",
    "AgentChatResponse": "llmplug.tools._types",
    "AsyncBaseTool": "llmplug.tools._types",
    "BaseTool": "llmplug.tools._types",
    "BaseToolAsyncAdapter": "llmplug.tools._types",
    "DefaultToolFnSchema": "llmplug.tools._types",
    "ToolMetadata": "llmplug.tools._types",
    "ToolOutput": "llmplug.tools._types",
    "ToolSelection": "llmplug.tools._types",
    "adapt_to_async_tool": "llmplug.tools._types",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.tools._execution import (
        acall_tool as acall_tool,
        acall_tool_with_selection as acall_tool_with_selection,
        call_tool as call_tool,
        call_tool_with_selection as call_tool_with_selection,
    )
    from llmplug.tools._function_calling import (
        FunctionCallingLLM as FunctionCallingLLM,
        ToolChoice as ToolChoice,
        resolve_tool_choice as resolve_tool_choice,
        tool_call_arguments as tool_call_arguments,
        tool_chat_messages as tool_chat_messages,
        tools_option as tools_option,
    )
    from llmplug.tools._function_schema import (
        function_schema as function_schema,
        parse_param_docs as parse_param_docs,
    )
    from llmplug.tools._function_tool import (
        FunctionTool as FunctionTool,
    )
    from llmplug.tools._types import (
        AgentChatResponse as AgentChatResponse,
        AsyncBaseTool as AsyncBaseTool,
        BaseTool as BaseTool,
        BaseToolAsyncAdapter as BaseToolAsyncAdapter,
        DefaultToolFnSchema as DefaultToolFnSchema,
        ToolMetadata as ToolMetadata,
        ToolOutput as ToolOutput,
        ToolSelection as ToolSelection,
        adapt_to_async_tool as adapt_to_async_tool,
    )
