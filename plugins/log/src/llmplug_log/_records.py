"""A finished call as a row of the log: strings and numbers, built when the call ends.

Messages are kept as JSON, each block as pydantic dumps it, except the bytes of
attachments: an image, audio, video or document given inline is kept as a reference
(its mimetype, size and SHA-256), one given by URL or path as that URL or path. Options
are the call's, secrets redacted (``CallContext.options()``).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from llmplug import ChatMessage, ChatResponse, TextBlock, ToolCallBlock
from llmplug_log._json import encode_json

if TYPE_CHECKING:
    from llmplug import CallContext

__all__ = [
    "DATA_FIELDS",
    "STATE_KEY",
    "expand_message",
    "format_id",
    "id_number",
    "message_json",
    "new_id",
    "process_prefix",
    "row",
]

#: Where this plugin keeps a call's log id in ``call.state``.
STATE_KEY = "llmplug-log"
#: The fields of binary blocks that hold their bytes (base64), kept as references.
DATA_FIELDS = ("image", "audio", "video", "data")

# a process's ids: 40 random bits, then a counter (a forked child draws new bits)
_prefix = os.urandom(5).hex()
_counter = itertools.count()


def _new_process() -> None:
    global _prefix, _counter
    _prefix, _counter = os.urandom(5).hex(), itertools.count()


os.register_at_fork(after_in_child=_new_process)


def process_prefix() -> str:
    """This process's 40 random bits of every id, as hex (new in a forked child)."""
    return _prefix


