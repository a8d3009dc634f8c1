"""Cache keys: what makes two calls the same question, and how an answer is kept.

Two calls are the same when they go to the same provider and model, are both chat or
both completion calls, send the same messages (or prompt) and the same options that
change the answer. Timeouts, retries, keys and plugin settings do not change it. Whether
a call streams does not either: a stream's answer can answer a plain call and back.

An attachment is keyed by what the provider will send: its bytes when the block holds
them, the SHA-256 of its file's bytes when it names a file (read when the key is made),
its URL when it names one (what the URL serves is not fetched: a URL whose content
changes keeps answering with the first answer, until the entry expires).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from llmplug import ChatMessage, ChatResponse, CompletionResponse

if TYPE_CHECKING:
    from llmplug import CallContext

__all__ = ["IGNORED_OPTIONS", "answer_from", "cache_key", "kept_answer"]

# the field holding an attachment block's own bytes (image, audio, video, document)
_DATA_FIELDS = ("image", "audio", "video", "data")

#: Options that never change the answer, left out of the key (and any option whose name
#: holds one of these words: ``connect_timeout``, ``max_retries``...).
IGNORED_OPTIONS = ("timeout", "retries", "retry", "plugins", "api_key", "headers")


def _changes_answer(name: str) -> bool:
    return not any(word in name for word in IGNORED_OPTIONS)


def _block(block: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = block.model_dump(mode="json", exclude_none=True)
    path = dumped.get("path")
    if path is not None and not any(dumped.get(name) for name in _DATA_FIELDS):
        # the block names a file, read when the provider resolves it: key its bytes
        with open(path, "rb") as file:
            dumped["path_sha256"] = hashlib.file_digest(file, "sha256").hexdigest()
    return dumped


def cache_key(call: CallContext) -> str:
    """The SHA-256 of the call's normalised question.

    Raises:
        OSError: An attachment names a file that cannot be read (the cache then leaves
            the call to the provider, which reports it as it would without the cache).
    """
    options = {k: v for k, v in call.options().items() if _changes_answer(k)}
    if call.is_chat:
        sent: Any = [
            {"role": m.role.value, "blocks": [_block(b) for b in m.blocks]}
            for m in call.messages or []
        ]
    else:
        sent = call.prompt
    question = {
        "provider": call.provider,
        "model": call.model,
        "kind": "chat" if call.is_chat else "completion",
        "sent": sent,
        "options": options,
    }
    text = json.dumps(question, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _dump(response: ChatResponse | CompletionResponse) -> dict[str, Any]:
    # the provider's raw reply is not kept: it may not be data at all
    return response.model_dump(mode="json", exclude={"raw", "delta"})


def kept_answer(call: CallContext, response: Any, deltas: list[str] | None) -> str:
    """What the cache keeps of an answer: the final response, and a stream's deltas."""
    kept = {"final": _dump(response), "deltas": deltas}
    return json.dumps(kept, ensure_ascii=False, default=str)


def answer_from(call: CallContext, kept: str) -> ChatResponse | CompletionResponse | list[Any]:
    """The answer for ``call`` from what was kept: a response, or a stream's chunks.

    A stream replays the kept deltas, each chunk holding the text so far, and ends with
    the kept final response (its usage, tool calls...) carrying the last delta. The
    usage's ``cost`` is 0: a replayed answer spent nothing (the kept one may carry what
    the first call cost).
    """
    data = json.loads(kept)
    final = (ChatResponse if call.is_chat else CompletionResponse).model_validate(data["final"])
    if final.usage is not None:
        final.usage.cost = 0.0
    deltas = data["deltas"]
    if not call.is_stream:
        return final
    if not deltas:
        return [final.model_copy(update={"delta": _text(final)})]
    chunks: list[Any] = []
    text = ""
    for delta in deltas[:-1]:
        text += delta
        if call.is_chat:
            message = ChatMessage(role="assistant", content=text)
            chunks.append(ChatResponse(message=message, delta=delta))
        else:
            chunks.append(CompletionResponse(text=text, delta=delta))
    chunks.append(final.model_copy(update={"delta": deltas[-1]}))
    return chunks


def _text(response: ChatResponse | CompletionResponse) -> str:
    if isinstance(response, ChatResponse):
        return response.message.content or ""
    return response.text
