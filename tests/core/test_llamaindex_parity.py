"""Nine behaviours that must match LlamaIndex 0.14 (issue 12), each sync and async.

Each section names the behaviour; LlamaIndex itself is not imported (it is not a test
dependency): where its objects matter, stand-ins of the same shape are used.
"""

from __future__ import annotations

import base64
import io
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import AnyUrl, BaseModel

from llmplug import (
    AudioBlock,
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    DocumentBlock,
    FunctionTool,
    ImageBlock,
    LLMMetadata,
    MockLLM,
    PromptTemplate,
    PydanticOutputParser,
    VideoBlock,
)
from llmplug.errors import InvalidOptionError, StructuredOutputError, UnsupportedContentError
from llmplug.llm import llm_chat_callback, llm_completion_callback
from llmplug.mock import MockChatLLM
from llmplug.testing import isolated_registry, recording_hooks, scripted, tool_call
from llmplug.tools import parse_param_docs


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    with isolated_registry():
        yield


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 24
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"


class Echo(CustomLLM):
    """A CustomLLM as LlamaIndex's docs write one (decorators and all)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(callback_manager=None, **kwargs)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata()

    @llm_completion_callback()
    def complete(self, prompt: str, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=prompt, additional_kwargs={"finish": "stop"})

    @llm_completion_callback()
    def stream_complete(self, prompt: str, **kwargs: Any) -> CompletionResponseGen:
        text = ""
        for ch in prompt:
            text += ch
            yield CompletionResponse(text=text, delta=ch, additional_kwargs={"finish": None})


async def collect(result: Any) -> list[Any]:
    """Every chunk of a sync or async stream."""
    if hasattr(result, "__aiter__"):
        return [chunk async for chunk in result]
    return list(result)


# -- 1. binary blocks take file-like buffers ------------------------------------------------

BINARY = [
    pytest.param(ImageBlock, "image", PNG, "image_mimetype", "image/png", id="image"),
    pytest.param(AudioBlock, "audio", WAV, "format", "wav", id="audio"),
    pytest.param(VideoBlock, "video", MP4, "video_mimetype", "video/mp4", id="video"),
    pytest.param(DocumentBlock, "data", PDF, "document_mimetype", "application/pdf", id="doc"),
]


def _resolver(block: Any, asynchronous: bool) -> Callable[..., Any]:
    name = f"resolve_{block.block_type}"  # resolve_image, resolve_document...
    return getattr(block, f"a{name}" if asynchronous else name)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("cls", "field", "data", "type_field", "guessed"), BINARY)
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_binary_blocks_take_a_bytes_buffer(
    cls: Any, field: str, data: bytes, type_field: str, guessed: str, mode: str
) -> None:
    buffer = io.BytesIO(data)
    buffer.seek(5)
    block = cls(**{field: buffer})
    resolve = _resolver(block, mode == "async")
    resolved = await resolve() if mode == "async" else resolve()
    assert resolved.read() == data
    assert getattr(block, type_field) == guessed  # sniffed, as from bytes
    assert buffer.tell() == 5  # the caller's buffer is left where it was
    # stored as base64: the block survives JSON (LlamaIndex's cannot be dumped to JSON)
    assert cls.model_validate_json(block.model_dump_json()) == block


def test_a_file_opened_rb_is_a_buffer(tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    with path.open("rb") as file:
        block = ImageBlock(image=file)
    assert block.resolve_image().read() == PNG
    assert base64.b64decode(block.resolve_image(as_base64=True).read()) == PNG


def test_a_text_buffer_is_refused_with_what_to_give() -> None:
    with pytest.raises(ValueError, match=r"text buffer \(StringIO\).*io\.BytesIO"):
        DocumentBlock(data=io.StringIO("hello"))


async def test_an_empty_buffer_resolves_to_the_zero_bytes_error() -> None:
    block = ImageBlock(image=io.BytesIO(b""))
    with pytest.raises(ValueError, match="resolve_image returned zero bytes"):
        block.resolve_image()
    with pytest.raises(ValueError, match="resolve_image returned zero bytes"):
        await block.aresolve_image()


# -- 2. image/audio/video URLs are pydantic's AnyUrl -------------------------------------------

URL_BLOCKS = [
    pytest.param(ImageBlock, id="image"),
    pytest.param(AudioBlock, id="audio"),
    pytest.param(VideoBlock, id="video"),
]


@pytest.mark.parametrize("cls", URL_BLOCKS)
def test_urls_are_any_urls(cls: Any) -> None:
    block = cls(url="https://Example.com/media/x.png?v=2")
    assert isinstance(block.url, AnyUrl)
    assert block.url == AnyUrl("https://example.com/media/x.png?v=2")
    assert (block.url.scheme, block.url.host, block.url.path) == (
        "https",
        "example.com",
        "/media/x.png",
    )
    assert block.model_dump()["url"] == block.url  # python mode keeps the object
    assert '"url":"https://example.com/media/x.png?v=2"' in block.model_dump_json()
    assert cls.model_validate_json(block.model_dump_json()) == block
    assert cls(url=AnyUrl("https://example.com/a")).url == AnyUrl("https://example.com/a")


def test_a_document_url_stays_text_as_in_llamaindex() -> None:
    block = DocumentBlock(url="https://Example.com/a.pdf")
    assert block.url == "https://Example.com/a.pdf"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_an_any_url_resolves(mode: str) -> None:
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    block = ImageBlock(url=url)
    resolved = await block.aresolve_image() if mode == "async" else block.resolve_image()
    assert resolved.read() == PNG
    assert block.inline_url() == url


def test_a_malformed_url_says_why() -> None:
    with pytest.raises(ValueError, match=r"'https://' is not a valid URL: .*empty host"):
        ImageBlock(url="https://")


def test_pydantic_networks_loads_with_the_first_url_not_with_messages() -> None:
    # import cost (bench/bench_import.py measures it): building messages without a URL
    # must not import pydantic.networks; the first URL block does
    code = (
        "import sys, llmplug\n"
        "llm = llmplug.load('mock')\n"
        "llm.chat([llmplug.ChatMessage('hi')])\n"
        "llmplug.ImageBlock(image=b'x')\n"
        "print('pydantic.networks' in sys.modules)\n"
        "llmplug.ImageBlock(url='https://example.com/a.png')\n"
        "print('pydantic.networks' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


# -- 3. argument errors: at the call, with LlamaIndex's exception types ------------------------

LLMS = [pytest.param(Echo, id="custom-llm"), pytest.param(lambda: scripted(), id="chat-llm")]


@pytest.mark.parametrize("make", LLMS)
@pytest.mark.parametrize("endpoint", ["complete", "stream_complete"])
def test_no_prompt_is_a_value_error(make: Callable[[], Any], endpoint: str) -> None:
    with pytest.raises(ValueError, match=rf"{endpoint}\(\) got no prompt"):
        getattr(make(), endpoint)()


@pytest.mark.parametrize("make", LLMS)
@pytest.mark.parametrize("endpoint", ["acomplete", "astream_complete"])
async def test_no_prompt_is_a_value_error_async(make: Callable[[], Any], endpoint: str) -> None:
    with pytest.raises(ValueError, match=rf"{endpoint}\(\) got no prompt"):
        await getattr(make(), endpoint)()


STREAM_MISTAKES = [
    pytest.param("stream_complete", ("p",), {"prompt": "p"}, "multiple values", id="prompt-twice"),
    pytest.param("stream_complete", ("p", False, 1), {}, "too many positional", id="too-many"),
    pytest.param("stream_complete", (1,), {}, "take a prompt str", id="not-a-str"),
    pytest.param("stream_chat", ([],), {"messages": []}, "multiple values", id="messages-twice"),
    pytest.param("stream_chat", ("hi",), {}, "list of ChatMessage", id="str-messages"),
]


@pytest.mark.parametrize("make", LLMS)
@pytest.mark.parametrize(("endpoint", "args", "kwargs", "match"), STREAM_MISTAKES)
@pytest.mark.parametrize("hooked", [False, True], ids=["no-hooks", "hooks"])
def test_stream_argument_errors_raise_at_the_call(
    make: Callable[[], Any],
    endpoint: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    match: str,
    hooked: bool,
) -> None:
    llm = make()
    with recording_hooks() if hooked else isolated_registry() as recorder:
        with pytest.raises(TypeError, match=match):
            getattr(llm, endpoint)(*args, **kwargs)  # no next(): the call itself raises
        if hooked:
            assert recorder.events == []  # refused before any hook saw a call


@pytest.mark.parametrize("make", LLMS)
@pytest.mark.parametrize(("endpoint", "args", "kwargs", "match"), STREAM_MISTAKES)
async def test_async_stream_argument_errors_raise_at_the_await(
    make: Callable[[], Any],
    endpoint: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    match: str,
) -> None:
    with pytest.raises(TypeError, match=match):
        await getattr(make(), f"a{endpoint}")(*args, **kwargs)  # no anext()


@pytest.mark.parametrize("make", LLMS)
def test_complete_refuses_extra_arguments_it_would_drop(make: Callable[[], Any]) -> None:
    llm = make()
    with pytest.raises(TypeError, match="3 positional arguments"):
        llm.complete("p", False, "extra")
    with pytest.raises(TypeError, match=r"multiple values for (argument )?'formatted'"):
        llm.complete("p", True, formatted=True)


@pytest.mark.parametrize("endpoint", ["chat", "stream_chat"])
def test_messages_that_are_not_chat_messages_are_also_value_errors(endpoint: str) -> None:
    # LlamaIndex validates them with pydantic: a ValidationError, hence a ValueError
    for exc in (TypeError, ValueError):
        with pytest.raises(exc, match="list of ChatMessage"):
            getattr(scripted(), endpoint)("hi")


async def test_messages_that_are_not_chat_messages_async() -> None:
    with pytest.raises(ValueError, match=r"messages\[0\] is a str"):
        await scripted().achat(["hi"])


# -- 4. structured output errors are ValueErrors ------------------------------------------------


class City(BaseModel):
    name: str
    population: int


@pytest.mark.parametrize("mode", ["sync", "async", "stream", "astream"])
async def test_structured_output_errors_are_caught_as_value_errors(mode: str) -> None:
    llm = scripted("no JSON here", "still none", echo=False)
    prompt = PromptTemplate("Describe {city}")
    caught: ValueError | None = None
    try:
        if mode == "sync":
            llm.structured_predict(City, prompt, city="Paris")
        elif mode == "async":
            await llm.astructured_predict(City, prompt, city="Paris")
        elif mode == "stream":
            list(llm.stream_structured_predict(City, prompt, city="Paris"))
        else:
            await collect(await llm.astream_structured_predict(City, prompt, city="Paris"))
    except ValueError as exc:  # what LlamaIndex code catches
        caught = exc
    assert isinstance(caught, StructuredOutputError)
    assert caught.raw == "still none"


def test_the_output_parser_raises_value_errors() -> None:
    parser = PydanticOutputParser(output_cls=City)
    with pytest.raises(ValueError, match="City"):
        parser.parse('{"name": "Paris", "population": "many"}')
    with pytest.raises(ValueError, match="JSON"):
        parser.parse("no json at all")


def test_the_error_tree_carries_llamaindex_builtins() -> None:
    assert issubclass(StructuredOutputError, ValueError)
    assert issubclass(UnsupportedContentError, TypeError)
    assert issubclass(UnsupportedContentError, ValueError)


# -- 5. tool_required is left out for overrides that do not declare it -------------------------


class OldIntegration(MockChatLLM):
    """A FunctionCallingLLM written before LlamaIndex added tool_required."""

    def _prepare_chat_with_tools(  # type: ignore[override]
        self,
        tools: Sequence[Any],
        user_msg: Any = None,
        chat_history: Any = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        # its **kwargs go to the API as they are: tool_required must not reach them
        return super()._prepare_chat_with_tools(
            tools, user_msg, chat_history, verbose, allow_parallel_tool_calls, **kwargs
        )


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


TOOL_CALLS = ["chat_with_tools", "achat_with_tools", "stream_chat_with_tools"]
TOOL_CALLS.append("astream_chat_with_tools")


async def call_tools(llm: Any, method: str, **kwargs: Any) -> ChatResponse:
    result = getattr(llm, method)([FunctionTool.from_defaults(add)], "2+3?", **kwargs)
    if method.startswith("a"):
        result = await result
    if "stream" in method:
        return (await collect(result))[-1]  # type: ignore[no-any-return]
    return result  # type: ignore[no-any-return]


@pytest.mark.parametrize("method", TOOL_CALLS)
async def test_tool_required_left_out_with_a_warning(
    method: str, caplog: pytest.LogCaptureFixture
) -> None:
    llm = OldIntegration(responses=[tool_call("add", {"a": 2, "b": 3})], function_calling=True)
    with caplog.at_level(logging.WARNING, logger="llmplug"):
        response = await call_tools(llm, method, tool_required=True)
    assert response.message.blocks[-1].tool_name == "add"  # type: ignore[union-attr]
    assert "tool_required" not in llm.call_options[0]
    assert "tool_required=True is not supported by OldIntegration" in caplog.text


@pytest.mark.parametrize("method", TOOL_CALLS)
async def test_tool_required_false_needs_no_warning(
    method: str, caplog: pytest.LogCaptureFixture
) -> None:
    llm = OldIntegration(responses=["5"], function_calling=True)
    with caplog.at_level(logging.WARNING, logger="llmplug"):
        await call_tools(llm, method)
    assert caplog.records == []


@pytest.mark.parametrize("method", TOOL_CALLS)
async def test_tool_required_reaches_overrides_that_declare_it(method: str) -> None:
    llm = scripted(tool_call("add", {"a": 2, "b": 3}), function_calling=True)
    await call_tools(llm, method, tool_required=True)
    assert llm.call_options[0]["tool_choice"].mode == "required"


# -- 6. Javadoc @param lines --------------------------------------------------------------------


def forecast(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    @param city the city's name, as people write it: e.g. Paris
        (continued on the next line)
    @param days how many days ahead
    @return the forecast
    """
    return f"{city}: sunny for {days} day(s)"


