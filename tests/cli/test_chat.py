"""``llmplug chat``, run for real: prompt and stdin, options, attachments, schemas, errors."""

from __future__ import annotations

import json

import pytest

from .conftest import Env, Loopback

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
PDF = b"%PDF-1.7\n" + b"\x00" * 24


def test_the_argument_is_the_prompt_and_the_model_is_dash_m(env: Env) -> None:
    result = env.run("chat", "-m", "mock", "hello world")
    assert (result.code, result.out, result.err) == (0, "hello world\n", "")


def test_a_lone_word_is_a_prompt_not_a_provider(env: Env) -> None:
    result = env.run("chat", "hello", LLMPLUG_MODEL="mock")
    assert (result.code, result.out) == (0, "hello\n")


def test_the_old_two_word_form_says_what_to_do(env: Env) -> None:
    result = env.run("chat", "mock", "hello")
    assert result.code == 2
    assert "the model is -m" in result.err
    assert "llmplug chat -m mock" in result.err


@pytest.mark.parametrize(
    ("args", "stdin", "sent"),
    [
        pytest.param(["Summarize:"], "line one\nline two\n", "Summarize:\n\nline one\nline two",
                     id="prompt-then-input"),
        pytest.param([], "just the input\n", "just the input", id="input-is-the-prompt"),
        pytest.param(["only the prompt"], "", "only the prompt", id="empty-input"),
    ],
)  # fmt: skip
def test_piped_input_is_read_whole(env: Env, args: list[str], stdin: str, sent: str) -> None:
    result = env.run("chat", "-m", "mock", *args, stdin=stdin)
    assert result.code == 0, result.err
    assert result.out == sent + "\n"  # the mock echoes what it was sent
    (record,) = env.records  # one call, not one per line
    assert record["text"] == sent


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        pytest.param(["chat", "-m", "mock", ""], "", id="empty-argument"),
        pytest.param(["chat", "-m", "mock", "  \n"], "", id="blank-argument"),
        pytest.param(["chat", "-m", "mock"], "", id="no-input"),
        pytest.param(["chat", "-m", "mock"], None, id="no-stdin"),
        pytest.param(["chat", "-m", "mock"], "\n\n", id="blank-input"),
    ],
)
def test_an_empty_prompt_is_an_error_before_any_call(
    env: Env, args: list[str], stdin: str | None
) -> None:
    result = env.run(*args, stdin=stdin)
    assert result.code == 2
    assert "empty prompt" in result.err
    assert env.records == []


def test_system_prompt_and_options_in_both_forms(env: Env) -> None:
    result = env.run(
        "chat", "-m", "mock", "-s", "Be brief.", "-o", "max_tokens", "2", "-o", "echo=true",
        "one two three", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["message"]["blocks"][0]["text"] == "one two"
    (record,) = env.records
    assert [b[0] for b in record["blocks"]] == ["system", "user"]


def test_options_read_as_json_or_text(env: Env) -> None:
    result = env.run("chat", "-m", "mock", "-o", "responses", '["a, b", "c"]', "hi")
    assert (result.code, result.out) == (0, "a, b\n")
    bad = env.run("chat", "-m", "mock", "-o", "max_tokens", "lots", "hi")
    assert bad.code == 2
    assert "max_tokens='lots'" in bad.err


def test_interactive_flag_with_piped_input_takes_a_turn_per_line(env: Env) -> None:
    result = env.run("chat", "-i", "-m", "mock", "first", stdin="second\n/exit\nthird\n")
    assert result.code == 0, result.err
    assert result.out == "first\nsecond\n"
    assert [r["text"] for r in env.records] == ["first", "second"]


def test_attachments_become_blocks_by_sniffed_type(env: Env) -> None:
    (env.root / "scan.dat").write_bytes(PNG)  # a PNG whatever its name
    (env.root / "report").write_bytes(PDF)
    (env.root / "notes.md").write_text("# Notes\n", encoding="utf-8")
    result = env.run(
        "chat", "-m", "mock", "describe", "-a", "scan.dat", "-a", "report",
        "--at", "notes.md", "text/plain",
    )  # fmt: skip
    assert result.code == 0, result.err
    (record,) = env.records
    assert record["blocks"] == [
        ["user", "text", None],
        ["user", "image", "image/png"],
        ["user", "document", "application/pdf"],
        ["user", "document", "text/plain"],
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["-a", "missing.png"], "-a missing.png: cannot attach", id="missing"),
        pytest.param(["-a", "blob"], "cannot tell what kind of file", id="unknown-type"),
        pytest.param(["--at", "blob", "picture"], "is not a content type", id="bad-type"),
    ],
)
def test_bad_attachments_are_usage_errors(env: Env, args: list[str], message: str) -> None:
    (env.root / "blob").write_bytes(b"\x00\x01\x02\x03" * 8)
    result = env.run("chat", "-m", "mock", "hi", *args)
    assert result.code == 2
    assert message in result.err
    assert env.records == []


