"""The mock provider and LlamaIndex's MockLLM."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

import llmplug
from llmplug import ChatMessage, ChatResponse, MockLLM, Usage
from llmplug.mock import MockChatLLM
from llmplug.testing import isolated_registry, scripted


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    with isolated_registry():
        yield


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


# -- MockLLM (LlamaIndex behaviour) ---------------------------------------------------------


def test_mock_llm_echoes_the_prompt() -> None:
    assert MockLLM().complete("hello").text == "hello"


@pytest.mark.parametrize("n", [1, 3, 7])
def test_mock_llm_max_tokens_gives_n_words(n: int) -> None:
    llm = MockLLM(max_tokens=n)
    assert llm.complete("ignored").text == " ".join(["text"] * n)
    chunks = list(llm.stream_complete("ignored"))
    assert len(chunks) == n
    assert chunks[-1].text == " ".join(["text"] * n)
    assert llm.metadata.num_output == n


def test_mock_llm_streams_character_by_character() -> None:
    chunks = list(MockLLM().stream_complete("abc"))
    assert [c.delta for c in chunks] == ["a", "b", "c"]
    assert [c.text for c in chunks] == ["a", "ab", "abc"]
    assert [c.delta for c in MockLLM().stream_complete("")] == [""]


def test_mock_llm_metadata_and_name() -> None:
    assert MockLLM.class_name() == "MockLLM"
    assert MockLLM().metadata.num_output == -1
    assert MockLLM().metadata.is_chat_model is False


def test_mock_llm_chat_goes_through_the_prompt() -> None:
    reply = MockLLM().chat([user("hi")]).message.content
    assert reply == "user: hi\nassistant: "


# -- the mock provider ----------------------------------------------------------------------


def test_scripted_replies_in_order_then_echo() -> None:
    llm = scripted("first", "second")
    assert [llm.chat([user("q")]).message.content for _ in range(3)] == ["first", "second", "q"]


def test_scripted_exception_is_raised_once() -> None:
    llm = scripted(TimeoutError("slow"), "ok")
    with pytest.raises(TimeoutError, match="slow"):
        llm.chat([user("q")])
    assert llm.chat([user("q")]).message.content == "ok"


def test_exhausted_script_without_echo_is_an_error() -> None:
    llm = scripted("only", echo=False)
    llm.chat([user("q")])
    with pytest.raises(RuntimeError, match="used up"):
        llm.chat([user("q")])


def test_scripted_chat_response_and_message_kept() -> None:
    response = ChatResponse(message=ChatMessage(role="assistant", content="x"), raw={"id": 1})
    llm = scripted(response, ChatMessage(role="assistant", content="y"))
    assert llm.chat([user("q")]).raw == {"id": 1}
    assert llm.chat([user("q")]).message.content == "y"


def test_max_tokens_truncates_words() -> None:
    assert scripted("a b c d", max_tokens=2).chat([user("q")]).message.content == "a b"


@pytest.mark.parametrize(
    ("text", "unit", "deltas"),
    [
        pytest.param("one two three", "word", ["one", " two", " three"], id="words"),
        pytest.param("a  b", "word", ["a", " ", " b"], id="double-space"),
        pytest.param("abc", "char", ["a", "b", "c"], id="chars"),
        pytest.param("", "word", [""], id="empty"),
    ],
)
def test_stream_deltas_join_to_the_text(text: str, unit: str, deltas: list[str]) -> None:
    chunks = list(scripted(text, stream_unit=unit).stream_chat([user("q")]))
    assert [c.delta for c in chunks] == deltas
    assert "".join(deltas) == chunks[-1].message.content == text
    assert chunks[-1].usage is not None
    assert all(c.usage is None for c in chunks[:-1])


def test_usage_counts_words() -> None:
    response = scripted("three word reply").chat([user("two words")])
    assert response.usage == Usage(input_tokens=2, output_tokens=3)


def test_calls_are_recorded_with_system_prompt() -> None:
    llm = scripted(system_prompt="S")
    llm.complete("x")
    assert [[m.content for m in call] for call in llm.calls] == [["S", "x"]]


def test_deterministic() -> None:
    a = [scripted().chat([user("same")]).model_dump() for _ in range(3)]
    assert a[0] == a[1] == a[2]


def test_loaded_from_a_config_string() -> None:
    llm = llmplug.load('mock:tiny?responses=["a","b"]&max_tokens=5&stream_unit=char')
    assert isinstance(llm, MockChatLLM)
    assert llm.metadata.model_name == "tiny"
    assert llm.responses == ["a", "b"]
    assert llm.max_tokens == 5
    assert [c.delta for c in llm.stream_chat([user("q")])] == ["a"]


def test_thread_safe_script_consumption() -> None:
    llm = scripted(*[str(i) for i in range(200)], echo=False)
    seen: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            text = llm.chat([user("q")]).message.content or ""
            with lock:
                seen.append(text)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen, key=int) == [str(i) for i in range(200)]


async def test_async_endpoints() -> None:
    llm = scripted("a b", "c")
    gen = await llm.astream_chat([user("q")])
    assert [c.delta async for c in gen] == ["a", " b"]
    assert (await llm.acomplete("q")).text == "c"
    results = await asyncio.gather(*(llm.achat([user(str(i))]) for i in range(5)))
    assert sorted(r.message.content or "" for r in results) == ["0", "1", "2", "3", "4"]


async def test_chunk_delay_allows_cancellation() -> None:
    llm = scripted("a b c d e f", chunk_delay=0.01)
    gen = await llm.astream_chat([user("q")])
    first = await gen.__anext__()
    await gen.aclose()
    assert first.delta == "a"
