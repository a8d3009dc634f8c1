"""StructuredLLM: an LLM answering every call with one structured object.

Made by ``llm.as_structured_llm(output_cls)``; each call is a structured run (``_run``)
on the wrapped LLM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import Field

from llmplug.llm._base import LLM
from llmplug.llm._derived import ChatLLM
from llmplug.structured._output_schema import output_schema
from llmplug.structured._run import StructuredRun, run_async, run_sync, stream_async, stream_sync
from llmplug.types._messages import ChatMessage, MessageRole
from llmplug.types._responses import (
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    LLMMetadata,
)

__all__ = ["StructuredLLM"]


class StructuredLLM(ChatLLM):
    """An LLM that answers every call with an ``output_cls`` object.

    Made by ``llm.as_structured_llm(output_cls)``. ``chat``, ``complete`` and their
    async and streaming forms answer with the object's JSON as the message text and the
    object itself in ``raw`` (streams: partial objects, then the validated one).
    Per-call options go to the wrapped LLM.

    Attributes:
        llm: The wrapped LLM.
        output_cls: The output class (a pydantic model, or ``list[Model]``).
    """

    model_field: ClassVar[str | None] = None

    llm: LLM
    output_cls: Any = Field(exclude=True)

    @classmethod
    def class_name(cls) -> str:
        """``"structured_llm"`` (LlamaIndex's name)."""
        return "structured_llm"

    @property
    def metadata(self) -> LLMMetadata:
        """The wrapped LLM's metadata."""
        return self.llm.metadata

    def _answer(self, output: Any, run: StructuredRun) -> ChatResponse:
        # the usage of every attempt so far (a stream's partials: of the attempts before)
        text = output_schema(self.output_cls).dump_json(output)
        return ChatResponse(
            message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
            raw=output,
            usage=run.usage,
        )

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Answer with the object: its JSON as the text, the object in ``raw``.

        ``usage`` adds up the wrapped LLM's usage over every attempt (retries included).
        """
        run = StructuredRun(self.llm, self.output_cls, messages, kwargs)
        return self._answer(run_sync(run), run)

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream partial objects (JSON text and ``raw``), then the validated object."""
        run = StructuredRun(self.llm, self.output_cls, messages, kwargs)
        return (self._answer(output, run) for output in stream_sync(run))

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async :meth:`chat`."""
        run = StructuredRun(self.llm, self.output_cls, messages, kwargs)
        return self._answer(await run_async(run), run)

    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat`: ``gen = await llm.astream_chat(...)``."""
        run = StructuredRun(self.llm, self.output_cls, messages, kwargs)

        async def answers() -> ChatResponseAsyncGen:
            async for output in stream_async(run):
                yield self._answer(output, run)

        return answers()
