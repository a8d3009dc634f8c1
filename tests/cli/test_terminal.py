"""At a terminal (a real pseudo-terminal): conversations, Ctrl-C, key prompts, colour."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from .conftest import Env, Loopback, Terminal

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")

SLOW = ["-o", "chunk_delay", "0.2", "-o", "stream_unit", "word"]
LONG = "one two three four five six seven eight nine ten eleven twelve"


def _chat(env: Env, terminals: list[Terminal], *args: str, **extra: str | None) -> Terminal:
    terminal = env.terminal("chat", "-m", "mock", *args, **extra)
    terminals.append(terminal)
    terminal.read_until("> ")
    return terminal


def test_no_prompt_at_a_terminal_is_a_conversation(env: Env, terminals: list[Terminal]) -> None:
    terminal = _chat(env, terminals)
    assert "Chatting with mock-echo" in terminal.screen
    terminal.type("first\r")
    terminal.read_until("first\r\n> ")
    terminal.type("second\r")
    terminal.read_until("second\r\n> ")
    terminal.type("\x04")  # Ctrl-D
    assert terminal.wait() == 0
    calls = env.records
    assert [c["text"] for c in calls] == ["first", "second"]
    # the second call saw the whole conversation
    assert [b[0] for b in calls[1]["blocks"]] == ["user", "assistant", "user"]


def test_exit_command_leaves(env: Env, terminals: list[Terminal]) -> None:
    terminal = _chat(env, terminals)
    terminal.type("/exit\r")
    assert terminal.wait() == 0


def test_ctrl_c_stops_the_answer_and_the_conversation_goes_on(
    env: Env, terminals: list[Terminal]
) -> None:
    replies = json.dumps([LONG, "the second answer"])
    terminal = _chat(env, terminals, *SLOW, "-o", "responses", replies)
    terminal.type("tell me\r")
    terminal.read_until("one two")
    terminal.type("\x03")  # Ctrl-C, mid-answer
    terminal.read_until("(answer stopped)")
    terminal.read_until("> ")
    assert "twelve" not in terminal.screen
    (stopped,) = env.records
    assert stopped["hook"] == "after_call"
    assert stopped["cancelled"] is True  # the hooks see a cancelled call...
    assert stopped["text"].startswith("one two")  # ...with the partial text
    assert stopped["text"] != LONG
    terminal.type("and now?\r")
    terminal.read_until("the second answer")
    terminal.read_until("> ")
    second = env.records[-1]
    assert second["cancelled"] is False
    # the stopped answer stays in the conversation, as far as it went
    assert [b[0] for b in second["blocks"]] == ["user", "assistant", "user"]
    terminal.type("\x03")  # Ctrl-C at the prompt leaves
    assert terminal.wait() == 130


def test_a_failing_turn_reports_and_the_conversation_goes_on(
    env: Env, terminals: list[Terminal], loopback: Loopback
) -> None:
    loopback.replies["POST /v1/chat/completions"] = (
        400,
        lambda request: {"error": {"message": f"no {request['body']['messages'][-1]['content']}"}},
    )
    spec = f"openai:m?base_url={loopback.url}&max_retries=0"
    terminal = env.terminal("chat", "-m", spec, "--no-stream")
    terminals.append(terminal)
    terminal.read_until("> ")
    terminal.type("first\r")
    terminal.read_until("[openai] HTTP 400 Bad Request: no first")  # after a red prefix
    terminal.read_until("> ")
    terminal.type("second\r")
    terminal.read_until("no second")
    terminal.read_until("> ")
    terminal.type("\x04")
    assert terminal.wait() == 0
    # the failed turn was dropped: the second request holds only its own message
    assert [m["content"] for m in loopback.requests[1]["body"]["messages"]] == ["second"]


def test_dash_i_with_a_prompt_starts_with_it(env: Env, terminals: list[Terminal]) -> None:
    terminal = env.terminal("chat", "-m", "mock", "-i", "opening line")
    terminals.append(terminal)
    terminal.read_until("opening line\r\n> ")
    terminal.type("\x04")
    assert terminal.wait() == 0


def test_ctrl_c_in_a_one_shot_answer_exits_130(env: Env, terminals: list[Terminal]) -> None:
    terminal = env.terminal("chat", "-m", "mock", *SLOW, LONG)
    terminals.append(terminal)
    terminal.read_until("one two")
    terminal.type("\x03")
    assert terminal.wait() == 130
    assert "twelve" not in terminal.screen
    (record,) = env.records
    assert record["cancelled"] is True


def test_a_key_is_typed_without_echo(env: Env, terminals: list[Terminal]) -> None:
    canary = "sk-typed-canary-0123456789"
    terminal = env.terminal("keys", "set", "MY_SERVICE_KEY")
    terminals.append(terminal)
    terminal.read_until("Enter the key for MY_SERVICE_KEY (not shown): ")
    terminal.type(canary + "\r")
    assert terminal.wait() == 0
    assert canary not in terminal.screen
    path = env.config_dir / "keys.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {"MY_SERVICE_KEY": canary}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize(
    ("extra", "coloured"),
    [
        pytest.param({}, True, id="terminal"),
        pytest.param({"NO_COLOR": "1"}, False, id="NO_COLOR"),
        pytest.param({"TERM": "dumb"}, False, id="dumb-terminal"),
    ],
)
def test_colour_only_on_a_terminal_without_no_color(
    env: Env, terminals: list[Terminal], extra: dict[str, str], coloured: bool
) -> None:
    terminal = env.terminal("chat", "-m", "nosuch", "hi", **extra)
    terminals.append(terminal)
    assert terminal.wait() == 2
    assert "unknown provider 'nosuch'" in terminal.screen
    assert ("\x1b[1;31mllmplug: error:\x1b[0m" in terminal.screen) is coloured
    assert ("\x1b[" in terminal.screen) is coloured


def test_progress_only_on_a_terminal(
    env: Env, terminals: list[Terminal], loopback: Loopback
) -> None:
    spec = f"openai?base_url={loopback.url}"
    terminal = env.terminal("models", "--live", "-p", spec)
    terminals.append(terminal)
    assert terminal.wait() == 0
    assert "asking openai?base_url=" in terminal.screen
    assert "\r\x1b[K" in terminal.screen  # the progress line is erased
    assert "openai:loop-small" in terminal.screen
    piped = env.run("models", "--live", "-p", spec)
    assert "asking" not in piped.err
    assert "\x1b[" not in piped.out + piped.err
    plain = env.terminal("models", "--live", "-p", spec, NO_COLOR="1")
    terminals.append(plain)
    assert plain.wait() == 0
    assert "\r\x1b[Kasking openai?base_url=" in plain.screen  # progress, without colour
    assert "\x1b[2m" not in plain.screen