def test_javadoc_param_lines_describe_the_arguments() -> None:
    props = FunctionTool.from_defaults(forecast).metadata.get_parameters_dict()["properties"]
    assert props["city"]["description"] == (
        "the city's name, as people write it: e.g. Paris (continued on the next line)"
    )
    assert props["days"]["description"] == "how many days ahead"


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        pytest.param("@param x the x", {"x": "the x"}, id="javadoc"),
        pytest.param("@param x: the x", {"x": "the x"}, id="epytext"),
        pytest.param(":param int x: the x", {"x": "the x"}, id="sphinx-typed"),
        pytest.param("@param *rest more: things", {"rest": "more: things"}, id="javadoc-star"),
    ],
)
def test_param_line_styles(doc: str, expected: dict[str, str]) -> None:
    assert parse_param_docs(doc) == expected


# -- 7. an unbound method's self is not a tool argument -----------------------------------------


class Calculator:
    factor: int = 10

    def scale(self, x: int) -> int:
        """Multiply x by the factor."""
        return x * self.factor


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_unbound_method_drops_self(mode: str) -> None:
    tool = FunctionTool.from_defaults(Calculator.scale)
    schema = tool.metadata.get_parameters_dict()
    assert list(schema["properties"]) == ["x"]
    assert schema["required"] == ["x"]
    assert tool.metadata.description.startswith("scale(x: int) -> int")
    # a bound method is a tool as it is
    bound = FunctionTool.from_defaults(Calculator().scale)
    assert bound.metadata.get_parameters_dict() == schema
    output = await bound.acall(x=2) if mode == "async" else bound.call(x=2)
    assert output.raw_output == 20