def test_an_attachment_the_provider_cannot_take_fails_before_the_request(
    env: Env, loopback: Loopback
) -> None:
    (env.root / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 16)
    spec = f"openai:gpt-4o?base_url={loopback.url}"
    result = env.run("chat", "-m", spec, "what is this?", "-a", "clip.mp4")
    assert result.code == 2
    assert "video" in result.err
    assert loopback.requests == []


@pytest.mark.parametrize(
    "schema",
    [
        pytest.param("name, age int: age in years", id="concise"),
        pytest.param(
            '{"type": "object", "properties": {"name": {"type": "string"}, '
            '"age": {"type": "integer"}}, "required": ["name", "age"]}',
            id="inline-json",
        ),
        pytest.param("@file", id="file"),
    ],
)
def test_schema_answers_with_validated_json(env: Env, schema: str) -> None:
    if schema == "@file":
        path = env.root / "person.schema.json"
        path.write_text(
            json.dumps(
                {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                    "required": ["name", "age"],
                }
            ),
            encoding="utf-8",
        )
        schema = str(path)
    replies = json.dumps(["Sure! Ann, three.", '{"name": "Ann", "age": 3}'])
    result = env.run("chat", "-m", "mock", "-o", "responses", replies, "--schema", schema, "Ann?")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"name": "Ann", "age": 3}  # retried after a bad answer


def test_schema_multi_answers_a_list(env: Env) -> None:
    reply = json.dumps([json.dumps({"items": [{"name": "a"}, {"name": "b"}]})])
    result = env.run("chat", "-m", "mock", "-o", "responses", reply, "--schema-multi", "name", "x")
    assert result.code == 0, result.err
    assert json.loads(result.out) == [{"name": "a"}, {"name": "b"}]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        pytest.param("name, age integer", "unknown type 'integer'", id="concise"),
        pytest.param('{"type": "object", "properties": ', "--schema: Expecting", id="json"),
        pytest.param('{"type": "array"}', "must describe a JSON object", id="not-object"),
    ],
)
def test_a_bad_schema_is_a_usage_error(env: Env, schema: str, message: str) -> None:
    result = env.run("chat", "-m", "mock", "--schema", schema, "hi")
    assert result.code == 2
    assert message in result.err
    assert env.records == []


def test_a_missing_key_fails_before_any_request(env: Env) -> None:
    result = env.run("chat", "-m", "groq:llama-3.3-70b-versatile", "hi")
    assert result.code == 2
    assert "GROQ_API_KEY" in result.err
    assert "llmplug keys set GROQ_API_KEY" in result.err


def test_a_stored_key_is_sent_and_never_shown(env: Env, loopback: Loopback) -> None:
    canary = "sk-canary-stored-0123456789"
    assert env.run("keys", "set", "OPENAI_API_KEY", stdin=canary + "\n").code == 0
    loopback.replies["POST /v1/chat/completions"] = (
        401,
        lambda request: {"error": {"message": f"bad key {request['headers']['authorization']}"}},
    )
    result = env.run(
        "chat", "-m", f"openai:gpt-4o?base_url={loopback.url}", "hi", LLMPLUG_DEBUG="1"
    )
    assert result.code == 1
    assert loopback.requests[0]["headers"]["authorization"] == f"Bearer {canary}"
    assert "bad key" in result.err
    assert "Traceback" in result.err  # LLMPLUG_DEBUG=1
    assert canary not in result.err + result.out


def test_the_environment_key_wins_over_the_stored_one(env: Env, loopback: Loopback) -> None:
    env.run("keys", "set", "OPENAI_API_KEY", stdin="sk-stored-0123456789")
    loopback.replies["GET /v1/models"] = (200, {"object": "list", "data": []})
    env.run("models", "--live", "-p", f"openai?base_url={loopback.url}",
            OPENAI_API_KEY="sk-from-env-0123456789")  # fmt: skip
    assert loopback.requests[0]["headers"]["authorization"] == "Bearer sk-from-env-0123456789"


