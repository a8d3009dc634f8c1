"""Cold import and load cost of llmplug, next to the floor set by its own dependencies.

Each case runs in a fresh interpreter (21 runs, the cases interleaved: median and min),
timing the statement inside the process: wall time (``time.perf_counter``) and CPU time
(``time.process_time``: user and system, which a busy machine disturbs less); it also
totals ``python -X importtime``.

The **floor** is what llmplug's own dependencies cost when used: a fresh process doing
``import httpx2, pluggy, pydantic`` and defining (and using) one pydantic model with a
constraint (pydantic scans its plugins and loads its constraint machinery then). Target
(issue 23): ``import llmplug; llmplug.load(...)`` for ``openai``, ``anthropic`` and
``local`` (the model itself loads on the first call, so it is excluded) within 1.05x
the floor. Also (issue: foundation) the core adds < 40 ms to its dependencies.

Wall time on a shared machine is noisy; ``--callgrind`` also counts the instructions of
each case under ``valgrind --tool=callgrind`` (repeatable), with ``PYTHONHASHSEED`` fixed
to each of a few seeds (hash order changes the work done by a few tenths of a percent):
min and median over the seeds.

    python bench/bench_import.py [--runs 21] [--callgrind] [--seeds 3]
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import llmplug

# What the core's own dependencies cost when used: importing pydantic is lazy, so the fair
# baseline also builds one model (pydantic scans its plugins then).
DEPS = (
    "from pydantic import BaseModel, Field; import pluggy\n"
    "class M(BaseModel): x: int = Field(default=0, ge=0)\n"
    "M(x=1)"
)
# The floor of issue 23: the dependencies, httpx2 included, imported and used.
FLOOR = "import httpx2\n" + DEPS
LOADS = {
    'llmplug.load("openai:...")': 'import llmplug; llmplug.load("openai:gpt-4o-mini?api_key=k")',
    'llmplug.load("anthropic:...")': (
        'import llmplug; llmplug.load("anthropic:claude-sonnet-4-5?api_key=k")'
    ),
    'llmplug.load("local")': 'import llmplug; llmplug.load("local")',
}
CASES = {
    "floor: httpx2, pluggy, pydantic model": FLOOR,
    "import pydantic, pluggy": "import pydantic, pluggy",
    "deps used (pydantic model, pluggy)": DEPS,
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
    **LOADS,
}
# what a case may import beyond the core (FORBIDDEN is checked against the rest): a
# provider's own plugin; httpx2 and asyncio load with the first request, not here
EXPECTED = {
    'llmplug.load("openai:...")': ("llmplug_openai",),
    'llmplug.load("anthropic:...")': ("llmplug_anthropic",),
    'llmplug.load("local")': ("llmplug_local",),
    "floor: httpx2, pluggy, pydantic model": ("httpx2", "asyncio"),
}
# measure what users get: installed packages have bytecode, so compile it and allow it
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# measure llmplug, not whatever hook plugins happen to be installed (the test env has one)
ENV["LLMPLUG_DISABLE_PLUGIN_AUTOLOAD"] = "1"
FORBIDDEN = ("llmplug.cli", "argparse", "llmplug_", "httpx2", "asyncio", "xllamacpp")

TIMER = """
import time, sys
c0, t0 = time.process_time(), time.perf_counter()
{stmt}
t1, c1 = time.perf_counter(), time.process_time()
bad = sorted(
    m for m in sys.modules if m.startswith({forbidden!r}) and not m.startswith({expected!r})
)
print(t1 - t0, c1 - c0, len(sys.modules), ",".join(bad))
"""


def run_once(stmt: str, expected: tuple[str, ...] = ()) -> tuple[float, float, int, str]:
    """Wall and CPU seconds of ``stmt`` in a fresh interpreter, modules loaded, stray imports."""
    out = subprocess.run(
        [sys.executable, "-c", TIMER.format(stmt=stmt, forbidden=FORBIDDEN, expected=expected)],
        capture_output=True,
        text=True,
        check=True,
        env=ENV,
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2]), out[3] if len(out) > 3 else ""


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


def instructions(stmt: str, seed: int) -> int:
    """Instructions of a fresh interpreter running ``stmt`` (callgrind's "Collected")."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    err = subprocess.run(
        [*command, sys.executable, "-c", stmt],
        capture_output=True,
        text=True,
        check=True,
        env={**ENV, "PYTHONHASHSEED": str(seed)},
    ).stderr
    match = re.search(r"Collected : (\d+)", err)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{err[-2000:]}")
    return int(match.group(1))


