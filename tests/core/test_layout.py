"""The core's layout: public API kept, layers documented, plugins on public names only.

The layers themselves are checked by import-linter (``nox -s lint``, the contract in
``pyproject.toml``); these tests keep what it cannot see.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core" / "src" / "llmplug"
LAYERS = ("types", "prompts", "llm", "tools", "structured", "plugins", "config", "http")

# Every public name as of the layered-subpackages move: these stay importable.
PUBLIC_API = {
    "llmplug": (
        "AgentChatResponse",
        "AsyncBaseTool",
        "AudioBlock",
        "BaseOutputParser",
        "BasePromptTemplate",
        "BaseTool",
        "CacheControl",
        "CachePoint",
        "CallContext",
        "Capabilities",
        "ChatLLM",
        "ChatMessage",
        "ChatPromptTemplate",
        "ChatResponse",
        "ChatResponseAsyncGen",
        "ChatResponseGen",
        "CitableBlock",
        "CitationBlock",
        "CompletionResponse",
        "CompletionResponseAsyncGen",
        "CompletionResponseGen",
        "ContentBlock",
        "CustomLLM",
        "DocumentBlock",
        "FlexibleModel",
        "FunctionCallingLLM",
        "FunctionTool",
        "ImageBlock",
        "LLM",
        "LLMMetadata",
        "LogProb",
        "MessageRole",
        "MockLLM",
        "ModelSpec",
        "PromptTemplate",
        "PromptType",
        "ProviderInfo",
        "ProviderSpec",
        "PydanticOutputParser",
        "PydanticProgramMode",
        "StructuredLLM",
        "TextBlock",
        "ThinkingBlock",
        "ToolCallBlock",
        "ToolMetadata",
        "ToolOutput",
        "ToolSelection",
        "Usage",
        "VideoBlock",
        "__version__",
        "hookimpl",
        "load",
        "parse_spec",
        "plugin_manager",
        "providers",
        "register_plugin",
        "unregister_plugin",
    ),
    "llmplug.errors": (
        "APIConnectionError",
        "APIError",
        "APIStatusError",
        "APITimeoutError",
        "AuthenticationError",
        "BadRequestError",
        "CallRefusedError",
        "ConfigError",
        "ConflictError",
        "ContextWindowExceededError",
        "DuplicateProviderError",
        "HookError",
        "IncompleteStreamError",
        "InternalServerError",
        "InvalidOptionError",
        "LLMError",
        "NotFoundError",
        "PermissionDeniedError",
        "PluginLoadError",
        "RateLimitError",
        "StreamError",
        "StreamInterruptedError",
        "StreamTimeoutError",
        "StructuredOutputError",
        "ToolCallError",
        "UnknownProviderError",
        "UnprocessableEntityError",
        "UnsupportedContentError",
    ),
    "llmplug.hookspecs": (
        "PLUGIN_API_VERSION",
        "hookimpl",
        "hookspec",
    ),
    "llmplug.http": (
        "ChunkResult",
        "Clock",
        "DEFAULT_LIMITS",
        "DEFAULT_RETRY_POLICY",
        "DEFAULT_TIMEOUT",
        "HTTPChatLLM",
        "HTTPRequest",
        "Limits",
        "NDJSONDecoder",
        "RetryPolicy",
        "SSEDecoder",
        "STREAM_END",
        "ServerEvent",
        "StreamEnd",
        "Timeout",
        "json_from_text",
        "json_loads",
        "parse_retry_after",
        "path_segment",
    ),
    "llmplug.http.testing": (
        "Body",
        "FakeClock",
        "MockServer",
        "Reply",
        "Stall",
        "sse",
    ),
    "llmplug.mock": (
        "MockChatLLM",
        "MockLLM",
        "register_providers",
    ),
    "llmplug.structured": (
        "FlexibleModel",
        "OutputSchema",
        "PartialBuilder",
        "PartialJSONError",
        "PartialJSONParser",
        "PydanticOutputParser",
        "StructuredLLM",
        "create_flexible_model",
        "extract_json",
        "get_function_tool",
        "output_schema",
        "strict_json_schema",
    ),
    "llmplug.testing": (
        "FakeDistribution",
        "FakeEntryPoint",
        "HookEvent",
        "HookRecorder",
        "fake_entry_point",
        "isolated_registry",
        "json_reply",
        "react_reply",
        "recording_hooks",
        "scripted",
        "tool_call",
    ),
    "llmplug.tools": (
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
    ),
}


@pytest.mark.parametrize("module", sorted(PUBLIC_API))
def test_public_names_stay_importable(module: str) -> None:
    mod = importlib.import_module(module)
    exported = set(getattr(mod, "__all__", ()))
    for name in PUBLIC_API[module]:
        assert getattr(mod, name) is not None
        if exported:
            assert name in exported, f"{module}.{name} dropped from __all__"


@pytest.mark.parametrize("package", LAYERS)
def test_each_layer_says_what_it_is_for(package: str) -> None:
    doc = importlib.import_module(f"llmplug.{package}").__doc__ or ""
    assert len(doc.split()) >= 20, f"llmplug.{package}'s docstring should explain the layer"


@pytest.mark.parametrize("package", [p for p in LAYERS if p != "http"])
def test_layer_exports_resolve(package: str) -> None:
    # each lazily exported name is defined where the package says it is
    mod = importlib.import_module(f"llmplug.{package}")
    for name in mod.__all__:
        assert getattr(mod, name) is not None, f"llmplug.{package}.{name}"


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


PLUGIN_SOURCES = sorted(ROOT.glob("plugins/*/src/**/*.py"))


@pytest.mark.parametrize(
    "path", PLUGIN_SOURCES, ids=[str(p.relative_to(ROOT)) for p in PLUGIN_SOURCES]
)
def test_plugins_import_only_public_core_names(path: Path) -> None:
    private = [
        module
        for module in _imported_modules(path)
        if module.split(".")[0] == "llmplug"
        and any(part.startswith("_") for part in module.split(".")[1:])
    ]
    assert private == [], f"{path.name} imports private core modules: {private}"


def test_no_core_module_is_over_600_lines() -> None:
    sizes = {
        str(path.relative_to(CORE)): len(path.read_text(encoding="utf-8").splitlines())
        for path in CORE.rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 600} == {}


def test_import_llmplug_imports_no_layer() -> None:
    code = "import sys, llmplug; print(sorted(m for m in sys.modules if m.startswith('llmplug.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['llmplug._lazy', 'llmplug._version']"
