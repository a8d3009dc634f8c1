"""The LLM base classes: derived endpoints, prompt preparation, async bridging."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest
from pydantic import Field, ValidationError

import llmplug
from llmplug import (
    LLM,
    BaseOutputParser,
    ChatLLM,
    ChatMessage,
    ChatPromptTemplate,
    ChatResponse,
    CompletionResponse,
    CustomLLM,
    LLMMetadata,
    MessageRole,
    PromptTemplate,
    PydanticProgramMode,
)
from llmplug.testing import isolated_registry


@pytest.fixture(autouse=True)
def _no_installed_plugins() -> Iterator[None]:
    with isolated_registry():
        yield


class Completer(CustomLLM):
    """Completion-first: records the prompts it receives."""

    seen: list[tuple[str, bool]] = Field(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="completer")

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.seen.append((prompt, formatted))
        return CompletionResponse(text=f"<{prompt}>")

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> Iterator[CompletionResponse]:
        self.seen.append((prompt, formatted))
        text = ""
        for piece in ("a", "b", "c"):
            text += piece
            yield CompletionResponse(text=text, delta=piece)


class Chatter(ChatLLM):
    """Chat-first: records the messages it receives."""

    seen: list[list[ChatMessage]] = Field(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True, model_name="chatter")

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        self.seen.append(list(messages))
        return ChatResponse(message=ChatMessage(role="assistant", content="reply"))

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Iterator[ChatResponse]:
        self.seen.append(list(messages))
        text = ""
        for piece in ("re", "ply"):
            text += piece
            yield ChatResponse(message=ChatMessage(role="assistant", content=text), delta=piece)


class NativeAsyncChatter(Chatter):
    """Chat-first with native async; counts which path ran."""

    native_calls: int = 0

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        self.native_calls += 1
        self.seen.append(list(messages))
        return ChatResponse(message=ChatMessage(role="assistant", content="native"))

    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> AsyncIterator[ChatResponse]:
        # an async generator function, not a coroutine returning one: both are accepted
        self.native_calls += 1
        self.seen.append(list(messages))
        yield ChatResponse(message=ChatMessage(role="assistant", content="na"), delta="na")
        yield ChatResponse(message=ChatMessage(role="assistant", content="native"), delta="tive")


def user(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=text)


# -- derived endpoints and prompt preparation ----------------------------------------------


def test_custom_llm_chat_goes_through_messages_to_prompt() -> None:
    llm = Completer(seen=[])
    response = llm.chat([user("hi")])
    assert response.message.role == MessageRole.ASSISTANT
    assert response.message.content == "<user: hi\nassistant: >"
    assert llm.seen == [("user: hi\nassistant: ", True)]


def test_custom_llm_system_prompt_on_both_paths() -> None:
    llm = Completer(seen=[], system_prompt="Be brief.")
    llm.chat([user("hi")])
    llm.complete("hi")
    assert llm.seen == [
        ("system: Be brief.\nuser: hi\nassistant: ", True),
        ("Be brief.\n\nhi", True),
    ]


def test_completion_to_prompt_applied_once_and_not_when_formatted() -> None:
    llm = Completer(seen=[], completion_to_prompt=lambda p: f"[INST]{p}[/INST]")
    llm.complete("x")
    llm.complete("y", formatted=True)
    list(llm.stream_complete("z"))
    assert llm.seen == [("[INST]x[/INST]", True), ("y", True), ("[INST]z[/INST]", True)]


def test_custom_messages_to_prompt() -> None:
    llm = Completer(seen=[], messages_to_prompt=lambda ms: "|".join(m.content or "" for m in ms))
    llm.chat([user("a"), user("b")])
    assert llm.seen == [("a|b", True)]


def test_none_callables_fall_back_to_defaults() -> None:
    llm = Completer(seen=[], messages_to_prompt=None, completion_to_prompt=None)
    llm.complete("x")
    assert llm.seen == [("x", True)]


def test_chat_llm_complete_sends_one_user_message_with_system_prompt() -> None:
    llm = Chatter(seen=[], system_prompt="Sys")
    assert llm.complete("hello").text == "reply"
    (messages,) = llm.seen
    assert [(m.role, m.content) for m in messages] == [
        (MessageRole.SYSTEM, "Sys"),
        (MessageRole.USER, "hello"),
    ]


def test_system_prompt_not_added_when_messages_have_one() -> None:
    llm = Chatter(seen=[], system_prompt="Sys")
    llm.chat([ChatMessage(role="system", content="Mine"), user("x")])
    assert [m.content for m in llm.seen[0]] == ["Mine", "x"]


def test_system_prompt_added_once_and_caller_list_untouched() -> None:
    llm = Chatter(seen=[], system_prompt="Sys")
    history = [user("x")]
    llm.chat(history)
    assert len(history) == 1
    assert [m.role for m in llm.seen[0]] == [MessageRole.SYSTEM, MessageRole.USER]


def test_streamed_deltas_join_to_final_text() -> None:
    chunks = list(Chatter(seen=[]).stream_complete("x"))
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].text == "reply"
    chat_chunks = list(Completer(seen=[]).stream_chat([user("x")]))
    assert [c.message.content for c in chat_chunks] == ["a", "ab", "abc"]


@pytest.mark.parametrize(
    ("call", "bad"),
    [
        pytest.param("chat", "a string", id="chat-str"),
        pytest.param("chat", [{"role": "user", "content": "x"}], id="chat-dict"),
        pytest.param("stream_chat", "a string", id="stream-chat-str"),
        pytest.param("complete", [user("x")], id="complete-list"),
    ],
)
def test_wrong_argument_types_are_explained(call: str, bad: Any) -> None:
    for llm in (Chatter(seen=[]), Completer(seen=[])):
        with pytest.raises(TypeError, match=r"ChatMessage|prompt str"):
            getattr(llm, call)(bad)


def test_unknown_field_rejected() -> None:
    with pytest.raises(ValidationError, match="temprature"):
        Chatter(temprature=1)


def test_llm_abstract_methods_required() -> None:
    class Incomplete(ChatLLM):
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata()

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()  # type: ignore[abstract]


def test_class_name_and_defaults() -> None:
    assert CustomLLM.class_name() == "custom_llm"
    assert Chatter.class_name() == "Chatter"
    llm = Chatter()
    assert llm.pydantic_program_mode is PydanticProgramMode.DEFAULT
    assert llm.output_parser is None
    assert llm.system_prompt is None
    assert llm.convert_chat_messages([user("x")]) == [user("x")]
    assert llm.provider_label == "Chatter"
    assert "messages_to_prompt" not in repr(llm)


def test_full_llm_subclass_implements_all_four() -> None:
    class Full(LLM):
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(is_chat_model=True)

        def chat(self, messages: Sequence[ChatMessage], **kw: Any) -> ChatResponse:
            return ChatResponse(message=ChatMessage(role="assistant", content="c"))

        def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
            return CompletionResponse(text=f"{prompt}/{formatted}")

        def stream_chat(self, messages: Sequence[ChatMessage], **kw: Any) -> Any:
            yield self.chat(messages)

        def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
            yield self.complete(prompt, formatted)

    llm = Full(system_prompt="S")
    assert llm.complete("p").text == "S\n\np/True"
    assert [c.text for c in llm.stream_complete("p", formatted=True)] == ["p/True"]
    assert asyncio.run(llm.acomplete("q")).text == "S\n\nq/True"


# -- predict / stream ------------------------------------------------------------------


class Upper(BaseOutputParser):
    def parse(self, output: str) -> Any:
        return output.upper()

    def format(self, query: str) -> str:
        return query + " (answer in caps)"


def test_predict_chat_model_uses_chat() -> None:
    llm = Chatter(seen=[])
    assert llm.predict(PromptTemplate("Say {x}"), x="hi") == "reply"
    assert llm.seen[0][-1].content == "Say hi"


def test_predict_completion_model_uses_complete() -> None:
    llm = Completer(seen=[], system_prompt="S")
    assert llm.predict(PromptTemplate("Say {x}"), x="hi") == "<S\n\nSay hi>"
    assert llm.seen == [("S\n\nSay hi", True)]


def test_predict_chat_prompt_template() -> None:
    llm = Chatter(seen=[])
    template = ChatPromptTemplate.from_messages([("system", "You are {who}"), ("user", "{q}")])
    llm.predict(template, who="terse", q="why?")
    assert [(m.role, m.content) for m in llm.seen[0]] == [
        (MessageRole.SYSTEM, "You are terse"),
        (MessageRole.USER, "why?"),
    ]


def test_predict_honours_output_parser() -> None:
    llm = Completer(seen=[], output_parser=Upper())
    assert llm.predict(PromptTemplate("q")) == "<Q (ANSWER IN CAPS)>"
    chat_llm = Chatter(seen=[], output_parser=Upper())
    assert chat_llm.predict(PromptTemplate("q")) == "REPLY"


def test_prompt_output_parser_formats_but_does_not_parse() -> None:
    # LlamaIndex's semantics: the template's parser shapes the prompt; only the LLM's
    # parser parses the output (a pydantic parser would otherwise come back as a repr)
    llm = Chatter(seen=[])
    assert llm.predict(PromptTemplate("q", output_parser=Upper())) == "reply"
    assert llm.seen[0][-1].content == "q (answer in caps)"


def test_chat_model_with_completion_metadata_gets_one_system_prompt() -> None:
    class Plain(Chatter):
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata()  # is_chat_model=False: predict takes the completion path

    llm = Plain(seen=[], system_prompt="Be terse.")
    llm.predict(PromptTemplate("Q: {q}"), q="why?")
    assert [(m.role, m.content) for m in llm.seen[0]] == [
        (MessageRole.USER, "Be terse.\n\nQ: why?")
    ]


def test_assignment_is_validated() -> None:
    llm = Chatter()
    with pytest.raises(ValidationError):
        llm.pydantic_program_mode = "nonsense"  # type: ignore[assignment]


def test_stream_yields_deltas() -> None:
    assert list(Chatter(seen=[]).stream(PromptTemplate("x"))) == ["re", "ply"]
    assert list(Completer(seen=[]).stream(PromptTemplate("x"))) == ["a", "b", "c"]


async def test_apredict_and_astream() -> None:
    assert await Chatter(seen=[]).apredict(PromptTemplate("x")) == "reply"
    assert await Completer(seen=[]).apredict(PromptTemplate("x")) == "<x>"
    gen = await Chatter(seen=[]).astream(PromptTemplate("x"))
    assert [t async for t in gen] == ["re", "ply"]
    gen = await Completer(seen=[]).astream(PromptTemplate("x"))
    assert [t async for t in gen] == ["a", "b", "c"]


async def test_stream_with_output_parser_is_a_clear_error() -> None:
    llm = Chatter(output_parser=Upper())
    with pytest.raises(ValueError, match="output parser"):
        llm.stream(PromptTemplate("x"))
    with pytest.raises(ValueError, match="predict"):
        await Chatter().astream(PromptTemplate("x", output_parser=Upper()))


# -- async -----------------------------------------------------------------------------


async def test_async_shapes() -> None:
    llm = Chatter(seen=[])
    assert (await llm.achat([user("x")])).message.content == "reply"
    assert (await llm.acomplete("x")).text == "reply"
    gen = await llm.astream_chat([user("x")])
    assert [c.delta async for c in gen] == ["re", "ply"]
    gen2 = await llm.astream_complete("x")
    assert [c.text async for c in gen2] == ["re", "reply"]


async def test_native_async_used_for_derived_async_completion() -> None:
    llm = NativeAsyncChatter(seen=[], system_prompt="S")
    assert (await llm.acomplete("x")).text == "native"
    gen = await llm.astream_complete("x")
    assert [c.delta async for c in gen] == ["na", "tive"]
    assert llm.native_calls == 2
    assert all(m[0].content == "S" for m in llm.seen)


async def test_custom_llm_async_chat_derived_from_async_complete() -> None:
    llm = Completer(seen=[], system_prompt="S")
    assert (await llm.achat([user("x")])).message.content == "<system: S\nuser: x\nassistant: >"
    gen = await llm.astream_chat([user("x")])
    assert [c.message.content async for c in gen] == ["a", "ab", "abc"]


class Blocking(ChatLLM):
    """A sync provider that blocks until released, to prove the loop stays free."""

    release: Any = Field(default_factory=threading.Event)
    closed: Any = Field(default_factory=threading.Event)
    waiting: Any = Field(default_factory=threading.Event)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True)

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        assert self.release.wait(10), "the event loop was blocked"
        return ChatResponse(message=ChatMessage(role="assistant", content="done"))

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Iterator[ChatResponse]:
        try:
            yield ChatResponse(message=ChatMessage(role="assistant", content="1"), delta="1")
            self.waiting.set()
            assert self.release.wait(10), "the event loop was blocked"
            yield ChatResponse(message=ChatMessage(role="assistant", content="12"), delta="2")
            yield ChatResponse(message=ChatMessage(role="assistant", content="123"), delta="3")
        finally:
            self.closed.set()


async def test_achat_without_native_async_does_not_block_the_loop() -> None:
    llm = Blocking()
    task = asyncio.create_task(llm.achat([user("x")]))
    await asyncio.sleep(0.01)  # the loop runs while chat() waits in its worker thread
    assert not task.done()
    llm.release.set()
    assert (await task).message.content == "done"


async def test_bridged_stream_delivers_chunks_as_they_come() -> None:
    llm = Blocking()
    gen = await llm.astream_chat([user("x")])
    first = await gen.__anext__()  # arrives while the provider is still blocked
    assert first.delta == "1"
    llm.release.set()
    assert [c.delta async for c in gen] == ["2", "3"]
    assert llm.closed.is_set()


async def test_bridged_stream_closed_when_consumer_stops() -> None:
    llm = Blocking()
    gen = await llm.astream_chat([user("x")])
    async for chunk in gen:
        assert chunk.delta == "1"
        break
    await gen.aclose()
    assert await asyncio.to_thread(llm.closed.wait, 5)


async def test_bridged_stream_closed_when_task_cancelled_mid_chunk() -> None:
    llm = Blocking()
    got: list[str] = []

    async def consume() -> None:
        gen = await llm.astream_chat([user("x")])
        async for chunk in gen:
            got.append(chunk.delta or "")

    task = asyncio.create_task(consume())
    assert await asyncio.to_thread(llm.waiting.wait, 5)
    task.cancel()  # the worker is blocked inside next() at this point
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not llm.closed.is_set()
    llm.release.set()  # the pending chunk finishes, then the generator is closed
    assert await asyncio.to_thread(llm.closed.wait, 5)
    assert got == ["1"]


async def test_concurrent_async_calls_run_in_parallel_threads() -> None:
    llm = Blocking()
    tasks = [asyncio.create_task(llm.achat([user(str(i))])) for i in range(8)]
    await asyncio.sleep(0.01)
    llm.release.set()
    results = await asyncio.gather(*tasks)
    assert [r.message.content for r in results] == ["done"] * 8


def test_top_level_names_resolve() -> None:
    for name in llmplug.__all__:
        assert getattr(llmplug, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        llmplug.Nope  # noqa: B018


SPAN: contextvars.ContextVar[str] = contextvars.ContextVar("span", default="-")


class Traced(ChatLLM):
    """A sync stream holding a context variable across its yields (a tracing span)."""

    closed_in: list[str] = Field(default_factory=list)
    closed: Any = Field(default_factory=threading.Event)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True)

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return ChatResponse(message=ChatMessage(role="assistant", content="x"))

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Iterator[ChatResponse]:
        token = SPAN.set("open")
        try:
            for piece in ("a", "b", "c"):
                yield ChatResponse(
                    message=ChatMessage(role="assistant", content=piece), delta=SPAN.get()
                )
        finally:
            SPAN.reset(token)  # raises if a later step ran in another context
            self.closed_in.append(threading.current_thread().name)
            self.closed.set()


async def test_bridged_stream_keeps_one_context_across_yields() -> None:
    llm = Traced()
    gen = await llm.astream_chat([user("x")])
    assert [c.delta async for c in gen] == ["open", "open", "open"]
    assert SPAN.get() == "-"


async def test_bridged_stream_is_closed_in_a_worker_not_on_the_loop() -> None:
    llm = Traced()
    gen = await llm.astream_chat([user("x")])
    async for _ in gen:
        break
    await gen.aclose()
    assert await asyncio.to_thread(llm.closed.wait, 5)
    assert llm.closed_in[0] != threading.current_thread().name


def test_check_call_options_for_providers() -> None:
    llm = Chatter()
    llm.check_call_options({"temperature": 0}, ["temperature", "stop"])
    with pytest.raises(llmplug.errors.InvalidOptionError) as info:
        llm.check_call_options({"temperatur": 0}, ["temperature", "stop"])
    assert "did you mean 'temperature'" in str(info.value)
    assert info.value.valid_options == ["temperature", "stop"]
    with pytest.raises(llmplug.errors.InvalidOptionError, match="only be set when loading"):
        llm.check_call_options({"system_prompt": "x"}, ["temperature"])


def test_call_option_error_names_the_option_and_hides_secrets() -> None:
    class Keyed(Chatter):
        api_key: str | None = None
        temperature: float = 0.0

    llm = Keyed()
    with pytest.raises(ValidationError) as bad:
        Keyed(temperature="hot")
    error = llm.call_option_error(bad.value, ["temperature"])
    assert str(error).startswith("[Keyed] invalid option value for a call: temperature='hot'")
    assert error.option == "temperature"
    assert error.valid_options == ["temperature"]
    with pytest.raises(ValidationError) as secret:
        Keyed(api_key=["sk-CANARY"])  # a secret of the wrong type: the value is not shown
    message = str(llm.call_option_error(secret.value, ["temperature"]))
    assert "api_key=<redacted>" in message
    assert "sk-CANARY" not in message
