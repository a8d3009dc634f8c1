"""What is known about Claude models: context window, output size, what they accept.

Looked up by the longest matching prefix, so dated snapshots
(``claude-sonnet-4-5-20250929``) find their family. A name that matches nothing (a model
released after this table, a proxy's own name) gets :data:`UNKNOWN`, never an error:
the context and output of every Claude model since Claude 3.5, and no refusals made up
front (the API says what it does not take).

Figures from Anthropic's model pages (November 2026).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "KNOWN_MODELS",
    "UNKNOWN",
    "ModelInfo",
    "default_max_tokens",
    "model_info",
]

#: ``max_tokens`` sent when none is set (the API requires one), unless the model's own
#: maximum is lower; a thinking budget is added on top.
DEFAULT_MAX_TOKENS = 8192


class ModelInfo(NamedTuple):
    """What a model can take and do.

    Attributes:
        context_window: Input plus output tokens per call.
        max_output: Most tokens one response may hold.
        sampling: The model takes ``temperature``, ``top_p`` and ``top_k`` (Claude
            Opus 4.7 and every later model answer 400 to them).
        manual_thinking: The model takes ``thinking={"type": "enabled",
            "budget_tokens": N}`` (later models think adaptively instead).
        structured_outputs: The model takes ``output_config.format`` (JSON outputs
            constrained to a schema: Claude Haiku, Sonnet and Opus 4.5 and later).
    """

    context_window: int
    max_output: int
    sampling: bool = True
    manual_thinking: bool = True
    structured_outputs: bool = True


#: Used for names the table does not know.
UNKNOWN = ModelInfo(200_000, DEFAULT_MAX_TOKENS)

# the Claude 5 generation and Opus 4.7+: 1M context, adaptive thinking, no sampling options
_ADAPTIVE = ModelInfo(1_000_000, 128_000, sampling=False, manual_thinking=False)

#: Model name prefix -> what it can do.
KNOWN_MODELS: dict[str, ModelInfo] = {
    "claude-3-haiku": ModelInfo(200_000, 4_096, manual_thinking=False, structured_outputs=False),
    "claude-3-5-haiku": ModelInfo(200_000, 8_192, manual_thinking=False, structured_outputs=False),
    "claude-3-5-sonnet": ModelInfo(200_000, 8_192, manual_thinking=False, structured_outputs=False),
    "claude-3-7-sonnet": ModelInfo(200_000, 64_000, structured_outputs=False),
    "claude-sonnet-4": ModelInfo(200_000, 64_000, structured_outputs=False),
    "claude-opus-4": ModelInfo(200_000, 32_000, structured_outputs=False),
    "claude-opus-4-1": ModelInfo(200_000, 32_000, structured_outputs=False),
    "claude-haiku-4-5": ModelInfo(200_000, 64_000),
    "claude-sonnet-4-5": ModelInfo(200_000, 64_000),
    "claude-opus-4-5": ModelInfo(200_000, 64_000),
    "claude-sonnet-4-6": ModelInfo(1_000_000, 128_000),
    "claude-opus-4-6": ModelInfo(1_000_000, 128_000),
    "claude-opus-4-7": _ADAPTIVE,
    "claude-opus-4-8": _ADAPTIVE,
    "claude-mythos": _ADAPTIVE,
    # reported not to take output_config.format: a forced tool instead
    "claude-fable": _ADAPTIVE._replace(structured_outputs=False),
    "claude-opus-5": _ADAPTIVE,
    "claude-sonnet-5": _ADAPTIVE,
    "claude-haiku-5": _ADAPTIVE,
}


@lru_cache(maxsize=256)
def model_info(model: str) -> ModelInfo:
    """What is known about ``model``; :data:`UNKNOWN` for a name the table lacks.

    Args:
        model: A Claude model name (``claude-sonnet-5-5``), or any other.
    """
    name = model.lower()
    best = ""
    for prefix in KNOWN_MODELS:
        if len(prefix) > len(best) and name.startswith(prefix):
            best = prefix
    return KNOWN_MODELS[best] if best else UNKNOWN


def default_max_tokens(info: ModelInfo, thinking_budget: int | None) -> int:
    """``max_tokens`` for a call that sets none: room for the answer plus any thinking."""
    answer = min(DEFAULT_MAX_TOKENS, info.max_output)
    return min(answer + (thinking_budget or 0), info.max_output)
