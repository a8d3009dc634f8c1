"""End to end: plugins found through the entry points of really installed distributions.

Unit tests drive discovery with fake entry points (``llmplug.testing``); these tests need
the fixture distributions in ``tests/fixtures/`` pip-installed (not editable) into the
test environment::

    pip install ./tests/fixtures/provider-plugin ./tests/fixtures/hook-plugin \
        ./tests/fixtures/broken-plugin

Anything about import side effects or env switches runs in a fresh interpreter, because
the in-process registry is a process-wide singleton that caches what it loaded. The
in-process tests swap in a fresh registry over the real installed entry points.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmplug
from llmplug.errors import InvalidOptionError, PluginLoadError
from llmplug.plugins._registry import Registry, set_registry

pytestmark = pytest.mark.e2e

#: provider name -> the distribution that declares it
PROVIDER_DISTS = {
    "fixture-echo": "llmplug-fixture-echo",
    "fixture-broken": "llmplug-fixture-broken",
    "mock": "llmplug",
}
HOOKS_DIST = "llmplug-fixture-hooks"
FIXTURE_DISTS = ("llmplug-fixture-echo", "llmplug-fixture-broken", HOOKS_DIST)
FIXTURE_MODULES = ("llmplug_fixture_broken", "llmplug_fixture_echo", "llmplug_fixture_hooks")
#: Env vars that change what loads; cleared so the caller's shell cannot skew a test.
LLMPLUG_ENV = (
    "LLMPLUG_CONFIG",
    "LLMPLUG_DISABLE_PLUGIN_AUTOLOAD",
    "LLMPLUG_MODEL",
    "LLMPLUG_PLUGINS",
)


def _missing_fixtures() -> list[str]:
    missing = []
    for dist in FIXTURE_DISTS:
        try:
            importlib.metadata.distribution(dist)
        except importlib.metadata.PackageNotFoundError:
            missing.append(dist)
    return missing


if _missing := _missing_fixtures():
    _why = f"fixture distributions not installed ({', '.join(_missing)}); "
    _why += "run: pip install tests/fixtures/*/"
    if os.environ.get("CI"):
        # in CI a silent skip would let the suite pass without ever testing entry points
        pytest.fail(_why, pytrace=False)
    pytest.skip(_why, allow_module_level=True)


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Registry]:
    """A new process-wide registry over the installed entry points, nothing loaded yet."""
    for name in LLMPLUG_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no user config file
    registry = Registry()
    previous = set_registry(registry)
    try:
        yield registry
    finally:
        set_registry(previous)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMPLUG_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    # installed hook plugins (the call log, the cache) write here, not in the user's dirs
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env.update(extra)
    return env


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # cwd=tmp_path: nothing from the repo checkout shadows the installed distributions
    result = subprocess.run(
        args,
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stderr}"
    return result


def _python(code: str, tmp_path: Path, **env: str) -> Any:
    """Run ``code`` in a fresh interpreter; it prints one JSON document, returned here."""
    result = _run([sys.executable, "-c", textwrap.dedent(code)], tmp_path, **env)
    return json.loads(result.stdout)


def _user(text: str) -> list[llmplug.ChatMessage]:
    return [llmplug.ChatMessage(role="user", content=text)]


# -- listing -------------------------------------------------------------------------------


def test_listing_shows_installed_providers_before_loading(fresh_registry: Registry) -> None:
    infos = {info.name: info for info in llmplug.providers()}

    for name, dist in PROVIDER_DISTS.items():
        info = infos[name]
        assert info.distribution == dist
        assert info.version == importlib.metadata.version(dist)
        assert info.status == "available"
        assert info.error is None
    assert infos["fixture-echo"].module == "llmplug_fixture_echo"


def test_listing_imports_no_plugin(tmp_path: Path) -> None:
    report = _python(
        """
        import json, sys
        import llmplug
        infos = llmplug.providers()
        plugins = ("llmplug_fixture_echo", "llmplug_fixture_broken",
                   "llmplug_fixture_hooks", "llmplug.mock")
        print(json.dumps({
            "providers": {i.name: [i.distribution, i.status] for i in infos},
            "imported": [m for m in plugins if m in sys.modules],
        }))
        """,
        tmp_path,
    )

    for name, dist in PROVIDER_DISTS.items():
        assert report["providers"][name] == [dist, "available"]
    assert report["imported"] == []


def test_listing_after_loading_shows_registration(fresh_registry: Registry) -> None:
    llmplug.load("fixture-echo")

    info = {info.name: info for info in llmplug.providers()}["fixture-echo"]
    assert info.status == "loaded"
    assert info.description.startswith("Test fixture")
    assert info.key_env is None


# -- loading a provider ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            "fixture-echo",
            {"model": "echo-1", "temperature": 0.0, "shout": False},
            id="defaults",
        ),
        pytest.param(
            "fixture-echo:echo-2?shout=true",
            {"model": "echo-2", "temperature": 0.0, "shout": True},
            id="model-and-bool",
        ),
        pytest.param(
            "fixture-echo?temperature=0.5&shout=false",
            {"model": "echo-1", "temperature": 0.5, "shout": False},
            id="float-and-false",
        ),
    ],
)
def test_load_coerces_options(
    fresh_registry: Registry, spec: str, expected: dict[str, Any]
) -> None:
    llm = llmplug.load(spec)

    assert type(llm).__module__ == "llmplug_fixture_echo"
    for name, value in expected.items():
        actual = getattr(llm, name)
        assert actual == value
        assert type(actual) is type(value), f"{name} is {type(actual).__name__}"
    assert llm.metadata.model_name == expected["model"]
    assert llm.metadata.is_chat_model


def test_load_imports_only_the_asked_plugin(tmp_path: Path) -> None:
    report = _python(
        """
        import json, sys
        import llmplug
        llm = llmplug.load("fixture-echo:echo-2?shout=true")
        print(json.dumps({
            "shout": repr(llm.shout),
            "imported": sorted(m for m in sys.modules if m.startswith("llmplug_fixture")),
        }))
        """,
        tmp_path,
    )

    assert report["shout"] == "True"
    # hook plugins wait for the first call; other providers are never imported
    assert report["imported"] == ["llmplug_fixture_echo"]


def test_unknown_option_lists_valid_ones(fresh_registry: Registry) -> None:
    with pytest.raises(InvalidOptionError) as info:
        llmplug.load("fixture-echo?shoot=true")

    message = str(info.value)
    assert "'shoot'" in message
    assert "did you mean 'shout'?" in message
    assert {"model", "temperature", "shout"} <= set(info.value.valid_options)
    for option in ("model", "temperature", "shout"):
        assert option in message.split("valid options:")[1]


def test_chat_and_stream_through_the_plugin(fresh_registry: Registry) -> None:
    llm = llmplug.load("fixture-echo?shout=true")

    assert llm.chat(_user("hello there")).message.content == "ECHO: HELLO THERE"
    assert llm.complete("hi").text == "ECHO: HI"
    chunks = list(llm.stream_chat(_user("one two three")))
    assert [c.delta for c in chunks] == ["ECHO:", " ONE", " TWO", " THREE"]
    assert [c.message.content for c in chunks] == [
        "ECHO:",
        "ECHO: ONE",
        "ECHO: ONE TWO",
        "ECHO: ONE TWO THREE",
    ]


async def test_async_chat_and_stream_through_the_plugin(fresh_registry: Registry) -> None:
    llm = llmplug.load("fixture-echo")

    assert (await llm.achat(_user("hello"))).message.content == "echo: hello"
    stream = await llm.astream_chat(_user("a b"))
    chunks = [chunk async for chunk in stream]
    assert "".join(c.delta or "" for c in chunks) == "echo: a b"
    assert chunks[-1].message.content == "echo: a b"


# -- a broken plugin -------------------------------------------------------------------------


def test_broken_plugin_fails_alone(fresh_registry: Registry) -> None:
    with pytest.raises(PluginLoadError) as info:
        llmplug.load("fixture-broken")

    error = info.value
    assert error.plugin == "fixture-broken"
    assert error.distribution == "llmplug-fixture-broken"
    message = str(error)
    for part in ("'fixture-broken'", "llmplug-fixture-broken", "RuntimeError", "on purpose"):
        assert part in message
    assert isinstance(error.__cause__, RuntimeError)
    assert str(error.__cause__) == "fixture: this plugin is broken on purpose"

    # the failure is remembered, and nothing else is affected
    with pytest.raises(PluginLoadError, match="on purpose"):
        llmplug.load("fixture-broken")
    assert llmplug.load("fixture-echo").complete("still here").text == "echo: still here"
    assert llmplug.load("mock").complete("me too").text == "me too"
    infos = {info.name: info for info in llmplug.providers()}
    assert infos["fixture-broken"].status == "failed"
    assert "on purpose" in (infos["fixture-broken"].error or "")
    assert infos["fixture-echo"].status == "loaded"
    assert infos["mock"].status == "loaded"


# -- hook plugins and the env switches -------------------------------------------------------


def test_hook_plugin_autoloads_on_first_call(fresh_registry: Registry) -> None:
    import llmplug_fixture_hooks as hooks

    events = hooks.EVENTS  # the module's own list: cleared, never replaced
    events.clear()
    llm = llmplug.load("fixture-echo")
    assert not fresh_registry.pm.is_registered(hooks)  # loading a provider is not a call

    response = llm.chat(_user("observed"))

    assert fresh_registry.pm.is_registered(hooks)
    assert response.message.content == "echo: observed"  # observers change nothing
    assert events == [
        ("before_call", "chat", "fixture-echo"),
        ("after_call", "chat", "fixture-echo"),
    ]

    events.clear()
    chunks = list(llm.stream_chat(_user("a b c")))
    assert events == [
        ("before_call", "stream_chat", "fixture-echo"),
        *[("on_stream_chunk", "stream_chat", "fixture-echo")] * len(chunks),
        ("after_call", "stream_chat", "fixture-echo"),
    ]


_SESSION = """
    import json, sys
    import llmplug
    from llmplug.errors import PluginLoadError
    report = {"status": {i.name: i.status for i in llmplug.providers()}}
    report["echo"] = llmplug.load("fixture-echo").complete("hi").text
    report["mock"] = llmplug.load("mock").complete("hi").text
    try:
        llmplug.load("fixture-broken")
    except PluginLoadError as exc:
        report["broken"] = str(exc)
    report["imported"] = sorted(m for m in sys.modules if m.startswith("llmplug_fixture"))
    hooks = sys.modules.get("llmplug_fixture_hooks")
    report["events"] = None if hooks is None else hooks.EVENTS
    print(json.dumps(report))
