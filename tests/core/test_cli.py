"""The ``llmplug`` command line, run in-process through ``main([...])``.

A test provider ``echo`` (and a broken one, and a hook plugin) are discovered through
fake entry points in an isolated registry: nothing is installed, nothing leaves the process
except in the two subprocess tests at the end.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import Field, SecretStr

from llmplug import (
    ChatLLM,
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    LLMMetadata,
    MessageRole,
    Usage,
    hookimpl,
)
from llmplug._version import __version__
from llmplug.cli import main
from llmplug.errors import RateLimitError, StreamInterruptedError
from llmplug.testing import fake_entry_point, isolated_registry

CANARY = "sk-canary-0123456789"


class EchoLLM(ChatLLM):
    """Replies ``"<n>: <last user text>"`` (n = user turns seen); records every call."""

    calls: ClassVar[list[tuple[EchoLLM, list[ChatMessage]]]] = []

    model: str = "echo-1"
    temperature: Any = None
    stop: Any = None
    label: str = ""
    top_k: int | None = Field(default=None, ge=0)
    api_key: SecretStr | None = None

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True, model_name=self.model)

    def _answer(self, messages: Sequence[ChatMessage]) -> str:
        EchoLLM.calls.append((self, list(messages)))
        users = [m.content or "" for m in messages if m.role == MessageRole.USER]
        if users[-1] == "fail":
            raise RateLimitError("slow down", status_code=429, provider="echo")
        if users[-1] == "interrupt":
            raise KeyboardInterrupt
        return f"{len(users)}: {users[-1]}"

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return ChatResponse(
            message=ChatMessage(role=MessageRole.ASSISTANT, content=self._answer(messages)),
            usage=Usage(input_tokens=3, output_tokens=2),
            raw={"id": "r-1", "opaque": object()},
        )

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        text = ""
        for i, word in enumerate(self._answer(messages).split(" ")):
            delta = word if i == 0 else f" {word}"
            text += delta
            yield ChatResponse(
                message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta
            )
            if "cut" in text:
                raise StreamInterruptedError("connection reset", provider="echo", partial=text)


class EchoPlugin:
    @hookimpl
    def register_providers(self, register: Any) -> None:
        register("echo", EchoLLM, description="Echoes the last user message.")


class NoHooks:
    """A hook plugin implementing nothing (it only has to be listed and load)."""


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated registry and config dir; yields the config file path."""
    for name in ("LLMPLUG_CONFIG", "LLMPLUG_MODEL", "LLMPLUG_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    EchoLLM.calls.clear()
    entry_points = [
        fake_entry_point("echo", "llmplug_echo", dist="llmplug-echo", version="2.3",
                         target=EchoPlugin()),
        fake_entry_point("broken", "llmplug_broken", dist="llmplug-broken",
                         target=ImportError("No module named 'httpx9'")),
        fake_entry_point("audit", "llmplug_audit", group="llmplug", dist="llmplug-audit",
                         version="0.4", target=NoHooks()),
    ]  # fmt: skip
    stdin_lines(monkeypatch, "")  # no piped input (pytest's own stdin may not be read)
    with isolated_registry(entry_points, with_mock=False):
        yield tmp_path / "llmplug" / "config.toml"


def stdin_lines(monkeypatch: pytest.MonkeyPatch, text: str, *, tty: bool = False) -> None:
    stream = io.StringIO(text)
    stream.isatty = lambda: tty  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", stream)


def last_call() -> tuple[EchoLLM, list[ChatMessage]]:
    assert EchoLLM.calls, "the model was not called"
    return EchoLLM.calls[-1]


# -- providers ----------------------------------------------------------------------------


def test_providers_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Providers:"
    assert lines[1].split() == ["NAME", "DISTRIBUTION", "VERSION", "KEY", "STATUS"]
    assert "broken  llmplug-broken  1.0      -    available" in out
    assert "echo    llmplug-echo    2.3      -    available" in out
    assert "Hook plugins:" in out
    assert "audit  llmplug-audit  0.4" in out
    assert not EchoLLM.calls  # listing imports nothing


def test_providers_shows_loaded_and_failed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "echo", "hi"]) == 0
    assert main(["chat", "-m", "broken", "hi"]) == 1
    capsys.readouterr()
    assert main(["providers"]) == 0
    out = capsys.readouterr().out
    assert "echo    llmplug-echo    2.3      -    loaded" in out
    assert "Echoes the last user message." in out
    assert "broken  llmplug-broken  1.0      -    failed" in out
    assert "error: plugin 'broken' (llmplug-broken 1.0" in out
    assert "httpx9" in out


