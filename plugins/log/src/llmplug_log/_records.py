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

if TYPE_CHECKING:
    from llmplug import CallContext

__all__ = ["DATA_FIELDS", "STATE_KEY", "message_json", "new_id", "row"]

#: Where this plugin keeps a call's log id in ``call.state``.
STATE_KEY = "llmplug-log"
#: The fields of binary blocks that hold their bytes (base64), kept as references.
DATA_FIELDS = ("image", "audio", "video", "data")

# a process's ids: 40 random bits, then a counter (a forked child draws new bits)
_process: dict[str, Any] = {"prefix": os.urandom(5).hex(), "counter": itertools.count()}


def _new_process() -> None:
    _process.update(prefix=os.urandom(5).hex(), counter=itertools.count())


os.register_at_fork(after_in_child=_new_process)


def new_id() -> str:
    """A unique id that sorts by time.

    Milliseconds since 1970, then this process's 40 random bits, then a counter.
    """
    count = next(_process["counter"]) & 0xFFFFFF
    return f"{time.time_ns() // 1_000_000:012x}{_process['prefix']}{count:06x}"


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


def _prompt_text(messages: list[dict[str, Any]]) -> str | None:
    """The last user message's text (what search looks in), from the kept messages."""
    for message in reversed(messages):
        if message["role"] == "user":
            return _text(message["blocks"])
    return None


def _structured(raw: Any) -> Any:
    if isinstance(raw, BaseModel):
        return raw.model_dump(mode="json")
    if isinstance(raw, list) and raw and all(isinstance(item, BaseModel) for item in raw):
        return [item.model_dump(mode="json") for item in raw]
    return None


# what the log reads of each LLM seen lately, kept while the LLM's fields are unchanged:
# its model name (``metadata`` may build a new object on each read) and its options
# (pydantic and redaction cost more than the rest of a row)
_llms: dict[int, tuple[type[Any], dict[str, Any], set[str], str, dict[str, Any] | None]] = {}


def _model_and_options(call: CallContext) -> tuple[str, dict[str, Any]]:
    llm = call.llm
    values = llm.__dict__
    kept = _llms.get(id(llm))
    if (
        kept is None
        or kept[0] is not type(llm)
        or kept[1] != values
        or kept[2] != llm.model_fields_set
    ):
        if len(_llms) >= 256:
            _llms.clear()
        kept = _llms[id(llm)] = (
            type(llm),
            dict(values),
            set(llm.model_fields_set),
            call.model,
            None,
        )
    if call.kwargs:  # the call's own options over the model's: not kept
        return kept[3], call.options()
    if kept[4] is None:
        kept = _llms[id(llm)] = (*kept[:4], call.options())
    assert kept[4] is not None
    return kept[3], kept[4]


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
    calls, structured output) are left as Python values: the batch they are written in
    is encoded once, and SQLite stores each as JSON text.
    """
    call_id = _log_id(call)
    # a nested call (a route's model, a structured call's model) points at its parent,
    # whose id is made here if the parent has not ended yet (children end first)
    parent_id = _log_id(call.parent) if call.parent is not None else None
    model, options = _model_and_options(call)
    if call.messages is not None:
        kept = [message_json(m) for m in call.messages]
        messages: list[dict[str, Any]] | None = kept
        prompt = _prompt_text(kept)
    else:
        messages, prompt = None, call.prompt
    text, tool_calls, structured = _reply(response)
    usage = response.usage if response is not None else None
    error = call.error
    latency = call.latency
    first = call.first_chunk_at
    return (
        call_id,
        parent_id,
        call.conversation_id or call_id,
        ended - (latency or 0.0),
        call.provider,
        model,
        call.endpoint,
        options,
        messages,
        prompt,
        text,
        tool_calls,
        structured,
        usage.input_tokens if usage else None,
        usage.output_tokens if usage else None,
        usage.cached_tokens if usage else None,
        usage.cache_creation_tokens if usage else None,
        usage.reasoning_tokens if usage else None,
        usage.cost if usage else None,
        latency,
        None if first is None else first - call.started,
        call.chunks if "stream" in call.endpoint else None,
        f"{type(error).__name__}: {error}" if error is not None else None,
        int(call.cancelled),
        int(call.cache_hit),
        call.answered_by,
    )
