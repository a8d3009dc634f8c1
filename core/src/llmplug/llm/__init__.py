"""The LLM interface: the ``LLM`` base, its endpoint instrumentation and the plugin host.

``LLM`` (LlamaIndex's API), ``ChatLLM`` and ``CustomLLM``; every endpoint a provider
defines is wrapped to fire the lifecycle hooks (``CallContext``) of the plugins the
host has loaded. It imports ``prompts``, ``types`` and the bottom layer; its one reach
upward (``structured_predict``, ``predict_and_call``) is the seam in ``_programs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    # the bases
    "LLM": "llmplug.llm._base",
    "Capabilities": "llmplug.llm._base",
    "PydanticProgramMode": "llmplug.llm._base",
    "TokenGen": "llmplug.llm._base",
    "TokenAsyncGen": "llmplug.llm._base",
    "ChatLLM": "llmplug.llm._derived",
    "CustomLLM": "llmplug.llm._custom",
    # calls and their hooks
    "CallContext": "llmplug.llm._call",
    "current_call": "llmplug.llm._instrument",
    "flat_stream": "llmplug.llm._instrument",
    "plugin_settings": "llmplug.llm._call",
    "resume_conversation": "llmplug.llm._plugin_host",
    # LlamaIndex's endpoint decorators, accepted as no-ops
    "llm_chat_callback": "llmplug.llm._llamaindex",
    "llm_completion_callback": "llmplug.llm._llamaindex",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.llm._base import (
        LLM as LLM,
        Capabilities as Capabilities,
        PydanticProgramMode as PydanticProgramMode,
        TokenAsyncGen as TokenAsyncGen,
        TokenGen as TokenGen,
    )
    from llmplug.llm._call import (
        CallContext as CallContext,
        plugin_settings as plugin_settings,
    )
    from llmplug.llm._custom import (
        CustomLLM as CustomLLM,
    )
    from llmplug.llm._derived import (
        ChatLLM as ChatLLM,
    )
    from llmplug.llm._instrument import (
        current_call as current_call,
        flat_stream as flat_stream,
    )
    from llmplug.llm._llamaindex import (
        llm_chat_callback as llm_chat_callback,
        llm_completion_callback as llm_completion_callback,
    )
    from llmplug.llm._plugin_host import (
        resume_conversation as resume_conversation,
    )
