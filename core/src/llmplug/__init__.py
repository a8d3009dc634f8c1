"""llmplug: one LLM interface, providers loaded by name from a config string.

``import llmplug`` is kept light: the names below are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports
from llmplug._version import __version__ as __version__

# name -> the private module that defines it (imported on first attribute access)
_LAZY: dict[str, str] = {
    # messages and content blocks
    "AudioBlock": "llmplug._blocks",
    "CacheControl": "llmplug._blocks",
    "CachePoint": "llmplug._blocks",
    "CitableBlock": "llmplug._blocks",
    "CitationBlock": "llmplug._blocks",
    "ContentBlock": "llmplug._blocks",
    "DocumentBlock": "llmplug._blocks",
    "ImageBlock": "llmplug._blocks",
    "TextBlock": "llmplug._blocks",
    "ThinkingBlock": "llmplug._blocks",
    "ToolCallBlock": "llmplug._blocks",
    "VideoBlock": "llmplug._blocks",
    "ChatMessage": "llmplug._messages",
    "MessageRole": "llmplug._messages",
    # responses
    "ChatResponse": "llmplug._responses",
    "ChatResponseAsyncGen": "llmplug._responses",
    "ChatResponseGen": "llmplug._responses",
    "CompletionResponse": "llmplug._responses",
    "CompletionResponseAsyncGen": "llmplug._responses",
    "CompletionResponseGen": "llmplug._responses",
    "LLMMetadata": "llmplug._responses",
    "LogProb": "llmplug._responses",
    "Usage": "llmplug._responses",
    # prompts and output parsers
    "BaseOutputParser": "llmplug._output_parsers",
    "PydanticOutputParser": "llmplug._structured_output",
    "BasePromptTemplate": "llmplug._prompts",
    "ChatPromptTemplate": "llmplug._prompts",
    "PromptTemplate": "llmplug._prompts",
    "PromptType": "llmplug._prompts",
    # the LLM interface
    "LLM": "llmplug._llm",
    "ChatLLM": "llmplug._llm",
    "CustomLLM": "llmplug._llm",
    "Capabilities": "llmplug._llm",
    "PydanticProgramMode": "llmplug._llm",
    "CallContext": "llmplug._calls",
    "FunctionCallingLLM": "llmplug._function_calling",
    # structured output
    "FlexibleModel": "llmplug._structured_output",
    "StructuredLLM": "llmplug._structured",
    # tools
    "AgentChatResponse": "llmplug._tools",
    "AsyncBaseTool": "llmplug._tools",
    "BaseTool": "llmplug._tools",
    "FunctionTool": "llmplug._tools",
    "ToolMetadata": "llmplug._tools",
    "ToolOutput": "llmplug._tools",
    "ToolSelection": "llmplug._tools",
    # registry and configuration
    "ProviderInfo": "llmplug._registry",
    "ProviderSpec": "llmplug._registry",
    "hookimpl": "llmplug._registry",
    "plugin_manager": "llmplug._registry",
    "providers": "llmplug._registry",
    "register_plugin": "llmplug._registry",
    "unregister_plugin": "llmplug._registry",
    "ModelSpec": "llmplug._config",
    "load": "llmplug._config",
    "parse_spec": "llmplug._config",
    # mock provider
    "MockLLM": "llmplug.mock",
}

__all__ = sorted([*_LAZY, "__version__"])


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug._blocks import (
        AudioBlock as AudioBlock,
        CacheControl as CacheControl,
        CachePoint as CachePoint,
        CitableBlock as CitableBlock,
        CitationBlock as CitationBlock,
        ContentBlock as ContentBlock,
        DocumentBlock as DocumentBlock,
        ImageBlock as ImageBlock,
        TextBlock as TextBlock,
        ThinkingBlock as ThinkingBlock,
        ToolCallBlock as ToolCallBlock,
        VideoBlock as VideoBlock,
    )
    from llmplug._calls import (
        CallContext as CallContext,
    )
    from llmplug._config import (
        ModelSpec as ModelSpec,
        load as load,
        parse_spec as parse_spec,
    )
    from llmplug._function_calling import (
        FunctionCallingLLM as FunctionCallingLLM,
    )
    from llmplug._llm import (
        LLM as LLM,
        Capabilities as Capabilities,
        ChatLLM as ChatLLM,
        CustomLLM as CustomLLM,
        PydanticProgramMode as PydanticProgramMode,
    )
    from llmplug._messages import (
        ChatMessage as ChatMessage,
        MessageRole as MessageRole,
    )
    from llmplug._output_parsers import (
        BaseOutputParser as BaseOutputParser,
    )
    from llmplug._prompts import (
        BasePromptTemplate as BasePromptTemplate,
        ChatPromptTemplate as ChatPromptTemplate,
        PromptTemplate as PromptTemplate,
        PromptType as PromptType,
    )
    from llmplug._registry import (
        ProviderInfo as ProviderInfo,
        ProviderSpec as ProviderSpec,
        hookimpl as hookimpl,
        plugin_manager as plugin_manager,
        providers as providers,
        register_plugin as register_plugin,
        unregister_plugin as unregister_plugin,
    )
    from llmplug._responses import (
        ChatResponse as ChatResponse,
        ChatResponseAsyncGen as ChatResponseAsyncGen,
        ChatResponseGen as ChatResponseGen,
        CompletionResponse as CompletionResponse,
        CompletionResponseAsyncGen as CompletionResponseAsyncGen,
        CompletionResponseGen as CompletionResponseGen,
        LLMMetadata as LLMMetadata,
        LogProb as LogProb,
        Usage as Usage,
    )
    from llmplug._structured import (
        StructuredLLM as StructuredLLM,
    )
    from llmplug._structured_output import (
        FlexibleModel as FlexibleModel,
        PydanticOutputParser as PydanticOutputParser,
    )
    from llmplug._tools import (
        AgentChatResponse as AgentChatResponse,
        AsyncBaseTool as AsyncBaseTool,
        BaseTool as BaseTool,
        FunctionTool as FunctionTool,
        ToolMetadata as ToolMetadata,
        ToolOutput as ToolOutput,
        ToolSelection as ToolSelection,
    )
    from llmplug.mock import (
        MockLLM as MockLLM,
    )
