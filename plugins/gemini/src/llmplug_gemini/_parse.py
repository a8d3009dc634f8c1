"""``GenerateContentResponse`` bodies and stream chunks -> llmplug responses: pure functions.

A streamed answer is a sequence of ``GenerateContentResponse`` objects, each holding the
parts that arrived since the one before; the last carries the candidate's
``finishReason`` and the usage. One accumulator, :class:`Parts`, folds parts in (both
for a whole response and for a stream) and turns them into llmplug blocks:

* text parts -> one :class:`~llmplug.TextBlock` (consecutive parts joined, so
  ``message.content`` is the answer as the model wrote it);
* thought parts (``"thought": true``) -> :class:`~llmplug.ThinkingBlock`;
* ``functionCall`` -> :class:`~llmplug.ToolCallBlock` (a call the API gave no id gets a
  local one, never sent back, so a tool result can still name it);
* ``inlineData`` (generated images, audio) -> the matching media block;
* a part's ``thoughtSignature`` -> kept in ``additional_information["thought_signature"]``
  of its thought's block, or of a thinking block holding only the signature, placed
  just before the block of the part that carried it (see ``_wire``, which sends it back
  on that part).

Other parts (code execution) have no llmplug block: they are kept in
``additional_kwargs["other_parts"]``. A prompt the API blocked
(``promptFeedback.blockReason``) or an answer cut for safety, recitation or policy
raises :class:`~llmplug.errors.ContentBlockedError` naming the reason.
"""

from __future__ import annotations

import json
from typing import Any

from llmplug import (
    AudioBlock,
    ChatMessage,
    ChatResponse,
    DocumentBlock,
    ImageBlock,
    LogProb,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    Usage,
    VideoBlock,
)
from llmplug.errors import APIError, ContentBlockedError
from llmplug.types import assistant_text_chunk, assistant_text_message, trusted_chat_response
from llmplug_gemini._wire import LOCAL_CALL_ID_PREFIX, THOUGHT_SIGNATURE

__all__ = [
    "BLOCKED_FINISH_REASONS",
    "Parts",
    "StreamState",
    "parse_chunk",
    "parse_logprobs",
    "parse_response",
    "parse_usage",
]

_ASSISTANT = MessageRole.ASSISTANT

#: Finish reasons meaning the answer was cut by a filter: raised as ContentBlockedError.
BLOCKED_FINISH_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)

# candidate and response fields kept in additional_kwargs, by their key there
_CANDIDATE_EXTRAS = {
    "finishMessage": "finish_message",
    "safetyRatings": "safety_ratings",
    "citationMetadata": "citation_metadata",
    "groundingMetadata": "grounding_metadata",
    "urlContextMetadata": "url_context_metadata",
    "avgLogprobs": "avg_logprobs",
}
_RESPONSE_EXTRAS = {
    "modelVersion": "model_version",
    "responseId": "response_id",
    "promptFeedback": "prompt_feedback",
}


# -- usage and log probabilities -------------------------------------------------------


def parse_usage(meta: Any) -> Usage | None:
    """``usageMetadata`` as :class:`~llmplug.Usage` (``None`` when it holds no counts).

    The prompt's tokens (``promptTokenCount``, which counts ``cachedContentTokenCount``)
    and the tool results' (``toolUsePromptTokenCount``) are the input; the answer's
    (``candidatesTokenCount``) and the thoughts' (``thoughtsTokenCount``) the output,
    so ``total_tokens`` is the API's ``totalTokenCount``.
    """
    if not isinstance(meta, dict):
        return None
    prompt = _count(meta, "promptTokenCount")
    answer = _count(meta, "candidatesTokenCount")
    thoughts = _count(meta, "thoughtsTokenCount")
    if prompt is None and answer is None and thoughts is None:
        return None  # a stream chunk's usage before the end: the traffic type only
    tools = _count(meta, "toolUsePromptTokenCount") or 0
    return Usage(
        input_tokens=(prompt or 0) + tools,
        output_tokens=(answer or 0) + (thoughts or 0),
        cached_tokens=_count(meta, "cachedContentTokenCount") or 0,
        reasoning_tokens=thoughts or 0,
    )


def _count(meta: dict[str, Any], key: str) -> int | None:
    value = meta.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_logprobs(result: Any) -> list[list[LogProb]] | None:
    """``logprobsResult`` as one row per token: the chosen token, then the alternatives."""
    if not isinstance(result, dict):
        return None
    chosen = result.get("chosenCandidates") or []
    tops = result.get("topCandidates") or []
    rows: list[list[LogProb]] = []
    for i, entry in enumerate(chosen):
        row = [_logprob(entry)]
        token = entry.get("token")
        alternatives = tops[i].get("candidates") or [] if i < len(tops) else []
        row.extend(_logprob(alt) for alt in alternatives if alt.get("token") != token)
        rows.append(row)
    return rows