def callgrind_table(seeds: int) -> None:
    names = ["floor: httpx2, pluggy, pydantic model", *LOADS]
    counts = {name: [instructions(CASES[name], seed) for seed in range(seeds)] for name in names}
    floor = counts[names[0]]
    print(f"\ninstructions (callgrind), PYTHONHASHSEED 0..{seeds - 1}: min / median, vs floor")
    print(f"{'case':32} {'min M':>9} {'median M':>9} {'ratio min':>10} {'median':>7}")
    for name in names:
        values = counts[name]
        ratio_min = min(values) / min(floor)
        ratio_med = statistics.median(values) / statistics.median(floor)
        print(
            f"{name:32} {min(values) / 1e6:9.1f} {statistics.median(values) / 1e6:9.1f} "
            f"{ratio_min:9.3f}x {ratio_med:6.3f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="fresh interpreters per case")
    parser.add_argument("--callgrind", action="store_true", help="count instructions too")
    parser.add_argument("--seeds", type=int, default=3, help="hash seeds under callgrind")
    args = parser.parse_args()
    plugins = Path(__file__).parents[1].glob("plugins/*/src")
    for package in (Path(llmplug.__file__).parent, *plugins):
        compileall.compile_dir(package, quiet=1)
    print(
        f"python {sys.version.split()[0]}, {args.runs} fresh interpreters per case; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'case':32} {'wall med':>9} {'min ms':>7} {'cpu med':>8} {'min ms':>7} "
        f"{'importtime':>10} {'modules':>8}  unexpected imports"
    )
    wall: dict[str, list[float]] = {name: [] for name in CASES}
    cpu: dict[str, list[float]] = {name: [] for name in CASES}
    seen: dict[str, tuple[int, str]] = {}
    for _ in range(args.runs):  # cases interleaved: drift in the machine's load hits all alike
        for name, stmt in CASES.items():
            seconds, cpu_seconds, mods, bad = run_once(stmt, EXPECTED.get(name, ()))
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
            seen[name] = (mods, bad)
    for name, stmt in CASES.items():
        mods, bad = seen[name]
        print(
            f"{name:32} {statistics.median(wall[name]) * 1000:9.1f} {min(wall[name]) * 1000:7.1f} "
            f"{statistics.median(cpu[name]) * 1000:8.1f} {min(cpu[name]) * 1000:7.1f} "
            f"{importtime_total(stmt):10.1f} {mods:8d}  {bad or '-'}"
        )
    floor_name = "floor: httpx2, pluggy, pydantic model"
    print("\nagainst the floor (target <= 1.05x): ratio of medians, ratio of mins")
    print(f"  {'':32} {'wall med':>8} {'min':>7} {'cpu med':>8} {'min':>7}")
    for name in LOADS:
        ratios = [
            statistics.median(times[name]) / statistics.median(times[floor_name])
            for times in (wall, cpu)
        ]
        mins = [min(times[name]) / min(times[floor_name]) for times in (wall, cpu)]
        print(f"  {name:32} {ratios[0]:7.3f}x {mins[0]:6.3f}x {ratios[1]:7.3f}x {mins[1]:6.3f}x")
    results = wall
    base = statistics.median(results["deps used (pydantic model, pluggy)"])
    for name in ('deps + llmplug.load("mock")', 'deps + load("mock").chat(...)'):
        added = (statistics.median(results[name]) - base) * 1000
        print(f"{name}: llmplug adds {added:.1f} ms to its dependencies (target < 40 ms)")
    if args.callgrind:
        if shutil.which("valgrind") is None:
            print("\n--callgrind: valgrind is not installed")
        else:
            callgrind_table(args.seeds)


if __name__ == "__main__":
    main()
