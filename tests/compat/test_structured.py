"""LlamaIndex's structured output examples: structured_predict, as_structured_llm,
streaming partial objects, and extraction with chat_with_tools; ported.

``OpenAI`` is the stand-in of ``_stand_ins``: with ``gpt-4o`` llmplug asks for the
schema through ``response_format``, with ``gpt-3.5-turbo`` (no structured outputs) it
forces a tool call; the script's objects answer either way. ``get_function_tool``
comes from ``llmplug.structured`` (LlamaIndex: ``llama_index.core.program
.function_program``). Notebook display calls (``IPython.display.clear_output``) are left
out: they are IPython's, not LlamaIndex's.
"""

from __future__ import annotations

import json
from datetime import datetime
from pprint import pprint

import pytest
from pydantic import BaseModel, Field

from ._stand_ins import Calls, Script

# pydantic 2 deprecates the pages' ``.dict()`` (LlamaIndex's examples get the warning too)
DICT_IS_DEPRECATED = pytest.mark.filterwarnings(
    "ignore:The `dict` method is deprecated:DeprecationWarning"
)

# --- example: https://developers.llamaindex.ai/python/framework/understanding/extraction/structured_llms/


class LineItem(BaseModel):
    """A line item in an invoice."""

    item_name: str = Field(description="The name of this item")
    price: float = Field(description="The price of this item")


class Invoice(BaseModel):
    """A representation of information from an invoice."""

    invoice_id: str = Field(description="A unique identifier for this invoice, often a number")
    date: datetime = Field(description="The date this invoice was created")
    line_items: list[LineItem] = Field(description="A list of all the items in this invoice")


# --- end

TEXT = "Uber receipt, 10 Oct 2024 19:49. Trip fare $12.18. Booking Fee $2.00."
INVOICE = {
    "invoice_id": "Visa 4469",
    "date": "2024-10-10T19:49:00",
    "line_items": [
        {"item_name": "Trip fare", "price": 12.18},
        {"item_name": "Booking Fee", "price": 2.0},
    ],
}