def id_number() -> int:
    """An id as a number: milliseconds since 1970, then a counter (24 bits).

    A row keeps its id so, and the reader writes it out (:func:`format_id`): formatting
    text would cost every call more than the rest of its id.
    """
    return (time.time_ns() // 1_000_000) << 24 | (next(_counter) & 0xFFFFFF)


def format_id(number: int, prefix: str) -> str:
    """The id ``number`` of a process whose random bits are ``prefix``, as text."""
    return f"{number >> 24:012x}{prefix}{number & 0xFFFFFF:06x}"


def new_id() -> str:
    """A unique id that sorts by time.

    Milliseconds since 1970, then this process's 40 random bits, then a counter.
    """
    return format_id(id_number(), _prefix)


def _block(block: BaseModel) -> dict[str, Any]:
    if type(block) is TextBlock:  # the common case, without pydantic's dump
        return {"block_type": "text", "text": block.text}
    dumped: dict[str, Any] = block.model_dump(mode="json", exclude_none=True)
    for name in DATA_FIELDS:
        data = dumped.pop(name, None) if isinstance(dumped.get(name), str) else None
        if data is None:
            continue
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            raw = data.encode()
        mimetype = getattr(block, "_mimetype", lambda: None)()
        dumped["ref"] = {
            "field": name,
            "bytes": len(raw),
            "sha256": hashlib.sha256(raw).hexdigest(),
            "mimetype": mimetype,
        }
    return dumped


def message_json(message: ChatMessage) -> dict[str, Any]:
    """One message as the log keeps it (attachments' bytes as references)."""
    kept: dict[str, Any] = {
        "role": message.role.value,
        "blocks": [_block(block) for block in message.blocks],
    }
    if message.additional_kwargs:
        kept["additional_kwargs"] = json.loads(json.dumps(message.additional_kwargs, default=str))
    return kept


def _text(blocks: list[dict[str, Any]]) -> str | None:
    texts = [b["text"] for b in blocks if b.get("block_type") == "text"]
    return "\n".join(texts) if texts else None


def _kept_messages(messages: list[ChatMessage]) -> tuple[list[Any], str | None]:
    """The messages as a row keeps them, and the last user message's text (for search).

    A message of one text block is kept as ``(role, text)``, which costs a call less; a
    reader expands it (:func:`expand_message`). Any other as :func:`message_json`.
    """
    kept: list[Any] = []
    prompt = text = None
    for message in messages:
        blocks = message.blocks
        if len(blocks) == 1 and type(blocks[0]) is TextBlock and not message.additional_kwargs:
            role: str = message.role._value_  # the enum's value, without its descriptor
            text = blocks[0].text
            kept.append((role, text))
        else:
            full = message_json(message)
            kept.append(full)
            role, text = full["role"], _text(full["blocks"])
        if role == "user":
            prompt = text
    return kept, prompt


def expand_message(kept: Any) -> Any:
    """A message kept in its short form as :func:`message_json` writes it."""
    if isinstance(kept, tuple) and len(kept) == 2:
        return {"role": kept[0], "blocks": [{"block_type": "text", "text": kept[1]}]}
    return kept


def _structured(raw: Any) -> Any:
    if isinstance(raw, BaseModel):
        return raw.model_dump(mode="json")
    if isinstance(raw, list) and raw and all(isinstance(item, BaseModel) for item in raw):
        return [item.model_dump(mode="json") for item in raw]
    return None


# the options of each LLM seen lately as JSON text (pydantic and redaction cost more than
# the rest of a row), kept by the rule ``call.model`` follows in the core: an LLM
# validating assignments (llmplug's do) gets a new ``__dict__`` on each one, so the text
# is current while the ``__dict__`` kept (which cannot be freed, so its identity cannot
# pass to another LLM's) is the LLM's; other LLMs are read on every call
_options: dict[int, tuple[dict[str, Any], str]] = {}


def _model_and_options(call: CallContext) -> tuple[str, dict[str, Any] | str]:
    llm = call.llm
    if call.kwargs or not type(llm).model_config.get("validate_assignment"):
        return call.model, call.options()  # the call's own options over the model's
    values = llm.__dict__
    kept = _options.get(id(llm))
    if kept is None or kept[0] is not values:
        if len(_options) >= 256:
            _options.clear()
        # packed as one string, stored as it is
        kept = _options[id(llm)] = (values, encode_json(call.options()))
    return call.model, kept[1]


def _log_id(call: CallContext) -> str:
    found = call.state.get(STATE_KEY)
    if found is None:
        found = call.state[STATE_KEY] = new_id()
    return str(found)


def _reply(response: Any) -> tuple[str | None, Any, Any]:
    """``(text, tool calls, structured output)`` of a response."""
    if not isinstance(response, ChatResponse):
        return (response.text if response is not None else None), None, None
    blocks = response.message.blocks
    if len(blocks) == 1 and type(blocks[0]) is TextBlock:  # the common case
        text: str | None = blocks[0].text
        tool_calls = None
    else:
        text = response.message.content
        calls = [
            {"id": b.tool_call_id, "name": b.tool_name, "arguments": b.tool_kwargs}
            for b in blocks
            if isinstance(b, ToolCallBlock)
        ]
        tool_calls = calls or None
    raw = response.raw
    structured = _structured(raw) if isinstance(raw, BaseModel | list) else None
    return text, tool_calls, structured


def row(call: CallContext, ended: float, response: Any) -> tuple[Any, ...]:
    """The values of one call's row, in :data:`~llmplug_log._store.COLUMNS` order.

    ``ended`` is the wall-clock time it ended; ``response`` is ``None`` for a failure, or
    a stream stopped before its first chunk. The JSON columns (options, messages, tool
    calls, structured output) are left as Python values: the writer packs the batch
    they are in (:mod:`llmplug_log._staging`), and a reader stores each as JSON text.
    """
    state = call.state
    # the id as a number, unless a nested call asked for it as text (see _log_id)
    call_id: str | int = state.get(STATE_KEY) or id_number()
    # a nested call (a route's model, a structured call's model) points at its parent,
    # whose id is made here if the parent has not ended yet (children end first)
    parent = call.parent
    parent_id = _log_id(parent) if parent is not None else None
    model, options = _model_and_options(call)
    if call.messages is not None:
        messages, prompt = _kept_messages(call.messages)
    else:
        messages, prompt = None, call.prompt
    text: str | None
    if type(response) is ChatResponse:
        blocks = response.message.blocks
        raw = response.raw  # a structured answer's raw is its object(s), else the body
        if len(blocks) == 1 and type(blocks[0]) is TextBlock and (raw is None or type(raw) is dict):
            text, tool_calls, structured = blocks[0].text, None, None  # the common case
        else:
            text, tool_calls, structured = _reply(response)
    else:
        text, tool_calls, structured = _reply(response)
    usage = response.usage if response is not None else None
    error = call.error
    started = call.started
    ended_at = call.ended
    latency = None if ended_at is None else ended_at - started
    first = call.first_chunk_at
    endpoint = call.endpoint
    if usage is None:
        tokens: tuple[Any, ...] = (None, None, None, None, None, None)
    else:
        tokens = (
            usage.input_tokens,
            usage.output_tokens,
            usage.cached_tokens,
            usage.cache_creation_tokens,
            usage.reasoning_tokens,
            usage.cost,
        )
    return (
        call_id,
        parent_id,
        call.conversation_id,  # none: the call is its own conversation (the reader says so)
        ended - (latency or 0.0),
        call.provider,
        model,
        endpoint,
        options,
        messages,
        prompt,
        text,
        tool_calls,
        structured,
        *tokens,
        latency,
        None if first is None else first - started,
        call.chunks if "stream" in endpoint else None,
        f"{type(error).__name__}: {error}" if error is not None else None,
        int(call.cancelled),
        int(call.cache_hit),
        call.answered_by,
    )
