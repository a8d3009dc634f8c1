"""FunctionTool: a tool that calls a Python function, sync or async.

Its name, description and argument schema are read from the function (signature, type
hints, docstring)::

    def get_weather(city: Annotated[str, "The city's name"], days: int = 1) -> str: ...

    tool = FunctionTool.from_defaults(get_weather)
    tool.metadata.to_openai_tool()  # name, description, JSON schema of the arguments
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from llmplug.llm._bridges import run_in_thread
from llmplug.tools._types import AsyncBaseTool, ToolMetadata, ToolOutput
from llmplug.types._blocks import TextBlock

__all__ = ["FunctionTool"]

AsyncCallable = Callable[..., Coroutine[Any, Any, Any]]
CallbackReturn = Any  # a ToolOutput replacing the output, a str replacing its content, or None
CallbackFunction = Callable[["ToolOutput"], CallbackReturn]
AsyncCallbackFunction = Callable[["ToolOutput"], Coroutine[Any, Any, CallbackReturn]]


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
            # parameters the model does not fill: the fixed ones, and ``self`` of an
            # unbound method (``Holder.method``), which LlamaIndex leaves out too
            hidden = {*partial_params, *_unbound_self(source)}
            if description is None:
                description = _describe(name, source, hidden)
            if fn_schema is None:
                # lazy for lightness: docstring parsing loads when a tool is first built
                from llmplug.tools._function_schema import function_schema

                fn_schema = function_schema(name, source, ignore=hidden)
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


def _unbound_self(fn: Callable[..., Any]) -> tuple[str, ...]:
    """``("self",)`` when ``fn``'s first parameter is ``self`` (a method taken from its class)."""
    try:
        first = next(iter(inspect.signature(fn).parameters.values()), None)
    except (TypeError, ValueError):  # no signature to read
        return ()
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    unbound = first is not None and first.name == "self" and first.kind in positional
    return ("self",) if unbound else ()


def _describe(name: str, fn: Callable[..., Any], hidden: set[str]) -> str:
    """``name(signature)`` and the docstring, as LlamaIndex describes a function tool."""
    try:
        signature = inspect.signature(fn, eval_str=True)
    except Exception:
        signature = inspect.signature(fn)
    params = [p for p in signature.parameters.values() if p.name not in hidden]
    signature = signature.replace(parameters=params)
    docstring = inspect.getdoc(fn)
    return f"{name}{signature}\n{docstring}" if docstring else f"{name}{signature}"
