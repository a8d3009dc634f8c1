"""Long structured streams: partials paced by their cost, each a prefix of the answer.

Also the pieces behind it: the builder's partials against a plain reference built with
``model_construct``, the parser's ``open_extent``, keys given twice, the shared strict
schema.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
from typing import Any

import pytest
from pydantic import BaseModel, Field

from llmplug import FlexibleModel, PromptTemplate
from llmplug.structured import (
    PartialBuilder,
    PartialJSONParser,
    create_flexible_model,
    output_schema,
    strict_json_schema,
)
from llmplug.testing import scripted

PROMPT = PromptTemplate("Write it.")


class Article(BaseModel):
    title: str
    body: str


class Item(BaseModel):
    name: str
    price: float
    tags: list[str]


class Catalog(BaseModel):
    title: str
    items: list[Item]


class Section(BaseModel):
    title: str
    sections: list[Section] = []


class Document(BaseModel):
    name: str
    sections: list[Section]


class Aliased(BaseModel):
    """Aliases, a dict field, a nested model and a list of them, an optional field."""

    full_name: str = Field(alias="fullName")
    meta: dict[str, Any] = {}
    best: Item | None = None
    items: list[Item] = []


def _chain(depth: int) -> dict[str, Any]:
    return {"title": f"level {depth}", "sections": [_chain(depth - 1)] if depth > 1 else []}


LONG = {
    "string": (Article, {"title": "Long", "body": " ".join(f"word{i}" for i in range(3000))}),
    "list": (
        Catalog,
        {
            "title": "Spring",
            "items": [
                {"name": f"item {i}", "price": i / 4, "tags": ["a", "b"]} for i in range(400)
            ],
        },
    ),
    "deep": (Document, {"name": "doc", "sections": [_chain(12) for _ in range(30)]}),
}


async def stream(model: type[BaseModel], text: str, form: str) -> tuple[list[Any], Any, int]:
    """The partials and the final object of a structured stream of ``text``, and its chunks."""
    llm = scripted(text, echo=False, native_json_schema=True)
    chunks = len(list(scripted(text).stream_chat([])))
    if form == "sync":
        items = list(llm.stream_structured_predict(model, PROMPT))
    else:
        items = [item async for item in await llm.astream_structured_predict(model, PROMPT)]
    return items[:-1], items[-1], chunks


def is_prefix(partial: Any, final: Any) -> bool:
    """Whether ``partial`` (a partial's dump) is what ``final`` looked like earlier."""
    if partial is None:
        return True
    if isinstance(final, dict):
        return isinstance(partial, dict) and all(
            key in final and is_prefix(value, final[key]) for key, value in partial.items()
        )
    if isinstance(final, list):
        if not isinstance(partial, list) or len(partial) > len(final):
            return False
        *done, last = partial or [None]
        return done == final[: len(done)] and (not partial or is_prefix(last, final[len(done)]))
    if isinstance(final, str):
        return isinstance(partial, str) and final.startswith(partial)
    return bool(partial == final)


@pytest.mark.parametrize("form", ["sync", "async"])
@pytest.mark.parametrize("shape", list(LONG))
async def test_long_answers_get_fewer_partials_each_a_prefix_of_the_answer(
    shape: str, form: str
) -> None:
    model, value = LONG[shape]
    text = json.dumps(value)
    partials, final, chunks = await stream(model, text, form)
    assert final == model.model_validate(value)
    dumps = [p.model_dump() for p in partials]
    # paced: fewer partials than chunks, but still streaming
    assert 20 < len(partials) < chunks / 2
    # each one a prefix of the answer, and of the next one
    expected = final.model_dump()
    assert all(is_prefix(dump, expected) for dump in dumps)
    assert all(is_prefix(a, b) for a, b in itertools.pairwise(dumps))
    # the last partial shows the whole answer, whatever the pacing skipped
    assert dumps[-1] == expected


@pytest.mark.parametrize("form", ["sync", "async"])
async def test_a_small_object_gets_a_partial_every_chunk_or_two(form: str) -> None:
    text = json.dumps({"title": "Rain", "body": "It fell and then it stopped."})
    llm = scripted(text, echo=False, stream_unit="char")
    if form == "sync":
        partials = list(llm.stream_structured_predict(Article, PROMPT))[:-1]
    else:
        gen = await llm.astream_structured_predict(Article, PROMPT)
        partials = [p async for p in gen][:-1]
    bodies = [p.body for p in partials if p.body is not None]
    assert bodies[-1] == "It fell and then it stopped."
    # one character per chunk: the string shows every one or every other
    assert all(0 < len(b) - len(a) <= 2 for a, b in itertools.pairwise(bodies))


@pytest.mark.parametrize("form", ["sync", "async"])
async def test_a_partial_object_is_not_changed_by_later_chunks(form: str) -> None:
    model, value = LONG["list"]
    partials, _, _ = await stream(model, json.dumps(value), form)
    snapshots = [json.dumps(p.model_dump()) for p in partials]
    assert [json.dumps(p.model_dump()) for p in partials] == snapshots


# -- the builder against a reference ---------------------------------------------------------


def reference(model: type[BaseModel] | None, value: Any) -> Any:
    """A partial built the plain way: ``model_construct`` all the way down."""
    if model is None or not isinstance(value, dict):
        return value
    fields: dict[str, Any] = {}
    for key, item in value.items():
        field = next((n for n, f in model.model_fields.items() if (f.alias or n) == key), None) or (
            key if key in model.model_fields else None
        )
        if field is None:
            fields[key] = item
            continue
        annotation = model.model_fields[field].annotation
        nested = _model_in(annotation)
        if isinstance(item, list) and nested is not None:
            fields[field] = [reference(nested, x) for x in item]
        else:
            fields[field] = reference(nested, item)
    return create_flexible_model(model).model_construct(**fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in getattr(candidate, "__args__", ()):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def same(built: Any, expected: Any) -> bool:
    if isinstance(expected, FlexibleModel):
        return (
            type(built) is type(expected)
            and built.model_fields_set == expected.model_fields_set
            and built.__pydantic_extra__ == expected.__pydantic_extra__
            and all(
                same(getattr(built, n), getattr(expected, n)) for n in type(expected).model_fields
            )
        )
    if isinstance(expected, list):
        return (
            isinstance(built, list)
            and len(built) == len(expected)
            and all(same(a, b) for a, b in zip(built, expected, strict=True))
        )
    return bool(built == expected)


ALIASED = {
    "fullName": 'Ada "Countess" Lovelace \u00e9\\n',
    "meta": {"born": 1815, "notes": ["analyst", {"engine": "analytical"}]},
    "best": {"name": "engine", "price": 1.5, "tags": ["brass"]},
    "items": [{"name": "a", "price": 1, "tags": []}, {"name": "b", "price": 2, "tags": ["x"]}],
    "extra": [1, 2, {"three": 3}],
    "full_name": "by its own name",
}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("model", "value"),
    [
        pytest.param(Aliased, ALIASED, id="aliases-extras-dicts"),
        pytest.param(Catalog, {"title": "c", "items": LONG["list"][1]["items"][:30]}, id="list"),
        pytest.param(Document, {"name": "d", "sections": [_chain(5), _chain(3)]}, id="deep"),
    ],
)
def test_partials_equal_the_plain_construction_at_every_step(
    model: type[BaseModel], value: dict[str, Any], seed: int
) -> None:
    text = json.dumps(value)
    pieces = random.Random(seed)
    parser = PartialJSONParser("{")
    builder = PartialBuilder(output_schema(model))
    i = 0
    while i < len(text):
        step = pieces.randint(1, 9)
        parser.feed(text[i : i + step])
        i += step
        if pieces.random() < 0.5:  # skipped builds: what pacing does
            continue
        built = builder.build(parser.value, parser.closed)
        assert same(built, reference(model, copy.deepcopy(parser.value)))


def test_a_key_given_again_keeps_its_last_value_at_the_end() -> None:
    text = '{"title": "first", "items": [], "title": "second", "items": [{"name": "x"}]}'
    parser = PartialJSONParser()
    builder = PartialBuilder(output_schema(Catalog))
    for ch in text:
        parser.feed(ch)
        built = builder.build(parser.value, parser.closed)
        assert same(built, reference(Catalog, copy.deepcopy(parser.value)))
    assert parser.value == json.loads(text)
    assert list(parser.value) == ["title", "items"]
    assert built.title == "second"
    assert [item.name for item in built.items] == ["x"]


# -- what the parser reports open -----------------------------------------------------------


def test_open_extent_counts_the_open_path() -> None:
    parser = PartialJSONParser()
    assert parser.open_extent() == (0, 0, 0, 0)
    parser.feed('{"a": 1, "b": [1, 2, {"c": "xy')
    # open: the root (2 entries), the array (3 items), the object (1 entry), a string of 2
    assert parser.open_extent() == (3, 3, 3, 2)
    parser.feed('z\\\\n"}, 3')
    assert parser.open_extent() == (2, 2, 3, 0)  # 3 is not placed yet: it may be 30
    parser.feed("]")
    assert parser.open_extent() == (1, 2, 0, 0)
    parser.feed(', "d": "')
    assert parser.open_extent() == (1, 3, 0, 0)
    parser.feed("long text")
    assert parser.open_extent() == (1, 3, 0, 9)
    parser.feed('", "d": {"e')
    # "d" given again: still 3 entries, its value now an object (the key "e" not placed yet)
    assert parser.open_extent() == (2, 3, 0, 0)
    parser.feed('": 1}}')
    assert parser.done
    assert parser.open_extent() == (0, 0, 0, 0)


def test_open_extent_matches_the_value_at_every_character() -> None:
    text = json.dumps(LONG["deep"][1]["sections"][0] | {"items": [[1, [2, 3]], {"k": [4]}]})
    parser = PartialJSONParser()
    for ch in text:
        parser.feed(ch)
        depth, entries, items, _ = parser.open_extent()
        node: Any = parser.value
        want = [0, 0, 0]
        while isinstance(node, dict | list) and id(node) not in parser.closed:
            want[0] += 1
            want[1 if isinstance(node, dict) else 2] += len(node)
            node = ((list(node.values()) if isinstance(node, dict) else node) or [None])[-1]
        assert [depth, entries, items] == want


# -- the strict schema is made once -----------------------------------------------------------


def test_the_strict_schema_is_made_once_per_output_class() -> None:
    schema = output_schema(Catalog)
    first, strict = schema.strict_json_schema()
    assert strict
    assert schema.strict_json_schema()[0] is first
    assert first["additionalProperties"] is False
    # the function still returns a new schema, leaving its input as it was
    again, _ = strict_json_schema(schema.json_schema)
    assert again == first
    assert again is not first
    assert "additionalProperties" not in schema.json_schema
