"""The call log as a hook plugin: :class:`CallLog`, whose hookimpls queue finished calls.

``after_call`` and ``on_call_error`` turn the finished call into its row (strings and
numbers: the call's objects are not kept alive), pack it into bytes and queue it; the
writer thread writes batches. There is no ``on_stream_chunk``: time to first chunk is the core's
(``call.time_to_first_chunk``), so a stream costs the log nothing per chunk.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from pydantic import ValidationError

import llmplug
from llmplug import ChatMessage, MessageRole, TextBlock, ToolCallBlock
from llmplug.types import Conversation
from llmplug_log._records import DATA_FIELDS, row
from llmplug_log._staging import pack_row
from llmplug_log._store import LogStore
from llmplug_log._writer import Writer

if TYPE_CHECKING:
    from llmplug import CallContext

__all__ = ["CallLog", "messages_from_row", "model_spec"]

#: What ``CallContext.options()`` shows in place of a secret.
REDACTED = "<redacted>"


class CallLog:
    """A hook plugin logging every call to one SQLite file.

    The ``llmplug_log`` module registers one, writing where :func:`llmplug_log.log_path`
    says; make your own to log elsewhere (``llmplug.register_plugin(CallLog(path))``).

    Args:
        path: The log file, or a function giving it (read when the first batch is
            written).
        batch_size: Write as soon as this many calls wait.
        interval: Otherwise write every this many seconds.
        enabled: Whether it logs from the start (:attr:`enabled` switches it later).
    """

    def __init__(
        self,
        path: Path | Callable[[], Path],
        *,
        batch_size: int = 200,
        interval: float = 0.5,
        enabled: bool = True,
    ) -> None:
        self.path: Callable[[], Path] = path if callable(path) else (lambda: Path(path))
        self.writer = Writer(self.path, batch_size=batch_size, interval=interval)
        #: Whether calls are logged (per process; per call: ``plugins={"log": False}``).
        self.enabled = enabled

    @llmplug.hookimpl
    def after_call(self, call: CallContext, response: Any) -> None:
        """Queue the finished call (a stream's last chunk holds its text)."""
        if self.enabled:
            self.writer.add(pack_row(row(call, time.time(), response)))

    @llmplug.hookimpl
    def on_call_error(self, call: CallContext) -> None:
        """Queue the failed call with its error."""
        if self.enabled:
            self.writer.add(pack_row(row(call, time.time(), None)))

    @llmplug.hookimpl
    def resume_conversation(self, conversation_id: str | None) -> Conversation | None:
        """The latest conversation (or ``conversation_id``), to continue it."""
        self.flush()
        path = self.path()
        if not path.exists():
            return None
        store = LogStore(path)
        try:
            found = store.last_call(conversation_id)
        finally:
            store.close()
        if found is None:
            return None
        return Conversation(found["conversation_id"], messages_from_row(found), model_spec(found))

    def flush(self) -> int:
        """Write the queued calls now; how many were written."""
        return self.writer.flush()

    def close(self) -> None:
        """Write the queued calls and stop the writer thread."""
        self.writer.close()


def model_spec(found: dict[str, Any]) -> str:
    """The config string to continue a logged call's conversation with.

    ``provider:model`` and the options the model was loaded with that a config string
    can carry (text, numbers, true/false); a secret option (logged as ``<redacted>``) is
    left for the key store or the environment to give, as at any load. A route's call
    (its options name its models' config strings) gives the route of the same models.
    """
    provider, model = found["provider"], found["model"]
    options = json.loads(found["options"] or "{}")
    members = options.get("models") if isinstance(options, dict) else None
    if isinstance(members, list) and members:
        specs = [
            m["spec"] for m in members if isinstance(m, dict) and isinstance(m.get("spec"), str)
        ]
        if len(specs) == len(members):
            return f"{provider}:{','.join(specs)}"
    query = {}
    for name, value in options.items() if isinstance(options, dict) else ():
        if name == "model" or not isinstance(value, str | int | float) or value is None:
            continue
        if isinstance(value, str) and REDACTED in value:
            continue
        query[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return f"{provider}:{model}" + (f"?{urlencode(query)}" if query else "")


def _message(data: dict[str, Any]) -> ChatMessage:
    """A logged message back as a ChatMessage.

    An attachment kept as a reference only becomes a note saying what it was.
    """
    blocks: list[Any] = []
    for block in data.get("blocks", []):
        ref = block.pop("ref", None)
        if ref is not None and not block.get("url") and not block.get("path"):
            kind = block.get("block_type", "attachment")
            blocks.append(
                TextBlock(
                    text=f"[{kind} {ref.get('mimetype') or ''} of {ref['bytes']} bytes, "
                    f"not kept in the call log]"
                )
            )
            continue
        for name in DATA_FIELDS:
            block.pop(name, None)
        blocks.append(block)
    try:
        return ChatMessage.model_validate({"role": data["role"], "blocks": blocks})
    except ValidationError:  # a block this llmplug cannot read back: keep its text
        text = " ".join(str(b.get("text", "")) for b in blocks if isinstance(b, dict))
        return ChatMessage(role=data["role"], content=text)


def messages_from_row(found: dict[str, Any]) -> list[ChatMessage]:
    """A logged call's conversation: the messages it sent, then its reply."""
    if found["messages"] is not None:
        messages = [_message(m) for m in json.loads(found["messages"])]
    else:
        messages = [ChatMessage(role=MessageRole.USER, content=found["prompt"] or "")]
    blocks: list[Any] = [TextBlock(text=found["response"])] if found["response"] else []
    for tool_call in json.loads(found["tool_calls"] or "[]"):
        blocks.append(
            ToolCallBlock(
                tool_call_id=tool_call["id"],
                tool_name=tool_call["name"],
                tool_kwargs=tool_call["arguments"],
            )
        )
    messages.append(ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks))
    return messages
