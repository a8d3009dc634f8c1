"""Chat Completions responses and stream chunks -> llmplug responses: pure functions.

Bodies and events arrive as decoded JSON (plain dicts) and are read as such: no model of
the wire format is built, only the one :class:`~llmplug.ChatResponse` (with its message
and blocks) per chunk that the caller sees, because this runs once per streamed token.

Beyond OpenAI's own fields, reasoning text sent by compatible servers is read from
``reasoning_content`` (DeepSeek, llama.cpp, vLLM) or ``reasoning`` (OpenRouter, Groq,
newer vLLM) into a :class:`~llmplug.ThinkingBlock`, and DeepSeek's
``prompt_cache_hit_tokens`` counts as cached tokens.
"""

from __future__ import annotations

import json
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
from llmplug.types import (
    assistant_text_chunk,
    assistant_text_message,
    trusted_chat_response,
    trusted_usage,
)

__all__ = ["StreamState", "parse_chunk", "parse_completion", "parse_logprobs", "parse_usage"]

_ASSISTANT = MessageRole.ASSISTANT


def parse_completion(data: Any) -> ChatResponse:
    """Turn a ``chat.completion`` body into a ChatResponse.

    The first choice is the message (only ``n=1`` is requested); ``finish_reason`` (and
    ``refusal``, when the model refused) go in ``additional_kwargs``.

    Raises:
        ValueError: The body is not a completion: not an object with a ``choices``
            list (which may be empty), or a choice or message that is not an object.
    """
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        raise ValueError(
            f"not a chat.completion: expected an object with a choices list; got {_shape(data)}"
        )
    choice = choices[0] if choices else {}
    message = choice.get("message", {}) if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise ValueError("not a chat.completion: choices[0] or its message is not an object")
    content = message.get("content")
    if (
        type(content) is str
        and not message.get("tool_calls")
        and not message.get("reasoning_content")
        and not message.get("reasoning")
    ):
        # one text block: the usual answer, its message built unvalidated
        reply = assistant_text_message(content)
    else:
        blocks: list[Any] = []
        reasoning = _reasoning(message)
        if reasoning:
            blocks.append(ThinkingBlock(content=reasoning))
        tool_calls = [_tool_call(call) for call in message.get("tool_calls") or ()]
        reply = _message(blocks, content, tool_calls)
    extra: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
    if message.get("refusal"):
        extra["refusal"] = message["refusal"]
    logprobs = choice.get("logprobs")
    return trusted_chat_response(
        message=reply,
        raw=data,
        logprobs=parse_logprobs(logprobs.get("content")) if isinstance(logprobs, dict) else None,
        additional_kwargs=extra,
        usage=parse_usage(data.get("usage")),
    )


def _shape(data: Any) -> str:
    """What ``data`` is, for an error (its keys, not its values)."""
    if isinstance(data, dict):
        keys = ", ".join(sorted(map(str, data))[:10])
        return f"an object with keys [{keys}]"
    return "null" if data is None else f"a JSON {type(data).__name__}"


def _message(blocks: list[Any], content: Any, tool_calls: list[ToolCallBlock]) -> ChatMessage:
    if isinstance(content, str) and (content or not tool_calls):
        blocks.append(TextBlock(text=content))
    elif isinstance(content, list):  # content parts, from some compatible servers
        text = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        blocks.append(TextBlock(text=text))
    blocks.extend(tool_calls)
    return _assistant(blocks)


def parse_usage(usage: Any) -> Usage | None:
    """The ``usage`` object as :class:`~llmplug.Usage` (``None`` when absent)."""
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    counts = {
        "input_tokens": usage.get("prompt_tokens") or 0,
        "output_tokens": usage.get("completion_tokens") or 0,
        "cached_tokens": prompt.get("cached_tokens") or usage.get("prompt_cache_hit_tokens") or 0,
        "reasoning_tokens": completion.get("reasoning_tokens") or 0,
    }
    for count in counts.values():
        if type(count) is not int:  # bool, float, str...: validated
            return Usage(**counts)
    return trusted_usage(**counts)


def parse_logprobs(entries: Any) -> list[list[LogProb]] | None:
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


class StreamState:
    """What one stream has accumulated so far (the message, usage, finish reason)."""

    __slots__ = (
        "finish_reason",
        "logprobs",
        "plain",
        "reasoning",
        "refusal",
        "text",
        "tool_ends",
        "tools",
        "usage",
    )

    def __init__(self) -> None:
        self.plain = True  # nothing but text so far (kept by parse_chunk)
        self.text = ""
        self.reasoning = ""
        self.refusal = ""
        # index -> [id, name, arguments so far]
        self.tools: dict[int, list[str]] = {}
        # index -> where its arguments' object closes (parsed only once it may have)
        self.tool_ends: dict[int, _ObjectEnd] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.logprobs: list[list[LogProb]] | None = None

    def response(self, delta: str, raw: Any) -> ChatResponse:
        """A chunk: the accumulated message, with ``delta`` the text that just arrived."""
        if not (
            self.reasoning or self.tools or self.finish_reason or self.refusal or self.logprobs
        ):
            # text only, before the end: the chunk of nearly every token (built unvalidated:
            # the text is a str already)
            return assistant_text_chunk(self.text, delta, raw, self.usage)
        blocks: list[Any] = []
        if self.reasoning:
            blocks.append(ThinkingBlock(content=self.reasoning))
        if self.text or not self.tools:
            blocks.append(TextBlock(text=self.text))
        for index, (call_id, name, arguments) in self.tools.items():
            end = self.tool_ends.get(index)
            # parsing the arguments on every chunk would cost time quadratic in their length
            kwargs = _arguments(arguments) if end is None or end.closed else arguments
            blocks.append(
                ToolCallBlock(tool_call_id=call_id or None, tool_name=name, tool_kwargs=kwargs)
            )
        extra: dict[str, Any] = {}
        if self.finish_reason is not None:
            extra["finish_reason"] = self.finish_reason
        if self.refusal:
            extra["refusal"] = self.refusal
        return trusted_chat_response(
            message=ChatMessage(role=_ASSISTANT, blocks=blocks),
            raw=raw,
            delta=delta,
            logprobs=list(self.logprobs) if self.logprobs is not None else None,
            additional_kwargs=extra,
            usage=self.usage,
        )


