"""llmplug-ray: LLM batch jobs on Ray Data, from one machine to a cluster.

Ray is the engine: it splits the dataset into batches, schedules them on a pool of
actors across the cluster, retries failed tasks and streams the results. This package
adds only the per-actor part: :class:`LLMPredictor`, a callable class for
``Dataset.map_batches`` that loads an llmplug model once per actor (from a config
string: any installed provider, a route, ``local:`` for the in-process model) and runs
each batch's rows concurrently through the model's async endpoint, on an event loop
of its own::

    import ray
    from llmplug_ray import LLMPredictor

    ds = ray.data.read_json("reviews.jsonl")
    ds = ds.map_batches(
        LLMPredictor,
        fn_constructor_kwargs={"model": "openai:gpt-4o-mini", "prompt": "Sentiment: {text}"},
        batch_size=64,
        concurrency=4,  # actors
    )

Each output row is the input row plus ``answer``, ``usage`` (a struct of token
counts), ``cost`` and ``error`` (``None`` when answered). A row's failure is its
``error``; an error every row would hit (a wrong key, a missing model) fails the task,
as Ray reports any task failure.

Importing this package does not import Ray: the class is plain Python that Ray calls.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

from llmplug import LLM, load
from llmplug.batch import RowProblem, RowPrompt, acall_row, call_target, cost_of, error_record
from llmplug.routing import LimitedLLM

__all__ = ["OUTPUT_COLUMNS", "LLMPredictor"]

#: The columns :class:`LLMPredictor` adds to each batch.
OUTPUT_COLUMNS = ("answer", "usage", "cost", "error")


class LLMPredictor:
    """A callable class for ``Dataset.map_batches``: one model per actor, rows concurrently.

    Ray builds one instance per actor (``concurrency=`` actors), so the model is loaded
    once per actor, and calls it with batch after batch.

    Args:
        model: A config string or alias (``"openai:gpt-4o-mini"``, ``"local"``,
            ``"fallback:fast,smart"``); ``None`` for the default model.
        prompt: A template whose ``{column}`` variables each row fills; without it, each
            row has a ``prompt`` (text) or ``messages`` column.
        system: A system message for every row.
        output_cls: Answer with this pydantic class (or ``list[cls]``): the answer is
            the validated object as a dict.
        concurrency: Rows in flight at once in each actor.
        rpm: Requests per minute allowed to each actor (a client-side rate limit:
            divide the cluster's limit by the number of actors).
        tpm: Tokens per minute allowed to each actor.
        retries: Tries after the first, per row, for rate limits, server errors and
            timeouts.
        backoff: The first wait between tries, in seconds, when an error does not say.
        **options: Options for the model (``temperature=0``...), as ``llmplug.load``
            takes them.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        prompt: str | None = None,
        system: str | None = None,
        output_cls: Any | None = None,
        concurrency: int = 8,
        rpm: float | None = None,
        tpm: float | None = None,
        retries: int = 2,
        backoff: float = 1.0,
        **options: Any,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        llm = load(model, **options)
        if rpm is not None or tpm is not None:
            llm = LimitedLLM(llm, rpm=rpm, tpm=tpm)
        #: The model this actor loaded.
        self.llm: LLM = llm
        self.output_cls = output_cls
        self._target = call_target(llm, output_cls)
        self._prompting = RowPrompt(prompt, system)
        self._concurrency = concurrency
        self._retries = retries
        self._backoff = backoff
        # the model's async clients belong to one loop: this actor's, for all its batches
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()

    def __call__(self, batch: Any) -> dict[str, list[Any]]:
        """Answer every row of ``batch`` (a dict of columns, or a pandas DataFrame).

        Returns:
            The batch's columns, with :data:`OUTPUT_COLUMNS` added, as lists.
        """
        columns = _columns(batch)
        size = len(next(iter(columns.values()))) if columns else 0
        rows = [{name: values[i] for name, values in columns.items()} for i in range(size)]
        with self._lock:  # one loop per actor: batches from other threads wait their turn
            answers = self._loop.run_until_complete(self._answer_all(rows))
        for index, name in enumerate(OUTPUT_COLUMNS):
            columns[name] = [answer[index] for answer in answers]
        return columns

    async def _answer_all(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        gate = asyncio.Semaphore(self._concurrency)

        async def one(row: Mapping[str, Any]) -> tuple[Any, ...]:
            async with gate:
                return await self._answer(row)

        return list(await asyncio.gather(*(one(row) for row in rows)))

    async def _answer(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        try:
            messages = self._prompting.messages(row)
        except RowProblem as exc:
            return None, None, None, {"type": "InputError", "message": str(exc)}
        outcome = await acall_row(
            self._target,
            messages,
            output_cls=self.output_cls,
            retries=self._retries,
            backoff=self._backoff,
        )
        if outcome.error is not None:
            return None, None, None, error_record(outcome.error)
        usage = outcome.usage
        return (
            outcome.answer,
            usage.model_dump() if usage is not None else None,
            cost_of(outcome.response),
            None,
        )

    def close(self) -> None:
        """Close the model's connections and this actor's event loop (Ray ends actors)."""
        loop = self._loop
        if loop.is_closed() or loop.is_running():
            return
        aclose = getattr(self.llm, "aclose", None)
        try:
            if aclose is not None:
                loop.run_until_complete(aclose())
        finally:
            loop.close()

    def __del__(self) -> None:
        if hasattr(self, "_loop"):
            # the actor is going away: there is no one left to report a failure to
            with suppress(Exception):
                self.close()


def _columns(batch: Any) -> dict[str, list[Any]]:
    """A batch's columns as lists of Python values (from numpy arrays or a DataFrame)."""
    if hasattr(batch, "to_dict") and hasattr(batch, "columns"):  # a pandas DataFrame
        batch = {name: batch[name] for name in batch.columns}
    if not isinstance(batch, Mapping):
        raise TypeError(
            f"LLMPredictor takes batches of columns (batch_format 'numpy' or 'pandas'), not "
            f"{type(batch).__name__}"
        )
    return {
        str(name): values.tolist() if hasattr(values, "tolist") else list(values)
        for name, values in batch.items()
    }