def test_structured_llm_complete(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/extraction/structured_llms/"""
    script.add(INVOICE)
    text = TEXT
    # --- example
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-4o")
    sllm = llm.as_structured_llm(Invoice)

    response = sllm.complete(text)

    json_response = json.loads(response.text)
    print(json.dumps(json_response, indent=2))

    pprint(response.raw)
    # --- end
    assert json_response == INVOICE
    assert response.raw == Invoice.model_validate(INVOICE)
    assert response.raw.date == datetime(2024, 10, 10, 19, 49)  # a datetime, not a str
    assert '"invoice_id": "Visa 4469"' in capsys.readouterr().out
    assert script.bodies[0]["response_format"]["json_schema"]["name"] == "Invoice"


def test_structured_predict_with_a_prompt(script: Script) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/extraction/structured_prediction/"""
    script.add({**INVOICE, "invoice_id": "Uber-2024-10-10"})
    text = TEXT
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-4o")
    # --- example
    from llmplug.prompts import PromptTemplate

    prompt = PromptTemplate(
        "Extract an invoice from the following text. If you cannot find an invoice ID, use "
        "the company name '{company_name}' and the date as the invoice ID: {text}"
    )

    response = llm.structured_predict(Invoice, prompt, text=text, company_name="Uber")

    json_output = response.model_dump_json()
    print(json.dumps(json.loads(json_output), indent=2))
    # --- end
    assert response.invoice_id == "Uber-2024-10-10"
    assert "use the company name 'Uber'" in script.bodies[0]["messages"][-1]["content"]


def test_chat_with_tools_extracts_one_object(script: Script) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/extraction/lower_level/"""
    script.add(Calls(("Invoice", INVOICE)))
    text = TEXT
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-4o")
    # --- example
    from llmplug.structured import get_function_tool

    tool = get_function_tool(Invoice)

    resp = llm.chat_with_tools(
        [tool],
        # chat_history=chat_history,  # can optionally pass in chat history instead of user_msg
        user_msg="Extract an invoice from the following text: " + text,
        tool_required=True,  # can optionally force the tool call
    )

    tool_calls = llm.get_tool_calls_from_response(resp, error_on_no_tool_calls=False)

    outputs = []
    for tool_call in tool_calls:
        if tool_call.tool_name == "Invoice":
            outputs.append(Invoice(**tool_call.tool_kwargs))

    # use your outputs
    print(outputs[0])
    # --- end
    assert outputs == [Invoice.model_validate(INVOICE)]
    sent = script.bodies[0]
    assert sent["tool_choice"] == "required"
    assert sent["tools"][0]["function"]["name"] == "Invoice"


def test_chat_with_tools_extracts_several_objects(script: Script) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/extraction/lower_level/"""
    items = INVOICE["line_items"]
    script.add(Calls(*[("LineItem", item) for item in items]))  # type: ignore[union-attr]
    text = TEXT
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-4o")
    # --- example
    from llmplug.structured import get_function_tool

    tool = get_function_tool(LineItem)

    resp = llm.chat_with_tools(
        [tool],
        user_msg="Extract line items from the following text: " + text,
        allow_parallel_tool_calls=True,
    )

    tool_calls = llm.get_tool_calls_from_response(resp, error_on_no_tool_calls=False)

    outputs = []
    for tool_call in tool_calls:
        if tool_call.tool_name == "LineItem":
            outputs.append(LineItem(**tool_call.tool_kwargs))

    # use your outputs
    print(outputs)
    # --- end
    assert outputs == [LineItem(**item) for item in items]  # type: ignore[union-attr]
    assert script.bodies[0]["parallel_tool_calls"] is True


def test_direct_prompting(script: Script) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/extraction/lower_level/"""
    script.add(json.dumps(INVOICE))
    text = TEXT
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-4o")
    # --- example
    schema = Invoice.model_json_schema()
    prompt = "Here is a JSON schema for an invoice: " + json.dumps(schema, indent=2)
    prompt += (
        """
  Extract an invoice from the following text.
  Format your output as a JSON object according to the schema above.
  Do not include any other text than the JSON object.
  Omit any markdown formatting. Do not include any preamble or explanation.
"""
        + text
    )

    response = llm.complete(prompt)

    print(response)

    invoice = Invoice.model_validate_json(response.text)

    pprint(invoice)
    # --- end
    assert invoice == Invoice.model_validate(INVOICE)


# --- example: https://developers.llamaindex.ai/python/examples/llm/openai/ (Structured Prediction)


class MenuItem(BaseModel):
    """A menu item in a restaurant."""

    course_name: str
    is_vegetarian: bool


class Restaurant(BaseModel):
    """A restaurant with name, city, and cuisine."""

    name: str
    city: str
    cuisine: str
    menu_items: list[MenuItem]


# --- end

RESTAURANT = {
    "name": "Tasty Bites",
    "city": "Dallas",
    "cuisine": "Italian",
    "menu_items": [
        {"course_name": "Appetizer", "is_vegetarian": True},
        {"course_name": "Main Course", "is_vegetarian": False},
    ],
}


def test_as_structured_llm_and_structured_predict(script: Script) -> None:
    """https://developers.llamaindex.ai/python/examples/llm/openai/ (Structured Prediction)"""
    script.add(RESTAURANT, {**RESTAURANT, "city": "Miami"})
    # --- example
    from llmplug.prompts import PromptTemplate

    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-3.5-turbo")
    prompt_tmpl = PromptTemplate("Generate a restaurant in a given city {city_name}")
    # Option 1: Use `as_structured_llm`
    restaurant_obj = (
        llm.as_structured_llm(Restaurant).complete(prompt_tmpl.format(city_name="Dallas")).raw
    )
    # Option 2: Use `structured_predict`
    # restaurant_obj = llm.structured_predict(Restaurant, prompt_tmpl, city_name="Miami")
    # --- end
    assert restaurant_obj == Restaurant.model_validate(RESTAURANT)
    restaurant_obj = llm.structured_predict(Restaurant, prompt_tmpl, city_name="Miami")
    assert restaurant_obj.city == "Miami"
    # gpt-3.5-turbo has no structured outputs: a forced tool call, on both paths
    assert [b["tool_choice"]["function"]["name"] for b in script.bodies] == ["Restaurant"] * 2


@DICT_IS_DEPRECATED
def test_structured_streaming(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/examples/llm/openai/

    (section "Structured Prediction with Streaming")
    """
    script.add({**RESTAURANT, "city": "Boston", "name": "Boston Bites"})
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-3.5-turbo")
    # --- example
    from llmplug import ChatMessage

    input_msg = ChatMessage.from_str("Generate a restaurant in Boston")

    sllm = llm.as_structured_llm(Restaurant)
    stream_output = sllm.stream_chat([input_msg])
    for partial_output in stream_output:
        pprint(partial_output.raw.dict())
        restaurant_obj = partial_output.raw

    restaurant_obj  # noqa: B018 - a notebook cell's last line, displayed
    # --- end
    boston = {**RESTAURANT, "city": "Boston", "name": "Boston Bites"}
    assert restaurant_obj == Restaurant.model_validate(boston)
    printed = capsys.readouterr().out
    assert printed.count("{") > 3  # partial objects as the arguments streamed in


# --- example: https://developers.llamaindex.ai/python/examples/structured_outputs/structured_outputs/


class Song(BaseModel):
    """Data model for a song."""

    title: str
    length_seconds: int


class Album(BaseModel):
    """Data model for an album."""

    name: str
    artist: str
    songs: list[Song]


# --- end

ALBUM = {
    "name": "The Shining: Original Soundtrack",
    "artist": "Various Artists",
    "songs": [
        {"title": "Main Title", "length_seconds": 180},
        {"title": "Rocky Mountains", "length_seconds": 210},
    ],
}


def test_structured_llm_chat(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/examples/structured_outputs/structured_outputs/"""
    script.add(ALBUM)
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-4o")
    # --- example
    from llmplug import ChatMessage

    sllm = llm.as_structured_llm(output_cls=Album)
    input_msg = ChatMessage.from_str("Generate an example album from The Shining")
    output = sllm.chat([input_msg])
    # get actual object
    output_obj = output.raw
    print(str(output))
    print(output_obj)
    # --- end
    assert output_obj == Album.model_validate(ALBUM)
    printed = capsys.readouterr().out.splitlines()
    # model_dump_json(), as LlamaIndex 0.14 writes it (the page shows an older json.dumps)
    assert printed[0].startswith('assistant: {"name":"The Shining: Original Soundtrack"')
    assert printed[1].startswith("name='The Shining: Original Soundtrack' artist=")


async def test_structured_llm_achat(script: Script) -> None:
    """https://developers.llamaindex.ai/python/examples/structured_outputs/structured_outputs/"""
    script.add(ALBUM)
    from llmplug import ChatMessage

    from ._stand_ins import OpenAI

    sllm = OpenAI(model="gpt-4o").as_structured_llm(output_cls=Album)
    input_msg = ChatMessage.from_str("Generate an example album from The Shining")
    # --- example
    output = await sllm.achat([input_msg])
    # get actual object
    output_obj = output.raw
    print(str(output))
    # --- end
    assert output_obj == Album.model_validate(ALBUM)


@DICT_IS_DEPRECATED
def test_structured_llm_stream_chat(script: Script, capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/examples/structured_outputs/structured_outputs/"""
    script.add(ALBUM)
    from llmplug import ChatMessage

    from ._stand_ins import OpenAI

    sllm = OpenAI(model="gpt-4o").as_structured_llm(output_cls=Album)
    input_msg = ChatMessage.from_str("Generate an example album from The Shining")
    # --- example
    stream_output = sllm.stream_chat([input_msg])
    for partial_output in stream_output:
        pprint(partial_output.raw.dict())

    output_obj = partial_output.raw
    # --- end
    assert output_obj == Album.model_validate(ALBUM)
    assert "'title': 'Rocky Mountains'" in capsys.readouterr().out


@DICT_IS_DEPRECATED
async def test_structured_llm_astream_chat(
    script: Script, capsys: pytest.CaptureFixture[str]
) -> None:
    """https://developers.llamaindex.ai/python/examples/structured_outputs/structured_outputs/"""
    script.add(ALBUM)
    from llmplug import ChatMessage

    from ._stand_ins import OpenAI

    sllm = OpenAI(model="gpt-4o").as_structured_llm(output_cls=Album)
    input_msg = ChatMessage.from_str("Generate an example album from The Shining")
    # --- example
    stream_output = await sllm.astream_chat([input_msg])
    async for partial_output in stream_output:
        pprint(partial_output.raw.dict())
    # --- end
    assert partial_output.raw == Album.model_validate(ALBUM)
    assert "'length_seconds': 210" in capsys.readouterr().out


def test_structured_predict_with_a_chat_prompt_template(script: Script) -> None:
    """https://developers.llamaindex.ai/python/examples/structured_outputs/structured_outputs/"""
    script.add({**ALBUM, "name": "Songs of Middle-earth"})
    # --- example
    # use query pipelines
    from llmplug import ChatMessage
    from llmplug.prompts import ChatPromptTemplate

    from ._stand_ins import OpenAI

    chat_prompt_tmpl = ChatPromptTemplate(
        message_templates=[
            ChatMessage.from_str("Generate an example album from {movie_name}", role="user")
        ]
    )

    llm = OpenAI(model="gpt-4o")
    album = llm.structured_predict(Album, chat_prompt_tmpl, movie_name="Lord of the Rings")
    album  # noqa: B018 - a notebook cell's last line, displayed
    # --- end
    assert album.name == "Songs of Middle-earth"
    sent = script.bodies[0]["messages"]
    assert sent[-1]["content"] == "Generate an example album from Lord of the Rings"
