"""``llmplug plugin new``: what it writes installs and passes its own tests, unchanged.

In a fresh virtualenv holding only the core (from this checkout) and pytest, exactly
what a plugin author types::

    llmplug plugin new acme --kind http
    pip install ./llmplug-acme && pytest llmplug-acme

About 15 s on 2 cores (the venv and its installs, from pip's cache); it runs in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from llmplug.errors import ConfigError
from llmplug.plugins._scaffold import plugin_values, write_plugin

ROOT = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A new virtualenv with the core (built from this checkout) and pytest only."""
    where = tmp_path_factory.mktemp("scaffold")
    venv.create(where / "venv", with_pip=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMPLUG_", "PYTEST_"))}
    env["PATH"] = f"{where / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    pip = [str(where / "venv" / "bin" / "python"), "-m", "pip", "install", "-q"]
    _run([*pip, str(ROOT / "core"), "pytest>=8"], where, env)
    return where, env


@pytest.mark.parametrize("kind", ["http", "hook"])
def test_new_plugin_installs_and_passes_its_tests(
    fresh_venv: tuple[Path, dict[str, str]], kind: str
) -> None:
    where, env = fresh_venv
    name = "acme" if kind == "http" else "acme-log"
    _run(["llmplug", "plugin", "new", name, "--kind", kind], where, env)
    _run(["pip", "install", "-q", f"./llmplug-{name}"], where, env)
    out = _run(["pytest", f"llmplug-{name}"], where, env)
    assert " passed" in out
    assert "failed" not in out
    listed = _run(["llmplug", "providers", "--json"], where, env)
    if kind == "http":
        assert '"key_env": "ACME_API_KEY"' in listed  # shown without importing it
    else:
        assert '"name": "acme-log"' in listed


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        pytest.param("Acme", "lower-case", id="upper-case"),
        pytest.param("acme_ai", "lower-case", id="underscore"),
        pytest.param("-acme", "lower-case", id="leading-dash"),
    ],
)
def test_bad_names_are_refused(name: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        plugin_values(name)


def test_an_existing_folder_is_not_overwritten(tmp_path: Path) -> None:
    write_plugin("acme", directory=tmp_path)
    with pytest.raises(ConfigError, match="exists already"):
        write_plugin("acme", directory=tmp_path)


def test_values_for_a_two_word_name() -> None:
    values = plugin_values("acme-eu")
    assert values["package"] == "llmplug_acme_eu"
    assert values["cls"] == "AcmeEuLLM"
    assert values["key_env"] == "ACME_EU_API_KEY"


def test_the_command_reports_a_bad_name_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "llmplug", "plugin", "new", "Bad_Name", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("llmplug: error: a plugin name is lower-case")