# -- 8. chat derived from complete: additional_kwargs on the message ----------------------------


@pytest.mark.parametrize("endpoint", ["chat", "achat", "stream_chat", "astream_chat"])
async def test_completion_additional_kwargs_go_on_the_message(endpoint: str) -> None:
    result = getattr(Echo(), endpoint)([ChatMessage(role="user", content="hi")])
    if endpoint.startswith("a"):
        result = await result
    responses = await collect(result) if "stream" in endpoint else [result]
    last = responses[-1]
    expected = {"finish": "stop"} if "stream" not in endpoint else {"finish": None}
    assert last.message.additional_kwargs == expected
    assert last.additional_kwargs == {}  # as in LlamaIndex


@pytest.mark.parametrize("endpoint", ["complete", "acomplete", "stream_complete"])
async def test_completion_derived_from_chat_merges_both_additional_kwargs(endpoint: str) -> None:
    reply = ChatResponse(
        message=ChatMessage(role="assistant", content="ok", additional_kwargs={"a": 1, "b": 1}),
        additional_kwargs={"b": 2},
    )
    llm = scripted(reply)
    result = getattr(llm, endpoint)("hi")
    if endpoint.startswith("a"):
        result = await result
    last = (await collect(result))[-1] if "stream" in endpoint else result
    assert last.additional_kwargs == {"a": 1, "b": 2}
    assert reply.message.additional_kwargs == {"a": 1, "b": 1}  # unchanged (LlamaIndex's is)


