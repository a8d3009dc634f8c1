"""Tools a model can call: LlamaIndex's ``BaseTool``, ``FunctionTool`` and their types.

:class:`FunctionTool` wraps a plain function, sync or async; its name, description and
argument schema are read from the function (signature, type hints, docstring)::

    def get_weather(city: Annotated[str, "The city's name"], days: int = 1) -> str: ...

    tool = FunctionTool.from_defaults(get_weather)
    tool.metadata.to_openai_tool()  # name, description, JSON schema of the arguments

Calling a tool gives a :class:`ToolOutput`. ``llm.predict_and_call(tools, ...)`` returns
an :class:`AgentChatResponse` whose ``sources`` are the outputs of the tools called.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.fields import FieldInfo

from llmplug._blocks import ContentBlock, TextBlock
from llmplug._model import Model

__all__ = [
    "AgentChatResponse",
    "AsyncBaseTool",
    "BaseTool",
    "BaseToolAsyncAdapter",
    "DefaultToolFnSchema",
    "FunctionTool",
    "ToolMetadata",
    "ToolOutput",
    "ToolSelection",
    "adapt_to_async_tool",
]

AsyncCallable = Callable[..., Coroutine[Any, Any, Any]]
CallbackReturn = Any  # a ToolOutput replacing the output, a str replacing its content, or None
CallbackFunction = Callable[["ToolOutput"], CallbackReturn]
AsyncCallbackFunction = Callable[["ToolOutput"], Coroutine[Any, Any, CallbackReturn]]

#: Longest tool description OpenAI accepts.
MAX_DESCRIPTION = 1024


class DefaultToolFnSchema(BaseModel):
    """The argument schema of a tool that declares none: one string, ``input``."""

    input: str


@dataclass
class ToolMetadata:
    """What a model is told about a tool: its name, description and argument schema.

    Attributes:
        description: What the tool does (the model reads this to choose it).
        name: The name the model calls it by.
        fn_schema: A pydantic model of the arguments (``None``: one string ``input``).
        return_direct: Agents return the tool's output as the answer, without another
            model turn.
    """

    description: str
    name: str | None = None
    fn_schema: type[BaseModel] | None = DefaultToolFnSchema
    return_direct: bool = False

    def get_parameters_dict(self) -> dict[str, Any]:
        """The JSON schema of the arguments (``type``, ``properties``, ``required``, ``$defs``)."""
        if self.fn_schema is None:
            return {
                "type": "object",
                "properties": {"input": {"title": "input query string", "type": "string"}},
                "required": ["input"],
            }
        schema = self.fn_schema.model_json_schema()
        return {
            key: value
            for key, value in schema.items()
            if key in ("type", "properties", "required", "definitions", "$defs")
        }

    @property
    def fn_schema_str(self) -> str:
        """The argument schema as JSON text.

        Raises:
            ValueError: ``fn_schema`` is ``None``.
        """
        if self.fn_schema is None:
            raise ValueError("fn_schema is None: this tool declares no argument schema")
        return json.dumps(self.get_parameters_dict(), ensure_ascii=False)

    def get_name(self) -> str:
        """The tool's name.

        Raises:
            ValueError: The tool has no name.
        """
        if self.name is None:
            raise ValueError("the tool has no name: give ToolMetadata a name")
        return self.name

    def to_openai_tool(self, skip_length_check: bool = False) -> dict[str, Any]:
        """The tool in OpenAI's format: ``{"type": "function", "function": {...}}``.

        Args:
            skip_length_check: Allow a description over OpenAI's 1,024 characters.

        Raises:
            ValueError: The description is too long (and the check is not skipped).
        """
        if not skip_length_check and len(self.description) > MAX_DESCRIPTION:
            raise ValueError(
                f"the description of tool {self.name!r} has {len(self.description)} "
                f"characters, over OpenAI's {MAX_DESCRIPTION}; shorten it (or move the "
                f"detail into the prompt), or pass skip_length_check=True"
            )
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.get_parameters_dict(),
            },
        }


class ToolOutput(Model):
    """What one tool call gave back.

    ``ToolOutput(content="18C", tool_name=...)`` and ``ToolOutput(blocks=[...], ...)``
    both work; ``content`` is the text of the text blocks.

    Attributes:
        blocks: The output as content blocks (text, images...).
        tool_name: The tool called.
        raw_input: The arguments it was called with.
        raw_output: What the function returned (or the error's text).
        is_error: The call failed: the tool raised, its arguments did not fit its
            schema, or no tool had that name. ``content`` says what went wrong.
        exception: The exception, when the tool raised one (not serialised).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    blocks: list[ContentBlock] = Field(default_factory=list)
    tool_name: str
    raw_input: dict[str, Any] = Field(default_factory=dict)
    raw_output: Any = None
    is_error: bool = False
    exception: BaseException | None = Field(default=None, exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _content_to_blocks(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "content" not in data:
            return data
        data = dict(data)
        content = data.pop("content")
        if content is not None:
            if data.get("blocks"):
                raise ValueError("give a ToolOutput either content or blocks, not both")
            data["blocks"] = [TextBlock(text=str(content))]
        return data

    @property
    def content(self) -> str:
        """The text of the output's text blocks, joined by newlines."""
        return "\n".join(block.text for block in self.blocks if isinstance(block, TextBlock))

    @content.setter
    def content(self, content: str) -> None:
        self.blocks = [TextBlock(text=content)]

    def __str__(self) -> str:
        return self.content


class ToolSelection(Model):
    """One tool call the model asked for.

    Attributes:
        tool_id: The call's id (answer it with a ``role="tool"`` message whose
            ``additional_kwargs["tool_call_id"]`` is this id).
        tool_name: The tool's name, as the model wrote it.
        tool_kwargs: The arguments.
        invalid_arguments: The model's raw argument text when it was not a JSON
            object (``tool_kwargs`` is then empty and calling the tool gives an error
            output quoting it).
    """

    tool_id: str
    tool_name: str
    tool_kwargs: dict[str, Any] = Field(default_factory=dict)
    invalid_arguments: str | None = None


@dataclass
class AgentChatResponse:
    """The result of ``predict_and_call``: the answer and the tool outputs behind it.

    Attributes:
        response: The answer: the tool output(s) as text (several joined by blank
            lines), or the model's text when it called no tool.
        sources: The output of every tool called, in call order.
        source_nodes: Retrieved nodes (LlamaIndex field; llmplug retrieves none).
        is_dummy_stream: LlamaIndex field, kept for compatibility.
        metadata: ``"tool_calls"``: the :class:`ToolSelection` behind each source;
            ``"chat_response"``: the model's reply.
    """

    response: str = ""
    sources: list[ToolOutput] = field(default_factory=list)
    source_nodes: list[Any] = field(default_factory=list)
    is_dummy_stream: bool = False
    metadata: dict[str, Any] | None = None

    def __str__(self) -> str:
        return self.response


class BaseTool(ABC):
    """A tool: metadata for the model, and a call."""

    @property
    @abstractmethod
    def metadata(self) -> ToolMetadata:
        """The tool's name, description and argument schema."""

    @abstractmethod
    def __call__(self, input: Any) -> ToolOutput:
        """Run the tool."""


class AsyncBaseTool(BaseTool):
    """A tool with a sync :meth:`call` and an async :meth:`acall`."""

    def __call__(self, *args: Any, **kwargs: Any) -> ToolOutput:
        return self.call(*args, **kwargs)

    @abstractmethod
    def call(self, input: Any) -> ToolOutput:
        """Run the tool."""

    @abstractmethod
    async def acall(self, input: Any) -> ToolOutput:
        """Run the tool without blocking the event loop."""


class BaseToolAsyncAdapter(AsyncBaseTool):
    """A sync :class:`BaseTool` as an :class:`AsyncBaseTool` (``acall`` uses a thread)."""

    def __init__(self, tool: BaseTool) -> None:
        self.base_tool = tool

    @property
    def metadata(self) -> ToolMetadata:
        """The wrapped tool's metadata."""
        return self.base_tool.metadata

    def call(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Call the wrapped tool."""
        return self.base_tool(*args, **kwargs)

    async def acall(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Call the wrapped tool in a worker thread."""
        from llmplug._threads import run_in_thread

        return await run_in_thread(self.base_tool, *args, **kwargs)


def adapt_to_async_tool(tool: BaseTool) -> AsyncBaseTool:
    """``tool`` itself if it is async-capable, else wrapped in :class:`BaseToolAsyncAdapter`."""
    return tool if isinstance(tool, AsyncBaseTool) else BaseToolAsyncAdapter(tool)


def _run_coroutine_sync(coro_fn: AsyncCallable, *args: Any, **kwargs: Any) -> Any:
    """Run an async function from sync code, also from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_fn(*args, **kwargs))
    # a loop runs in this thread: run the coroutine on its own loop in another thread
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="llmplug-tool") as pool:
        return pool.submit(lambda: asyncio.run(coro_fn(*args, **kwargs))).result()


def _is_block(value: Any) -> bool:
    return isinstance(value, BaseModel) and isinstance(getattr(value, "block_type", None), str)


class FunctionTool(AsyncBaseTool):
    """A tool that calls a Python function (sync or async).

    Build one with :meth:`from_defaults`. ``call`` runs a sync function directly and an
    async one on an event loop; ``acall`` awaits an async function and runs a sync one
    in a worker thread, so the event loop is never blocked.

    The function's return value becomes the output's content (``str(value)``); a
    content block, or a list of them, becomes the output's blocks. A ``callback`` may
    replace the output (return a ToolOutput) or its content (return a str).
    """

    def __init__(
        self,
        fn: Callable[..., Any] | None = None,
        metadata: ToolMetadata | None = None,
        async_fn: AsyncCallable | None = None,
        callback: CallbackFunction | None = None,
        async_callback: AsyncCallbackFunction | None = None,
        partial_params: dict[str, Any] | None = None,
    ) -> None:
        if fn is None and async_fn is None:
            raise ValueError("FunctionTool needs a function: give fn= or async_fn=")
        if metadata is None:
            raise ValueError(
                "FunctionTool needs metadata; build it with FunctionTool.from_defaults(fn)"
            )
        self._real_fn: Callable[..., Any] = fn or async_fn  # type: ignore[assignment]
        self._sync_fn: Callable[..., Any] | None = None
        self._async_fn: AsyncCallable | None = async_fn
        if fn is not None:
            if inspect.iscoroutinefunction(fn):
                self._async_fn = self._async_fn or fn
            else:
                self._sync_fn = fn
        self._metadata = metadata
        self._callback = callback
        self._async_callback = async_callback
        self.partial_params: dict[str, Any] = dict(partial_params or {})

    @classmethod
    def from_defaults(
        cls,
        fn: Callable[..., Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        return_direct: bool = False,
        fn_schema: type[BaseModel] | None = None,
        async_fn: AsyncCallable | None = None,
        tool_metadata: ToolMetadata | None = None,
        callback: CallbackFunction | None = None,
        async_callback: AsyncCallbackFunction | None = None,
        partial_params: dict[str, Any] | None = None,
    ) -> FunctionTool:
        """Make a tool of a function: name, description and schema read from it.

        Args:
            fn: The function (sync or async).
            name: The tool's name (default: the function's ``__name__``).
            description: What the tool does (default: the name, the signature and the
                docstring, as LlamaIndex writes it).
            return_direct: Agents answer with the tool's output directly.
            fn_schema: The argument schema (default: built from the signature, type
                hints and docstring).
            async_fn: An async implementation (used by ``acall``; the only one when
                ``fn`` is not given).
            tool_metadata: Complete metadata, instead of name/description/schema.
            callback: Called with each output; may return a replacement.
            async_callback: Awaited with each output of ``acall``.
            partial_params: Arguments always passed, hidden from the model's schema.

        Raises:
            ValueError: Neither ``fn`` nor ``async_fn`` is given.
        """
        partial_params = dict(partial_params or {})
        if tool_metadata is None:
            source = fn or async_fn
            if source is None:
                raise ValueError("FunctionTool.from_defaults needs fn= or async_fn=")
            name = name or source.__name__
            if description is None:
                description = _describe(name, source, partial_params)
            if fn_schema is None:
                from llmplug._tool_schema import function_schema

                fn_schema = function_schema(name, source, ignore=partial_params)
            tool_metadata = ToolMetadata(
                name=name,
                description=description,
                fn_schema=fn_schema,
                return_direct=return_direct,
            )
        return cls(
            fn=fn,
            metadata=tool_metadata,
            async_fn=async_fn,
            callback=callback,
            async_callback=async_callback,
            partial_params=partial_params,
        )

    @property
    def metadata(self) -> ToolMetadata:
        """The tool's name, description and argument schema."""
        return self._metadata

    @property
    def fn(self) -> Callable[..., Any]:
        """A sync callable running the tool's function."""
        if self._sync_fn is not None:
            return self._sync_fn
        async_fn = self.async_fn
        return lambda *args, **kwargs: _run_coroutine_sync(async_fn, *args, **kwargs)

    @property
    def async_fn(self) -> AsyncCallable:
        """An async callable running the tool's function (a sync one in a thread)."""
        if self._async_fn is not None:
            return self._async_fn
        sync_fn = self._sync_fn
        assert sync_fn is not None

        async def in_thread(*args: Any, **kwargs: Any) -> Any:
            from llmplug._threads import run_in_thread

            return await run_in_thread(sync_fn, *args, **kwargs)

        return in_thread

    @property
    def real_fn(self) -> Callable[..., Any]:
        """The function the tool was made of."""
        return self._real_fn

    def call(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Run the function with ``partial_params`` and ``kwargs``; exceptions propagate."""
        all_kwargs = {**self.partial_params, **kwargs}
        call_args, call_kwargs = _bind(self._sync_fn or self._real_fn, args, all_kwargs)
        raw_output = self.fn(*call_args, **call_kwargs)
        output = self._output(args, all_kwargs, raw_output)
        if self._callback is not None:
            return self._callback_result(self._callback(output), output)
        if self._async_callback is not None:
            replaced = _run_coroutine_sync(self._async_callback, output)
            return self._callback_result(replaced, output)
        return output

    async def acall(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Async :meth:`call`: an async function is awaited, a sync one runs in a thread."""
        all_kwargs = {**self.partial_params, **kwargs}
        call_args, call_kwargs = _bind(self._async_fn or self._real_fn, args, all_kwargs)
        raw_output = await self.async_fn(*call_args, **call_kwargs)
        output = self._output(args, all_kwargs, raw_output)
        if self._async_callback is not None:
            return self._callback_result(await self._async_callback(output), output)
        if self._callback is not None:
            return self._callback_result(self._callback(output), output)
        return output

    def _output(self, args: tuple[Any, ...], kwargs: dict[str, Any], raw: Any) -> ToolOutput:
        raw_input = {"args": args, "kwargs": kwargs}
        name = self.metadata.get_name()
        if _is_block(raw):
            blocks = [raw]
        elif isinstance(raw, list | tuple) and raw and all(_is_block(item) for item in raw):
            blocks = list(raw)
        else:
            return ToolOutput(content=str(raw), tool_name=name, raw_input=raw_input, raw_output=raw)
        return ToolOutput(blocks=blocks, tool_name=name, raw_input=raw_input, raw_output=raw)

    @staticmethod
    def _callback_result(result: Any, output: ToolOutput) -> ToolOutput:
        if result is None:
            return output
        if isinstance(result, ToolOutput):
            return result
        return output.model_copy(update={"blocks": [TextBlock(text=str(result))]})


def _field_default(default: Any) -> Any:
    """A ``Field(...)`` default's value (``empty`` when the field is required)."""
    if not isinstance(default, FieldInfo):
        return default
    if default.is_required():
        return inspect.Parameter.empty
    return default.get_default(call_default_factory=True, validated_data={})


def _bind(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The call's arguments as ``fn`` takes them.

    Arguments come by name (the schema names every parameter), but a positional-only
    parameter (``def f(x, /)``, ``math.sqrt``) cannot be passed by name: it is moved to
    its position. A parameter whose default is ``Field(default=...)`` and that was not
    given gets the field's default, not the ``FieldInfo`` object itself.
    """
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # no signature to read: pass them as they are
        return args, kwargs
    positional = list(args)
    kwargs = dict(kwargs)
    leading = [p for p in params if p.kind is p.POSITIONAL_ONLY][len(args) :]
    if any(p.name in kwargs for p in leading):
        for param in leading:
            if param.name in kwargs:
                positional.append(kwargs.pop(param.name))
                continue
            default = _field_default(param.default)
            if default is inspect.Parameter.empty:
                break  # missing: the function says so
            positional.append(default)
    for i, param in enumerate(params):
        if (
            isinstance(param.default, FieldInfo)
            and param.kind
            in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY, param.POSITIONAL_ONLY)
            and i >= len(positional)
            and param.name not in kwargs
        ):
            default = _field_default(param.default)
            if default is inspect.Parameter.empty:
                continue
            if param.kind is param.POSITIONAL_ONLY:
                if i == len(positional):
                    positional.append(default)
            else:
                kwargs[param.name] = default
    return tuple(positional), kwargs


def _describe(name: str, fn: Callable[..., Any], partial_params: dict[str, Any]) -> str:
    """``name(signature)`` and the docstring, as LlamaIndex describes a function tool."""
    try:
        signature = inspect.signature(fn, eval_str=True)
    except Exception:
        signature = inspect.signature(fn)
    params = [p for p in signature.parameters.values() if p.name not in partial_params]
    signature = signature.replace(parameters=params)
    docstring = inspect.getdoc(fn)
    return f"{name}{signature}\n{docstring}" if docstring else f"{name}{signature}"


def tools_by_name(tools: Sequence[BaseTool]) -> dict[str, BaseTool]:
    """The tools by name.

    Raises:
        TypeError: An item is not a tool.
        ValueError: A tool has no name, or two tools share one.
    """
    named: dict[str, BaseTool] = {}
    for i, tool in enumerate(tools):
        if not isinstance(tool, BaseTool):
            raise TypeError(
                f"tools[{i}] is a {type(tool).__name__}, not a tool; wrap a function with "
                f"FunctionTool.from_defaults(fn)"
            )
        name = tool.metadata.get_name()
        if name in named:
            raise ValueError(f"two tools are named {name!r}; tool names must be unique")
        named[name] = tool
    return named
