"""The key store: where keys live, how they are written, and the order keys are found in."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from llmplug.config import KEYS_ENV, KeyStore, key_source, keys_path, resolve_key
from llmplug.errors import ConfigError

CANARY = "sk-canary-key-0123456789"


@pytest.fixture(autouse=True)
def _config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(KEYS_ENV, raising=False)
    monkeypatch.delenv("LLMPLUG_TEST_KEY", raising=False)


def test_the_store_lives_in_the_user_config_dir(tmp_path: Path) -> None:
    assert keys_path() == tmp_path / "xdg" / "llmplug" / "keys.json"
    assert KeyStore().path == keys_path()


def test_an_env_var_moves_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEYS_ENV, str(tmp_path / "elsewhere.json"))
    KeyStore().set("LLMPLUG_TEST_KEY", CANARY)
    assert (tmp_path / "elsewhere.json").is_file()


def test_set_get_list_remove(tmp_path: Path) -> None:
    store = KeyStore()
    assert store.names() == []
    assert store.get("LLMPLUG_TEST_KEY") is None
    store.set("LLMPLUG_TEST_KEY", f"  {CANARY}\n")  # pasted with a newline
    store.set("OTHER_KEY", SecretStr("sk-other-123456"))
    key = store.get("LLMPLUG_TEST_KEY")
    assert isinstance(key, SecretStr)
    assert key.get_secret_value() == CANARY
    assert store.names() == ["LLMPLUG_TEST_KEY", "OTHER_KEY"]
    assert store.remove("LLMPLUG_TEST_KEY") is True
    assert store.remove("LLMPLUG_TEST_KEY") is False
    assert store.names() == ["OTHER_KEY"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_the_file_is_private_and_written_atomically(tmp_path: Path) -> None:
    store = KeyStore()
    store.set("LLMPLUG_TEST_KEY", CANARY)
    path = store.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)  # loosened by hand: the next write makes it private again
    store.set("OTHER_KEY", "sk-other-123456")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["keys.json"]  # no temporary left
    assert json.loads(path.read_text()) == {
        "LLMPLUG_TEST_KEY": CANARY,
        "OTHER_KEY": "sk-other-123456",
    }


def test_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = KeyStore()
    store.set("LLMPLUG_TEST_KEY", CANARY)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.set("OTHER_KEY", "sk-other-123456")
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert KeyStore().names() == ["LLMPLUG_TEST_KEY"]
    assert [p.name for p in store.path.parent.iterdir()] == ["keys.json"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        pytest.param("1KEY", CANARY, "cannot name a key", id="leading-digit"),
        pytest.param("MY-KEY", CANARY, "cannot name a key", id="dash"),
        pytest.param("MY_KEY", "   ", "is empty", id="empty"),
        pytest.param("MY_KEY", "sk-a sk-b", "contains whitespace", id="two-words"),
    ],
)
def test_bad_names_and_values_are_refused(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        KeyStore().set(name, value)
    assert "sk-a" not in str(caught.value)
    assert KeyStore().names() == []


def test_a_malformed_store_is_an_error_that_shows_no_key(tmp_path: Path) -> None:
    path = keys_path()
    path.parent.mkdir(parents=True)
    path.write_text('{"LLMPLUG_TEST_KEY": "' + CANARY + '",', encoding="utf-8")
    with pytest.raises(ConfigError, match="not a JSON object of names to keys") as caught:
        KeyStore().get("LLMPLUG_TEST_KEY")
    assert CANARY not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_a_change_on_disk_is_seen(tmp_path: Path) -> None:
    store = KeyStore()
    store.set("LLMPLUG_TEST_KEY", CANARY)
    assert store.get("LLMPLUG_TEST_KEY") is not None
    store.path.write_text('{"LLMPLUG_TEST_KEY": "sk-edited-by-hand-1"}', encoding="utf-8")
    key = KeyStore().get("LLMPLUG_TEST_KEY")
    assert key is not None
    assert key.get_secret_value() == "sk-edited-by-hand-1"


@pytest.mark.parametrize(
    ("explicit", "env", "stored", "expected", "source"),
    [
        pytest.param(
            "sk-explicit-1", "sk-env-1", "sk-stored-1", "sk-explicit-1", "environment",
            id="explicit",
        ),
        pytest.param(None, "sk-env-1", "sk-stored-1", "sk-env-1", "environment", id="env"),
        pytest.param(None, None, "sk-stored-1", "sk-stored-1", "key store", id="store"),
        pytest.param(None, None, None, None, None, id="none"),
    ],
)  # fmt: skip
def test_resolution_order(
    explicit: str | None,
    env: str | None,
    stored: str | None,
    expected: str | None,
    source: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if env is not None:
        monkeypatch.setenv("LLMPLUG_TEST_KEY", env)
    if stored is not None:
        KeyStore().set("LLMPLUG_TEST_KEY", stored)
    key = resolve_key("LLMPLUG_TEST_KEY", explicit)
    assert (key.get_secret_value() if key is not None else None) == expected
    assert key_source("LLMPLUG_TEST_KEY") == source
