"""Ollama's answers -> llmplug responses: pure functions.

One reader serves both endpoints: a chat body or event holds a ``message`` (``content``,
``thinking``, ``tool_calls``), a generate body or event holds ``response`` and
``thinking``. The last object (``done: true``) carries ``done_reason``, the token counts
(``prompt_eval_count``, ``eval_count``) and the timings in nanoseconds, which go in
``additional_kwargs`` with the generation speed derived from them.
"""

from __future__ import annotations

from typing import Any

from llmplug import (
    ChatMessage,
    ChatResponse,
    LogProb,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    Usage,
)
from llmplug.http import json_loads
from llmplug.types import assistant_text_chunk, trusted_chat_response, trusted_usage

__all__ = ["TIMINGS", "StreamState", "parse_body", "parse_event_data", "parse_usage"]

#: The timing fields of the last object, in nanoseconds, kept in ``additional_kwargs``.
TIMINGS = ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration")
_ASSISTANT = MessageRole.ASSISTANT


def parse_usage(data: dict[str, Any]) -> Usage | None:
    """``prompt_eval_count``/``eval_count`` as :class:`~llmplug.Usage` (``None`` if neither)."""
    prompt = data.get("prompt_eval_count")
    output = data.get("eval_count")
    if prompt is None and output is None:
        return None
    counts = {"input_tokens": prompt or 0, "output_tokens": output or 0}
    if type(counts["input_tokens"]) is int and type(counts["output_tokens"]) is int:
        return trusted_usage(**counts)
    return Usage(**counts)  # anything else: validated (and refused if not a count)


def _extras(data: dict[str, Any]) -> dict[str, Any]:
    """``done_reason``, the timings and ``tokens_per_second`` of a final object."""
    extra: dict[str, Any] = {"done_reason": data.get("done_reason")}
    for name in TIMINGS:
        if data.get(name) is not None:
            extra[name] = data[name]
    count, duration = data.get("eval_count"), data.get("eval_duration")
    if isinstance(count, int) and isinstance(duration, int) and count > 0 and duration > 0:
        extra["tokens_per_second"] = count / duration * 1e9
    for name in ("model", "created_at"):
        if data.get(name) is not None:
            extra[name] = data[name]
    return extra


def _logprobs(entries: Any) -> list[list[LogProb]] | None:
    """Per output token: the sampled token first, then the other likeliest ones."""
    if not isinstance(entries, list):
        return None
    rows: list[list[LogProb]] = []
    for entry in entries:
        token = entry.get("token", "")
        row = [_logprob(entry)]
        row.extend(
            _logprob(alt) for alt in entry.get("top_logprobs") or () if alt.get("token") != token
        )
        rows.append(row)
    return rows


def _logprob(entry: dict[str, Any]) -> LogProb:
    return LogProb(
        token=entry.get("token", ""),
        logprob=entry.get("logprob", 0.0),
        bytes=entry.get("bytes") or [],
    )


def _tool_calls(calls: Any, first_index: int) -> list[ToolCallBlock]:
    """``tool_calls`` as blocks; a call without an ``id`` gets ``call_<n>`` (n from 0).

    Ollama matches results to calls by the tool's name, but llmplug's tool rounds
    answer a call by its id: the made-up one only has to be unique in the reply.
    """
    blocks = []
    for i, call in enumerate(calls or (), start=first_index):
        function = call.get("function") or {}
        arguments = function.get("arguments")
        if isinstance(arguments, str):  # some servers send them encoded, as OpenAI does
            try:
                decoded = json_loads(arguments)
            except ValueError:
                decoded = None
            arguments = decoded if isinstance(decoded, dict) else arguments
        elif arguments is None:
            arguments = {}
        blocks.append(
            ToolCallBlock(
                tool_call_id=call.get("id") or f"call_{i}",
                tool_name=function.get("name", ""),
                tool_kwargs=arguments,
            )
        )
    return blocks


def _assistant(text: str, thinking: str, calls: list[ToolCallBlock]) -> ChatMessage:
    blocks: list[Any] = []
    if thinking:
        blocks.append(ThinkingBlock(content=thinking))
    if text or not calls:
        blocks.append(TextBlock(text=text))
    blocks.extend(calls)
    return ChatMessage(role=_ASSISTANT, blocks=blocks)


def _parts(data: dict[str, Any]) -> tuple[str, str, Any]:
    """``(content, thinking, tool_calls)`` of a chat or generate object."""
    message = data.get("message")
    if isinstance(message, dict):
        return (
            message.get("content") or "",
            message.get("thinking") or "",
            message.get("tool_calls"),
        )
    return data.get("response") or "", data.get("thinking") or "", None


def parse_body(data: dict[str, Any]) -> ChatResponse:
    """A whole ``/api/chat`` or ``/api/generate`` answer (``stream: false``).

    ``additional_kwargs`` holds ``done_reason`` (``stop``, ``length``...), the timings
    in nanoseconds (``total_duration``, ``load_duration``, ``prompt_eval_duration``,
    ``eval_duration``), ``tokens_per_second`` when the counts allow, ``model`` and
    ``created_at``.
    """
    text, thinking, calls = _parts(data)
    return trusted_chat_response(
        message=_assistant(text, thinking, _tool_calls(calls, 0)),
        raw=data,
        logprobs=_logprobs(data.get("logprobs")),
        additional_kwargs=_extras(data),
        usage=parse_usage(data),
    )


class StreamState:
    """What one stream has accumulated: text, thinking, tool calls, log probabilities."""

    __slots__ = ("calls", "logprobs", "text", "thinking")

    def __init__(self) -> None:
        self.text = ""
        self.thinking = ""
        self.calls: list[ToolCallBlock] = []
        self.logprobs: list[list[LogProb]] | None = None


def parse_event_data(data: dict[str, Any], state: StreamState) -> ChatResponse:
    """One streamed object as a chunk: the message so far and the new ``delta``.

    ``delta`` is the new answer text; new reasoning text is in
    ``additional_kwargs["thinking_delta"]``. The last object's chunk (``done: true``)
    carries ``usage`` and what :func:`parse_body` puts in ``additional_kwargs``.
    """
    text, thinking, calls = _parts(data)
    state.text += text
    done = data.get("done") is True
    logprobs = _logprobs(data.get("logprobs"))
    if logprobs:
        state.logprobs = (state.logprobs or []) + logprobs
    if not (thinking or calls or state.thinking or state.calls or done or state.logprobs):
        return assistant_text_chunk(state.text, text, data, None)  # nearly every event
    state.thinking += thinking
    if calls:
        state.calls.extend(_tool_calls(calls, len(state.calls)))
    extra: dict[str, Any] = _extras(data) if done else {}
    if thinking:
        extra["thinking_delta"] = thinking
    return trusted_chat_response(
        message=_assistant(state.text, state.thinking, list(state.calls)),
        raw=data,
        delta=text,
        logprobs=state.logprobs,
        additional_kwargs=extra,
        usage=parse_usage(data) if done else None,
    )