def parse_chunk(data: Any, state: StreamState) -> ChatResponse | None:
    """Fold one ``chat.completion.chunk`` into ``state``; the chunk to yield, if any.

    A chunk that adds nothing (the role-only first chunk, Azure's content-filter
    preamble) yields nothing. The chunk carrying ``finish_reason`` and the
    ``include_usage`` chunk after it each yield one with an empty ``delta``, so the
    last chunk a consumer sees holds the finish reason and the usage.
    """
    if not isinstance(data, dict):
        raise ValueError(f"a stream event that is not a chat.completion.chunk: {_shape(data)}")
    choices = data.get("choices")
    if choices and not data.get("usage"):
        choice = choices[0]
        delta = choice.get("delta")
        if (
            delta
            and len(delta) == 1
            and not choice.get("finish_reason")
            and not choice.get("logprobs")
        ):
            text = delta.get("content")
            if isinstance(text, str):
                # a text delta and nothing else: nearly every chunk
                if not text:
                    return None
                state.text += text
                if state.plain:
                    return assistant_text_chunk(state.text, text, data, state.usage)
                return state.response(text, data)
    usage = data.get("usage")
    if usage:
        state.usage = parse_usage(usage)
    if not choices:
        return state.response("", data) if usage else None
    choice = choices[0]
    delta = choice.get("delta") or {}
    changed = bool(usage)
    text = delta.get("content")
    if text and isinstance(text, str):
        state.text += text
        changed = True
    else:
        text = ""
    reasoning = _reasoning(delta)
    if reasoning:
        state.reasoning += reasoning
        changed = True
    refusal = delta.get("refusal")
    if refusal and isinstance(refusal, str):
        state.refusal += refusal
        changed = True
    calls = delta.get("tool_calls")
    if calls:
        _fold_tool_calls(state, calls)
        changed = True
    logprobs = choice.get("logprobs")
    if isinstance(logprobs, dict):
        rows = parse_logprobs(logprobs.get("content"))
        if rows:
            state.logprobs = (state.logprobs or []) + rows
            changed = True
    finish = choice.get("finish_reason")
    if finish:
        state.finish_reason = finish
        changed = True
    state.plain = not (
        state.reasoning or state.tools or state.finish_reason or state.refusal or state.logprobs
    )
    return state.response(text, data) if changed else None


# -- helpers -------------------------------------------------------------------------


def _assistant(blocks: list[Any]) -> ChatMessage:
    return ChatMessage(role=_ASSISTANT, blocks=blocks)


def _reasoning(message: dict[str, Any]) -> str:
    value = message.get("reasoning_content") or message.get("reasoning")
    return value if isinstance(value, str) else ""


def _tool_call(call: dict[str, Any]) -> ToolCallBlock:
    function = call.get("function")
    if function is None and call.get("type") == "custom":  # custom tools: free-form input
        custom = call.get("custom") or {}
        return ToolCallBlock(
            tool_call_id=call.get("id"),
            tool_name=custom.get("name", ""),
            tool_kwargs=custom.get("input", ""),
        )
    function = function or {}
    return ToolCallBlock(
        tool_call_id=call.get("id"),
        tool_name=function.get("name", ""),
        tool_kwargs=_arguments(function.get("arguments") or ""),
    )


def _fold_tool_calls(state: StreamState, calls: list[Any]) -> None:
    for position, call in enumerate(calls):
        index = call.get("index", position)
        entry = state.tools.get(index)
        if entry is None:
            entry = state.tools[index] = ["", "", ""]
        if call.get("id"):
            entry[0] = call["id"]
        function = call.get("function") or {}
        if function.get("name") and not entry[1]:
            entry[1] = function["name"]
        if function.get("arguments"):
            entry[2] += function["arguments"]
            end = state.tool_ends.get(index)
            if end is None:
                end = state.tool_ends[index] = _ObjectEnd()
            end.feed(function["arguments"])


def _arguments(text: str) -> dict[str, Any] | str:
    """Tool arguments as a dict; the raw text while incomplete or when not an object."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: a model looping on "[[[["
        return text
    return value if isinstance(value, dict) else text


class _ObjectEnd:
    """Whether a JSON object streamed in pieces has closed; each piece is read once."""

    __slots__ = ("closed", "depth", "escaped", "quoted")

    def __init__(self) -> None:
        self.depth = 0
        self.quoted = False
        self.escaped = False
        self.closed = False

    def feed(self, piece: str) -> None:
        """Read the next piece of the text."""
        for ch in piece:
            if self.quoted:
                if self.escaped:
                    self.escaped = False
                elif ch == "\\":
                    self.escaped = True
                elif ch == '"':
                    self.quoted = False
            elif ch == '"':
                self.quoted = True
            elif ch in "{[":
                self.depth += 1
            elif ch in "}]":
                self.depth -= 1
                if self.depth <= 0:
                    self.closed = True


def _logprob(entry: dict[str, Any]) -> LogProb:
    return LogProb(
        token=entry.get("token", ""),
        logprob=entry.get("logprob", 0.0),
        bytes=entry.get("bytes") or [],
    )
