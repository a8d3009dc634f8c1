from __future__ import annotations

import json
import random
from typing import Any

import pytest

from llmplug.structured._incremental_json import PartialJSONError, PartialJSONParser

DOCS: list[Any] = [
    {"a": 1, "b": [1, 2.5, -3e2, True, False, None], "c": {"d": {}, "e": []}, "f": "plain"},
    [{"name": "Ada", "age": 36}, {"name": "Bob", "tags": ["a", "b"]}, []],
    {"escapes": 'q"uote \\ back /slash \n\t\r\b\f', "u": "é ☃ \U0001f600", "n": 0, "m": -0.5},
    {"deep": {"deeper": {"deepest": [[[{"x": [1, {"y": "z"}]}]]]}}},
    {"big": 12345678901234567890, "exp": 1.5e-7, "neg": -0, "words": [True, None, False]},
]


def feed_in_pieces(parser: PartialJSONParser, text: str, sizes: list[int]) -> list[Any]:
    views = []
    i = 0
    for size in sizes:
        parser.feed(text[i : i + size])
        views.append(json.loads(json.dumps(parser.value)))  # a snapshot
        i += size
    return views


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["ascii", "unicode"])
@pytest.mark.parametrize("indent", [None, 2], ids=["compact", "indented"])
def test_any_split_gives_the_value(doc: Any, ensure_ascii: bool, indent: int | None) -> None:
    text = json.dumps(doc, ensure_ascii=ensure_ascii, indent=indent)
    expected = json.loads(text)
    rng = random.Random(7)
    for _ in range(60):
        parser = PartialJSONParser()
        sizes = []
        while sum(sizes) < len(text):
            sizes.append(rng.randint(1, 6))
        feed_in_pieces(parser, text, sizes)
        assert parser.done
        assert parser.value == expected


def test_one_character_at_a_time() -> None:
    text = json.dumps(DOCS[2])
    parser = PartialJSONParser()
    for ch in text:
        parser.feed(ch)
    assert parser.value == DOCS[2]


def test_prose_and_fences_around_the_value_are_skipped() -> None:
    parser = PartialJSONParser()
    parser.feed('Sure! Here it is:\n```json\n{"a": [1, ')
    parser.feed('2]}\n```\nAnything {"else": 1} is ignored.')
    assert parser.done
    assert parser.value == {"a": [1, 2]}


def test_the_value_as_it_grows() -> None:
    parser = PartialJSONParser()
    steps = ['{"na', 'me": "Ad', 'a", "age": 3', "6, ", '"ok": tr', "ue, ", '"tags": ["x"', "]}"]
    seen = feed_in_pieces(parser, "".join(steps), [len(s) for s in steps])
    assert seen == [
        {},
        {"name": "Ad"},  # a string shows as far as it came
        {"name": "Ada"},  # a number appears only when complete
        {"name": "Ada", "age": 36},
        {"name": "Ada", "age": 36},  # so do true/false/null
        {"name": "Ada", "age": 36, "ok": True},
        {"name": "Ada", "age": 36, "ok": True, "tags": ["x"]},
        {"name": "Ada", "age": 36, "ok": True, "tags": ["x"]},
    ]
    assert parser.done


def test_escapes_cut_between_pieces() -> None:
    text = json.dumps({"s": "a\u00e9\U0001f600\n"}, ensure_ascii=True)
    for cut in range(1, len(text)):
        parser = PartialJSONParser()
        parser.feed(text[:cut])
        _ = parser.value
        parser.feed(text[cut:])
        assert parser.value == {"s": "a\u00e9\U0001f600\n"}


def test_version_changes_only_with_the_value() -> None:
    parser = PartialJSONParser()
    parser.feed("Thinking about it... ")
    assert parser.version == 0
    assert not parser.started
    assert parser.value is None
    parser.feed('{"key')
    start = parser.version
    parser.feed('_more"')  # a key still arriving changes nothing visible
    assert parser.version == start
    parser.feed(': "v')
    assert parser.version > start


def test_closed_containers_are_reported() -> None:
    parser = PartialJSONParser()
    parser.feed('{"a": {"b": 1}, "c": [1, 2], "d": {"e": ')
    value = parser.value
    assert id(value["a"]) in parser.closed
    assert id(value["c"]) in parser.closed
    assert id(value["d"]) not in parser.closed
    assert id(value) not in parser.closed


def test_start_restricts_where_the_value_begins() -> None:
    parser = PartialJSONParser("{")
    parser.feed('[not this] but {"this": 1}')
    assert parser.value == {"this": 1}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"a" 1}', id="missing-colon"),
        pytest.param('{"a": 1 "b": 2}', id="missing-comma"),
        pytest.param('{"a": nope}', id="bad-word"),
        pytest.param('{"a": 01.}', id="bad-number"),
        pytest.param('{"a": "\\x"}', id="bad-escape"),
        pytest.param("{'a': 1}", id="single-quotes"),
        pytest.param('{"a": 1,}', id="trailing-comma"),
    ],
)
def test_invalid_json_raises_and_stops(text: str) -> None:
    parser = PartialJSONParser()
    with pytest.raises(PartialJSONError, match="at character"):
        parser.feed(text)
    assert parser.done
    parser.feed('{"more": 1}')  # ignored from then on


def test_error_position_counts_earlier_pieces() -> None:
    parser = PartialJSONParser()
    parser.feed('{"a": ')
    with pytest.raises(PartialJSONError) as caught:
        parser.feed("?")
    assert caught.value.position == 6


def test_max_depth_stops_deep_nesting() -> None:
    parser = PartialJSONParser(max_depth=3)
    parser.feed('{"a": [[1]], "b": ')
    assert parser.value == {"a": [[1]]}
    with pytest.raises(PartialJSONError, match="more than 3 nested"):
        parser.feed("[[[")
    assert parser.done
