"""``run_batch``: every row of a file through a model's async endpoint, resumably.

``concurrency`` workers share one reader of the input; each takes the next row, calls
the model (:func:`~llmplug.batch._calls.acall_row`) and appends the row's line to the
output as soon as it is done, so memory holds only the rows in flight. Rows the output
already has are skipped: a job stopped at any point (Ctrl-C, SIGKILL, an error every
row would hit) and run again with the same output does only what is left.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from llmplug._untrusted import shorten
from llmplug.batch._calls import (
    RowOutcome,
    acall_row,
    call_target,
    cost_of,
    error_record,
)
from llmplug.batch._output import Finished, ResultFile
from llmplug.batch._prompting import RowProblem, RowPrompt
from llmplug.batch._rows import InputRow, count_rows, read_rows
from llmplug.errors import ConfigError

if TYPE_CHECKING:
    from llmplug.llm._base import LLM

__all__ = [
    "BatchProgress",
    "BatchSummary",
    "RowDone",
    "aclose_loaded",
    "arun_batch",
    "input_error",
    "resolve_model",
    "run_batch",
    "skip_done",
]


class RowDone(NamedTuple):
    """A row just written to the output, as a progress display sees it.

    Attributes:
        row: Its place in the input.
        id: Its id.
        ok: Whether it has an answer (else an error).
        input_tokens: Prompt tokens it used.
        output_tokens: Tokens it generated.
        cost: Its cost, when known.
    """

    row: int
    id: Any
    ok: bool
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None


class BatchProgress(Protocol):
    """What a job tells a progress display (the CLI's bar).

    ``start`` once, ``advance`` per row written, ``note`` for events worth a line (a
    provider batch sent or polled), ``finish`` once at the end, even when the job stops
    early. A display with a true ``counts_rows`` attribute gets the input's row count
    in ``start`` (the input is read once more to count them); else ``total`` is
    ``None``.
    """

    def start(self, total: int | None, done: int) -> None:
        """The job starts: ``total`` rows in the input, ``done`` already in the output."""

    def advance(self, row: RowDone) -> None:
        """A row was written."""

    def note(self, text: str) -> None:
        """Something worth telling (a provider batch submitted, polled...)."""

    def finish(self, summary: BatchSummary) -> None:
        """The job ended (or stopped: ``summary.stopped`` says why)."""


@dataclass
class BatchSummary:
    """What a batch job did.

    Attributes:
        output: The output file.
        rows: Rows of the input seen by this run.
        skipped: Rows already in the output (done by an earlier run).
        succeeded: Rows answered by this run.
        failed: Rows that failed in this run (each with its error in the output).
        not_run: Rows a provider batch never ran (it expired or was cancelled): not in
            the output, so the next run sends them again.
        input_tokens: Prompt tokens used by this run.
        output_tokens: Tokens generated in this run.
        cost: What this run cost, when a cost was known for every answered row.
        elapsed: Seconds this run took.
        stopped: Why the job stopped before the end (``None``: it did not).
        dropped: Bytes of a cut-short last line (a killed run) dropped from the output.
        running: Provider batches still running (their ids), to pick up later.
    """

    output: str
    rows: int = 0
    skipped: int = 0
    succeeded: int = 0
    failed: int = 0
    not_run: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    elapsed: float = 0.0
    stopped: str | None = None
    dropped: int = 0
    running: list[str] = field(default_factory=list)
    _costs_known: bool = field(default=True, repr=False)

    @property
    def rows_per_second(self) -> float:
        """Rows written per second by this run."""
        done = self.succeeded + self.failed
        return done / self.elapsed if self.elapsed > 0 else 0.0

    def count(self, done: RowDone) -> None:
        """Add a written row to the totals."""
        if done.ok:
            self.succeeded += 1
        else:
            self.failed += 1
        self.input_tokens += done.input_tokens
        self.output_tokens += done.output_tokens
        if done.ok:
            if done.cost is None:
                self._costs_known = False
                self.cost = None
            elif self._costs_known:
                self.cost = (self.cost or 0.0) + done.cost

    def describe(self) -> str:
        """The summary in a few lines, for people."""
        done = self.succeeded + self.failed
        lines = [
            f"{done} rows written to {self.output}: {self.succeeded} answered, "
            f"{self.failed} failed; {self.skipped} already done"
            + (f", {self.not_run} not run" if self.not_run else ""),
            f"{self.elapsed:.1f} s ({self.rows_per_second:.1f} rows/s); tokens: "
            f"{self.input_tokens:,} in, {self.output_tokens:,} out; cost: "
            + (f"${self.cost:.6f}" if self.cost is not None and done else "unknown"),
        ]
        if self.dropped:
            lines.append(f"dropped a cut-short last line ({self.dropped} bytes) of a run stopped")
        if self.running:
            lines.append(f"provider batches still running: {', '.join(self.running)}")
        if self.stopped:
            lines.append(f"stopped: {self.stopped}")
        return "\n".join(lines)


def resolve_model(model: str | LLM | None) -> LLM:
    """``model`` as an LLM: loaded when it is a config string or alias (or ``None``)."""
    if model is None or isinstance(model, str):
        from llmplug.config._load import load  # lazy for lightness: the plugin registry

        return load(model)
    return model


async def aclose_loaded(llm: LLM, model: str | LLM | None) -> None:
    """Close the connections of ``llm`` if the job loaded it (``model`` was not an LLM)."""
    if model is None or isinstance(model, str):
        aclose = getattr(llm, "aclose", None)
        if aclose is not None:
            await aclose()


def input_error(item: InputRow, problem: str) -> dict[str, Any]:
    """The output line of a row that could not be sent."""
    return {
        "id": item.id,
        "row": item.row,
        "answer": None,
        "usage": None,
        "cost": None,
        "error": {"type": "InputError", "message": problem},
    }


def skip_done(rows: Iterator[InputRow], finished: Finished, output: str) -> Iterator[InputRow]:
    """The rows not in ``finished``, checking those that are were written for the same id.

    Raises:
        ConfigError: The output holds a row for another id (written from another input).
    """
    for item in rows:
        if item.row not in finished:
            yield item
        elif not finished.same_id(item.row, item.id):
            raise ConfigError(
                f"row {item.row} of the input has the id {shorten(item.id)}, but the "
                f"output {output} holds that row for another id: it was written from "
                f"another input. Give the same input, or another output file"
            )


def _record(item: InputRow, outcome: RowOutcome) -> tuple[dict[str, Any], RowDone]:
    usage = outcome.usage
    cost = cost_of(outcome.response)
    record: dict[str, Any] = {
        "id": item.id,
        "row": item.row,
        "answer": outcome.answer if outcome.error is None else None,
        "usage": usage.model_dump() if usage is not None else None,
        "cost": cost,
        "error": error_record(outcome.error) if outcome.error is not None else None,
    }
    if outcome.attempts > 1:
        record["attempts"] = outcome.attempts
    done = RowDone(
        item.row,
        item.id,
        outcome.error is None,
        usage.input_tokens if usage is not None else 0,
        usage.output_tokens if usage is not None else 0,
        cost,
    )
    return record, done


async def arun_batch(
    input: str | PathLike[str],
    output: str | PathLike[str],
    model: str | LLM | None = None,
    *,
    prompt: str | None = None,
    system: str | None = None,
    output_cls: Any | None = None,
    id_field: str = "id",
    input_format: str | None = None,
    concurrency: int = 8,
    retries: int = 2,
    backoff: float = 1.0,
    progress: BatchProgress | None = None,
) -> BatchSummary:
    """Run every row of ``input`` through ``model``; write one line per row to ``output``.

    Each output line is ``{"id", "row", "answer", "usage", "cost", "error"}`` (and
    ``"attempts"`` when a row took more than one try). Rows already in ``output`` are
    skipped, so running the same job again resumes it.

    Args:
        input: A JSONL, CSV, TSV or Parquet file whose rows have an id.
        output: The JSONL file to write (appended to, when resuming).
        model: A config string or alias (``"openai:gpt-4o-mini"``,
            ``"limit:openai:gpt-4o-mini?rpm=500"``), an LLM, or ``None`` for the
            default model.
        prompt: A template whose ``{field}`` variables the row's fields fill; without
            it, each row has a ``prompt`` (text) or ``messages`` field.
        system: A system message for every row.
        output_cls: Answer with this pydantic class (or ``list[cls]``): the answer is
            the validated object, as JSON data.
        id_field: The field holding each row's id.
        input_format: ``jsonl``, ``csv``, ``tsv`` or ``parquet`` (default: from the
            input's extension).
        concurrency: Rows in flight at once.
        retries: Tries after the first, per row, for errors that say "later".
        backoff: The first wait between tries, in seconds, when an error does not say.
        progress: Told of each row (a progress bar).

    Returns:
        What the run did.

    Raises:
        ConfigError: The input cannot be read, its first row cannot be sent as given
            (no id, a field the prompt needs), or the output is not a result of this
            job.
        LLMError: An error every row would hit (a wrong key, a missing model, a budget
            used up); the rows done so far stay in the output.
    """
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    started = time.monotonic()
    summary = BatchSummary(output=str(output))
    prompting = RowPrompt(prompt, system)
    rows = read_rows(input, id_field=id_field, format=input_format)
    first = next(rows, None)
    _check_first(first, prompting)
    llm = resolve_model(model)
    target = call_target(llm, output_cls)
    result = ResultFile(output)
    finished = result.open()
    summary.dropped = result.dropped
    try:
        summary.skipped = finished.count
        if progress is not None:
            counted = getattr(progress, "counts_rows", False)
            progress.start(
                count_rows(input, format=input_format) if counted else None, finished.count
            )
        pending = skip_done(_chain(first, rows), finished, str(output))
        stop: list[BaseException] = []

        async def worker() -> None:
            try:
                for item in pending:
                    if stop:
                        return
                    record, done = await _run_row(item)
                    result.write(record)
                    summary.count(done)
                    if progress is not None:
                        progress.advance(done)
            except Exception as exc:  # every row would fail alike: stop the job
                stop.append(exc)

        async def _run_row(item: InputRow) -> tuple[dict[str, Any], RowDone]:
            try:
                messages = None if item.problem else prompting.messages(item.fields)
            except RowProblem as exc:
                item = item._replace(problem=str(exc))
                messages = None
            if messages is None:
                return input_error(item, item.problem or ""), RowDone(item.row, item.id, False)
            outcome = await acall_row(
                target, messages, output_cls=output_cls, retries=retries, backoff=backoff
            )
            return _record(item, outcome)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(concurrency):
                    group.create_task(worker())
        except asyncio.CancelledError:
            summary.stopped = "interrupted; run the same command again to resume"
            raise
        if stop:
            error = stop[0]
            summary.stopped = f"{type(error).__name__}: {error}"
            raise error
    finally:
        result.close()
        await aclose_loaded(llm, model)
        summary.rows = summary.skipped + summary.succeeded + summary.failed
        summary.elapsed = time.monotonic() - started
        if progress is not None:
            progress.finish(summary)
    return summary


def run_batch(
    input: str | PathLike[str],
    output: str | PathLike[str],
    model: str | LLM | None = None,
    **options: Any,
) -> BatchSummary:
    """:func:`arun_batch` from sync code (it runs its own event loop).

    Takes the same arguments; call :func:`arun_batch` from async code instead.
    """
    return asyncio.run(arun_batch(input, output, model, **options))


def _check_first(first: InputRow | None, prompting: RowPrompt) -> None:
    """Refuse a job whose first row cannot be sent: every row likely has the same fault."""
    if first is None:
        return
    problem = first.problem
    if problem is None:
        try:
            prompting.messages(first.fields)
        except RowProblem as exc:
            problem = f"row 0: {exc}"
    if problem is not None:
        raise ConfigError(f"the input's first row cannot be sent: {problem}; nothing was sent")


def _chain(first: InputRow | None, rest: Iterator[InputRow]) -> Iterator[InputRow]:
    if first is not None:
        yield first
    yield from rest
