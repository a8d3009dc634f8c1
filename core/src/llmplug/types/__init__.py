"""The data an LLM call is made of: content blocks, messages, responses and usage.

LlamaIndex's types (``ChatMessage``, ``TextBlock``, ``ChatResponse``...), pydantic
models all; the fast constructors at the end are for provider plugins parsing a reply.
A layer above the bottom one: it imports ``llmplug.errors`` and nothing else of llmplug.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    # content blocks
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
    # a file or URL as the block its content type calls for
    "Attachment": "llmplug.types._attachments",
    "attachment": "llmplug.types._attachments",
    # messages, and a conversation a plugin kept
    "ChatMessage": "llmplug.types._messages",
    "Conversation": "llmplug.types._conversation",
    "MessageRole": "llmplug.types._messages",
    # models, as providers list them
    "ModelInfo": "llmplug.types._model_info",
    # provider batch APIs
    "BatchLimits": "llmplug.types._batch_limits",
    "BatchRequest": "llmplug.types._batch",
    "BatchResult": "llmplug.types._batch",
    "ProviderBatch": "llmplug.types._batch",
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
    "DEFAULT_CONTEXT_WINDOW": "llmplug.types._responses",
    "DEFAULT_NUM_OUTPUTS": "llmplug.types._responses",
    # for provider plugins: responses built from trusted values, without re-validation
    "assistant_text_chunk": "llmplug.types._responses",
    "assistant_text_message": "llmplug.types._responses",
    "trusted_chat_response": "llmplug.types._responses",
    "trusted_usage": "llmplug.types._responses",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.types._attachments import (
        Attachment as Attachment,
        attachment as attachment,
    )
    from llmplug.types._batch import (
        BatchRequest as BatchRequest,
        BatchResult as BatchResult,
        ProviderBatch as ProviderBatch,
    )
    from llmplug.types._batch_limits import (
        BatchLimits as BatchLimits,
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
    from llmplug.types._conversation import (
        Conversation as Conversation,
    )
    from llmplug.types._messages import (
        ChatMessage as ChatMessage,
        MessageRole as MessageRole,
    )
    from llmplug.types._model_info import (
        ModelInfo as ModelInfo,
    )
    from llmplug.types._responses import (
        DEFAULT_CONTEXT_WINDOW as DEFAULT_CONTEXT_WINDOW,
        DEFAULT_NUM_OUTPUTS as DEFAULT_NUM_OUTPUTS,
        ChatResponse as ChatResponse,
        ChatResponseAsyncGen as ChatResponseAsyncGen,
        ChatResponseGen as ChatResponseGen,
        CompletionResponse as CompletionResponse,
        CompletionResponseAsyncGen as CompletionResponseAsyncGen,
        CompletionResponseGen as CompletionResponseGen,
        LLMMetadata as LLMMetadata,
        LogProb as LogProb,
        Usage as Usage,
        assistant_text_chunk as assistant_text_chunk,
        assistant_text_message as assistant_text_message,
        trusted_chat_response as trusted_chat_response,
        trusted_usage as trusted_usage,
    )