# -- 9. callback_manager=None, as LlamaIndex CustomLLMs pass it ---------------------------------


def _llamaindex_callback_manager(handlers: list[Any]) -> Any:
    """A stand-in with the class name, module and ``handlers`` of LlamaIndex's."""
    cls = type("CallbackManager", (), {"__module__": "llama_index.core.callbacks.base"})
    manager = cls()
    manager.handlers = handlers
    return manager


class LlamaDebugHandler:
    pass


@pytest.mark.parametrize(
    "manager",
    [
        pytest.param(None, id="none"),
        pytest.param(_llamaindex_callback_manager([]), id="empty-manager"),
    ],
)
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_callback_manager_that_does_nothing_is_accepted(manager: Any, mode: str) -> None:
    llm = MockLLM(callback_manager=manager)
    response = await llm.acomplete("hi") if mode == "async" else llm.complete("hi")
    assert response.text == "hi"
    assert "callback_manager" not in llm.model_dump()


def test_the_custom_llm_idiom_passes_none() -> None:
    assert Echo().complete("hi").text == "hi"  # super().__init__(callback_manager=None)


@pytest.mark.parametrize(
    ("manager", "match"),
    [
        pytest.param(
            _llamaindex_callback_manager([LlamaDebugHandler()]),
            r"LlamaIndex callback handlers \(LlamaDebugHandler\), which llmplug never calls",
            id="handlers",
        ),
        pytest.param(object(), r"callback_manager=object\(\.\.\.\) is not used", id="other"),
    ],
)
def test_any_other_callback_manager_points_to_hooks(manager: Any, match: str) -> None:
    with pytest.raises(InvalidOptionError, match=match) as caught:
        scripted(callback_manager=manager)
    assert "hook plugin" in str(caught.value)
    assert "docs/plugins/hooks.md" in str(caught.value)
    assert caught.value.option == "callback_manager"


