"""LlamaIndex's function calling and tool examples: FunctionTool, predict_and_call,
parallel calls, async; ported.

``llama_index.core.tools`` becomes ``llmplug.tools``; ``OpenAI`` is the stand-in of
``_stand_ins``. The agent lines of the tools page (``ReActAgent``, ``FunctionAgent``)
are LlamaIndex's agent layer, which llmplug does not have (docs/llamaindex.md).
"""

from __future__ import annotations

import json
from typing import Annotated

import pytest
from pydantic import BaseModel

from ._stand_ins import Calls, Script

# --- example: https://developers.llamaindex.ai/python/examples/llm/openai/ (Function Calling)


class Song(BaseModel):
    """A song with name and artist"""

    name: str
    artist: str


def generate_song(name: str, artist: str) -> Song:
    """Generates a song with provided name and artist."""
    return Song(name=name, artist=artist)


# --- end


def test_predict_and_call(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/examples/llm/openai/ (Function Calling)"""
    script.add(Calls(("generate_song", {"name": "Random Vibes", "artist": "DJ Chill"})))
    # --- example
    from llmplug.tools import FunctionTool

    from ._stand_ins import OpenAI

    tool = FunctionTool.from_defaults(fn=generate_song)

    llm = OpenAI(model="gpt-4o-mini", strict=True)
    response = llm.predict_and_call(
        [tool],
        "Pick a random song for me",
        # strict=True  # can also be set at the function level to override the class
    )
    print(str(response))
    # --- end
    assert capsys.readouterr().out == "name='Random Vibes' artist='DJ Chill'\n"
    spec = script.bodies[0]["tools"][0]["function"]
    assert spec["name"] == "generate_song"
    # the signature (the return type as its qualified name) and the docstring, as LlamaIndex
    assert spec["description"].startswith("generate_song(name: str, artist: str) -> ")
    assert spec["description"].endswith(".Song\nGenerates a song with provided name and artist.")
    assert set(spec["parameters"]["properties"]) == {"name", "artist"}
    assert script.bodies[0]["parallel_tool_calls"] is False


def test_multiple_function_calls(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/examples/llm/openai/ (Function Calling)"""
    songs = ["Hey Jude", "Let It Be", "Yesterday", "Come Together", "Help!"]
    script.add(Calls(*[("generate_song", {"name": s, "artist": "The Beatles"}) for s in songs]))
    from llmplug.tools import FunctionTool

    from ._stand_ins import OpenAI

    tool = FunctionTool.from_defaults(fn=generate_song)
    # --- example
    llm = OpenAI(model="gpt-3.5-turbo")
    response = llm.predict_and_call(
        [tool],
        "Generate five songs from the Beatles",
        allow_parallel_tool_calls=True,
    )
    for s in response.sources:
        print(f"Name: {s.tool_name}, Input: {s.raw_input}, Output: {s!s}")
    # --- end
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "Name: generate_song, Input: {'args': (), 'kwargs': {'name': 'Hey Jude', "
        "'artist': 'The Beatles'}}, Output: name='Hey Jude' artist='The Beatles'"
    )
    assert len(lines) == 5
    assert script.bodies[0]["parallel_tool_calls"] is True


