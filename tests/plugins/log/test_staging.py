"""llmplug-log's staged batches: packed rows, old JSON batches, unreadable batches, options."""

from __future__ import annotations

import json
import logging
import marshal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from pydantic import ConfigDict

import llmplug
import llmplug_log
from llmplug import ChatMessage, ImageBlock, MockLLM, TextBlock
from llmplug_log import CallLog, LogStore
from llmplug_log._records import (
    expand_message,
    format_id,
    id_number,
    message_json,
    new_id,
    process_prefix,
)
from llmplug_log._staging import FORMAT, pack, pack_row, unpack
from llmplug_log._store import COLUMNS, MIGRATIONS, connect

PREFIX = marshal.dumps("0123456789")  # a batch's first object: its process's id prefix
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def rows(path: Path) -> list[dict[str, Any]]:
    store = LogStore(path)
    try:
        return store.calls(llmplug_log.Filters(), None)
    finally:
        store.close()


def a_row(call_id: str, prompt: str) -> tuple[Any, ...]:
    values: dict[str, Any] = dict.fromkeys(COLUMNS)
    values.update(
        id=call_id,
        conversation_id=call_id,
        started_at=1767225600.5,
        provider="mock",
        model="m",
        endpoint="chat",
        options={"model": "m"},
        messages=[("user", prompt)],
        prompt=prompt,
        response="answer",
        cancelled=0,
        cache_hit=0,
    )
    return tuple(values[name] for name in COLUMNS)


def test_messages_are_read_back_as_their_json_whatever_form_they_were_kept_in(
    log: CallLog, path: Path
) -> None:
    plain = ChatMessage(role="user", content="just text")
    image = ChatMessage(role="user", blocks=[TextBlock(text="look"), ImageBlock(image=PNG)])
    tagged = ChatMessage(role="user", content="tagged", additional_kwargs={"name": "ann"})
    llm = llmplug.load("mock")
    llm.chat([plain, image, tagged])
    log.flush()
    (row,) = rows(path)
    kept = json.loads(row["messages"])
    assert kept[0] == {"role": "user", "blocks": [{"block_type": "text", "text": "just text"}]}
    assert kept[0] == message_json(plain)  # the short form expands to what the long one is
    assert kept[1]["blocks"][1]["ref"]["bytes"] == len(PNG)
    assert kept[2]["additional_kwargs"] == {"name": "ann"}
    assert row["prompt"] == "tagged"


def test_values_marshal_cannot_pack_are_kept_as_json_writes_them() -> None:
    class Colour(StrEnum):
        RED = "red"

    class Opaque:
        def __str__(self) -> str:
            return "opaque"

    packed = pack_row(("x", Colour.RED, {"k": Opaque()}))
    assert marshal.loads(packed) == ("x", "red", {"k": "opaque"})
    row = list(a_row("odd", "p"))
    row[COLUMNS.index("options")] = {"colour": Colour.RED, "thing": Opaque()}
    (unpacked,) = unpack(pack([pack_row(tuple(row))]), len(COLUMNS))
    options = json.loads(unpacked[COLUMNS.index("options")])
    assert options == {"colour": "red", "thing": "opaque"}


def test_batches_staged_as_json_by_schema_version_2_are_still_read(path: Path) -> None:
    old = connect(path, migrations=MIGRATIONS[:2])
    row = list(a_row("old", "staged as JSON"))
    row[COLUMNS.index("messages")] = [message_json(ChatMessage(role="user", content="x"))]
    old.execute("INSERT INTO staged (rows) VALUES (?)", (json.dumps([row]),))
    old.close()
    store = LogStore(path)
    try:
        store.write([pack_row(a_row("new", "packed"))])
        found = store.calls(llmplug_log.Filters(), None)
    finally:
        store.close()
    assert [r["prompt"] for r in found] == ["staged as JSON", "packed"]  # the order written
    assert json.loads(found[0]["options"]) == {"model": "m"}
    assert json.loads(found[1]["messages"])[0]["blocks"][0]["text"] == "packed"


