"""llmplug-bedrock: every model on Amazon Bedrock through the Converse API.

::

    import llmplug
    llm = llmplug.load("bedrock:us.anthropic.claude-sonnet-4-5-20250929-v1:0?region=us-east-1")
    llm = llmplug.load("aws:amazon.nova-pro-v1:0")                      # the same provider
    llm = llmplug.load("bedrock:arn:aws:bedrock:us-east-1:123456789012:"
                       "application-inference-profile/abc123def456")

One wire format (Converse and ConverseStream) for every model family. Requests are
signed with AWS Signature Version 4 from the standard credential chain, through
botocore, which is imported on the first request (not by importing this package), or
sent with a Bedrock API key (``AWS_BEARER_TOKEN_BEDROCK``). Importing this package is
cheap; the provider class loads on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmplug.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug_bedrock._llm import BedrockLLM as BedrockLLM

__all__ = ["LLMPLUG_PLUGIN_API", "BedrockLLM", "register_providers"]

#: The llmplug plugin API this plugin is built for.
LLMPLUG_PLUGIN_API = 1


def __getattr__(name: str) -> Any:
    # the class pulls in pydantic models and llmplug's HTTP layer: load it on first use
    if name != "BedrockLLM":
        raise AttributeError(f"module 'llmplug_bedrock' has no attribute {name!r}")
    from llmplug_bedrock._llm import BedrockLLM

    globals()[name] = BedrockLLM
    return BedrockLLM


@hookimpl
def register_providers(register: Callable[..., None]) -> None:
    """Register ``bedrock`` (alias ``aws``), its API key read from ``AWS_BEARER_TOKEN_BEDROCK``."""
    register(
        "bedrock",
        "llmplug_bedrock._llm:BedrockLLM",
        aliases=["aws"],
        key_env="AWS_BEARER_TOKEN_BEDROCK",
        description="Amazon Bedrock (Converse API): Claude, Nova, Llama, Mistral and more.",
    )
