"""llmplug-log in-process: what a row holds, switches, batching, migrations, conversations."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import llmplug
import llmplug_log
from llmplug import CallContext, ChatMessage, ChatResponse, ImageBlock, TextBlock, Usage
from llmplug.errors import ConfigError
from llmplug.testing import isolated_registry, scripted, tool_call
from llmplug_log import CallLog, LogStore, model_spec
from llmplug_log._store import MIGRATIONS, SCHEMA_VERSION, connect

CANARY = "sk-canary-0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def rows(path: Path) -> list[dict[str, Any]]:
    store = LogStore(path)
    try:
        return store.calls(llmplug_log.Filters(), None)
    finally:
        store.close()


def user(text: str, *blocks: Any) -> list[ChatMessage]:
    return [ChatMessage(role="user", blocks=[TextBlock(text=text), *blocks])]


async def _astream(llm: Any, messages: list[ChatMessage]) -> str:
    return "".join([c.delta async for c in await llm.astream_chat(messages)])


ENDPOINTS = [
    pytest.param(lambda llm, m: llm.chat(m), "chat", id="chat"),
    pytest.param(lambda llm, m: "".join(c.delta for c in llm.stream_chat(m)), "stream_chat",
                 id="stream_chat"),
    pytest.param(lambda llm, m: asyncio.run(llm.achat(m)), "achat", id="achat"),
    pytest.param(lambda llm, m: asyncio.run(_astream(llm, m)), "astream_chat", id="astream_chat"),
    pytest.param(lambda llm, m: llm.complete(m[0].content), "complete", id="complete"),
]  # fmt: skip


@pytest.mark.parametrize(("run", "endpoint"), ENDPOINTS)
def test_a_row_holds_the_whole_call(log: CallLog, path: Path, run: Any, endpoint: str) -> None:
    llm = llmplug.load("mock?max_tokens=5")
    run(llm, user("the quick brown fox"))
    assert not path.exists()  # nothing written by the call itself
    assert log.flush() == 1
    (row,) = rows(path)
    assert row["provider"] == "mock"
    assert row["model"] == "mock-echo"
    assert row["endpoint"] == endpoint
    assert json.loads(row["options"]) == {"model": "mock-echo", "max_tokens": 5}
    assert row["prompt"] == "the quick brown fox"
    assert row["response"] == "the quick brown fox"
    assert row["input_tokens"] == 4
    assert row["output_tokens"] == 4
    assert row["latency"] > 0
    assert row["error"] is None
    assert row["cancelled"] == 0
    assert row["conversation_id"] == row["id"]  # a call on its own is its own conversation
    if "stream" in endpoint:
        assert 0 < row["time_to_first_chunk"] <= row["latency"]
        assert row["chunks"] >= 1
    else:
        assert row["time_to_first_chunk"] is None
    if endpoint == "complete":
        assert row["messages"] is None
    else:
        (message,) = json.loads(row["messages"])
        assert message["role"] == "user"


def test_secrets_never_reach_the_log(log: CallLog, path: Path) -> None:
    llm = llmplug.load("mock")
    llm.chat(user("hi"), api_key=CANARY, extra={"auth_token": CANARY})
    log.flush()
    options = json.loads(rows(path)[0]["options"])
    assert options["api_key"] == "<redacted>"
    assert options["extra"] == {"auth_token": "<redacted>"}
    for file in path.parent.iterdir():
        assert CANARY.encode() not in file.read_bytes(), file


def test_attachments_are_kept_as_references(log: CallLog, path: Path) -> None:
    llmplug.load("mock").chat(
        user("what is this?", ImageBlock(image=PNG), ImageBlock(url="https://example.com/a.png"))
    )
    log.flush()
    (message,) = json.loads(rows(path)[0]["messages"])
    inline, linked = message["blocks"][1:]
    assert "image" not in inline
    assert inline["ref"]["bytes"] == len(PNG)
    assert inline["ref"]["mimetype"] == "image/png"
    assert len(inline["ref"]["sha256"]) == 64
    assert linked["url"] == "https://example.com/a.png"
    assert b"iVBORw0KGgo" not in path.read_bytes()  # no base64 PNG in the file


def test_tool_calls_errors_and_structured_output(log: CallLog, path: Path) -> None:
    class City(BaseModel):
        name: str

    llm = scripted(tool_call("weather", {"city": "Paris"}, tool_call_id="t1"), ValueError("boom"))
    llm.chat(user("weather?"))
    with pytest.raises(ValueError, match="boom"):
        llm.chat(user("again"))
    scripted('{"name": "Paris"}').as_structured_llm(City).chat(user("a city"))
    log.flush()
    tools, failed, model_call, structured = rows(path)
    assert json.loads(tools["tool_calls"]) == [
        {"id": "t1", "name": "weather", "arguments": {"city": "Paris"}}
    ]
    assert failed["error"] == "ValueError: boom"
    assert failed["response"] is None
    assert json.loads(structured["structured"]) == {"name": "Paris"}
    assert model_call["parent_id"] == structured["id"]  # the model's call, made by it


def test_a_stopped_stream_is_logged_as_cancelled(log: CallLog, path: Path) -> None:
    stream = llmplug.load("mock").stream_chat(user("one two three four"))
    next(stream)
    stream.close()
    log.flush()
    (row,) = rows(path)
    assert row["cancelled"] == 1
    assert row["response"] == "one"


def test_conversation_ids_parents_and_cache_hits(log: CallLog, path: Path) -> None:
    class Hit:
        @llmplug.hookimpl(tryfirst=True)
        def answer_call(self, call: CallContext) -> Any:
            call.cache_hit = True
            return ChatResponse(message=ChatMessage(role="assistant", content="cached"))

    llmplug.load("fallback:mock").chat(user("a"), conversation_id="conv-1")
    name = llmplug.register_plugin(Hit(), "hit")
    try:
        llmplug.load("mock").chat(user("b"), conversation_id="conv-1")
    finally:
        llmplug.unregister_plugin(name)
    log.flush()
    member, route, hit = rows(path)
    assert {member["conversation_id"], route["conversation_id"]} == {"conv-1"}
    assert member["parent_id"] == route["id"]
    assert route["parent_id"] is None
    assert (hit["cache_hit"], hit["answered_by"], hit["response"]) == (1, "hit", "cached")


def test_cost_totals_count_nothing_spent_by_cache_hits(log: CallLog, path: Path) -> None:
    class Hit:  # a cache that left the original call's cost on its answer
        @llmplug.hookimpl(tryfirst=True)
        def answer_call(self, call: CallContext) -> Any:
            call.cache_hit = True
            usage = Usage(input_tokens=3, output_tokens=3, cost=0.5)
            return ChatResponse(message=ChatMessage(role="assistant", content="c"), usage=usage)

    class Priced:
        @llmplug.hookimpl(tryfirst=True)
        def after_call(self, call: CallContext, response: Any) -> None:
            if not call.cache_hit:
                response.usage.cost = 0.5

    priced = llmplug.register_plugin(Priced(), "priced")
    llmplug.load("mock").chat(user("spent"))
    llmplug.unregister_plugin(priced)
    hit = llmplug.register_plugin(Hit(), "hit")
    for _ in range(3):
        llmplug.load("mock").chat(user("replayed"))
    llmplug.unregister_plugin(hit)
    log.flush()
    store = LogStore(path)
    try:
        (total,) = store.totals(llmplug_log.Filters())
    finally:
        store.close()
    assert (total["calls"], total["cache_hits"], total["unpriced"]) == (4, 3, 0)
    assert total["cost"] == pytest.approx(0.5)
    assert total["input_tokens"] == 1  # the mock's own call ("spent"); hits spent none


@pytest.mark.parametrize(
    ("options", "spec"),
    [
        pytest.param({"model": "m"}, "p:m", id="model-only"),
        pytest.param({"model": "m", "temperature": 0.5, "stream": True, "stop": None},
                     "p:m?temperature=0.5&stream=true", id="scalars"),
        pytest.param({"model": "m", "api_key": "<redacted>",
                      "base_url": "http://<redacted>@host/v1"}, "p:m", id="secrets-left-out"),
        pytest.param({"model": "m", "system_prompt": "a&b c"}, "p:m?system_prompt=a%26b+c",
                     id="quoted"),
        pytest.param({"model": "m", "extra": {"nested": 1}}, "p:m", id="not-a-config-string-value"),
        pytest.param({"models": [{"spec": "mock"}, {"spec": "openai:gpt-4o"}]},
                     "p:mock,openai:gpt-4o", id="route"),
    ],
)  # fmt: skip
def test_a_conversation_continues_with_the_models_config_string(
    options: dict[str, Any], spec: str
) -> None:
    found = {"provider": "p", "model": "m", "options": json.dumps(options)}
    assert model_spec(found) == spec
    if spec.startswith("p:m?system_prompt"):  # what the config string parser reads back
        assert llmplug.load("mock" + spec[3:]).system_prompt == "a&b c"


@pytest.mark.parametrize(
    "switch",
    [
        pytest.param(lambda llm, log: llm.complete("x", plugins={"log": False}), id="per-call"),
        pytest.param(lambda llm, log: llmplug.load("mock?plugins=-log").complete("x"),
                     id="per-model"),
        pytest.param(lambda llm, log: (setattr(log, "enabled", False), llm.complete("x")),
                     id="per-process"),
    ],
)  # fmt: skip
def test_the_log_can_be_switched_off(log: CallLog, path: Path, switch: Any) -> None:
    switch(llmplug.load("mock"), log)
    log.flush()
    assert not path.exists() or rows(path) == []


def test_the_module_switches_and_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not llmplug_log.enabled()  # the test suite runs with LLMPLUG_LOG=0
    llmplug_log.enable()
    assert llmplug_log.enabled()
    llmplug_log.disable()
    assert not llmplug_log.enabled()
    monkeypatch.setenv("LLMPLUG_LOG", "off")
    assert not llmplug_log._on_from_env()
    monkeypatch.setenv("LLMPLUG_LOG", "1")
    assert llmplug_log._on_from_env()


def test_log_path_env_config_and_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("LLMPLUG_LOG_PATH", raising=False)
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("LLMPLUG_CONFIG", str(config))
    assert llmplug_log.log_path() == tmp_path / "data" / "llmplug" / "logs.db"
    config.write_text(f'[plugins.log]\npath = "{tmp_path / "c.db"}"\n')
    assert llmplug_log.log_path() == tmp_path / "c.db"
    monkeypatch.setenv("LLMPLUG_LOG_PATH", str(tmp_path / "e.db"))
    assert llmplug_log.log_path() == tmp_path / "e.db"


# -- the writer: batches, off the caller's thread ----------------------------------------


def test_the_writer_writes_a_full_batch_without_being_asked(path: Path) -> None:
    with isolated_registry():
        plugin = CallLog(path, interval=3600, batch_size=5)
        name = llmplug.register_plugin(plugin, "log")
        try:
            llm = llmplug.load("mock")
            for i in range(5):
                llm.complete(f"call {i}")
            deadline = time.monotonic() + 10
            while (not path.exists() or len(rows(path)) < 5) and time.monotonic() < deadline:
                time.sleep(0.01)  # waiting on the writer thread, which has no event to share
            assert len(rows(path)) == 5
        finally:
            llmplug.unregister_plugin(name)
            plugin.close()


def test_hooks_never_wait_for_the_disk(log: CallLog, path: Path) -> None:
    """A batch being written (the writer holds its lock) does not hold up a call."""
    llm = llmplug.load("mock")
    llm.complete("first")
    with log.writer._lock:  # as if the writer were in the middle of a slow write
        done = threading.Event()

        def call() -> None:
            llm.complete("second")
            done.set()

        thread = threading.Thread(target=call)
        thread.start()
        assert done.wait(10)
        thread.join()
    assert log.flush() == 2


def test_async_calls_queue_on_the_loop_and_are_written_later(log: CallLog, path: Path) -> None:
    llm = llmplug.load("mock")

    async def many() -> None:
        await asyncio.gather(*(llm.achat(user(f"task {i}")) for i in range(20)))

    asyncio.run(many())
    assert not path.exists()
    assert log.flush() == 20
    assert len({row["prompt"] for row in rows(path)}) == 20


def test_a_failing_write_is_retried_then_reported(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path.write_text("not a database")
    plugin = CallLog(path, interval=3600)
    with isolated_registry():
        name = llmplug.register_plugin(plugin, "log")
        try:
            llmplug.load("mock").complete("x")
        finally:
            llmplug.unregister_plugin(name)
    for _ in range(3):
        assert plugin.flush() == 0
    plugin.close()
    assert "1 call(s) not logged" in caplog.text


# -- the schema: versions and migrations -----------------------------------------------


def test_an_older_log_is_migrated_keeping_its_calls(path: Path) -> None:
    old = connect(path, migrations=MIGRATIONS[:1])
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    old.execute(
        "INSERT INTO calls (id, conversation_id, started_at, provider, model, endpoint, options,"
        " prompt, response) VALUES ('a', 'a', 1735689600.0, 'mock', 'm', 'chat',"
        " '{}', 'old prompt', 'old answer')"
    )
    old.close()
    store = LogStore(path)
    try:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master")}
        assert {"calls_started_at", "calls_conversation", "calls_model"} <= indexes
        found = store.calls(llmplug_log.Filters(search="answer"), None)
        assert [r["prompt"] for r in found] == ["old prompt"]
    finally:
        store.close()


def test_a_log_from_a_newer_plugin_is_refused(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(ConfigError, match="schema version 99, newer than this llmplug-log"):
        LogStore(path)


# -- continuing a conversation ------------------------------------------------------------


def test_resume_conversation_gives_back_the_messages_and_the_model(
    log: CallLog, path: Path
) -> None:
    llm = llmplug.load("mock")
    llm.chat(user("first", ImageBlock(image=PNG)), conversation_id="c1")
    llm.chat(user("other"), conversation_id="c2")
    llm.chat(user("boom"), conversation_id="c2", plugins={"log": False})
    found = log.resume_conversation("c1")
    assert found is not None
    assert found.id == "c1"
    assert found.model == "mock:mock-echo"
    question, answer = found.messages
    assert question.blocks[0] == TextBlock(text="first")
    assert "[image image/png of 72 bytes, not kept in the call log]" in question.content
    assert answer.role == "assistant"
    assert answer.content == "first"
    latest = log.resume_conversation(None)
    assert latest is not None
    assert latest.id == "c2"
    assert log.resume_conversation("nope") is None


def test_the_search_index_catches_up_with_calls_written_since(log: CallLog, path: Path) -> None:
    llm = llmplug.load("mock")
    llm.complete("apples and pears")
    log.flush()
    store = LogStore(path)
    try:
        assert len(store.calls(llmplug_log.Filters(search="apples"), None)) == 1
        llm.complete("apples again")
        log.flush()
        found = store.calls(llmplug_log.Filters(search="apples"), None)
        assert [c["prompt"] for c in found] == ["apples and pears", "apples again"]
        assert store.index() == 0  # nothing left to index
    finally:
        store.close()
