"""LlamaIndex's "using LLMs" examples: complete, chat, streaming, async, model choice.

Each test is one example from LlamaIndex's documentation (the page is in its
docstring), with only its imports changed: ``llama_index.core.llms`` becomes
``llmplug``, ``llama_index.llms.openai`` the stand-in of ``_stand_ins`` (llmplug's
OpenAI provider over a mock transport). Between the ``# --- example`` and
``# --- end`` lines the code is the page's; around them, the test scripts the model's
replies and checks what the example printed and sent.
"""

from __future__ import annotations

from typing import Any

import pytest

from ._stand_ins import Script


def user_text(body: dict[str, Any]) -> str:
    """The text of the last user message of a request body."""
    content = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    return content if isinstance(content, str) else " ".join(p["text"] for p in content)


def test_standalone_text_completion(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/models/llms/usage_standalone/"""
    script.add("a programmer.", "an essayist and investor.")
    # --- example
    from ._stand_ins import OpenAI

    # non-streaming
    completion = OpenAI().complete("Paul Graham is ")
    print(completion)

    # using streaming endpoint
    from ._stand_ins import OpenAI

    llm = OpenAI()
    completions = llm.stream_complete("Paul Graham is ")
    for completion in completions:
        print(completion.delta, end="")
    # --- end
    assert capsys.readouterr().out == "a programmer.\nan essayist and investor."
    assert [user_text(b) for b in script.bodies] == ["Paul Graham is "] * 2
    assert [b.get("stream", False) for b in script.bodies] == [False, True]
    assert completion.text == "an essayist and investor."  # the accumulated text


def test_standalone_chat(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/models/llms/usage_standalone/"""
    script.add("Ahoy! Captain Rainbowbeard, at yer service.")
    # --- example
    from llmplug import ChatMessage

    from ._stand_ins import OpenAI

    messages = [
        ChatMessage(role="system", content="You are a pirate with a colorful personality"),
        ChatMessage(role="user", content="What is your name"),
    ]
    resp = OpenAI().chat(messages)
    print(resp)
    # --- end
    assert capsys.readouterr().out == "assistant: Ahoy! Captain Rainbowbeard, at yer service.\n"
    assert [m["role"] for m in script.bodies[0]["messages"]] == ["system", "user"]


def test_one_liner(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/using_llms/"""
    script.add("an English playwright and poet.")
    # --- example
    from ._stand_ins import OpenAI

    response = OpenAI().complete("William Shakespeare is ")
    print(response)
    # --- end
    assert capsys.readouterr().out == "an English playwright and poet.\n"


def test_stream_complete_handle(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/using_llms/"""
    script.add("widely regarded as the greatest writer in English.")
    from ._stand_ins import OpenAI

    # --- example
    handle = OpenAI().stream_complete("William Shakespeare is ")

    for token in handle:
        print(token.delta, end="", flush=True)
    # --- end
    assert capsys.readouterr().out == "widely regarded as the greatest writer in English."


async def test_acomplete_and_astream_complete(
    script: Script, capsys: pytest.CaptureFixture[str]
) -> None:
    """https://developers.llamaindex.ai/python/examples/llm/openai/ (Async)"""
    script.add("a computer scientist.", "an entrepreneur and essayist.")
    # --- example
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-3.5-turbo")
    resp = await llm.acomplete("Paul Graham is ")
    print(resp)
    resp = await llm.astream_complete("Paul Graham is ")
    async for delta in resp:
        print(delta.delta, end="")
    # --- end
    assert capsys.readouterr().out == "a computer scientist.\nan entrepreneur and essayist."


def test_chat_interface(script: Script) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/using_llms/"""
    script.add("Why did the chicken cross the road?")
    from llmplug import ChatMessage

    from ._stand_ins import OpenAI

    llm = OpenAI()
    # --- example
    messages = [
        ChatMessage(role="system", content="You are a helpful assistant."),
        ChatMessage(role="user", content="Tell me a joke."),
    ]
    chat_response = llm.chat(messages)
    # --- end
    assert chat_response.message.content == "Why did the chicken cross the road?"
    assert chat_response.message.role == "assistant"
    assert script.bodies[0]["messages"][0] == {
        "role": "system",
        "content": "You are a helpful assistant.",
    }


def test_stream_chat(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/using_llms/"""
    script.add("A joke, streamed word by word.")
    from llmplug import ChatMessage

    from ._stand_ins import OpenAI

    llm = OpenAI()
    messages = [
        ChatMessage(role="system", content="You are a helpful assistant."),
        ChatMessage(role="user", content="Tell me a joke."),
    ]
    # --- example
    stream_response = llm.stream_chat(messages)

    for token in stream_response:
        print(token.delta, end="", flush=True)
    # --- end
    assert capsys.readouterr().out == "A joke, streamed word by word."
    assert token.message.content == "A joke, streamed word by word."


async def test_astream_chat(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/using_llms/"""
    script.add("An async joke.")
    from llmplug import ChatMessage

    from ._stand_ins import OpenAI

    llm = OpenAI()
    messages = [
        ChatMessage(role="system", content="You are a helpful assistant."),
        ChatMessage(role="user", content="Tell me a joke."),
    ]
    # --- example
    stream_response = await llm.astream_chat(messages)

    async for token in stream_response:
        print(token.delta, end="", flush=True)
    # --- end
    assert capsys.readouterr().out == "An async joke."


def test_specifying_models(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/using_llms/"""
    script.add("Laurie Voss is a co-founder of npm.")
    # --- example
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-4o-mini")
    response = llm.complete("Who is Laurie Voss?")
    print(response)
    # --- end
    assert capsys.readouterr().out == "Laurie Voss is a co-founder of npm.\n"
    assert script.bodies[0]["model"] == "gpt-4o-mini"


def test_additional_kwargs(script: Script) -> None:
    """https://developers.llamaindex.ai/python/examples/llm/openai/ (Additional kwargs)"""
    script.add("a computer scientist.", "Ahoy!")
    from llmplug import ChatMessage

    # --- example
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-3.5-turbo", additional_kwargs={"user": "your_user_id"})
    resp = OpenAI().complete("Paul Graham is ")
    print(resp)
    # --- end
    # --- example
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-3.5-turbo", additional_kwargs={"user": "your_user_id"})
    messages = [
        ChatMessage(role="system", content="You are a pirate with a colorful personality"),
        ChatMessage(role="user", content="What is your name"),
    ]
    resp = llm.chat(messages)
    # --- end
    assert "user" not in script.bodies[0]  # the page's first cell calls a fresh OpenAI()
    assert script.bodies[1]["user"] == "your_user_id"
    assert resp.message.content == "Ahoy!"
