"""The LLM's programs: structured output and one tool round (LlamaIndex's names).

:class:`ProgramMethods` is a base of :class:`~llmplug.LLM` holding
``structured_predict`` (and its async and streaming forms), ``as_structured_llm`` and
``predict_and_call``: each a thin entry point into ``_structured`` or ``_calling`` /
``_react``, kept apart from the endpoints in ``_llm``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from pydantic import BaseModel

if TYPE_CHECKING:
    from llmplug._llm import LLM
    from llmplug._messages import ChatMessage
    from llmplug._prompts import BasePromptTemplate
    from llmplug._structured import StructuredLLM
    from llmplug._structured_output import OutputSchema
    from llmplug._tools import AgentChatResponse, BaseTool

__all__ = ["ProgramMethods"]

Model = TypeVar("Model", bound=BaseModel)


class ProgramMethods:
    """Structured output and the tool round of every :class:`~llmplug.LLM`."""

    __slots__ = ()

    def _llm(self) -> LLM:
        return self  # type: ignore[return-value]  # only ever a base of LLM

    # -- structured output -------------------------------------------------------------

    def _structured_request_kwargs(self, schema: OutputSchema) -> dict[str, Any] | None:
        """The per-call options that make the provider answer with JSON fitting ``schema``.

        For providers with native constrained output: declare
        ``Capabilities(json_schema=True)`` and return the options (e.g. OpenAI's
        ``{"response_format": {"type": "json_schema", ...}}``) built from
        ``schema.name``, ``schema.description`` and ``schema.json_schema`` (or
        ``schema.strict_json_schema()``). ``None`` (the default) means no native path,
        for this model: structured calls then use a tool call or the prompt.
        """
        return None

    def _structured_messages(
        self, prompt: BasePromptTemplate | str, prompt_args: dict[str, Any]
    ) -> list[ChatMessage]:
        from llmplug._prompts import PromptTemplate

        template = PromptTemplate(prompt) if isinstance(prompt, str) else prompt
        return template.format_messages(llm=self._llm(), **prompt_args)

    @overload
    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model: ...

    @overload
    def structured_predict(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any: ...

    def structured_predict(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """Format ``prompt`` with ``prompt_args``; answer with a validated ``output_cls``.

        The path follows ``pydantic_program_mode`` and what the provider offers (see
        :class:`PydanticProgramMode`). An answer that does not validate is sent back
        with the errors, ``structured_output_retries`` times.

        Args:
            output_cls: A pydantic model class, or ``list[Model]``.
            prompt: A prompt template (a str is used as a ``PromptTemplate``).
            llm_kwargs: Per-call options of the provider (``temperature=0``...).
            **prompt_args: The template's variables.

        Returns:
            An ``output_cls`` instance (a list of models for ``list[Model]``).

        Raises:
            StructuredOutputError: The answer still does not validate after the
                retries (``raw``: the text, ``errors``: pydantic's errors).
            InvalidOptionError: The mode forces a path the provider does not have.
        """
        from llmplug._structured import StructuredRun, run_sync

        messages = self._structured_messages(prompt, prompt_args)
        return run_sync(StructuredRun(self._llm(), output_cls, messages, llm_kwargs))

    @overload
    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model: ...

    @overload
    async def astructured_predict(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any: ...

    async def astructured_predict(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """Async :meth:`structured_predict`."""
        from llmplug._structured import StructuredRun, run_async

        messages = self._structured_messages(prompt, prompt_args)
        return await run_async(StructuredRun(self._llm(), output_cls, messages, llm_kwargs))

    def stream_structured_predict(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        """Like :meth:`structured_predict`, yielding partial objects as the answer streams.

        Partial objects are :class:`~llmplug.FlexibleModel` s (a list of them for
        ``list[Model]``): every field ``None`` until it arrives, strings growing as
        they stream, not validated. The last item is the validated ``output_cls``
        object. A retry streams again: partials then start over.
        """
        from llmplug._structured import StructuredRun, stream_sync

        messages = self._structured_messages(prompt, prompt_args)
        return stream_sync(StructuredRun(self._llm(), output_cls, messages, llm_kwargs))

    async def astream_structured_predict(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        """Async :meth:`stream_structured_predict`: ``await`` it, then ``async for``."""
        from llmplug._structured import StructuredRun, stream_async

        messages = self._structured_messages(prompt, prompt_args)
        return stream_async(StructuredRun(self._llm(), output_cls, messages, llm_kwargs))

    def as_structured_llm(self, output_cls: Any, **kwargs: Any) -> StructuredLLM:
        """An LLM answering every call with an ``output_cls`` object (its JSON as text).

        Args:
            output_cls: A pydantic model class, or ``list[Model]``.
            **kwargs: Other fields of :class:`~llmplug.StructuredLLM`
                (``system_prompt``...).
        """
        from llmplug._structured import StructuredLLM

        structured = StructuredLLM(llm=self._llm(), output_cls=output_cls, **kwargs)
        structured._provider = self._llm().provider_label
        return structured

    # -- one tool round ----------------------------------------------------------------

    def predict_and_call(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        error_on_no_tool_call: bool = True,
        error_on_tool_error: bool = False,
        **kwargs: Any,
    ) -> AgentChatResponse:
        """Let the model pick a tool (or several) for ``user_msg``, call it, return its output.

        One round: the model's choice is run, its output is the answer; the model does
        not see the output (an agent loop would send it back). A function-calling model
        (``metadata.is_function_calling_model``, see :class:`~llmplug.FunctionCallingLLM`)
        calls tools natively; any other model is shown the tools in a ReAct prompt and
        its ``Thought`` / ``Action`` / ``Action Input`` reply is parsed.

        Arguments are validated against each tool's schema. A tool that raises, arguments
        that do not fit, or a tool name the model invented give an output with
        ``is_error=True`` saying so (or raise, with ``error_on_tool_error``). The caller's
        ``chat_history`` is never changed.

        Args:
            tools: The tools (``FunctionTool`` s, other ``BaseTool`` s, or plain functions).
            user_msg: The new user message.
            chat_history: The conversation so far.
            verbose: Print each call and its output.
            allow_parallel_tool_calls: Run every call the model makes (else the first).
            error_on_no_tool_call: Raise when the model calls no tool (else its text
                is the answer).
            error_on_tool_error: Raise when a call fails instead of returning an error
                output.
            **kwargs: ``tool_required``, ``tool_choice`` (a tool's name) and per-call
                options of the provider.

        Returns:
            ``response``: the outputs' text (joined by blank lines), or the model's
            answer when it called no tool; ``sources``: the tool outputs.

        Raises:
            ToolCallError: No tool call (with ``error_on_no_tool_call``), or a failed
                call (with ``error_on_tool_error``).
        """
        from llmplug._calling import call_selections, tool_round_result
        from llmplug._react import prepare_react, react_selections

        llm = self._llm()
        checked, messages, options = prepare_react(
            llm, tools, user_msg, chat_history, allow_parallel_tool_calls, kwargs
        )
        response = llm.chat(messages, **options)
        selections, answer = react_selections(
            llm, response, checked, allow_parallel_tool_calls, error_on_no_tool_call
        )
        outputs = call_selections(
            selections, checked, verbose=verbose, error_on_tool_error=error_on_tool_error
        )
        return tool_round_result(response, selections, outputs, answer)

    async def apredict_and_call(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        error_on_no_tool_call: bool = True,
        error_on_tool_error: bool = False,
        **kwargs: Any,
    ) -> AgentChatResponse:
        """Async :meth:`predict_and_call`: the tools called run concurrently.

        Async tools are awaited together (``asyncio.gather``); sync tools run in worker
        threads, so the event loop is never blocked.
        """
        from llmplug._calling import acall_selections, tool_round_result
        from llmplug._react import prepare_react, react_selections

        llm = self._llm()
        checked, messages, options = prepare_react(
            llm, tools, user_msg, chat_history, allow_parallel_tool_calls, kwargs
        )
        response = await llm.achat(messages, **options)
        selections, answer = react_selections(
            llm, response, checked, allow_parallel_tool_calls, error_on_no_tool_call
        )
        outputs = await acall_selections(
            selections, checked, verbose=verbose, error_on_tool_error=error_on_tool_error
        )
        return tool_round_result(response, selections, outputs, answer)
