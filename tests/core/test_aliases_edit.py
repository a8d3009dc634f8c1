"""Changing aliases in the config file: comments and layout kept, never a broken file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import llmplug
from llmplug.config import CONFIG_ENV, Alias, aliases, read_config, remove_alias, set_alias
from llmplug.errors import ConfigError
from llmplug.testing import isolated_registry

ORIGINAL = """\
# my llmplug settings
default = "fast"  # what llmplug.load() uses

[aliases]
# the quick one
fast = "mock:quick?temperature=0"

[aliases.smart]
spec = "mock:smart"
max_tokens = 7  # keep it short
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "config.toml"
    monkeypatch.setenv(CONFIG_ENV, str(path))
    path.write_text(ORIGINAL, encoding="utf-8")
    with isolated_registry():
        yield path


def test_list(config: Path) -> None:
    assert aliases() == [
        Alias("fast", "mock:quick?temperature=0", {}),
        Alias("smart", "mock:smart", {"max_tokens": 7}),
    ]


def test_set_keeps_comments_and_layout(config: Path) -> None:
    assert set_alias("echo", "mock:echo-2?max_tokens=3") is None
    text = config.read_text(encoding="utf-8")
    assert text.startswith(ORIGINAL.split("[aliases.smart]")[0].rstrip("\n"))
    assert "# the quick one" in text
    assert "# keep it short" in text
    assert 'echo = "mock:echo-2?max_tokens=3"' in text
    assert read_config().aliases["echo"] == ("mock:echo-2?max_tokens=3", {})
    assert llmplug.load("echo").model == "echo-2"  # load() reads what was written


def test_set_replaces_and_returns_the_old_alias(config: Path) -> None:
    previous = set_alias("smart", "mock:smarter")
    assert previous == Alias("smart", "mock:smart", {"max_tokens": 7})
    assert read_config().aliases["smart"] == ("mock:smarter", {})
    assert "# the quick one" in config.read_text(encoding="utf-8")


def test_remove(config: Path) -> None:
    assert remove_alias("fast") == Alias("fast", "mock:quick?temperature=0", {})
    assert remove_alias("fast") is None
    text = config.read_text(encoding="utf-8")
    assert "fast =" not in text
    assert text.startswith("# my llmplug settings\ndefault = ")
    assert set(read_config().aliases) == {"smart"}


def test_a_missing_file_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "new" / "config.toml"
    monkeypatch.setenv(CONFIG_ENV, str(path))  # names a file that does not exist yet
    assert remove_alias("fast") is None
    assert not path.exists()
    set_alias("fast", "mock")
    assert path.read_text(encoding="utf-8") == '[aliases]\nfast = "mock"\n'


def test_created_in_the_user_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    set_alias("fast", "mock")
    path = tmp_path / "xdg" / "llmplug" / "config.toml"
    assert read_config(path).aliases == {"fast": ("mock", {})}
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_the_file_mode_is_kept(config: Path) -> None:
    config.chmod(0o600)
    set_alias("other", "mock")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        pytest.param("Fast", "mock", "cannot be used in a config string", id="upper-case"),
        pytest.param("a b", "mock", "cannot be used in a config string", id="space"),
        pytest.param("fast", "mock:", "no model after it", id="bad-spec"),
        pytest.param("fast", "", "empty config string", id="empty-spec"),
        pytest.param("self", "self", "would stand for itself", id="itself"),
    ],
)
def test_bad_aliases_are_refused_and_nothing_is_written(
    config: Path, name: str, spec: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        set_alias(name, spec)
    assert config.read_text(encoding="utf-8") == ORIGINAL


def test_a_broken_config_file_is_not_touched(config: Path) -> None:
    config.write_text("[aliases\nfast = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        set_alias("other", "mock")
    assert config.read_text(encoding="utf-8") == "[aliases\nfast = 1\n"
