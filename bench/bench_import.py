"""Cold import cost of llmplug, next to its own dependencies, measured in one run.

Each case runs in a fresh interpreter (21 runs, median), timing the statement with
``time.perf_counter`` inside the process, and also totals ``python -X importtime``.
Target (issue: foundation): the core adds < 40 ms on top of pydantic + pluggy.

    python bench/bench_import.py
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
from pathlib import Path

import llmplug

RUNS = 21
# What the core's own dependencies cost when used: importing pydantic is lazy, so the fair
# baseline also builds one model (pydantic scans its plugins then) and imports
# importlib_metadata, which llmplug uses to find plugins.
DEPS = (
    "from pydantic import BaseModel, Field; import pluggy, importlib_metadata\n"
    "class M(BaseModel): x: int = Field(default=0, ge=0)\n"
    "M(x=1)"
)
CASES = {
    "import pydantic, pluggy": "import pydantic, pluggy",
    "deps used (pydantic model, pluggy, im)": DEPS,
    "import llmplug": "import llmplug",
    'llmplug.load("mock")': 'import llmplug; llmplug.load("mock")',
    'deps + llmplug.load("mock")': DEPS + '\nimport llmplug; llmplug.load("mock")',
    'deps + load("mock").chat(...)': (
        DEPS + "\nimport llmplug; llm = llmplug.load('mock'); llm.chat([llmplug.ChatMessage('hi')])"
    ),
    # a message with an image: from bytes, then from a URL (kept as pydantic's AnyUrl,
    # whose module loads with the first URL given)
    "deps + ImageBlock(image=...)": (
        DEPS + "\nimport llmplug; llmplug.ChatMessage(blocks=[llmplug.ImageBlock(image=b'x')])"
    ),
    "deps + ImageBlock(url=...)": (
        DEPS
        + "\nimport llmplug; llmplug.ChatMessage(blocks=[llmplug.ImageBlock(url='https://a.b/c.png')])"
    ),
    # a real HTTP provider: the plugin, llmplug.http and httpx2 are expected here
    'llmplug.load("openai:...")': 'import llmplug; llmplug.load("openai:gpt-4o-mini?api_key=k")',
}
# what a case may import beyond the core (FORBIDDEN is checked against the rest)
EXPECTED = {'llmplug.load("openai:...")': ("llmplug_openai", "httpx2", "asyncio")}
# measure what users get: installed packages have bytecode, so compile it and allow it
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# measure llmplug, not whatever hook plugins happen to be installed (the test env has one)
ENV["LLMPLUG_DISABLE_PLUGIN_AUTOLOAD"] = "1"
FORBIDDEN = ("llmplug.cli", "argparse", "llmplug_", "httpx2", "asyncio")

TIMER = """
import time, sys
t0 = time.perf_counter()
{stmt}
t1 = time.perf_counter()
bad = sorted(
    m for m in sys.modules if m.startswith({forbidden!r}) and not m.startswith({expected!r})
)
print(t1 - t0, len(sys.modules), ",".join(bad))
"""


def measure(stmt: str, expected: tuple[str, ...] = ()) -> tuple[float, int, str]:
    times, mods, bad = [], 0, ""
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", TIMER.format(stmt=stmt, forbidden=FORBIDDEN, expected=expected)],
            capture_output=True,
            text=True,
            check=True,
            env=ENV,
        ).stdout.split()
        times.append(float(out[0]))
        mods = int(out[1])
        bad = out[2] if len(out) > 2 else ""
    return statistics.median(times), mods, bad


def importtime_total(stmt: str) -> float:
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", stmt],
        capture_output=True,
        text=True,
        check=True,
        env=ENV,
    ).stderr
    total = 0
    for line in err.splitlines():
        parts = line.split("|")
        # top-level imports only: their cumulative time covers their children
        if len(parts) == 3 and parts[2].startswith(" ") and not parts[2].startswith("  "):
            try:
                total += int(parts[1])
            except ValueError:
                continue
    return total / 1000


def main() -> None:
    compileall.compile_dir(Path(llmplug.__file__).parent, quiet=1)
    print(f"python {sys.version.split()[0]}, {RUNS} fresh interpreters per case, median")
    print(f"{'case':32} {'wall ms':>8} {'importtime ms':>14} {'modules':>8}  unexpected imports")
    results = {}
    for name, stmt in CASES.items():
        wall, mods, bad = measure(stmt, EXPECTED.get(name, ()))
        results[name] = wall
        print(
            f"{name:32} {wall * 1000:8.1f} {importtime_total(stmt):14.1f} {mods:8d}  {bad or '-'}"
        )
    base = results["deps used (pydantic model, pluggy, im)"]
    for name in ('deps + llmplug.load("mock")', 'deps + load("mock").chat(...)'):
        added = (results[name] - base) * 1000
        print(f"{name}: llmplug adds {added:.1f} ms to its dependencies (target < 40 ms)")


if __name__ == "__main__":
    main()