def _logprob(entry: dict[str, Any]) -> LogProb:
    token = entry.get("token") or ""
    return LogProb(
        token=token,
        logprob=float(entry.get("logProbability") or 0.0),
        bytes=list(token.encode("utf-8")),
    )


# -- parts -> blocks ---------------------------------------------------------------------


class Parts:
    """The parts of one answer so far, folded as they arrive (see the module docstring)."""

    __slots__ = ("calls", "items", "others", "plain")

    def __init__(self) -> None:
        # [kind, text or block, signature]: kind is "text", "thought" or "block"
        self.items: list[list[Any]] = []
        self.others: list[Any] = []
        self.calls = 0
        self.plain = True  # one text item, no signature: the fast path

    def add(self, part: dict[str, Any]) -> str:
        """Fold one part in; return the answer text it added (the stream's delta)."""
        sig = part.get("thoughtSignature")
        sig = sig if isinstance(sig, str) and sig else None
        text = part.get("text")
        if isinstance(text, str) or (sig is not None and len(part) == 1):
            text = text or ""
            kind = "thought" if part.get("thought") else "text"
            items = self.items
            last = items[-1] if items else None
            # an empty part holding only a signature stays a part of its own: it goes
            # back as it came (streams end with one)
            if last is not None and last[0] == kind and not (sig and (last[2] or not text)):
                last[1] += text
                last[2] = last[2] or sig
            else:
                items.append([kind, text, sig])
            if kind == "thought" or sig or len(items) > 1:
                self.plain = False
            return "" if kind == "thought" else text
        self.plain = False
        block = self._block(part)
        if block is None:
            self.others.append(part)
        else:
            self.items.append(["block", block, sig])
        return ""

    def _block(self, part: dict[str, Any]) -> Any:
        call = part.get("functionCall")
        if isinstance(call, dict):
            call_id = call.get("id")
            if not call_id:
                call_id = f"{LOCAL_CALL_ID_PREFIX}{self.calls}"
            self.calls += 1
            args = call.get("args")
            return ToolCallBlock(
                tool_call_id=str(call_id),
                tool_name=call.get("name") or "",
                tool_kwargs=args if isinstance(args, dict) else {},
            )
        inline = part.get("inlineData")
        if isinstance(inline, dict) and isinstance(inline.get("data"), str):
            return _media_block(inline["data"].encode("ascii"), inline.get("mimeType") or "")
        return None

    @property
    def text(self) -> str:
        """The answer's text so far (thoughts excluded)."""
        return "".join(item[1] for item in self.items if item[0] == "text")

    def blocks(self) -> list[Any]:
        """The llmplug blocks of the parts so far."""
        blocks: list[Any] = []
        for kind, value, sig in self.items:
            if kind == "thought":
                info = {THOUGHT_SIGNATURE: sig} if sig else {}
                blocks.append(ThinkingBlock(content=value, additional_information=info))
                continue
            if sig:
                blocks.append(ThinkingBlock(additional_information={THOUGHT_SIGNATURE: sig}))
            if kind == "block":
                blocks.append(value)
            elif value:
                blocks.append(TextBlock(text=value))
        return blocks

    def message(self) -> ChatMessage:
        """The assistant message of the parts so far."""
        if self.plain:
            return assistant_text_message(self.items[0][1] if self.items else "")
        return ChatMessage(role=_ASSISTANT, blocks=self.blocks())


def _media_block(data: bytes, mimetype: str) -> Any:
    if mimetype.startswith("image/"):
        return ImageBlock(image=data, image_mimetype=mimetype)
    if mimetype.startswith("audio/"):
        return AudioBlock(audio=data, format=mimetype.partition("/")[2] or None)
    if mimetype.startswith("video/"):
        return VideoBlock(video=data, video_mimetype=mimetype)
    return DocumentBlock(data=data, document_mimetype=mimetype or None)


# -- whole responses ----------------------------------------------------------------------


def _candidate(data: Any, provider: str, partial: str = "") -> dict[str, Any] | None:
    """The first candidate; raises for a blocked prompt or an answer cut by a filter."""
    if not isinstance(data, dict):
        raise APIError(f"expected a JSON object, got {type(data).__name__}", provider=provider)
    feedback = data.get("promptFeedback")
    candidates = data.get("candidates")
    if isinstance(feedback, dict) and feedback.get("blockReason") and not candidates:
        reason = str(feedback["blockReason"])
        detail = feedback.get("blockReasonMessage")
        raise ContentBlockedError(
            f"the prompt was blocked ({reason}){f': {detail}' if detail else ''}"
            f"{_ratings(feedback.get('safetyRatings'))}; rephrase it, or review "
            f"safety_settings",
            provider=provider,
            reason=reason,
            where="prompt",
            body=data,
        )
    if not candidates:
        return None
    candidate: dict[str, Any] = candidates[0]
    finish = candidate.get("finishReason")
    if finish in BLOCKED_FINISH_REASONS:
        text = partial + "".join(
            p.get("text") or ""
            for p in (candidate.get("content") or {}).get("parts") or ()
            if not p.get("thought")
        )
        detail = candidate.get("finishMessage")
        cut = f" after {len(text)} characters" if text else ""
        raise ContentBlockedError(
            f"the answer was stopped{cut} ({finish}){f': {detail}' if detail else ''}"
            f"{_ratings(candidate.get('safetyRatings'))}; the partial answer is on the "
            f"error's .partial",
            provider=provider,
            reason=str(finish),
            where="response",
            partial=text,
            body=data,
        )
    return candidate


