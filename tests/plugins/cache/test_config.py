"""The installed cache's config: the ``[plugins.cache]`` table, checked once, clearly."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmplug
import llmplug_cache
from llmplug import ChatMessage
from llmplug.cli import main
from llmplug.errors import ConfigError, HookError
from llmplug.testing import fake_entry_point, isolated_registry


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The config file, and the installed module as llmplug loads it (its entry point)."""
    path = tmp_path / "config.toml"
    path.write_text("")
    monkeypatch.setenv("LLMPLUG_CONFIG", str(path))
    monkeypatch.setenv("LLMPLUG_CACHE_PATH", str(tmp_path / "responses.db"))
    monkeypatch.setattr(llmplug_cache, "_default", None)
    monkeypatch.setattr(llmplug_cache, "_checked", [None, {}])
    plugin = fake_entry_point("cache", "llmplug_cache", group="llmplug", dist="llmplug-cache")
    with isolated_registry([plugin]):
        yield path
    if llmplug_cache._default is not None:
        llmplug_cache._default.close()


BAD = [
    pytest.param('ttl = "1d"', "ttl must be a number of seconds > 0, e.g. ttl = 86400", "'1d'",
                 id="ttl-text"),
    pytest.param("ttl = -5", "ttl must be a number of seconds > 0", "-5", id="ttl-negative"),
    pytest.param('max_entries = "many"', "max_entries must be a whole number > 0, e.g. "
                 "max_entries = 10000", "'many'", id="max_entries-text"),
    pytest.param("max_bytes = 1.5", "max_bytes must be a whole number of bytes > 0", "1.5",
                 id="max_bytes-float"),
    pytest.param("max_entries = true", "max_entries must be a whole number > 0", "True",
                 id="max_entries-bool"),
    pytest.param("path = 3", 'path must be a file path, e.g. path = "~/llm-cache.db"', "3",
                 id="path-number"),
    pytest.param("tll = 60", "has unknown key(s) ['tll']; valid: path, ttl, max_entries, "
                 "max_bytes", "", id="unknown-key"),
]  # fmt: skip
ASK = [
    pytest.param(lambda llm: llm.chat(user("q"), plugins="cache"), id="chat"),
    pytest.param(lambda llm: asyncio.run(llm.achat(user("q"), plugins="cache")), id="achat"),
]


@pytest.mark.parametrize("ask", ASK)
@pytest.mark.parametrize(("table", "says", "got"), BAD)
def test_a_bad_config_value_is_one_clear_config_error(
    config: Path, table: str, says: str, got: str, ask: Any
) -> None:
    config.write_text(f"[plugins.cache]\n{table}\n")
    llm = llmplug.load("mock")
    for _ in range(2):  # each opted-in call says it, until the file is fixed
        with pytest.raises(HookError) as raised:
            ask(llm)
        error = raised.value.__cause__
        assert isinstance(error, ConfigError)
        assert str(error).startswith(f"config file {str(config)!r}: [plugins.cache] ")
        assert says in str(error)
        assert str(error).endswith(f"got {got}") or not got
    assert llm.calls == []
    llm.chat(user("q"))  # a call not opting in is not the cache's business
    assert len(llm.calls) == 1


def test_the_table_is_checked_once_per_version_of_the_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.write_text("[plugins.cache]\nttl = 60\nmax_entries = 5\n")
    checked: list[str] = []
    real = llmplug_cache._valid
    monkeypatch.setattr(llmplug_cache, "_valid", lambda k, v: checked.append(k) or real(k, v))
    llm = llmplug.load("mock")
    for _ in range(5):
        llm.chat(user("q"), plugins="cache")
    assert sorted(checked) == ["max_entries", "ttl"]
    assert len(llm.calls) == 1
    cache = llmplug_cache.default_cache()
    assert (cache.ttl, cache.max_entries) == (60, 5)


def test_a_fixed_file_is_read_again(config: Path) -> None:
    config.write_text('[plugins.cache]\nttl = "1d"\n')
    llm = llmplug.load("mock")
    with pytest.raises(HookError, match=re.escape("[plugins.cache] ttl must be")):
        llm.chat(user("q"), plugins="cache")
    config.write_text("[plugins.cache]\nttl = 86400\n")
    llm.chat(user("q"), plugins="cache")
    llm.chat(user("q"), plugins="cache")
    assert len(llm.calls) == 1
    assert llmplug_cache.default_cache().ttl == 86400


def test_the_cache_command_says_what_is_wrong(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text('[plugins.cache]\nmax_entries = "many"\n')
    assert main(["cache"]) == 2
    err = capsys.readouterr().err
    assert f"config file {str(config)!r}: [plugins.cache] max_entries must be" in err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"ttl": "1d"}, "ttl must be a number of seconds > 0", id="ttl"),
        pytest.param({"ttl": 0}, "ttl must be a number of seconds > 0", id="ttl-zero"),
        pytest.param({"max_entries": "many"}, "max_entries must be a whole number", id="entries"),
        pytest.param({"max_bytes": -1}, "max_bytes must be a whole number", id="bytes"),
    ],
)
def test_a_cache_of_your_own_checks_its_settings(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        llmplug_cache.ResponseCache(tmp_path / "c.db", **options)
