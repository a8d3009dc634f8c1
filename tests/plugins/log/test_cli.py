"""``llmplug logs`` and ``llmplug chat -c``, run for real with the installed plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from llmplug.errors import ConfigError
from llmplug_log._cli import iso, parse_when

_SCRIPT = Path(sys.executable).with_name("llmplug")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "llmplug"]


@dataclass
class Run:
    code: int
    out: str
    err: str


@dataclass
class Home:
    root: Path

    def run(self, *args: str, stdin: str = "") -> Run:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLMPLUG_")}
        env.update(
            HOME=str(self.root / "home"),
            XDG_CONFIG_HOME=str(self.root / "config"),
            XDG_DATA_HOME=str(self.root / "data"),
            XDG_CACHE_HOME=str(self.root / "cache"),
            LLMPLUG_PLUGINS="log,cost",  # the plugins under test, and no other hook plugin
        )
        done = subprocess.run(
            [*COMMAND, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.code == 0, result.err
        return result.out

    def calls(self, *args: str) -> list[dict[str, object]]:
        return json.loads(self.ok("logs", "--json", *args))  # type: ignore[no-any-return]


@pytest.fixture
def home(tmp_path: Path) -> Home:
    config = tmp_path / "config" / "llmplug"
    config.mkdir(parents=True)
    # priced, so that the cost plugin puts a cost on the mock's calls
    (config / "config.toml").write_text(
        '[plugins.cost.prices."mock:*"]\ninput = 1000000\noutput = 2000000\n'
    )
    return Home(tmp_path)


def test_the_log_lives_in_the_data_dir(home: Home) -> None:
    assert home.ok("logs", "--path").strip() == str(home.root / "data" / "llmplug" / "logs.db")
    assert home.ok("logs").startswith("no calls logged yet")


def test_logs_lists_searches_filters_and_totals(home: Home) -> None:
    home.ok("chat", "-m", "mock", "rivers of europe")
    home.ok("chat", "-m", "mock:other", "mountains of asia")
    home.ok("chat", "-m", "mock", "--no-stream", "lakes of africa")
    listed = home.ok("logs")
    assert listed.index("rivers of europe") < listed.index("lakes of africa")
    assert "mock:other  stream_chat" in listed
    assert "3 in, 3 out  $9.000000" in listed  # 3 x $1 + 3 x $2 (the config's prices)
    assert [c["prompt"] for c in home.calls("-n", "1")] == ["lakes of africa"]
    assert [c["prompt"] for c in home.calls("-q", "mountains")] == ["mountains of asia"]
    assert [c["prompt"] for c in home.calls("-q", "europe OR africa")] == [
        "rivers of europe",
        "lakes of africa",
    ]
    assert len(home.calls("-m", "other")) == 1
    assert len(home.calls("-m", "mock:mock-echo")) == 2
    assert len(home.calls("-p", "mock")) == 3
    assert len(home.calls("--since", "1h")) == 3
    assert home.calls("--until", "2000-01-01") == []
    (call,) = home.calls("-n", "1")
    assert call["endpoint"] == "chat"
    assert call["cost"] == 9.0
    assert call["time_to_first_chunk"] is None
    totals = home.ok("logs", "--cost").splitlines()
    assert totals[0].split() == ["MODEL", "CALLS", "INPUT", "OUTPUT", "COST"]
    assert totals[1].split() == ["mock:mock-echo", "2", "6", "6", "$18.000000"]
    assert totals[-1].split() == ["total", "3", "9", "9", "$27.000000"]
    cost_json = json.loads(home.ok("logs", "--cost", "--json", "-m", "other"))
    assert [(t["model"], t["calls"], t["cost"]) for t in cost_json] == [("other", 1, 9.0)]


def test_chat_c_continues_the_latest_conversation_from_the_log(home: Home) -> None:
    home.ok("chat", "-m", "mock", "first question")
    assert home.ok("chat", "-c", "second question") == "second question\n"
    first, second = home.calls()
    assert second["conversation_id"] == first["conversation_id"]
    sent = [m["blocks"][0]["text"] for m in second["messages"]]  # type: ignore[index]
    assert sent == ["first question", "first question", "second question"]
    home.ok("chat", "-m", "mock", "a new conversation")
    home.ok("chat", "--cid", str(first["conversation_id"]), "third question")
    *_, third = home.calls()
    assert third["conversation_id"] == first["conversation_id"]
    assert len(third["messages"]) == 5  # type: ignore[arg-type]
    assert len(home.calls("--cid", str(first["conversation_id"]))) == 3


def test_chat_c_keeps_the_models_options_and_routes(home: Home) -> None:
    home.ok("chat", "-m", "mock?max_tokens=2&system_prompt=be%20brief", "one two three four")
    assert home.ok("chat", "-c", "five six seven") == "five six\n"  # max_tokens=2 kept
    first, second = home.calls()
    assert second["options"] == first["options"]
    home.ok("chat", "-m", "fallback:mock,mock:other", "via a route")
    home.ok("chat", "-c", "again")
    *_, route_call = [c for c in home.calls() if c["parent_id"] is None]
    assert route_call["provider"] == "fallback"
    assert route_call["prompt"] == "again"


def test_models_with_a_colon_in_their_name_are_found(home: Home) -> None:
    home.ok("chat", "-m", "mock:llama3.2:1b", "a colon in the name")
    assert len(home.calls("-m", "llama3.2:1b")) == 1
    assert len(home.calls("-m", "mock:llama3.2:1b")) == 1
    assert home.calls("-m", "llama3.2:2b") == []


def test_a_bad_search_or_date_is_a_usage_error(home: Home) -> None:
    home.ok("chat", "-m", "mock", "hello")
    result = home.run("logs", "-q", '"unbalanced')
    assert result.code == 2
    assert "bad search" in result.err
    result = home.run("logs", "-q", "gpt-4o")  # FTS5 reads "-4o" as a column
    assert result.code == 2
    assert "put it in double quotes" in result.err
    assert home.calls("-q", '"hello"') != []
    result = home.run("logs", "--since", "last tuesday")
    assert result.code == 2
    assert "give an ISO date or time in UTC" in result.err


def test_logging_off_by_env_var_writes_nothing(home: Home) -> None:
    env_off = {**os.environ}
    home.ok("chat", "-m", "mock", "kept")
    done = subprocess.run(
        [*COMMAND, "chat", "-m", "mock", "not kept"],
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in env_off.items() if not k.startswith("LLMPLUG_")},
            "XDG_CONFIG_HOME": str(home.root / "config"),
            "XDG_DATA_HOME": str(home.root / "data"),
            "LLMPLUG_LOG": "0",
        },
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [c["prompt"] for c in home.calls()] == ["kept"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2025-06-01", "2025-06-01T00:00:00.000Z", id="date"),
        pytest.param("2025-06-01T09:30", "2025-06-01T09:30:00.000Z", id="time"),
        pytest.param("2025-06-01T11:30+02:00", "2025-06-01T09:30:00.000Z", id="offset"),
        pytest.param("90m", "2025-06-01T10:30:00.000Z", id="minutes-ago"),
        pytest.param("2d", "2025-05-30T12:00:00.000Z", id="days-ago"),
    ],
)
def test_when(text: str, expected: str) -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert iso(parse_when(text, "--since", now)) == expected
    with pytest.raises(ConfigError):
        parse_when("soon", "--since", now)