async def test_async_function_calling(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/examples/llm/openai/ (Async)"""
    script.add(Calls(("generate_song", {"name": "Sunshine", "artist": "John Smith"})))
    from llmplug.tools import FunctionTool

    from ._stand_ins import OpenAI

    tool = FunctionTool.from_defaults(fn=generate_song)
    # --- example
    llm = OpenAI(model="gpt-3.5-turbo")
    response = await llm.apredict_and_call([tool], "Generate a song")
    print(str(response))
    # --- end
    assert capsys.readouterr().out == "name='Sunshine' artist='John Smith'\n"


def test_tool_calling_in_using_llms(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/using_llms/ (Tool Calling)

    The page's ``generate_song`` is annotated ``-> Song`` but returns a dict.
    """
    script.add(Calls(("generate_song", {"name": "Uptown", "artist": "Bruno"})))
    # --- example
    from llmplug.tools import FunctionTool

    from ._stand_ins import OpenAI

    def generate_song(name: str, artist: str) -> Song:
        """Generates a song with provided name and artist."""
        return {"name": name, "artist": artist}  # type: ignore[return-value]

    tool = FunctionTool.from_defaults(fn=generate_song)

    llm = OpenAI(model="gpt-4o")
    response = llm.predict_and_call(
        [tool],
        "Pick a random song for me",
    )
    print(str(response))
    # --- end
    assert capsys.readouterr().out == "{'name': 'Uptown', 'artist': 'Bruno'}\n"
    assert response.sources[0].raw_output == {"name": "Uptown", "artist": "Bruno"}


def test_function_tool_from_a_function() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/deploying/agents/tools/"""
    # --- example
    from llmplug.tools import FunctionTool

    def get_weather(location: str) -> str:
        """Usfeful for getting the weather for a given location."""
        ...

    tool = FunctionTool.from_defaults(
        get_weather,
        # async_fn=aget_weather,  # optional!
    )
    # --- end
    assert tool.metadata.name == "get_weather"
    assert tool.metadata.description == (
        "get_weather(location: str) -> str\nUsfeful for getting the weather for a given location."
    )
    assert tool.metadata.get_parameters_dict() == {
        "properties": {"location": {"title": "Location", "type": "string"}},
        "required": ["location"],
        "type": "object",
    }


async def test_function_tool_with_an_async_fn() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/deploying/agents/tools/"""

    async def aget_weather(location: str) -> str:
        """Usfeful for getting the weather for a given location."""
        return f"sunny in {location}"

    # --- example
    from llmplug.tools import FunctionTool

    def get_weather(location: str) -> str:
        """Usfeful for getting the weather for a given location."""
        return f"rainy in {location}"

    tool = FunctionTool.from_defaults(
        get_weather,
        async_fn=aget_weather,  # optional!
    )
    # --- end
    assert tool.call(location="Oslo").content == "rainy in Oslo"
    assert (await tool.acall(location="Oslo")).content == "sunny in Oslo"


def test_annotated_argument_descriptions() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/deploying/agents/tools/"""
    from llmplug.tools import FunctionTool

    # --- example
    def get_weather(
        location: Annotated[str, "A city name and state, formatted like '<name>, <state>'"],
    ) -> str:
        """Useful for getting the weather for a given location."""
        ...

    tool = FunctionTool.from_defaults(get_weather)
    # --- end
    props = tool.metadata.get_parameters_dict()["properties"]
    assert props["location"]["description"] == (
        "A city name and state, formatted like '<name>, <state>'"
    )


def test_name_and_description_override_and_debugging() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/deploying/agents/tools/"""
    from llmplug.tools import FunctionTool

    def get_weather(location: str) -> str:
        """Useful for getting the weather for a given location."""
        ...

    # --- example
    tool = FunctionTool.from_defaults(get_weather, name="weather", description="The weather.")

    schema = tool.metadata.get_parameters_dict()
    print(schema)
    # --- end
    assert (tool.metadata.name, tool.metadata.description) == ("weather", "The weather.")
    openai_tool = tool.metadata.to_openai_tool()
    assert openai_tool["function"]["name"] == "weather"
    assert openai_tool["function"]["parameters"] == schema
    assert json.dumps(schema)  # plain JSON


def test_return_direct_is_kept() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/deploying/agents/tools/

    (section "Return Direct")
    """
    from llmplug.tools import FunctionTool

    def lookup(query: str) -> str:
        """Look it up."""
        return query

    tool = FunctionTool.from_defaults(
        lookup, name="<name>", description="<description>", return_direct=True
    )
    assert tool.metadata.return_direct is True
