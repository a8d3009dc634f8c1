"""Plugins from the command line: status, commands they add, install and uninstall."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import Env

HELLO_PLUGIN = """
import llmplug
from llmplug.errors import ConfigError

LLMPLUG_PLUGIN_API = 1


def _configure(parser):
    parser.add_argument("--name", default="world")


def _hello(args):
    if args.name == "nobody":
        raise ConfigError("say hello to somebody")
    if args.name == "crash":
        raise ZeroDivisionError("the plugin's own bug")
    print(f"hello, {args.name}")
    return 0


@llmplug.hookimpl
def register_commands(register):
    register("hello", _hello, help="say hello", configure=_configure)
"""

FAILING_PLUGIN = """
import llmplug

LLMPLUG_PLUGIN_API = 1


@llmplug.hookimpl
def register_commands(register):
    register("good-one", lambda args: 0, help="would be fine")
    raise RuntimeError("cannot register today")
"""

GREEDY_PLUGIN = """
import llmplug

LLMPLUG_PLUGIN_API = 1


@llmplug.hookimpl
def register_commands(register):
    register("chat", lambda args: 0, help="a chat of my own")
"""


@pytest.fixture
def plugins(env: Env) -> Env:
    sources = {"hello": HELLO_PLUGIN, "failing": FAILING_PLUGIN, "greedy": GREEDY_PLUGIN}
    for name, source in sources.items():
        module = f"llmplug_{name}"
        env.install(f"llmplug-{name}", {f"{module}.py": source}, {"llmplug": {name: module}})
    env.install(
        "llmplug-broken-hooks",
        {"llmplug_broken_hooks.py": "raise ImportError('needs a module nobody has')\n"},
        {"llmplug": {"broken-hooks": "llmplug_broken_hooks"}},
    )
    return env


def test_a_plugin_adds_a_command(plugins: Env) -> None:
    result = plugins.run("hello", "--name", "you")
    assert (result.code, result.out) == (0, "hello, you\n")
    assert "could not add its commands" in result.err  # the failing plugins are named
    help_text = plugins.run("--help")
    assert help_text.code == 0
    assert "hello" in help_text.out
    assert "say hello [plugin hello]" in help_text.out
    assert "good-one" not in help_text.out  # a failing registration adds nothing
    failing = "plugin 'failing' could not add its commands: RuntimeError: cannot register today"
    assert failing in help_text.err
    greedy = "ValueError: the command 'chat' is already taken (by llmplug)"
    assert f"plugin 'greedy' could not add its commands: {greedy}" in help_text.err
    assert "hook plugin not loaded: plugin 'broken-hooks'" in help_text.err


def test_debug_shows_why_plugins_failed(plugins: Env) -> None:
    quiet = plugins.run("--help")
    assert "Traceback" not in quiet.err
    loud = plugins.run("--help", LLMPLUG_DEBUG="1")
    assert loud.code == 0
    assert 'llmplug_broken_hooks.py", line 1' in loud.err  # the hook plugin's import
    assert 'llmplug_failing.py", line 10, in register_commands' in loud.err


def test_plugin_command_errors_are_reported_like_llmplugs(plugins: Env) -> None:
    config_error = plugins.run("hello", "--name", "nobody")
    assert config_error.code == 2
    assert "llmplug: error: say hello to somebody" in config_error.err
    bug = plugins.run("hello", "--name", "crash")
    assert bug.code == 1
    assert "error: plugin 'hello': ZeroDivisionError: the plugin's own bug" in bug.err
    usage = plugins.run("hello", "--nme", "x")
    assert usage.code == 2


def test_built_in_commands_work_whatever_plugins_do(plugins: Env) -> None:
    result = plugins.run("chat", "-m", "mock", "still here")
    assert (result.code, result.out) == (0, "still here\n")
    assert "could not add" not in result.err  # built-in commands do not collect commands


def test_plugins_lists_status_hooks_and_commands(plugins: Env) -> None:
    result = plugins.run("plugins", "--json")
    assert result.code == 0, result.err
    found = {entry["name"]: entry for entry in json.loads(result.out)}
    hello = found["llmplug-hello"]
    assert (hello["kind"], hello["status"], hello["commands"]) == ("hooks", "loaded", ["hello"])
    assert hello["provides"] == ["register_commands"]
    assert found["llmplug-failing"]["commands_error"] == "RuntimeError: cannot register today"
    broken = found["llmplug-broken-hooks"]
    assert broken["status"] == "failed"
    assert "needs a module nobody has" in broken["error"]
    assert found["llmplug-rec"]["provides"] == ["after_call", "on_call_error"]
    mock = found["llmplug"]
    assert (mock["kind"], mock["status"], mock["provides"]) == ("providers", "loaded", ["mock"])
    text = plugins.run("plugins").out
    assert "llmplug-broken-hooks 1.0  hooks  failed" in text
    assert "    commands: hello" in text
    assert "    commands not added: RuntimeError: cannot register today" in text


def test_plugins_shows_blocked_plugins(plugins: Env) -> None:
    result = plugins.run("plugins", "--json", LLMPLUG_PLUGINS="hello")
    found = {entry["name"]: entry for entry in json.loads(result.out)}
    assert found["llmplug-hello"]["status"] == "loaded"
    assert found["llmplug-rec"]["status"] == "blocked"
    assert found["llmplug-rec"]["error"] == "not in LLMPLUG_PLUGINS"


def test_providers_lists_metadata_without_importing(plugins: Env) -> None:
    result = plugins.run("providers")
    assert result.code == 0
    assert result.out.startswith("Providers:\n")
    assert "hello" in result.out  # the hook plugins, by metadata only
    assert "could not add" not in result.err


FAKE_PIP = """
import json, os, sys
with open(os.environ["PIP_RECORD"], "w") as f:
    json.dump({"argv": sys.argv[1:], "executable": sys.executable}, f)
