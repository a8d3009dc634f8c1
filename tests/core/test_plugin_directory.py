"""The plugin directory, honest install hints, key variables, ``llmplug plugin``."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, ClassVar

import pytest

import llmplug
from llmplug.cli import main
from llmplug.errors import PluginLoadError, UnknownProviderError
from llmplug.hookspecs import hookimpl
from llmplug.mock import MockChatLLM
from llmplug.plugins import _directory
from llmplug.plugins._directory import DIRECTORY, install_hint, plugin_for_provider
from llmplug.testing import fake_entry_point, isolated_registry

ROOT = Path(__file__).resolve().parents[2]
KNOWN = {p.distribution for p in DIRECTORY}


def _pip_names(text: str) -> set[str]:
    """Every package a ``pip install`` in ``text`` would fetch by name."""
    names = set()
    for command in re.findall(r"pip install ([^;)&`\n]+)", text):
        for word in command.split():
            if word.startswith("-"):
                continue
            if not word.startswith((".", "/")):
                names.add(word.split("==")[0])
            break  # the first package named is what the hint offers
    return names


# -- the directory agrees with the repository ------------------------------------------


def test_every_plugin_in_the_repository_is_in_the_directory() -> None:
    for pyproject in ROOT.glob("plugins/*/pyproject.toml"):
        project = tomllib.loads(pyproject.read_text())["project"]
        plugin = next((p for p in DIRECTORY if p.distribution == project["name"]), None)
        assert plugin is not None, f"{project['name']} is missing from the directory"
        assert plugin.status == "ready"
        assert plugin.path == str(pyproject.parent.relative_to(ROOT))
        declared = set(project.get("entry-points", {}).get("llmplug.providers", {}))
        assert declared == set(plugin.providers)


def test_in_development_plugins_are_marked_and_not_offered_for_pip() -> None:
    for plugin in DIRECTORY:
        if not (ROOT / plugin.path).is_dir():
            assert plugin.status == "in development", plugin.distribution
            assert "pip install" not in install_hint(plugin)


def test_install_hint_once_published(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = plugin_for_provider("openai")
    assert plugin is not None
    assert install_hint(plugin).startswith("pip install ./plugins/openai in a clone")
    monkeypatch.setattr(_directory, "PUBLISHED", True)
    assert install_hint(plugin) == "pip install llmplug-openai"


# -- unknown providers: never a package name built from what was typed ------------------


@pytest.mark.parametrize(
    ("name", "suggestion", "mentions"),
    [
        pytest.param(
            "opneai",
            None,
            "Did you mean 'openai', served by the plugin llmplug-openai",
            id="typo-of-a-known-plugin",
        ),
        pytest.param("mokc", "mock", "Did you mean 'mock'?", id="typo-of-an-installed-name"),
        pytest.param(
            "ollama",
            None,
            "served by the plugin llmplug-ollama, which is not installed",
            id="known-not-installed",
        ),
        pytest.param(
            "zzzz-llm", None, "Known plugins: llmplug plugin list --available", id="unknown"
        ),
    ],
)
def test_unknown_provider_hints(name: str, suggestion: str | None, mentions: str) -> None:
    with isolated_registry(), pytest.raises(UnknownProviderError) as info:
        llmplug.load(name)
    message = str(info.value)
    assert info.value.suggestion == suggestion
    assert mentions in message
    assert _pip_names(message) <= KNOWN, message
    assert f"llmplug-{name}" not in message or f"llmplug-{name}" in KNOWN


def test_no_source_suggests_installing_a_name_outside_the_directory() -> None:
    sources = list((ROOT / "core" / "src").rglob("*.py"))
    sources += list(ROOT.glob("plugins/*/src/**/*.py"))
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert "llmplug-{" not in text.replace("llmplug-{name}", "") or "_scaffold" in path.name
        for name in _pip_names(text):
            if name.startswith("llmplug"):
                assert name in KNOWN or name.startswith("llmplug-acme"), (
                    f"{path}: pip install {name}"
                )


# -- key variables -------------------------------------------------------------------------


class KeyedLLM(MockChatLLM):
    key_env: ClassVar[str | None] = "KEYED_API_KEY"


def _plugin(key_env: str | None) -> Any:
    class Plugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register("keyed", KeyedLLM, key_env=key_env)

    return Plugin()


def test_key_env_shown_from_metadata_without_import() -> None:
    eps = [
        fake_entry_point("keyed", "no_such_module_imported", dist="llmplug-keyed"),
        fake_entry_point("keyed", "KEYED_API_KEY", group="llmplug.key_env", dist="llmplug-keyed"),
        fake_entry_point("other", "not a variable!", group="llmplug.key_env", dist="x"),
    ]
    with isolated_registry(eps):
        infos = {i.name: i for i in llmplug.providers()}
    assert infos["keyed"].key_env == "KEYED_API_KEY"
    assert infos["keyed"].status == "available"  # nothing was imported
    assert "other" not in infos


def test_registration_takes_the_class_key_env() -> None:
    with isolated_registry():
        llmplug.register_plugin(_plugin(None), "keyed-plugin")
        from llmplug.plugins._registry import registry

        assert registry().get("keyed").key_env == "KEYED_API_KEY"


def test_registration_disagreeing_with_the_class_is_refused() -> None:
    with isolated_registry(), pytest.raises(PluginLoadError, match="reads the key from"):
        llmplug.register_plugin(_plugin("OTHER_KEY"), "keyed-plugin")


# -- the command line ----------------------------------------------------------------------


def test_providers_table_has_a_key_column(capsys: pytest.CaptureFixture[str]) -> None:
    eps = [
        fake_entry_point("keyed", "m", dist="llmplug-keyed"),
        fake_entry_point("keyed", "KEYED_API_KEY", group="llmplug.key_env", dist="llmplug-keyed"),
    ]
    with isolated_registry(eps):
        assert main(["providers"]) == 0
        assert main(["providers", "--json"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "NAME" in line)
    assert header.split() == ["NAME", "DISTRIBUTION", "VERSION", "KEY", "STATUS"]
    assert re.search(r"keyed\s+llmplug-keyed\s+1.0\s+KEYED_API_KEY\s+available", out)
    data = json.loads(out[out.index("{") :])
    keyed = next(p for p in data["providers"] if p["name"] == "keyed")
    assert keyed["key_env"] == "KEYED_API_KEY"


def test_plugin_list_available(capsys: pytest.CaptureFixture[str]) -> None:
    with isolated_registry():
        assert main(["plugin", "list", "--available"]) == 0
        table = capsys.readouterr().out
        assert main(["plugin", "list", "--available", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
    assert table.splitlines()[0].split() == ["DISTRIBUTION", "KIND", "PROVIDERS", "STATUS"]
    assert re.search(r"^llmplug\s+provider\s+mock\s+installed$", table, re.M)
    assert re.search(r"^llmplug-ollama\s+provider\s+ollama\s+ready$", table, re.M)
    assert re.search(r"^llmplug-server\s+app\s+-?\s*(ready|installed)$", table, re.M)
    assert "install: pip install ./plugins/openai in a clone" in table
    rows = {row["distribution"]: row for row in data["plugins"]}
    assert set(rows) == KNOWN
    assert rows["llmplug"]["installed"] is True
    assert rows["llmplug-gemini"]["providers"] == ["gemini", "vertex"]


def test_plugin_list_needs_available(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugin", "list"]) == 2
    assert "--available" in capsys.readouterr().err


def test_plugin_new_writes_a_distribution(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plugin", "new", "acme", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "llmplug-acme"
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["llmplug.providers"] == {"acme": "llmplug_acme"}
    assert project["project"]["entry-points"]["llmplug.key_env"] == {"acme": "ACME_API_KEY"}
    assert (root / "tests" / "test_conformance.py").is_file()
    assert "pytest llmplug-acme" in capsys.readouterr().out
    assert main(["plugin", "new", "acme", "--dir", str(tmp_path)]) == 2  # exists already