def test_debug_shows_the_traceback_of_a_plugin_that_fails(env: Env) -> None:
    env.install(
        "llmplug-crashing",
        {"llmplug_crashing.py": "raise RuntimeError('crashing on import, on purpose')\n"},
        {"llmplug.providers": {"crashing": "llmplug_crashing"}},
    )
    quiet = env.run("chat", "-m", "crashing", "hi")
    assert quiet.code == 1
    assert quiet.err.count("\n") == 1
    assert "Traceback" not in quiet.err
    loud = env.run("chat", "-m", "crashing", "hi", LLMPLUG_DEBUG="1")
    assert loud.code == 1
    assert "Traceback (most recent call last)" in loud.err
    assert 'llmplug_crashing.py", line 1' in loud.err
    assert loud.err.rstrip().splitlines()[-1].startswith("llmplug: error: plugin 'crashing'")


def test_output_to_a_pipe_has_no_colour(env: Env) -> None:
    result = env.run("chat", "-m", "nosuch", "hi")
    assert result.code == 2
    assert "\x1b[" not in result.err
    assert result.err.startswith("llmplug: error: unknown provider 'nosuch'")


def test_help_lists_every_command(env: Env) -> None:
    result = env.run("--help")
    assert result.code == 0
    for command in ("chat", "models", "options", "keys", "aliases", "providers", "plugins",
                    "install", "uninstall"):  # fmt: skip
        assert f"\n    {command} " in result.out
    assert "exit codes: 0 success; 1 a runtime error" in " ".join(result.out.split())


def test_usage_errors_exit_2(env: Env) -> None:
    assert env.run().code == 2
    assert env.run("frobnicate").code == 2
    assert env.run("chat", "-m", "mock", "hi", "--json", "--no-stream").code == 2


# -- conversations: one id per run, continued through a plugin that keeps them ------------

KEEPER = '''
"""Keeps one conversation in a JSON file; records each call's conversation id."""
import json, os
import llmplug
from llmplug import ChatMessage
from llmplug.types import Conversation

STORE = os.environ["KEEPER_FILE"]


@llmplug.hookimpl
def after_call(call, response):
    kept = call.messages + [response.message]
    data = {"id": call.conversation_id, "messages": [m.model_dump(mode="json") for m in kept]}
    with open(STORE, "w", encoding="utf-8") as f:
        json.dump(data, f)


@llmplug.hookimpl
def resume_conversation(conversation_id):
    if not os.path.exists(STORE):
        return None
    with open(STORE, encoding="utf-8") as f:
        data = json.load(f)
    if conversation_id not in (None, data["id"]):
        return None
    messages = [ChatMessage.model_validate(m) for m in data["messages"]]
    return Conversation(data["id"], messages, "mock")
'''


def test_chat_c_continues_the_conversation_a_plugin_kept(env: Env) -> None:
    env.vars["KEEPER_FILE"] = str(env.root / "kept.json")
    env.vars["LLMPLUG_PLUGINS"] = "rec,keeper"  # no other plugin that keeps conversations
    env.install("keeper", {"keeper.py": KEEPER}, {"llmplug": {"keeper": "keeper"}})
    first = env.run("chat", "-m", "mock", "one")
    assert first.code == 0, first.err
    kept = json.loads((env.root / "kept.json").read_text())
    assert len(kept["id"]) == 32  # a new conversation
    second = env.run("chat", "-c", "two")  # the model comes from the conversation
    assert second.code == 0, second.err
    assert second.out == "two\n"
    again = json.loads((env.root / "kept.json").read_text())
    assert again["id"] == kept["id"]
    texts = [m["blocks"][0]["text"] for m in again["messages"]]
    assert texts == ["one", "one", "two", "two"]
    third = env.run("chat", "--cid", kept["id"], "-s", "Be brief.", "three")
    assert third.code == 0, third.err
    latest = json.loads((env.root / "kept.json").read_text())
    assert latest["messages"][0]["role"] == "system"
    unknown = env.run("chat", "--cid", "nope", "x")
    assert unknown.code == 2
    assert "no conversation 'nope' to continue; nothing was sent" in unknown.err


def test_chat_c_without_a_plugin_that_keeps_conversations_says_what_to_install(env: Env) -> None:
    result = env.run("chat", "-c", "hello", LLMPLUG_MODEL="mock", LLMPLUG_PLUGINS="rec")
    assert result.code == 2
    assert "no installed plugin keeps conversations (llmplug-log does" in result.err
    assert env.records == []
