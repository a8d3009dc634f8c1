"""What is known about the models on Bedrock: context, output size, what Converse takes.

A model is named by its model id (``anthropic.claude-sonnet-4-5-20250929-v1:0``), an
inference profile id (``us.anthropic.claude-sonnet-4-5-20250929-v1:0``, ``global.``,
``eu.``, ``apac.``...), or the ARN of either (``arn:aws:bedrock:us-east-1:123456789012:
inference-profile/us.anthropic...``). :func:`family` reduces each to the model id it
runs and looks it up by the longest matching prefix, so dated versions find their
family. A name that matches nothing (an application inference profile's ARN, a
provisioned or custom model, a model newer than this table) gets :data:`UNKNOWN`:
generous defaults and no refusal made up front, the API says what it does not take.

Figures from the Bedrock user guide's model cards and the Converse "supported models
and model features" table (November 2026).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, NamedTuple

__all__ = [
    "GEO_PREFIXES",
    "KNOWN_MODELS",
    "LISTED_MODELS",
    "UNKNOWN",
    "Family",
    "TopK",
    "base_model_id",
    "family",
    "provider_of",
]

#: Prefixes of the cross-region inference profiles (``us.anthropic...``).
GEO_PREFIXES = frozenset({"us", "eu", "apac", "us-gov", "global", "jp", "au", "ca"})

#: Where ``top_k`` goes in ``additionalModelRequestFields``: ``top_k`` (Anthropic,
#: Mistral), ``inferenceConfig.topK`` (Amazon Nova), ``k`` (Cohere).
TopK = Literal["top_k", "inferenceConfig.topK", "k"]


class Family(NamedTuple):
    """What a family of models can take through Converse.

    Attributes:
        name: A human name.
        context_window: Input plus output tokens per call.
        max_output: Most tokens one answer may hold.
        vision: Takes images.
        documents: Takes documents.
        tools: Calls tools.
        stream_tools: Calls tools in a stream (``ConverseStream`` with ``toolConfig``).
        system: Takes a system prompt.
        thinking: Extended thinking with a budget (Anthropic's ``thinking`` field).
        cache_points: Takes ``cachePoint`` blocks (prompt caching).
        json_schema: Takes ``outputConfig.textFormat`` (output constrained to a JSON
            schema); the others get structured output through a forced tool.
        top_k: Where ``top_k`` goes, if the family takes it.
    """

    name: str
    context_window: int
    max_output: int
    vision: bool = False
    documents: bool = True
    tools: bool = True
    stream_tools: bool = True
    system: bool = True
    thinking: bool = False
    cache_points: bool = False
    json_schema: bool = False
    top_k: TopK | None = None


#: For names the table does not know: nothing refused up front.
UNKNOWN = Family("unknown model", 128_000, 4_096, vision=True)

_CLAUDE_3 = Family("Claude 3", 200_000, 4_096, vision=True, top_k="top_k")
_CLAUDE_35 = _CLAUDE_3._replace(name="Claude 3.5", max_output=8_192)
_CLAUDE_THINKING = _CLAUDE_3._replace(
    name="Claude", max_output=64_000, thinking=True, cache_points=True
)
_CLAUDE_45 = _CLAUDE_THINKING._replace(json_schema=True)
_NOVA = Family(
    "Amazon Nova", 300_000, 10_000, vision=True, cache_points=True, top_k="inferenceConfig.topK"
)
_LLAMA = Family("Llama", 128_000, 2_048, stream_tools=False)
_MISTRAL_LARGE = Family("Mistral Large", 128_000, 8_192, stream_tools=False, top_k="top_k")

#: Model id prefix -> its family.
KNOWN_MODELS: dict[str, Family] = {
    "anthropic.claude-3-haiku": _CLAUDE_3._replace(name="Claude 3 Haiku"),
    "anthropic.claude-3-sonnet": _CLAUDE_3._replace(name="Claude 3 Sonnet"),
    "anthropic.claude-3-opus": _CLAUDE_3._replace(name="Claude 3 Opus"),
    "anthropic.claude-3-5-haiku": _CLAUDE_35._replace(name="Claude 3.5 Haiku", cache_points=True),
    "anthropic.claude-3-5-sonnet": _CLAUDE_35._replace(name="Claude 3.5 Sonnet"),
    "anthropic.claude-3-7-sonnet": _CLAUDE_THINKING._replace(name="Claude 3.7 Sonnet"),
    "anthropic.claude-sonnet-4": _CLAUDE_THINKING._replace(name="Claude Sonnet 4"),
    "anthropic.claude-opus-4": _CLAUDE_THINKING._replace(name="Claude Opus 4", max_output=32_000),
    "anthropic.claude-opus-4-1": _CLAUDE_THINKING._replace(
        name="Claude Opus 4.1", max_output=32_000
    ),
    "anthropic.claude-haiku-4-5": _CLAUDE_45._replace(name="Claude Haiku 4.5"),
    "anthropic.claude-sonnet-4-5": _CLAUDE_45._replace(name="Claude Sonnet 4.5"),
    "anthropic.claude-opus-4-5": _CLAUDE_45._replace(name="Claude Opus 4.5"),
    "anthropic.claude-opus-4-6": _CLAUDE_45._replace(
        name="Claude Opus 4.6", context_window=1_000_000, max_output=128_000
    ),
    "amazon.nova-micro": _NOVA._replace(
        name="Amazon Nova Micro", context_window=128_000, vision=False, documents=False
    ),
    "amazon.nova-lite": _NOVA._replace(name="Amazon Nova Lite"),
    "amazon.nova-pro": _NOVA._replace(name="Amazon Nova Pro"),
    "amazon.nova-premier": _NOVA._replace(
        name="Amazon Nova Premier", context_window=1_000_000, max_output=32_000
    ),
    "amazon.nova-2-lite": _NOVA._replace(
        name="Amazon Nova 2 Lite", context_window=1_000_000, max_output=65_000
    ),
    "amazon.titan-text": Family(
        "Amazon Titan Text", 32_000, 4_096, tools=False, stream_tools=False, system=False
    ),
    "meta.llama3-1": _LLAMA._replace(name="Llama 3.1"),
    "meta.llama3-2-1b": _LLAMA._replace(name="Llama 3.2 1B", tools=False),
    "meta.llama3-2-3b": _LLAMA._replace(name="Llama 3.2 3B", tools=False),
    "meta.llama3-2-11b": _LLAMA._replace(name="Llama 3.2 11B Vision", vision=True),
    "meta.llama3-2-90b": _LLAMA._replace(name="Llama 3.2 90B Vision", vision=True),
    "meta.llama3-3": _LLAMA._replace(name="Llama 3.3"),
    "meta.llama4": _LLAMA._replace(name="Llama 4", context_window=1_000_000, vision=True),
    "mistral.mistral-large": _MISTRAL_LARGE,
    "mistral.pixtral-large": _MISTRAL_LARGE._replace(name="Pixtral Large", vision=True),
    "mistral.mistral-small": _MISTRAL_LARGE._replace(name="Mistral Small", context_window=32_000),
    "mistral.mistral-7b": Family(
        "Mistral 7B", 32_000, 8_192, tools=False, stream_tools=False, system=False, top_k="top_k"
    ),
    "mistral.mixtral": Family(
        "Mixtral 8x7B", 32_000, 4_096, tools=False, stream_tools=False, system=False, top_k="top_k"
    ),
    "cohere.command-r": Family("Cohere Command R", 128_000, 4_000, top_k="k"),
    "ai21.jamba-1-5": Family("AI21 Jamba 1.5", 256_000, 4_096),
    "deepseek.r1": Family("DeepSeek-R1", 128_000, 32_768, tools=False, stream_tools=False),
    "openai.gpt-oss": Family("gpt-oss", 128_000, 32_768),
    "writer.palmyra": Family("Writer Palmyra", 128_000, 8_192),
}

#: Model ids offered by :func:`~llmplug_bedrock.BedrockLLM.known_models` (one per family,
#: the newest version as of the table's date).
LISTED_MODELS: tuple[str, ...] = (
    "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "anthropic.claude-haiku-4-5-20251001-v1:0",
    "anthropic.claude-opus-4-5-20251101-v1:0",
    "anthropic.claude-opus-4-1-20250805-v1:0",
    "anthropic.claude-sonnet-4-20250514-v1:0",
    "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "amazon.nova-premier-v1:0",
    "amazon.nova-pro-v1:0",
    "amazon.nova-lite-v1:0",
    "amazon.nova-micro-v1:0",
    "meta.llama4-maverick-17b-instruct-v1:0",
    "meta.llama3-3-70b-instruct-v1:0",
    "meta.llama3-2-90b-instruct-v1:0",
    "mistral.mistral-large-2407-v1:0",
    "mistral.pixtral-large-2502-v1:0",
    "cohere.command-r-plus-v1:0",
    "ai21.jamba-1-5-large-v1:0",
    "deepseek.r1-v1:0",
    "openai.gpt-oss-120b-1:0",
)


def base_model_id(model: str) -> str:
    """The model id behind a model id, inference profile id or ARN (lower case).

    ``arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.x-v1:0`` and
    ``us.anthropic.x-v1:0`` both give ``anthropic.x-v1:0``. An ARN whose resource is not
    named after a model (an application inference profile, a provisioned model) gives
    its resource id, which no family matches.
    """
    name = model.strip().lower()
    if name.startswith("arn:"):
        parts = name.split(":", 5)
        resource = parts[5] if len(parts) == 6 else name
        name = resource.rpartition("/")[2]
    head, dot, rest = name.partition(".")
    if dot and head in GEO_PREFIXES and "." in rest:
        return rest
    return name


@lru_cache(maxsize=256)
def family(model: str) -> Family:
    """What is known about ``model``; :data:`UNKNOWN` for a name the table lacks."""
    name = base_model_id(model)
    best = ""
    for prefix in KNOWN_MODELS:
        if len(prefix) > len(best) and name.startswith(prefix):
            best = prefix
    return KNOWN_MODELS[best] if best else UNKNOWN


def provider_of(model: str) -> str | None:
    """Who publishes ``model`` (``anthropic``, ``amazon``...), from its id, if it says."""
    name = base_model_id(model)
    head, dot, _ = name.partition(".")
    return head if dot else None