def _ratings(ratings: Any) -> str:
    """The categories a safety rating blocked (or rated HIGH), for an error message."""
    if not isinstance(ratings, list):
        return ""
    flagged = [
        str(r.get("category", "?")).removeprefix("HARM_CATEGORY_")
        for r in ratings
        if isinstance(r, dict) and (r.get("blocked") or r.get("probability") == "HIGH")
    ]
    return f" [{', '.join(flagged)}]" if flagged else ""


def _extras(data: dict[str, Any], candidate: dict[str, Any] | None) -> dict[str, Any]:
    extra: dict[str, Any] = {"finish_reason": candidate.get("finishReason") if candidate else None}
    if candidate:
        for key, name in _CANDIDATE_EXTRAS.items():
            if key in candidate:
                extra[name] = candidate[key]
    for key, name in _RESPONSE_EXTRAS.items():
        if key in data:
            extra[name] = data[key]
    return extra


def parse_response(data: Any, *, provider: str) -> ChatResponse:
    """Turn a ``GenerateContentResponse`` body into a ChatResponse with ``usage``.

    ``additional_kwargs`` holds ``finish_reason`` (``STOP``, ``MAX_TOKENS``,
    ``MALFORMED_FUNCTION_CALL``...) and, when the API sends them, ``finish_message``,
    ``safety_ratings``, ``citation_metadata``, ``grounding_metadata``,
    ``url_context_metadata``, ``avg_logprobs``, ``model_version``, ``response_id``,
    ``prompt_feedback`` and ``other_parts`` (parts with no llmplug block).

    Raises:
        ContentBlockedError: The prompt was blocked, or the answer cut by a filter.
        APIError: The body holds no candidate.
    """
    candidate = _candidate(data, provider)
    if candidate is None:
        raise APIError(
            f"the response holds no candidate: {json.dumps(data)[:300]}",
            provider=provider,
            body=data,
        )
    parts = Parts()
    for part in (candidate.get("content") or {}).get("parts") or ():
        parts.add(part)
    extra = _extras(data, candidate)
    if parts.others:
        extra["other_parts"] = parts.others
    return trusted_chat_response(
        message=parts.message(),
        raw=data,
        logprobs=parse_logprobs(candidate.get("logprobsResult")),
        additional_kwargs=extra,
        usage=parse_usage(data.get("usageMetadata")),
    )


# -- streams -----------------------------------------------------------------------------


class StreamState:
    """What one stream has accumulated: its parts and log probabilities."""

    __slots__ = ("logprobs", "parts")

    def __init__(self) -> None:
        self.parts = Parts()
        self.logprobs: list[list[LogProb]] | None = None


def parse_chunk(data: Any, state: StreamState, *, provider: str) -> ChatResponse | None:
    """Fold one streamed ``GenerateContentResponse`` into ``state``; the chunk to yield.

    Every chunk with parts yields one (the answer so far, its new text as ``delta``);
    the one with the ``finishReason`` also carries the usage and ``additional_kwargs``
    as :func:`parse_response` does. A chunk with neither yields nothing.

    Raises:
        ContentBlockedError: The prompt was blocked, or the answer cut by a filter.
    """
    parts = state.parts
    candidate = _candidate(data, provider, partial=parts.text)
    if candidate is None:
        return None
    delta = ""
    added = False
    for part in (candidate.get("content") or {}).get("parts") or ():
        delta += parts.add(part)
        added = True
    rows = parse_logprobs(candidate.get("logprobsResult"))
    if rows:
        state.logprobs = (state.logprobs or []) + rows
    finished = candidate.get("finishReason") is not None
    if not finished:
        if not added:
            return None
        if parts.plain and state.logprobs is None:  # text only: nearly every chunk
            return assistant_text_chunk(parts.items[0][1], delta, data, None)
        return trusted_chat_response(
            message=parts.message(), raw=data, delta=delta, logprobs=state.logprobs
        )
    extra = _extras(data, candidate)
    if parts.others:
        extra["other_parts"] = list(parts.others)
    return trusted_chat_response(
        message=parts.message(),
        raw=data,
        delta=delta,
        logprobs=state.logprobs,
        additional_kwargs=extra,
        usage=parse_usage(data.get("usageMetadata")),
    )
