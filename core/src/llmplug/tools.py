"""Tools and tool calling: the public names, for applications and for provider plugins.

Applications mostly need :class:`FunctionTool` and ``llm.predict_and_call(...)`` (both
also importable from ``llmplug``). A provider plugin whose API takes tools derives from
:class:`FunctionCallingLLM` and implements ``_prepare_chat_with_tools`` with the help of
:func:`tool_chat_messages` and :func:`resolve_tool_choice`.
"""

from __future__ import annotations

from llmplug._calling import (
    acall_tool,
    acall_tool_with_selection,
    call_tool,
    call_tool_with_selection,
)
from llmplug._function_calling import (
    FunctionCallingLLM,
    ToolChoice,
    resolve_tool_choice,
    tool_chat_messages,
)
from llmplug._tool_schema import function_schema, parse_param_docs
from llmplug._tools import (
    AgentChatResponse,
    AsyncBaseTool,
    BaseTool,
    BaseToolAsyncAdapter,
    DefaultToolFnSchema,
    FunctionTool,
    ToolMetadata,
    ToolOutput,
    ToolSelection,
    adapt_to_async_tool,
)

__all__ = [
    "AgentChatResponse",
    "AsyncBaseTool",
    "BaseTool",
    "BaseToolAsyncAdapter",
    "DefaultToolFnSchema",
    "FunctionCallingLLM",
    "FunctionTool",
    "ToolChoice",
    "ToolMetadata",
    "ToolOutput",
    "ToolSelection",
    "acall_tool",
    "acall_tool_with_selection",
    "adapt_to_async_tool",
    "call_tool",
    "call_tool_with_selection",
    "function_schema",
    "parse_param_docs",
    "resolve_tool_choice",
    "tool_chat_messages",
]
