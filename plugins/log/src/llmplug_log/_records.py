"""A finished call as a row of the log: built on the writer thread, never the caller's.

Messages are kept as JSON, each block as pydantic dumps it, except the bytes of
attachments: an image, audio, video or document given inline is kept as a reference
(its mimetype, size and SHA-256), one given by URL or path as that URL or path. Options
are the call's, secrets redacted (``CallContext.options()``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from llmplug import ChatMessage, ChatResponse, MessageRole, ToolCallBlock

if TYPE_CHECKING:
    from llmplug import CallContext

__all__ = ["DATA_FIELDS", "STATE_KEY", "Captured", "new_id", "row"]

#: Where this plugin keeps a call's log id in ``call.state``.
STATE_KEY = "llmplug-log"
#: The fields of binary blocks that hold their bytes (base64), kept as references.
DATA_FIELDS = ("image", "audio", "video", "data")

#: What ``after_call``/``on_call_error`` capture: the call, its end (wall clock), and the
#: response (``None`` for a failure or a stream stopped before its first chunk).
Captured = tuple["CallContext", float, Any]


def new_id() -> str:
    """A unique id that sorts by time: milliseconds since 1970, then 64 random bits."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(8).hex()}"


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _block(block: BaseModel) -> dict[str, Any]:
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


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _prompt_text(call: CallContext) -> str | None:
    if not call.is_chat:
        return call.prompt
    for message in reversed(call.messages or []):
        if message.role == MessageRole.USER:
            return message.content
    return None


def _structured(raw: Any) -> Any:
    if isinstance(raw, BaseModel):
        return raw.model_dump(mode="json")
    if isinstance(raw, list) and raw and all(isinstance(item, BaseModel) for item in raw):
        return [item.model_dump(mode="json") for item in raw]
    return None


def _log_id(call: CallContext) -> str:
    found = call.state.get(STATE_KEY)
    if found is None:
        found = call.state[STATE_KEY] = new_id()
    return str(found)


def row(captured: Captured) -> tuple[Any, ...]:
    """The values of one call's row, in :data:`~llmplug_log._store.COLUMNS` order."""
    call, ended, response = captured
    call_id = _log_id(call)
    # a nested call (a route's model, a structured call's model) points at its parent,
    # whose id is made here if the parent has not ended yet (children end first)
    parent_id = _log_id(call.parent) if call.parent is not None else None
    conversation = call.conversation_id or call_id
    text = tool_calls = structured = None
    if isinstance(response, ChatResponse):
        text = response.message.content
        calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        if calls:
            tool_calls = [
                {"id": b.tool_call_id, "name": b.tool_name, "arguments": b.tool_kwargs}
                for b in calls
            ]
        structured = _structured(response.raw)
    elif response is not None:
        text = response.text
    usage = response.usage if response is not None else None
    error = call.error
    latency = call.latency or 0.0
    return (
        call_id,
        parent_id,
        conversation,
        _iso(ended - latency),
        call.provider,
        call.model,
        call.endpoint,
        _dumps(call.options()),
        _dumps([message_json(m) for m in call.messages]) if call.messages is not None else None,
        _prompt_text(call),
        text,
        _dumps(tool_calls),
        _dumps(structured),
        usage.input_tokens if usage else None,
        usage.output_tokens if usage else None,
        usage.cached_tokens if usage else None,
        usage.cache_creation_tokens if usage else None,
        usage.reasoning_tokens if usage else None,
        usage.cost if usage else None,
        call.latency,
        call.time_to_first_chunk,
        call.chunks if call.is_stream else None,
        f"{type(error).__name__}: {error}" if error is not None else None,
        int(call.cancelled),
        int(call.cache_hit),
        call.answered_by,
    )
