"""llmplug: one LLM interface, providers loaded by name from a config string.

``import llmplug`` is kept light: the names below are imported on first use. The core's
layers (``llmplug.types``, ``prompts``, ``llm``, ``tools``, ``structured``, ``plugins``,
``config``) are described in ``docs/architecture.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports
from llmplug._version import __version__ as __version__

_LAZY: dict[str, str] = {
    # messages and content blocks
    "AudioBlock": "llmplug.types._blocks",
    "CacheControl": "llmplug.types._blocks",
    "CachePoint": "llmplug.types._blocks",
    "CitableBlock": "llmplug.types._blocks",
    "CitationBlock": "llmplug.types._blocks",
    "ContentBlock": "llmplug.types._blocks",
    "DocumentBlock": "llmplug.types._blocks",
    "ImageBlock": "llmplug.types._blocks",
    "TextBlock": "llmplug.types._blocks",
    "ThinkingBlock": "llmplug.types._blocks",
    "ToolCallBlock": "llmplug.types._blocks",
    "VideoBlock": "llmplug.types._blocks",
    "ChatMessage": "llmplug.types._messages",
    "MessageRole": "llmplug.types._messages",
    "ModelInfo": "llmplug.types._model_info",
    # responses
    "ChatResponse": "llmplug.types._responses",
    "ChatResponseAsyncGen": "llmplug.types._responses",
    "ChatResponseGen": "llmplug.types._responses",
    "CompletionResponse": "llmplug.types._responses",
    "CompletionResponseAsyncGen": "llmplug.types._responses",
    "CompletionResponseGen": "llmplug.types._responses",
    "LLMMetadata": "llmplug.types._responses",
    "LogProb": "llmplug.types._responses",
    "Usage": "llmplug.types._responses",
    # prompts and output parsers
    "BaseOutputParser": "llmplug.prompts._output_parsers",
    "PydanticOutputParser": "llmplug.structured._pydantic_parser",
    "BasePromptTemplate": "llmplug.prompts._templates",
    "ChatPromptTemplate": "llmplug.prompts._templates",
    "PromptTemplate": "llmplug.prompts._templates",
    "PromptType": "llmplug.prompts._templates",
    # the LLM interface
    "LLM": "llmplug.llm._base",
    "ChatLLM": "llmplug.llm._derived",
    "CustomLLM": "llmplug.llm._custom",
    "Capabilities": "llmplug.llm._base",
    "PydanticProgramMode": "llmplug.llm._base",
    "CallContext": "llmplug.llm._call",
    "FunctionCallingLLM": "llmplug.tools._function_calling",
    # structured output
    "FlexibleModel": "llmplug.structured._partial_objects",
    "StructuredLLM": "llmplug.structured._structured_llm",
    # tools
    "AgentChatResponse": "llmplug.tools._types",
    "AsyncBaseTool": "llmplug.tools._types",
    "BaseTool": "llmplug.tools._types",
    "FunctionTool": "llmplug.tools._function_tool",
    "ToolMetadata": "llmplug.tools._types",
    "ToolOutput": "llmplug.tools._types",
    "ToolSelection": "llmplug.tools._types",
    # plugins, registry and configuration
    "ProviderInfo": "llmplug.plugins._registry",
    "ProviderSpec": "llmplug.plugins._registry",
    "hookimpl": "llmplug.hookspecs",
    "plugin_manager": "llmplug.plugins._registry",
    "providers": "llmplug.plugins._registry",
    "register_plugin": "llmplug.plugins._registry",
    "unregister_plugin": "llmplug.plugins._registry",
    "ModelSpec": "llmplug.config._spec",
    "load": "llmplug.config._load",
    "parse_spec": "llmplug.config._spec",
    # mock provider
    "MockLLM": "llmplug.mock",
}

__all__ = sorted([*_LAZY, "__version__"])


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.config._load import (
        load as load,
    )
    from llmplug.config._spec import (
        ModelSpec as ModelSpec,
        parse_spec as parse_spec,
    )
    from llmplug.hookspecs import (
        hookimpl as hookimpl,
    )
    from llmplug.llm._base import (
        LLM as LLM,
        Capabilities as Capabilities,
        PydanticProgramMode as PydanticProgramMode,
    )
    from llmplug.llm._call import (
        CallContext as CallContext,
    )
    from llmplug.llm._custom import (
        CustomLLM as CustomLLM,
    )
    from llmplug.llm._derived import (
        ChatLLM as ChatLLM,
    )
    from llmplug.mock import (
        MockLLM as MockLLM,
    )
    from llmplug.plugins._registry import (
        ProviderInfo as ProviderInfo,
        ProviderSpec as ProviderSpec,
        plugin_manager as plugin_manager,
        providers as providers,
        register_plugin as register_plugin,
        unregister_plugin as unregister_plugin,
    )
    from llmplug.prompts._output_parsers import (
        BaseOutputParser as BaseOutputParser,
    )
    from llmplug.prompts._templates import (
        BasePromptTemplate as BasePromptTemplate,
        ChatPromptTemplate as ChatPromptTemplate,
        PromptTemplate as PromptTemplate,
        PromptType as PromptType,
    )
    from llmplug.structured._partial_objects import (
        FlexibleModel as FlexibleModel,
    )
    from llmplug.structured._pydantic_parser import (
        PydanticOutputParser as PydanticOutputParser,
    )
    from llmplug.structured._structured_llm import (
        StructuredLLM as StructuredLLM,
    )
    from llmplug.tools._function_calling import (
        FunctionCallingLLM as FunctionCallingLLM,
    )
    from llmplug.tools._function_tool import (
        FunctionTool as FunctionTool,
    )
    from llmplug.tools._types import (
        AgentChatResponse as AgentChatResponse,
        AsyncBaseTool as AsyncBaseTool,
        BaseTool as BaseTool,
        ToolMetadata as ToolMetadata,
        ToolOutput as ToolOutput,
        ToolSelection as ToolSelection,
    )
    from llmplug.types._blocks import (
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
    from llmplug.types._messages import (
        ChatMessage as ChatMessage,
        MessageRole as MessageRole,
    )
    from llmplug.types._model_info import (
        ModelInfo as ModelInfo,
    )
    from llmplug.types._responses import (
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
