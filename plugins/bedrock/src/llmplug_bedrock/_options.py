"""The provider's option types, checked as the Bedrock Runtime API reference says.

Every check here mirrors a constraint of the Bedrock Runtime API reference (the
``bedrock-runtime`` service model): the value is refused when the option is set, with
what was wrong, rather than by the API after a round trip.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from llmplug.errors import InvalidOptionError
from llmplug.http import json_from_text
from llmplug_bedrock._tools import tool_definitions

__all__ = [
    "GuardrailIdentifier",
    "GuardrailVersion",
    "Latency",
    "MaxTokens",
    "RequestMetadata",
    "ResponseFieldPaths",
    "ServiceTier",
    "StopSequences",
    "StreamProcessing",
    "ToolChoice",
    "Tools",
    "Trace",
    "Unit",
    "deep_merge",
]

_METADATA_TEXT = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,\-.]*")
_GUARDRAIL_ID = re.compile(
    r"[a-z0-9]+|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+"
)
_GUARDRAIL_VERSION = re.compile(r"[1-9][0-9]{0,7}|DRAFT")
_TOOL_CHOICES: dict[str, dict[str, Any]] = {
    "auto": {"auto": {}},
    "any": {"any": {}},
    "required": {"any": {}},
}


def _stop_sequences(value: Any) -> Any:
    value = json_from_text(value)
    return [value] if isinstance(value, str) else value


def _check_stop_sequences(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    if any(not item for item in value):
        raise ValueError("a stop sequence cannot be empty")
    if len(value) > 2500:
        raise ValueError(f"at most 2500 stop sequences, got {len(value)}")
    return value


def _tools(value: Any) -> Any:
    value = json_from_text(value)
    if isinstance(value, list | tuple):
        try:
            return tool_definitions(value, provider=None)  # FunctionTools as toolSpecs
        except InvalidOptionError as exc:
            raise ValueError(exc.args[0]) from None  # reported as a bad option value
    return value


def _check_tools(value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    for tool in value or ():
        if len(tool) != 1 or next(iter(tool)) not in ("toolSpec", "systemTool", "cachePoint"):
            raise ValueError(
                f"a tool is one of {{'toolSpec': {{...}}}}, {{'systemTool': {{...}}}} or "
                f"{{'cachePoint': {{...}}}} (or a FunctionTool), not {tool!r}"
            )
    return value


def _tool_choice(value: Any) -> Any:
    value = json_from_text(value)
    if isinstance(value, str):
        if value in _TOOL_CHOICES:
            return dict(_TOOL_CHOICES[value])
        if value == "none":
            raise ValueError(
                "Converse has no tool_choice 'none'; call chat() without tools instead"
            )
        return {"tool": {"name": value}}  # the one tool the model must call
    return value


def _check_tool_choice(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and (len(value) != 1 or next(iter(value)) not in ("auto", "any", "tool")):
        raise ValueError(
            f"tool_choice is 'auto', 'any' (or 'required'), a tool's name, or one of "
            f"{{'auto': {{}}}}, {{'any': {{}}}}, {{'tool': {{'name': ...}}}}; not {value!r}"
        )
    return value


def _check_metadata(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    if not 1 <= len(value) <= 16:
        raise ValueError(f"request_metadata holds 1 to 16 pairs, got {len(value)}")
    for key, text in value.items():
        if not 1 <= len(key) <= 256 or not _METADATA_TEXT.fullmatch(key):
            raise ValueError(
                f"request_metadata key {key!r}: 1 to 256 letters, digits, spaces or ':_@$#=/+,-.'"
            )
        if len(text) > 256 or not _METADATA_TEXT.fullmatch(text):
            raise ValueError(
                f"request_metadata[{key!r}]: at most 256 letters, digits, spaces or ':_@$#=/+,-.'"
            )
    return value


def _check_guardrail_id(value: str | None) -> str | None:
    if value is not None and (len(value) > 2048 or not _GUARDRAIL_ID.fullmatch(value)):
        raise ValueError(
            f"guardrail_identifier is a guardrail id (lower-case letters and digits) or "
            f"its ARN (arn:aws:bedrock:<region>:<account>:guardrail/<id>), not {value!r}"
        )
    return value


def _check_guardrail_version(value: str | None) -> str | None:
    if value is not None and not _GUARDRAIL_VERSION.fullmatch(value):
        raise ValueError(f"guardrail_version is a version number or 'DRAFT', not {value!r}")
    return value


def _check_paths(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    if len(value) > 10:
        raise ValueError(f"at most 10 response field paths, got {len(value)}")
    for path in value:
        if not 1 <= len(path) <= 256 or not path.startswith("/"):
            raise ValueError(
                f"a response field path is a JSON pointer ('/stop_sequence'): {path!r}"
            )
    return value


#: A number from 0 to 1 (``temperature``, ``top_p``).
Unit = Annotated[float | None, Field(ge=0.0, le=1.0)]
#: ``inferenceConfig.maxTokens``: at least 1.
MaxTokens = Annotated[int | None, Field(ge=1)]
#: Stop sequences; a single string is one sequence.
StopSequences = Annotated[
    list[str] | None, BeforeValidator(_stop_sequences), AfterValidator(_check_stop_sequences)
]
#: Converse ``Tool`` objects; FunctionTools (or functions) are converted.
Tools = Annotated[
    list[dict[str, Any]] | None, BeforeValidator(_tools), AfterValidator(_check_tools)
]
#: ``toolChoice``: ``auto``, ``any``/``required``, a tool's name, or the object.
ToolChoice = Annotated[
    dict[str, Any] | None, BeforeValidator(_tool_choice), AfterValidator(_check_tool_choice)
]
#: ``requestMetadata``: up to 16 short key-value pairs (for filtering invocation logs).
RequestMetadata = Annotated[
    dict[str, str] | None, BeforeValidator(json_from_text), AfterValidator(_check_metadata)
]
#: ``guardrailConfig.guardrailIdentifier``.
GuardrailIdentifier = Annotated[str | None, AfterValidator(_check_guardrail_id)]
#: ``guardrailConfig.guardrailVersion``.
GuardrailVersion = Annotated[str | None, AfterValidator(_check_guardrail_version)]
#: ``guardrailConfig.trace``.
Trace = Literal["enabled", "disabled", "enabled_full"]
#: ``guardrailConfig.streamProcessingMode`` (ConverseStream only).
StreamProcessing = Literal["sync", "async"]
#: ``performanceConfig.latency``.
Latency = Literal["standard", "optimized"]
#: ``serviceTier.type``.
ServiceTier = Literal["priority", "default", "flex", "reserved"]
#: ``additionalModelResponseFieldPaths``: JSON pointers, at most 10.
ResponseFieldPaths = Annotated[
    list[str] | None, BeforeValidator(_stop_sequences), AfterValidator(_check_paths)
]


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, nested objects merged too (``extra`` wins)."""
    merged = dict(base)
    for key, value in extra.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = deep_merge(old, value)
        else:
            merged[key] = value
    return merged
