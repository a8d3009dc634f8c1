"""Batch jobs: every row of a file through a model, resumably, at a bounded concurrency.

::

    from llmplug.batch import run_batch

    summary = run_batch(
        "reviews.jsonl", "answers.jsonl", "limit:openai:gpt-4o-mini?rpm=500",
        prompt="Sentiment of this review, one word: {text}", concurrency=32,
    )

:func:`run_batch` (:func:`arun_batch` in async code) calls the model's async endpoint
for each row, ``concurrency`` rows at a time, and appends one JSON line per row to the
output (answer, usage, cost, error); a job run again with the same output does only the
rows left. :func:`run_provider_batch` sends the rows through a provider's own batch API
instead (OpenAI's Batch API, Anthropic's Message Batches: half the price, within a day).
``llmplug batch`` is the command line of both.

This layer sits above ``llmplug.routing``: a job's model is a config string, an alias
or a route, and routes' errors (``retry_after``) say when a row may be tried again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    # local jobs
    "BatchProgress": "llmplug.batch._local",
    "BatchSummary": "llmplug.batch._local",
    "RowDone": "llmplug.batch._local",
    "arun_batch": "llmplug.batch._local",
    "run_batch": "llmplug.batch._local",
    # provider batch APIs
    "arun_provider_batch": "llmplug.batch._provider",
    "run_provider_batch": "llmplug.batch._provider",
    # the pieces, for other runners (the Ray integration)
    "InputRow": "llmplug.batch._rows",
    "read_rows": "llmplug.batch._rows",
    "RowOutcome": "llmplug.batch._calls",
    "RowPrompt": "llmplug.batch._prompting",
    "RowProblem": "llmplug.batch._prompting",
    "acall_row": "llmplug.batch._calls",
    "call_target": "llmplug.batch._calls",
    "cost_of": "llmplug.batch._calls",
    "error_record": "llmplug.batch._calls",
    "is_fatal": "llmplug.batch._calls",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.batch._calls import (
        RowOutcome as RowOutcome,
        acall_row as acall_row,
        call_target as call_target,
        cost_of as cost_of,
        error_record as error_record,
        is_fatal as is_fatal,
    )
    from llmplug.batch._local import (
        BatchProgress as BatchProgress,
        BatchSummary as BatchSummary,
        RowDone as RowDone,
        arun_batch as arun_batch,
        run_batch as run_batch,
    )
    from llmplug.batch._prompting import (
        RowProblem as RowProblem,
        RowPrompt as RowPrompt,
    )
    from llmplug.batch._provider import (
        arun_provider_batch as arun_provider_batch,
        run_provider_batch as run_provider_batch,
    )
    from llmplug.batch._rows import (
        InputRow as InputRow,
        read_rows as read_rows,
    )
