"""Start-up time of the ``llmplug`` command: what a person waits for before any work.

Each case runs the installed console script (or ``python -m llmplug``) in a fresh
process, ``RUNS`` times, and reports the wall time from spawn to exit: min, median,
max. ``llmplug --help`` loads the hook plugins (for the commands they add), so it is the
slowest of the help screens; the target (issue: the everyday command line) is a median
under 150 ms on the project's machine. The baseline is an interpreter doing nothing.

    python bench/bench_cli_startup.py [--runs 30]

Exits 1 when ``llmplug --help`` misses the target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 150.0
_SCRIPT = Path(sys.executable).with_name("llmplug.exe" if os.name == "nt" else "llmplug")
LLMPLUG = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "llmplug"]

CASES = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "llmplug --version": [*LLMPLUG, "--version"],
    "llmplug --help": [*LLMPLUG, "--help"],
    "llmplug chat --help": [*LLMPLUG, "chat", "--help"],
    "llmplug keys path": [*LLMPLUG, "keys", "path"],
    "llmplug providers": [*LLMPLUG, "providers"],
}


def measure(argv: list[str], runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, env=env)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs per case (default 30)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        # no user config or keys, no llmplug settings from the caller's shell
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLMPLUG_")}
        env["XDG_CONFIG_HOME"] = home
        for argv in CASES.values():  # warm the disk cache and the bytecode
            subprocess.run(argv, capture_output=True, check=True, env=env)
        print(f"python {sys.version.split()[0]}, {' '.join(LLMPLUG)}, {args.runs} runs per case")
        print(f"{'case':28} {'min ms':>8} {'median ms':>10} {'max ms':>8}")
        medians = {}
        for name, argv in CASES.items():
            times = measure(argv, args.runs, env)
            medians[name] = statistics.median(times)
            print(f"{name:28} {min(times):8.1f} {medians[name]:10.1f} {max(times):8.1f}")
    help_ms = medians["llmplug --help"]
    verdict = "ok" if help_ms < TARGET_MS else "MISSED"
    print(f"llmplug --help: median {help_ms:.1f} ms (target < {TARGET_MS:.0f} ms): {verdict}")
    return 0 if help_ms < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