"""


def test_fresh_process_autoloads_hook_plugin(tmp_path: Path) -> None:
    report = _python(_SESSION, tmp_path)

    assert report["echo"] == "echo: hi"
    assert report["imported"] == ["llmplug_fixture_echo", "llmplug_fixture_hooks"]
    assert report["events"][:2] == [
        ["before_call", "complete", "fixture-echo"],
        ["after_call", "complete", "fixture-echo"],
    ]
    assert ["before_call", "complete", "mock"] in report["events"]


def test_disable_autoload_env_keeps_hook_plugins_out(tmp_path: Path) -> None:
    report = _python(_SESSION, tmp_path, LLMPLUG_DISABLE_PLUGIN_AUTOLOAD="1")

    assert report["echo"] == "echo: hi"
    assert report["imported"] == ["llmplug_fixture_echo"]
    assert report["events"] is None
    assert "on purpose" in report["broken"]  # providers still load (and fail) by name


@pytest.mark.parametrize(
    "allowed",
    [
        pytest.param("fixture-echo", id="entry-point-name"),
        pytest.param("llmplug-fixture-echo", id="distribution-name"),
        pytest.param("LLMPlug_Fixture.Echo", id="distribution-name-any-spelling"),
    ],
)
def test_allow_list_env_blocks_other_plugins(tmp_path: Path, allowed: str) -> None:
    report = _python(_SESSION, tmp_path, LLMPLUG_PLUGINS=allowed)

    ours = {"fixture-broken", "fixture-echo", "mock", "fallback", "balance", "limit"}
    assert {k: v for k, v in report["status"].items() if k in ours} == {
        "fixture-broken": "blocked",
        "fixture-echo": "available",
        # core's own providers are never blocked
        "mock": "available",
        "fallback": "available",
        "balance": "available",
        "limit": "available",
    }
    # any other installed provider (e.g. llmplug-local) is blocked too
    assert {v for k, v in report["status"].items() if k not in ours} <= {"blocked"}
    assert report["echo"] == "echo: hi"
    assert report["mock"] == "hi"
    assert report["imported"] == ["llmplug_fixture_echo"]
    assert report["events"] is None
    assert "LLMPLUG_PLUGINS" in report["broken"]
    assert "'fixture-broken'" in report["broken"]
    assert "on purpose" not in report["broken"]  # blocked before any import


# -- the command line ------------------------------------------------------------------------


def test_console_script_lists_fixtures(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("llmplug.exe" if os.name == "nt" else "llmplug")
    assert script.exists(), f"no console script at {script}; is llmplug installed?"

    out = _run([str(script), "providers"], tmp_path).stdout

    for name in (*PROVIDER_DISTS, *PROVIDER_DISTS.values(), "fixture-hooks", HOOKS_DIST):
        assert name in out


def test_module_cli_prints_json(tmp_path: Path) -> None:
    out = _run([sys.executable, "-m", "llmplug", "providers", "--json"], tmp_path).stdout

    data = json.loads(out)
    listed = {entry["name"]: entry for entry in data["providers"]}
    for name, dist in PROVIDER_DISTS.items():
        assert listed[name]["distribution"] == dist
        assert listed[name]["status"] == "available"


def test_distribution_names_come_from_the_metadata_directory() -> None:
    # read from "<name>-<version>.dist-info" (no METADATA parsing), they equal the
    # metadata's own name and version for these distributions
    from llmplug._entry_points import dist_label, installed_entry_points

    eps = {ep.name: ep for ep in installed_entry_points("llmplug.providers")}
    for provider, dist in PROVIDER_DISTS.items():
        if provider == "mock":
            continue
        metadata = importlib.metadata.metadata(dist)
        assert dist_label(eps[provider]) == (metadata["Name"], metadata["Version"])