def test_providers_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in data["providers"]] == ["broken", "echo"]
    echo = data["providers"][1]
    assert echo["distribution"] == "llmplug-echo"
    assert echo["version"] == "2.3"
    assert echo["status"] == "available"
    assert echo["error"] is None
    assert data["hook_plugins"] == [
        {"name": "audit", "distribution": "llmplug-audit", "version": "0.4"}
    ]


def test_providers_none_installed(capsys: pytest.CaptureFixture[str]) -> None:
    with isolated_registry([], with_mock=False):
        assert main(["providers"]) == 0
    out = capsys.readouterr().out
    assert "none installed (known plugins: llmplug plugin list --available)" in out


# -- chat, one shot -----------------------------------------------------------------------


class FlushRecorder(io.StringIO):
    """Records what had been written at each flush."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[str] = []

    def flush(self) -> None:
        self.flushed.append(self.getvalue())


def test_one_shot_streams_each_delta(monkeypatch: pytest.MonkeyPatch) -> None:
    out = FlushRecorder()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["chat", "-m", "echo", "hello big world"]) == 0
    assert out.getvalue() == "1: hello big world\n"
    # every delta reached the terminal before the next was produced
    assert out.flushed[:4] == ["1:", "1: hello", "1: hello big", "1: hello big world"]
    assert out.flushed[-1] == "1: hello big world\n"


def test_one_shot_no_stream(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "echo", "hi", "--no-stream"]) == 0
    assert capsys.readouterr().out == "1: hi\n"


def test_one_shot_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "echo", "hi", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    data = json.loads(out)
    assert data["message"]["role"] == "assistant"
    assert data["usage"]["input_tokens"] == 3
    assert data["usage"]["output_tokens"] == 2
    assert data["raw"]["id"] == "r-1"
    assert data["raw"]["opaque"].startswith("<object object")  # not JSON: shown as str
    assert json.dumps(data["message"]).count("1: hi") == 1


def test_json_and_no_stream_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "echo", "hi", "--json", "--no-stream"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_system_message_reaches_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "echo", "hi", "--system", "Be terse."]) == 0
    _, messages = last_call()
    assert [(m.role, m.content) for m in messages] == [
        (MessageRole.SYSTEM, "Be terse."),
        (MessageRole.USER, "hi"),
    ]


@pytest.mark.parametrize(
    ("argument", "field", "expected"),
    [
        pytest.param("temperature=0", "temperature", 0, id="json-int"),
        pytest.param("temperature=0.5", "temperature", 0.5, id="json-float"),
        pytest.param('stop=["x", "y"]', "stop", ["x", "y"], id="json-list"),
        pytest.param("stop=null", "stop", None, id="json-null"),
        pytest.param("stop=END", "stop", "END", id="plain-string"),
        pytest.param("label=a=b", "label", "a=b", id="split-on-first-equals"),
        pytest.param("label=", "label", "", id="empty-string"),
        pytest.param("model=4", "model", "4", id="json-rejected-retried-as-text"),
        pytest.param("label=007", "label", "007", id="not-json-kept-as-text"),
    ],
)
def test_option_values(
    argument: str, field: str, expected: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat", "-m", "echo", "hi", "-o", argument]) == 0
    llm, _ = last_call()
    assert getattr(llm, field) == expected
    assert type(getattr(llm, field)) is type(expected)


def test_options_combine_with_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["chat", "-m", "echo:echo-9?label=x", "hi", "-o", "temperature=1", "--option", "label=y"]
    assert main(argv) == 0
    llm, _ = last_call()
    assert (llm.model, llm.temperature, llm.label) == ("echo-9", 1, "y")


def test_secret_options_stay_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "echo", "hi", "-o", "api_key=12345"]) == 0
    llm, _ = last_call()
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == "12345"


def test_alias_from_config_file(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env.parent.mkdir(parents=True)
    env.write_text('[aliases]\nfast = "echo:echo-fast?temperature=0"\n', encoding="utf-8")
    assert main(["chat", "-m", "fast", "hi", "--no-stream"]) == 0
    llm, _ = last_call()
    assert (llm.model, llm.temperature) == ("echo-fast", "0")  # from a config string: text


# -- chat, a session over stdin ------------------------------------------------------------


def test_session_keeps_history(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin_lines(monkeypatch, "first\n\nsecond\nthird")
    assert main(["chat", "-i", "-m", "echo", "--system", "S"]) == 0
    assert capsys.readouterr().out == "1: first\n2: second\n3: third\n"  # no "> " prompt
    _, messages = last_call()
    assert [(m.role.value, m.content) for m in messages] == [
        ("system", "S"),
        ("user", "first"),
        ("assistant", "1: first"),
        ("user", "second"),
        ("assistant", "2: second"),
        ("user", "third"),
    ]
    assert len(EchoLLM.calls) == 3  # the blank line was not a turn


@pytest.mark.parametrize("command", ["/exit", "/quit"])
def test_session_exit_commands(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin_lines(monkeypatch, f"one\n{command}\ntwo\n")
    assert main(["chat", "-i", "-m", "echo", "--no-stream"]) == 0
    assert capsys.readouterr().out == "1: one\n"


def test_session_json_one_object_per_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin_lines(monkeypatch, "a\nb\n")
    assert main(["chat", "-i", "-m", "echo", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["message"]["blocks"][0]["text"] for line in lines] == [
        "1: a",
        "2: b",
    ]


def test_empty_stdin_is_no_turn(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin_lines(monkeypatch, "")
    assert main(["chat", "-i", "-m", "echo"]) == 0
    assert capsys.readouterr().out == ""
    assert not EchoLLM.calls


def test_terminal_session_prompts_and_survives_an_api_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin_lines(monkeypatch, "one\nfail\ntwo\n", tty=True)
    assert main(["chat", "-m", "echo"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "> 1: one\n> > 2: two\n> \n"
    assert "Chatting with echo-1" in captured.err
    assert "llmplug: error: [echo] slow down" in captured.err
    _, messages = last_call()  # the failed turn is not part of the history
    assert [m.content for m in messages] == ["one", "1: one", "two"]


def test_piped_session_stops_on_an_api_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin_lines(monkeypatch, "one\nfail\ntwo\n")
    assert main(["chat", "-i", "-m", "echo"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "1: one\n"
    assert captured.err == "llmplug: error: [echo] slow down\n"


# -- errors -------------------------------------------------------------------------------


def test_unknown_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "ecko", "hi"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("llmplug: error: unknown provider 'ecko'. Did you mean 'echo'?")
    assert "pip install" not in err  # no package name made from what was typed
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["-o", "tempreature=0"], "did you mean 'temperature'?", id="unknown"),
        pytest.param(["-o", "top_k=-1"], "top_k=-1: Input should be greater", id="value"),
        pytest.param(["-o", "top_k=lots"], "top_k='lots': Input should be", id="type"),
        pytest.param(["-o", "label"], "expected KEY VALUE or KEY=VALUE", id="no-equals"),
        pytest.param(["-o", "=1"], "expected KEY VALUE or KEY=VALUE", id="no-key"),
    ],
)
def test_invalid_option(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "echo", "hi", *argv]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err
    assert not EchoLLM.calls


def test_bad_config_string(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "echo:", "hi"]) == 2
    assert "has ':' but no model after it" in capsys.readouterr().err


def test_plugin_load_error_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "broken", "hi"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("llmplug: error: plugin 'broken' (llmplug-broken 1.0")
    assert err.count("\n") == 1


def test_api_error_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "echo", "fail"]) == 1
    assert capsys.readouterr().err == "llmplug: error: [echo] slow down\n"


def test_broken_stream_ends_the_partial_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "echo", "cut here"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "1: cut\n"
    assert captured.err == "llmplug: error: [echo] connection reset\n"


def test_interrupt_exits_130_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "echo", "interrupt"]) == 130
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["chat", "-m", f"echo?api_key={CANARY}&oops", "hi"], id="bad-spec"),
        pytest.param(
            ["chat", "-m", f"echo?api_key={CANARY}&tempreature=1", "hi"], id="unknown-opt"
        ),
        pytest.param(["chat", "-m", "echo", "hi", "-o", f"api_key={CANARY}", "-o", "x=1"], id="-o"),
        pytest.param(["chat", "-m", "echo", "hi", "-o", f"api_key:{CANARY}"], id="-o-malformed"),
        pytest.param(
            ["chat", "-m", "echo", "hi", "-o", f"api_key={CANARY}", "--json"], id="ok-json"
        ),
        pytest.param(["chat", "-m", "echo", "fail", "-o", f"token={CANARY}"], id="api-error"),
        pytest.param(["chat", "-m", "echo", "fail", "-o", "api_key", CANARY], id="-o-pair"),
    ],
)
def test_secrets_never_printed(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    main(argv)
    captured = capsys.readouterr()
    assert CANARY not in captured.out
    assert CANARY not in captured.err


def test_option_names_that_only_look_secret_are_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["chat", "-m", "echo?max_tokens=55&oops", "hi", "-o", "top_k=55"]) == 2
    err = capsys.readouterr().err
    assert "'echo?max_tokens=55&oops'" in err
    assert "<redacted>" not in err


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["chat"]) == 2
    assert "usage: llmplug" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"llmplug {__version__}\n"


# -- subprocesses -------------------------------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LLMPLUG_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("LLMPLUG_PLUGINS", None)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_python_dash_m_llmplug_providers() -> None:
    result = _run("-m", "llmplug", "providers")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Providers:\n")
    assert "mock" in result.stdout


def test_import_llmplug_does_not_import_the_cli() -> None:
    code = (
        "import sys, llmplug\n"
        "llm = llmplug.load('mock')\n"
        "assert llm.complete('hi').text == 'hi'\n"
        "print(sorted(m for m in ('llmplug.cli', 'argparse') if m in sys.modules))\n"
    )
    result = _run("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


# -- SPEC and PROMPT resolution -------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "prompt"),
    [
        pytest.param(
            ["What is the capital of France?"], "What is the capital of France?", id="prompt-only"
        ),
        pytest.param(["-m", "echo", "hi"], "hi", id="dash-m"),
        pytest.param(["--model", "echo?top_k=3", "hi there"], "hi there", id="long-option"),
    ],
)
def test_chat_uses_the_default_or_dash_m_model(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    prompt: str,
) -> None:
    monkeypatch.setenv("LLMPLUG_MODEL", "echo")
    assert main(["chat", *argv]) == 0
    _, messages = last_call()
    assert messages[-1].content == prompt
    assert prompt in capsys.readouterr().out


def test_a_lone_word_is_the_prompt_never_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # "llmplug chat hello" used to look for a provider called "hello"
    monkeypatch.setenv("LLMPLUG_MODEL", "echo")
    assert main(["chat", "echo"]) == 0
    _, messages = last_call()
    assert messages[-1].content == "echo"


def test_piped_stdin_follows_the_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin_lines(monkeypatch, "line one\nline two\n")
    assert main(["chat", "-m", "echo", "Summarize:"]) == 0
    _, messages = last_call()
    assert [m.content for m in messages] == ["Summarize:\n\nline one\nline two"]
    assert len(EchoLLM.calls) == 1  # one call, not one per line


def test_piped_stdin_alone_is_the_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin_lines(monkeypatch, "first\nsecond\n")
    assert main(["chat", "-m", "echo"]) == 0
    _, messages = last_call()
    assert [m.content for m in messages] == ["first\nsecond"]


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        pytest.param(["chat", "-m", "echo", ""], "", id="empty-argument"),
        pytest.param(["chat", "-m", "echo", "   "], "", id="blank-argument"),
        pytest.param(["chat", "-m", "echo"], "", id="nothing-piped"),
        pytest.param(["chat", "-m", "echo"], "\n  \n", id="blank-piped"),
    ],
)
def test_an_empty_prompt_is_refused_before_any_call(
    argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin_lines(monkeypatch, stdin)
    assert main(argv) == 2
    assert "empty prompt" in capsys.readouterr().err
    assert not EchoLLM.calls


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["echo", "a", "b"], id="three-words"),
        pytest.param(["-m", "echo", "a", "b"], id="dash-m-two-words"),
    ],
)
def test_chat_too_many_words_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(["chat", *argv]) == 2
    assert "quote a prompt" in capsys.readouterr().err


def test_options_may_follow_the_prompt() -> None:
    assert main(["chat", "-m", "echo", "hi", "-o", "label=x"]) == 0
    llm, _ = last_call()
    assert llm.label == "x"


def test_a_providers_own_bug_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("provider bug")

    monkeypatch.setattr(EchoLLM, "stream_chat", boom)
    monkeypatch.delenv("LLMPLUG_DEBUG", raising=False)
    assert main(["chat", "-m", "echo", "hi"]) == 1
    err = capsys.readouterr().err
    assert err.strip().endswith(
        "RuntimeError: provider bug (set LLMPLUG_DEBUG=1 for the traceback)"
    )
    assert "Traceback" not in err
    monkeypatch.setenv("LLMPLUG_DEBUG", "1")
    assert main(["chat", "-m", "echo", "hi"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.strip().endswith("llmplug: error: RuntimeError: provider bug")


@pytest.mark.parametrize(
    ("argv", "joined"),
    [
        pytest.param(["-o", "k", "v", "p"], ["-o", "k=v", "p"], id="pair"),
        pytest.param(["--option", "k", "a=b"], ["--option", "k=a=b"], id="long-value-with-equals"),
        pytest.param(["-o", "k=v", "p"], ["-o", "k=v", "p"], id="already-joined"),
        pytest.param(["-o", "k"], ["-o", "k"], id="no-value-left-to-argparse"),
        pytest.param(["--", "-o", "k", "v"], ["--", "-o", "k", "v"], id="after-double-dash"),
        pytest.param(["-o", "9k", "v"], ["-o", "9k", "v"], id="not-a-key"),
    ],
)
def test_option_pairs(argv: list[str], joined: list[str]) -> None:
    from llmplug.cli._main import _join_option_pairs

    assert _join_option_pairs(["chat", *argv], 1) == ["chat", *joined]


def test_version_and_bare_command_load_no_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    import llmplug.cli._main as cli_main

    def boom(*args: Any) -> Any:
        raise AssertionError("plugins' commands were collected")

    monkeypatch.setattr(cli_main, "_add_plugin_commands", boom)
    assert main(["--version"]) == 0
    assert main([]) == 2
    assert main(["chat", "--help"]) == 0
