"""What a cold ``load()`` costs: the entry-point scan, lazy modules, defaults not shared.

The speed itself is measured by ``bench/bench_import.py``; these tests pin the behaviour
the speed-ups rely on, so that they cannot change what users see.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llmplug import ChatMessage, LogProb
from llmplug._entry_points import installed_entry_points
from llmplug.mock import MockChatLLM


class FakeDistribution(importlib.metadata.Distribution):
    """A distribution whose files are given as text (``None``: the file is missing)."""

    def __init__(self, name: str, entry_points: str | None) -> None:
        self._name = name
        self._files = {
            "METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
            "entry_points.txt": entry_points,
        }
        self.reads: list[str] = []

    def read_text(self, filename: str) -> str | None:
        self.reads.append(filename)
        return self._files.get(filename)

    def locate_file(self, path: Any) -> Path:
        return Path(self._name) / str(path)


PROVIDERS = """\
[console_scripts]
tool = some.module:main

[llmplug.providers]
echo = plugin_echo
 spaced  =  plugin_spaced:thing
# a comment
[llmplug]
hooks = plugin_hooks
"""
SHADOWED = "[llmplug.providers]\nold = plugin_old\n"
OTHER = "[pytest11]\nplugin = some_pytest_plugin\n"


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> list[FakeDistribution]:
    dists = [
        FakeDistribution("llmplug-echo", PROVIDERS),
        FakeDistribution("unrelated", OTHER),
        FakeDistribution("no-entry-points", None),
        # the same distribution again, later on sys.path: shadowed, as entry_points() says
        FakeDistribution("LLMPlug_Echo", SHADOWED),
    ]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda **kw: iter(dists))
    return dists


@pytest.mark.parametrize("group", ["llmplug.providers", "llmplug", "pytest11", "console_scripts"])
def test_the_scan_finds_what_entry_points_finds(installed: list[Any], group: str) -> None:
    found = [(ep.name, ep.value, ep.group, ep.dist.name) for ep in installed_entry_points(group)]
    expected = [
        (ep.name, ep.value, ep.group, ep.dist.name)
        for ep in importlib.metadata.entry_points(group=group)
    ]
    assert found == expected
    assert found, "each group has an entry point here"


def test_the_scan_reads_only_entry_points_files(installed: list[FakeDistribution]) -> None:
    installed_entry_points("llmplug.providers")
    # names come from the (fake) metadata here; a real dist-info directory names itself
    assert all(set(dist.reads) <= {"METADATA", "entry_points.txt"} for dist in installed)
    assert installed[0].reads.count("entry_points.txt") == 2  # read, then parsed
    assert installed[1].reads.count("entry_points.txt") == 1  # read, not parsed


def test_dist_info_files_are_read_as_read_text_reads_them(tmp_path: Path) -> None:
    from llmplug._entry_points import _dist_key, _read_file

    good = tmp_path / "Good.Name-1.0.dist-info"
    good.mkdir()
    (good / "entry_points.txt").write_text(PROVIDERS + "# é\n", encoding="utf-8")
    odd = tmp_path / "odd-1.0.dist-info"
    (odd / "entry_points.txt").mkdir(parents=True)  # a directory where the file should be
    bare = tmp_path / "bare-1.0.dist-info"
    bare.mkdir()
    for path in (good, odd, bare):
        dist = importlib.metadata.PathDistribution(path)
        text = dist.read_text("entry_points.txt")
        assert _read_file(str(path / "entry_points.txt")) == (text or "").encode("utf-8")
        assert _dist_key(dist, str(path)) == dist._normalized_name  # type: ignore[attr-defined]


def test_the_scan_of_the_real_environment_matches_entry_points() -> None:
    for group in ("llmplug.providers", "llmplug"):
        found = sorted((ep.name, ep.value) for ep in installed_entry_points(group))
        listed = importlib.metadata.entry_points(group=group)
        expected = sorted((ep.name, ep.value) for ep in listed)
        assert found == expected


# -- what a cold load imports (the plugins' loads: tests/plugins/test_cold_load.py) ---------


def test_a_cold_load_of_the_mock_imports_only_what_it_needs() -> None:
    probe = (
        "import sys, llmplug\nllmplug.load('mock')\n"
        "lazy = ('httpx2', 'importlib_metadata', 'llmplug.http',\n"
        "        'llmplug.types._model_info', 'llmplug.structured')\n"
        "print([m for m in lazy if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"LLMPLUG_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": ""},
    )
    assert out.stdout.strip() == "[]"


def test_lazy_http_names_all_resolve() -> None:
    import llmplug.http as http

    for name in http.__all__:
        assert getattr(http, name) is not None
    assert sorted(dir(http)) == sorted(http.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = http.Nope


# -- the config directory on Linux, without platformdirs ------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="the shortcut is for Linux only")
@pytest.mark.parametrize("xdg", [None, "", "/x/cfg", "/x/cfg/", "relative", " "])
@pytest.mark.parametrize("home", [None, "/home/u", "/home/u/", "/", "relative"])
def test_the_linux_config_dir_is_the_one_platformdirs_names(
    monkeypatch: pytest.MonkeyPatch, xdg: str | None, home: str | None
) -> None:
    import platformdirs

    from llmplug.config._user_files import APP_NAME, _linux_config_dir, user_config_dir

    for name, value in (("XDG_CONFIG_HOME", xdg), ("HOME", home)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    theirs = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False, roaming=True))
    assert user_config_dir() == theirs
    ours = _linux_config_dir()
    # the shortcut answers only where every platformdirs version agrees; else it defers
    assert ours in (None, theirs)
    assert (ours is not None) == (
        (xdg or "").startswith("/") or (not xdg and (home or "").startswith("/"))
    )


@pytest.mark.skipif(sys.platform != "linux", reason="the shortcut is for Linux only")
def test_a_cold_load_reads_the_config_without_platformdirs(tmp_path: Path) -> None:
    probe = (
        "import sys, llmplug\nllmplug.load('mock')\n"
        "print('platformdirs' in sys.modules, llmplug.config.config_path())"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"LLMPLUG_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "", "HOME": str(tmp_path)},
    )
    assert out.stdout.split() == ["False", str(tmp_path / ".config" / "llmplug" / "config.toml")]


# -- list defaults are not shared between objects ---------------------------------------------


def test_list_defaults_are_per_object() -> None:
    first, second = ChatMessage(role="user"), ChatMessage(role="user")
    first.blocks.append(ChatMessage(content="x").blocks[0])
    assert second.blocks == []
    assert ChatMessage.model_construct().blocks == []
    a, b = LogProb(), LogProb()
    a.bytes.append(1)
    assert b.bytes == []
    one, two = MockChatLLM(), MockChatLLM()
    one.responses.append("x")
    assert two.responses == []


# -- transport settings read on first use --------------------------------------------------


def test_transport_defaults_read_through_classes_and_instances() -> None:
    from typing import ClassVar

    from llmplug.http import DEFAULT_LIMITS, DEFAULT_RETRY_POLICY, HTTPChatLLM, Limits

    class Pooled(HTTPChatLLM):
        limits: ClassVar[Limits] = Limits(max_connections=3)

    assert HTTPChatLLM.limits is DEFAULT_LIMITS
    assert HTTPChatLLM.retry_policy is DEFAULT_RETRY_POLICY
    assert Pooled.limits == Limits(max_connections=3)
    assert Pooled.retry_policy is DEFAULT_RETRY_POLICY
    pytest.importorskip("llmplug_openai")
    import llmplug

    llm = llmplug.load("openai:gpt-4o-mini", api_key="sk-test")
    assert llm.limits is DEFAULT_LIMITS  # type: ignore[attr-defined]
    assert llm.retry_policy is DEFAULT_RETRY_POLICY  # type: ignore[attr-defined]
