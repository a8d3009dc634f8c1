"""The options' types and their validators: what a config string or a call may give.

Each validator takes what ``llmplug.load("gemini:...?name=value")`` passes (text) as
well as Python values, and normalises it to what the request needs, so a bad value is
refused when the provider is loaded (or when a call passes it), never by the API.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from llmplug.errors import InvalidOptionError
from llmplug.http import json_from_text
from llmplug_gemini._tools import FUNCTION_NAME, MODES, tools_to_wire

__all__ = [
    "HARM_CATEGORIES",
    "HARM_THRESHOLDS",
    "CandidateCount",
    "JSONObject",
    "Penalty",
    "SafetySettings",
    "StopSequences",
    "ThinkingLevel",
    "ToolChoice",
    "Tools",
    "Unit",
]

#: The harm categories of ``safetySettings`` (others starting ``HARM_CATEGORY_`` pass too:
#: Google adds categories).
HARM_CATEGORIES = frozenset(
    {
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_CIVIC_INTEGRITY",
    }
)
#: The thresholds of ``safetySettings``.
HARM_THRESHOLDS = (
    "BLOCK_LOW_AND_ABOVE",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_NONE",
    "OFF",
)
_METHODS = ("SEVERITY", "PROBABILITY")
_MAX_STOP_SEQUENCES = 5


def _stop_sequences(value: Any) -> Any:
    value = json_from_text(value)
    value = [value] if isinstance(value, str) else value
    if isinstance(value, list) and len(value) > _MAX_STOP_SEQUENCES:
        raise ValueError(f"the API takes at most {_MAX_STOP_SEQUENCES} stop sequences")
    return value


def _only_one(value: int) -> int:
    if value != 1:
        raise ValueError(
            "only candidate_count=1 is supported: a response holds one message; make n "
            "calls for n answers"
        )
    return value


def _category(name: Any) -> str:
    text = str(name).strip().upper()
    if not text.startswith("HARM_CATEGORY_"):
        text = f"HARM_CATEGORY_{text}"
    if text == "HARM_CATEGORY_" or not text.replace("_", "").isalpha():
        raise ValueError(
            f"{name!r} is not a harm category; use one of {', '.join(sorted(HARM_CATEGORIES))}"
        )
    return text


def _threshold(value: Any) -> str:
    text = str(value).strip().upper()
    if text not in HARM_THRESHOLDS:
        raise ValueError(
            f"{value!r} is not a safety threshold; use one of {', '.join(HARM_THRESHOLDS)}"
        )
    return text


def _safety_settings(value: Any) -> Any:
    value = json_from_text(value)
    if value is None:
        return None
    if isinstance(value, dict):  # {"harassment": "block_none", ...}
        value = [{"category": k, "threshold": v} for k, v in value.items()]
    if not isinstance(value, list):
        raise ValueError(
            "safety_settings is a list of {category, threshold} objects, or a mapping of "
            "category to threshold ({'HARM_CATEGORY_HARASSMENT': 'BLOCK_NONE'})"
        )
    settings: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, dict) or "category" not in item or "threshold" not in item:
            raise ValueError(f"a safety setting has a category and a threshold, not {item!r}")
        unknown = sorted(set(item) - {"category", "threshold", "method"})
        if unknown:
            raise ValueError(f"unknown safety setting field(s) {unknown}")
        category = _category(item["category"])
        if category in seen:
            raise ValueError(f"{category} is set twice (the API takes one setting per category)")
        seen.add(category)
        setting = {"category": category, "threshold": _threshold(item["threshold"])}
        if "method" in item:
            method = str(item["method"]).strip().upper()
            if method not in _METHODS:
                raise ValueError(f"{item['method']!r} is not a method; use SEVERITY or PROBABILITY")
            setting["method"] = method
        settings.append(setting)
    return settings


def _tools(value: Any) -> Any:
    value = json_from_text(value)
    if isinstance(value, list | tuple):
        try:
            return tools_to_wire(value, provider=None)  # FunctionTools as declarations
        except InvalidOptionError as exc:
            raise ValueError(exc.args[0]) from None  # reported as a bad option value
    return value


def _tool_choice(value: Any) -> Any:
    value = json_from_text(value)
    if isinstance(value, str):
        mode = MODES.get(value.strip().lower())
        if mode is not None:
            return {"functionCallingConfig": {"mode": mode}}
        if not FUNCTION_NAME.fullmatch(value):
            raise ValueError(
                f"tool_choice is 'auto', 'any' (or 'required'), 'none', 'validated', a "
                f"function's name or a toolConfig object, not {value!r}"
            )
        # the one function the model must call
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [value]}}
    if isinstance(value, dict) and not (
        "functionCallingConfig" in value or "retrievalConfig" in value
    ):
        return {"functionCallingConfig": value}
    return value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


StopSequences = Annotated[list[str] | None, BeforeValidator(_stop_sequences)]
CandidateCount = Annotated[int, AfterValidator(_only_one)]
SafetySettings = Annotated[list[dict[str, str]] | None, BeforeValidator(_safety_settings)]
Tools = Annotated[list[dict[str, Any]] | None, BeforeValidator(_tools)]
ToolChoice = Annotated[dict[str, Any] | None, BeforeValidator(_tool_choice)]
ThinkingLevel = Annotated[
    Literal["minimal", "low", "medium", "high"] | None, BeforeValidator(_lower)
]
Unit = Annotated[float | None, Field(ge=0.0, le=1.0)]
Penalty = Annotated[float | None, Field(ge=-2.0, lt=2.0)]
JSONObject = Annotated[dict[str, Any] | None, BeforeValidator(json_from_text)]