def test_the_chat_callback_decorator_keeps_the_endpoint() -> None:
    def chat(self: Any, messages: Any, **kwargs: Any) -> Any:
        return messages

    assert llm_chat_callback()(chat) is chat
    assert llm_completion_callback()(chat) is chat


# -- beyond the list: LlamaIndex's query_wrapper_prompt -----------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_query_wrapper_prompt_wraps_completion_prompts(mode: str) -> None:
    llm = MockLLM(system_prompt="Be brief.", query_wrapper_prompt="<s>[INST] {query_str} [/INST]")
    if mode == "sync":
        text = llm.complete("Hi").text
        predicted = llm.predict(PromptTemplate("Q: {q}"), q="why")
    else:
        text = (await llm.acomplete("Hi")).text
        predicted = await llm.apredict(PromptTemplate("Q: {q}"), q="why")
    # the system prompt first, then the wrapper, as LlamaIndex's _extend_prompt
    assert text == "<s>[INST] Be brief.\n\nHi [/INST]"
    assert predicted == "<s>[INST] Be brief.\n\nQ: why [/INST]"
    assert llm.complete("raw", formatted=True).text == "raw"  # a formatted prompt is final


def test_query_wrapper_prompt_takes_a_template_and_needs_query_str() -> None:
    wrapped = MockLLM(query_wrapper_prompt=PromptTemplate("<{query_str}>")).complete("x").text
    assert wrapped == "<x>"
    with pytest.raises(ValueError, match=r"must contain \{query_str\}"):
        MockLLM(query_wrapper_prompt="no variable here")


# -- beyond the list: get_function_tool, for extraction with chat_with_tools --------------------


class Point(BaseModel):
    """A point on a plane."""

    x: int
    y: int = 0


class Label(BaseModel):
    text: str


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_get_function_tool_builds_the_model(mode: str) -> None:
    from llmplug.structured import get_function_tool

    tool = get_function_tool(Point)
    assert (tool.metadata.name, tool.metadata.description) == ("Point", "A point on a plane.")
    assert tool.metadata.get_parameters_dict()["required"] == ["x"]
    output = await tool.acall(x=1) if mode == "async" else tool.call(x=1)
    assert output.raw_output == Point(x=1)
    assert get_function_tool(Label).call("hi").raw_output == Label(text="hi")  # one field
    assert get_function_tool(Point).call({"x": 2, "y": 3}).raw_output == Point(x=2, y=3)


def test_get_function_tool_takes_a_model_class() -> None:
    from llmplug.structured import get_function_tool

    with pytest.raises(TypeError, match="pydantic model class"):
        get_function_tool(Point(x=1))  # type: ignore[arg-type]