@pytest.mark.parametrize(
    ("form", "batch", "problem"),
    [
        pytest.param(FORMAT, b"\x00not marshal", "not a packed batch", id="garbage"),
        pytest.param(FORMAT, marshal.dumps([1, 2]), "id prefix", id="no-prefix"),
        pytest.param(FORMAT, PREFIX + marshal.dumps([1, 2]), "not 26 values", id="not-rows"),
        pytest.param(
            FORMAT,
            PREFIX + marshal.dumps((*a_row("c", "p")[:-1], {1, 2})),
            "a set in column",
            id="set",
        ),
        pytest.param(FORMAT, "text", "not bytes", id="text"),
        pytest.param("zstd-9", b"...", "unknown to this llmplug-log", id="unknown-format"),
    ],
)
def test_an_unreadable_batch_stays_staged_and_the_others_are_read(
    path: Path, caplog: pytest.LogCaptureFixture, form: str, batch: Any, problem: str
) -> None:
    store = LogStore(path)
    try:
        store.write([pack_row(a_row("before", "first"))])
        store.db.execute("INSERT INTO staged (rows, format) VALUES (?, ?)", (batch, form))
        store.write([pack_row(a_row("after", "second"))])
        with caplog.at_level(logging.WARNING, logger="llmplug_log"):
            found = store.calls(llmplug_log.Filters(), None)
        left = store.db.execute("SELECT COUNT(*) FROM staged").fetchone()[0]
    finally:
        store.close()
    assert [r["prompt"] for r in found] == ["first", "second"]
    assert left == 1  # kept, not dropped
    assert "left unread" in caplog.text
    assert problem in caplog.text


def test_unpack_reads_a_batch_of_several_rows() -> None:
    batch = pack([pack_row(a_row(str(i), f"p{i}")) for i in range(3)])
    unpacked = unpack(batch, len(COLUMNS))
    assert [r[COLUMNS.index("prompt")] for r in unpacked] == ["p0", "p1", "p2"]
    messages = unpacked[0][COLUMNS.index("messages")]
    assert json.loads(messages) == [expand_message(("user", "p0"))]


def test_options_follow_the_llm_when_it_changes_between_calls(log: CallLog, path: Path) -> None:
    llm: Any = llmplug.load("mock?max_tokens=5")
    messages = [ChatMessage(role="user", content="hi")]
    llm.chat(messages)
    llm.max_tokens = 7  # assignment: the log reads the options again
    llm.chat(messages)
    llm.chat(messages, max_tokens=9)  # the call's own options, over the model's
    llm.chat(messages)
    log.flush()
    assert [json.loads(r["options"])["max_tokens"] for r in rows(path)] == [5, 7, 9, 7]


def test_options_follow_an_llm_that_does_not_validate_assignments(log: CallLog, path: Path) -> None:
    class Loose(MockLLM):
        model_config = ConfigDict(**{**MockLLM.model_config, "validate_assignment": False})

    llm = Loose(max_tokens=5)
    messages = [ChatMessage(role="user", content="hi")]
    llm.chat(messages)
    llm.max_tokens = 7  # the same __dict__, changed in place
    llm.chat(messages)
    log.flush()
    assert [json.loads(r["options"])["max_tokens"] for r in rows(path)] == [5, 7]


def test_ids_kept_as_numbers_are_written_out_with_the_batchs_prefix() -> None:
    number = id_number()
    row = list(a_row("x", "p"))
    row[COLUMNS.index("id")] = number
    row[COLUMNS.index("conversation_id")] = None
    (unpacked,) = unpack(pack([pack_row(tuple(row))]), len(COLUMNS))
    call_id = unpacked[COLUMNS.index("id")]
    assert call_id == format_id(number, process_prefix())
    assert len(call_id) == 28
    assert call_id[12:22] == process_prefix()
    assert unpacked[COLUMNS.index("conversation_id")] == call_id  # its own conversation
    assert new_id() > call_id  # ids sort by time, then by count


def test_a_parent_call_id_given_out_as_text_is_the_id_its_row_has(log: CallLog, path: Path) -> None:
    llmplug.load("fallback:mock").chat([ChatMessage(role="user", content="hi")])
    log.flush()
    member, route = rows(path)
    assert member["parent_id"] == route["id"]
    assert route["conversation_id"] == route["id"]
    assert member["conversation_id"] == member["id"]
