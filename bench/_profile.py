"""``bench_openai.py --profile``: where each client's CPU time goes, by layer, under cProfile.

cProfile adds a cost to every Python call, so it inflates call-heavy layers: read the
shares and the differences between clients, and the llmplug functions that own the most
time; the normal run of ``bench_openai.py`` has the true ratios.
"""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# (marker in the file path or the builtin's name, layer): the first match wins
LAYERS = (
    ("llmplug_openai", "llmplug_openai"),
    ("/llmplug/", "llmplug core"),
    ("httpx2", "httpx2"),
    ("httpcore2", "httpcore2"),
    ("/h11/", "h11"),
    ("pydantic", "pydantic"),
    ("json", "json"),
    ("socket", "socket I/O"),
    ("select", "socket I/O"),
    ("bench_openai", "consumer loop"),
)
OURS = ("llmplug core", "llmplug_openai")


def layer_of(path: str, func: str) -> str:
    """The layer a profiled function belongs to."""
    where = path.replace("\\", "/") + " " + func
    return next((layer for marker, layer in LAYERS if marker in where), "stdlib, other")


def profile_layers(clients: Sequence[Any], cases: Sequence[tuple[str, int, int]], top: int) -> None:
    """Profile each case of each client; print own time per layer and llmplug's top functions.

    Args:
        clients: Objects with a ``name`` and one method per case.
        cases: ``(method, calls, units)``: call ``method`` that many times; report per
            unit (calls, or streamed tokens).
        top: How many llmplug functions to list.
    """
    for mode, n, units in cases:
        unit_name = "call" if units == n else "token"
        layers: dict[str, dict[str, float]] = {}
        functions: list[tuple[float, float, float, str]] = []
        for client in clients:
            fn = getattr(client, mode)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(n):
                fn()
            profiler.disable()
            table = layers.setdefault(client.name, {})
            stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
            for (path, line, func), (_, calls, own, cum, _) in stats.items():
                layer = layer_of(path, func)
                table[layer] = table.get(layer, 0.0) + own / units * 1e6
                if layer in OURS:
                    name = f"{Path(path).parent.name}/{Path(path).name}:{line}({func})"
                    functions.append((own / units * 1e6, cum / units * 1e6, calls / units, name))
        names = [c.name for c in clients]
        print(f"\n== {mode}: own time per {unit_name} under cProfile, by layer (µs)")
        print(f"{'layer':16}" + "".join(f"{name:>14}" for name in names))
        last = layers[names[-1]]
        for layer in sorted({k for t in layers.values() for k in t}, key=lambda k: -last.get(k, 0)):
            print(f"{layer:16}" + "".join(f"{layers[name].get(layer, 0):14.2f}" for name in names))
        totals = "".join(f"{sum(layers[name].values()):14.2f}" for name in names)
        print(f"{'total':16}{totals}")
        print(f"\nllmplug functions by own time per {unit_name} (µs): own, cumulative, calls")
        for own, cum, calls, name in sorted(functions, reverse=True)[:top]:
            print(f"{own:8.2f} {cum:8.2f} {calls:6.2f}  {name}")
