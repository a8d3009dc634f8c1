"""A cold ``llmplug.load()`` of each in-repo HTTP or local provider imports only what it needs.

The time it takes is measured by ``bench/bench_import.py`` (issue 23: within 1.05x the
floor set by llmplug's own dependencies); this pins the lazy imports that keep it there.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

#: loaded only when used: the completion base, stream decoders, retries, the HTTP client,
#: the completion-first base, model listings, batch types, the entry-point backport, and
#: the standard library's modules that only error paths or rare inputs use
NOT_AT_LOAD = (
    "httpx2",
    "importlib_metadata",
    "llmplug.http._completion",
    "llmplug.http._sse",
    "llmplug.http._retry",
    "llmplug.llm._custom",
    "llmplug.types._model_info",
    "llmplug.types._batch",
    "llmplug.structured",
    "logging",
    "mimetypes",
    "traceback",
)
PLUGIN_MODULES_NOT_AT_LOAD = {
    "openai:gpt-4o-mini?api_key=k": (
        "llmplug_openai._models",
        "llmplug_openai._presets",
        "llmplug_openai._listing",
    ),
    "anthropic:claude-sonnet-4-5?api_key=k": (
        "llmplug_anthropic._schema",
        "llmplug_anthropic._listing",
    ),
    "local": ("xllamacpp",),
}


@pytest.mark.parametrize("spec", list(PLUGIN_MODULES_NOT_AT_LOAD))
def test_a_cold_load_imports_only_what_it_needs(spec: str) -> None:
    pytest.importorskip(f"llmplug_{spec.split(':')[0].split('?')[0]}")
    if spec == "local":
        pytest.importorskip("xllamacpp")
    lazy = (*NOT_AT_LOAD, *PLUGIN_MODULES_NOT_AT_LOAD[spec])
    probe = (
        f"import sys, llmplug\nllmplug.load({spec!r})\n"
        f"print([m for m in {lazy!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"LLMPLUG_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": ""},
    )
    assert out.stdout.strip() == "[]"