sys.exit(int(os.environ.get("PIP_EXIT", "0")))
"""


@pytest.mark.parametrize(
    ("args", "pip_args"),
    [
        pytest.param(["install", "llmplug-foo"], ["install", "llmplug-foo"], id="install"),
        pytest.param(
            ["install", "-U", "--pre", "llmplug-foo", "llmplug-bar"],
            ["install", "--upgrade", "--pre", "llmplug-foo", "llmplug-bar"],
            id="install-upgrade",
        ),
        pytest.param(["install", "-e", "./mine"], ["install", "-e", "./mine"], id="editable"),
        pytest.param(["uninstall", "llmplug-foo"], ["uninstall", "llmplug-foo"], id="uninstall"),
        pytest.param(["uninstall", "-y", "llmplug-foo"], ["uninstall", "--yes", "llmplug-foo"],
                     id="uninstall-yes"),
    ],
)  # fmt: skip
def test_install_runs_pip_for_this_python(env: Env, args: list[str], pip_args: list[str]) -> None:
    env.install("pip", {"pip/__init__.py": "", "pip/__main__.py": FAKE_PIP}, {})
    record = env.root / "pip.json"
    result = env.run(*args, PIP_RECORD=str(record), PIP_EXIT="3")
    assert result.code == 3  # pip's exit code is llmplug's
    ran = json.loads(record.read_text(encoding="utf-8"))
    assert ran["argv"] == pip_args
    assert Path(ran["executable"]).resolve() == Path(sys.executable).resolve()


def _wheel(path: Path) -> Path:
    """A real wheel of a provider plugin (built by hand: no build backend, no network)."""
    wheel = path / "llmplug_wheeled-1.0-py3-none-any.whl"
    info = "llmplug_wheeled-1.0.dist-info"
    source = HELLO_PLUGIN.replace('register("hello"', 'register("wheeled"')
    files = {
        "llmplug_wheeled.py": source,
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: llmplug-wheeled\nVersion: 1.0\n",
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{info}/entry_points.txt": "[llmplug]\nwheeled = llmplug_wheeled\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


def test_install_really_installs_a_plugin(env: Env) -> None:
    target = env.root / "target"
    result = env.run("install", "--target", str(target), "--no-deps", str(_wheel(env.root)))
    assert result.code == 0, result.err
    installed = env.run("wheeled", PYTHONPATH=f"{env.site}:{target}")
    assert (installed.code, installed.out) == (0, "hello, world\n")
