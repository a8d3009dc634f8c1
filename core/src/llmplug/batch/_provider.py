"""``run_provider_batch``: a job sent through the provider's own batch API.

The rows not yet in the output are sent as provider batches (as large as the
provider's :attr:`~llmplug.LLM.batch_limits` allow), each recorded at once in a state
file beside the output (``OUTPUT.batches.json``); the job then polls them, with a
growing interval, and writes each ended batch's results to the output in the same
format as :func:`~llmplug.batch.run_batch`. Run again with the same output, a job
picks up its batches from the state file instead of sending the rows again; another
machine can pick one up by its id (``batch_ids``). Requests a batch never ran (it
expired, or was cancelled) are left out of the output, so the next run sends them
again.

Memory holds one batch's requests while it is sent, and one batch's results while
they are written.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmplug._untrusted import shorten
from llmplug.batch._calls import cost_of, error_record
from llmplug.batch._local import (
    BatchProgress,
    BatchSummary,
    RowDone,
    aclose_loaded,
    input_error,
    resolve_model,
    skip_done,
)
from llmplug.batch._output import ResultFile, id_checksum
from llmplug.batch._prompting import RowProblem, RowPrompt
from llmplug.batch._rows import InputRow, count_rows, read_rows
from llmplug.errors import APIError, ConfigError, StructuredOutputError, UnsupportedFeatureError
from llmplug.prompts._json_text import extract_json
from llmplug.structured._output_schema import output_schema
from llmplug.types._batch import BatchRequest, BatchResult, ProviderBatch

if TYPE_CHECKING:
    from llmplug.llm._base import LLM
    from llmplug.structured._output_schema import OutputSchema

__all__ = ["STATE_SUFFIX", "arun_provider_batch", "custom_id", "row_of", "run_provider_batch"]

#: The state file's name: the output's, with this added.
STATE_SUFFIX = ".batches.json"
_PREFIX = "row-"
# of a batch's byte limit, what the estimate of the requests' size may fill
_BYTES_MARGIN = 0.8


def custom_id(row: int) -> str:
    """The ``custom_id`` of a row's request (``row-17``): a name every provider accepts."""
    return f"{_PREFIX}{row}"


def row_of(value: str) -> int | None:
    """The row a ``custom_id`` names, or ``None`` if it is not one of ours."""
    if value.startswith(_PREFIX) and value[len(_PREFIX) :].isdigit():
        return int(value[len(_PREFIX) :])
    return None


class _State:
    """The provider batches a job has sent and not yet written out (a JSON file)."""

    def __init__(self, output: Path, provider: str) -> None:
        self.path = output.with_name(output.name + STATE_SUFFIX)
        self.provider = provider
        self.batches: list[str] = []
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                saved = data["provider"]
                self.batches = [str(b) for b in data["batches"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(
                    f"the state file {self.path} is not one llmplug batch wrote; remove it "
                    f"if no provider batch of this job is running"
                ) from exc
            if self.batches and saved != provider:
                raise ConfigError(
                    f"the provider batches of this output ({', '.join(self.batches)}) were "
                    f"sent to {saved!r}, not {provider!r}: pick them up with -m {saved}"
                )

    def add(self, batch_id: str) -> None:
        if batch_id not in self.batches:
            self.batches.append(batch_id)
            self._save()

    def remove(self, batch_id: str) -> None:
        if batch_id in self.batches:
            self.batches.remove(batch_id)
            self._save()

    def _save(self) -> None:
        if not self.batches:
            self.path.unlink(missing_ok=True)
            return
        data = {"provider": self.provider, "batches": self.batches}
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)  # atomic: the file is the old one or the new one


def _structured_options(
    llm: LLM, output_cls: Any | None
) -> tuple[OutputSchema | None, dict[str, Any]]:
    if output_cls is None:
        return None, {}
    schema = output_schema(output_cls)
    options = None
    if type(llm).capabilities.json_schema:
        options = llm._structured_request_kwargs(schema)
    if options is None:
        raise ConfigError(
            f"a provider batch answers with a schema only through the provider's native "
            f"JSON-schema output, which {llm.provider_label} (model "
            f"{llm.metadata.model_name!r}) does not have: run the job without "
            f"--provider-batch"
        )
    return schema, options


def _answer(result: BatchResult, schema: OutputSchema | None) -> Any:
    assert result.response is not None
    text = result.response.message.content or ""
    if schema is None:
        return text
    value = extract_json(text, schema.expected())
    try:
        if value is None:
            raise ValueError("no JSON in the answer")
        output = schema.validate(value)
    except ValueError as exc:  # pydantic's ValidationError is one
        raise StructuredOutputError(
            f"the answer does not match the schema: {exc}", raw=text
        ) from exc
    if isinstance(output, list):
        return [item.model_dump(mode="json", by_alias=True) for item in output]
    return output.model_dump(mode="json", by_alias=True)


def _result_record(result: BatchResult, schema: OutputSchema | None) -> dict[str, Any]:
    """An output line without its id (added from the input), or ``{}`` when it never ran."""
    if result.outcome in ("expired", "cancelled"):
        return {}
    usage = result.response.usage if result.response is not None else None
    error: BaseException | None = result.error
    answer = None
    if error is None and result.response is not None:
        try:
            answer = _answer(result, schema)
        except StructuredOutputError as exc:
            error = exc
    if error is None and result.response is None:
        error = APIError("the provider reported neither an answer nor an error")
    return {
        "answer": answer if error is None else None,
        "usage": usage.model_dump() if usage is not None else None,
        "cost": cost_of(result.response),
        "error": error_record(error) if error is not None else None,
    }


class _Job:
    """One run of a provider batch job."""

    def __init__(
        self,
        llm: LLM,
        input: str | PathLike[str],
        result: ResultFile,
        state: _State,
        summary: BatchSummary,
        *,
        id_field: str,
        input_format: str | None,
        schema: OutputSchema | None,
        progress: BatchProgress | None,
    ) -> None:
        self.llm = llm
        self.input = input
        self.result = result
        self.state = state
        self.summary = summary
        self.id_field = id_field
        self.input_format = input_format
        self.schema = schema
        self.progress = progress

    def note(self, text: str) -> None:
        if self.progress is not None:
            self.progress.note(text)

    def write(self, record: dict[str, Any], done: RowDone) -> None:
        # a row is written once, whichever batch (or earlier run) answered it
        if not self.result.finished.add(done.row, id_checksum(done.id)):
            return
        self.result.write(record)
        self.summary.count(done)
        if self.progress is not None:
            self.progress.advance(done)

    # -- sending -----------------------------------------------------------------------

    async def send(
        self, pending: Iterator[InputRow], prompting: RowPrompt, options: dict[str, Any]
    ) -> None:
        """Send every pending row, in batches as large as the provider allows."""
        limits = self.llm.batch_limits
        assert limits is not None
        chunk: list[BatchRequest] = []
        size = 0
        for item in pending:
            try:
                if item.problem:
                    raise RowProblem(item.problem)
                messages = self.llm._extend_messages(prompting.messages(item.fields))
            except RowProblem as exc:
                self.write(input_error(item, str(exc)), RowDone(item.row, item.id, False))
                continue
            estimate = 512 + sum(len(m.content or "") * 2 for m in messages)
            if chunk and (
                len(chunk) >= limits.max_requests
                or size + estimate > limits.max_bytes * _BYTES_MARGIN
            ):
                await self._create(chunk)
                chunk, size = [], 0
            chunk.append(BatchRequest(custom_id(item.row), messages, options))
            size += estimate
        if chunk:
            await self._create(chunk)

    async def _create(self, requests: Sequence[BatchRequest]) -> None:
        batch = await self.llm.acreate_batch(requests)
        self.state.add(batch.id)
        self.note(f"sent provider batch {batch.id} ({len(requests)} rows)")

    # -- collecting --------------------------------------------------------------------

    async def wait(self, interval: float, longest: float, *, wait: bool) -> None:
        """Poll the job's batches until each has ended and is written (or just once)."""
        pending = list(self.state.batches)
        delay = interval
        while pending:
            still: list[str] = []
            for batch_id in pending:
                batch = await self.llm.aget_batch(batch_id)
                if batch.ended:
                    await self.collect(batch)
                else:
                    still.append(batch_id)
                    self.note(
                        f"provider batch {batch_id}: {batch.status}, "
                        f"{batch.succeeded + batch.failed}/{batch.requests or '?'} done"
                    )
            pending = still
            if pending and not wait:
                self.summary.running = pending
                return
            if pending:
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, longest)

    async def collect(self, batch: ProviderBatch) -> None:
        """Write an ended batch's results to the output; forget the batch."""
        if batch.error is not None:
            self.state.remove(batch.id)
            raise APIError(
                f"provider batch {batch.id} failed, no row ran: {batch.error}",
                provider=self.llm.provider_label,
            )
        records: dict[int, dict[str, Any]] = {}
        for result in await self.llm.abatch_results(batch):
            row = row_of(result.custom_id)
            if row is None:
                continue  # not a request of ours (a batch picked up by id may hold others)
            record = _result_record(result, self.schema)
            if record:
                records[row] = record
            else:
                self.summary.not_run += 1
        self._write_rows(records, batch.id)
        self.state.remove(batch.id)
        self.note(f"provider batch {batch.id} written ({len(records)} rows)")

    def _write_rows(self, records: dict[int, dict[str, Any]], batch_id: str) -> None:
        if not records:
            return
        rows = read_rows(self.input, id_field=self.id_field, format=self.input_format)
        for item in rows:
            record = records.pop(item.row, None)
            if record is not None:
                usage = record["usage"] or {}
                done = RowDone(
                    item.row,
                    item.id,
                    record["error"] is None,
                    usage.get("input_tokens", 0),
                    usage.get("output_tokens", 0),
                    record["cost"],
                )
                self.write({"id": item.id, "row": item.row, **record}, done)
            if not records:
                return
        raise ConfigError(
            f"provider batch {batch_id} has results for rows the input does not have "
            f"(row {min(records)} and {len(records) - 1} more): was it sent for another "
            f"input?"
        )


async def arun_provider_batch(
    input: str | PathLike[str],
    output: str | PathLike[str],
    model: str | LLM | None = None,
    *,
    prompt: str | None = None,
    system: str | None = None,
    output_cls: Any | None = None,
    id_field: str = "id",
    input_format: str | None = None,
    batch_ids: Iterable[str] = (),
    wait: bool = True,
    poll_interval: float = 30.0,
    max_poll_interval: float = 600.0,
    progress: BatchProgress | None = None,
) -> BatchSummary:
    """Run a job through the provider's batch API; write the output :func:`run_batch` writes.

    Batches this job sent earlier (in ``OUTPUT.batches.json``) and ``batch_ids`` are
    picked up first: polled until they end and their results written. Then the rows
    still missing from the output are sent as new batches and, unless ``wait`` is
    false, polled and written too.

    Args:
        input: A JSONL, CSV, TSV or Parquet file whose rows have an id.
        output: The JSONL file to write.
        model: A config string or alias of a provider with a batch API, or an LLM.
        prompt: A template filled from each row's fields (else each row's ``prompt``
            or ``messages``).
        system: A system message for every row.
        output_cls: Answer with this pydantic class, through the provider's native
            JSON-schema output.
        id_field: The field holding each row's id.
        input_format: ``jsonl``, ``csv``, ``tsv`` or ``parquet`` (default: from the
            extension).
        batch_ids: Provider batches of this job to pick up (sent by another run).
        wait: Wait for the batches to end and write their results; ``False`` sends
            and returns (``summary.running`` lists the batches; run again to collect).
        poll_interval: The first wait between polls, in seconds (it grows by half each
            time, up to ``max_poll_interval``).
        max_poll_interval: The longest wait between polls.
        progress: Told of each row written and of each batch sent or polled.

    Raises:
        UnsupportedFeatureError: The provider has no batch API.
        ConfigError: As :func:`run_batch`; also a state file of another provider.
        APIError: A batch failed as a whole (its input refused), or a request failed.
    """
    started = time.monotonic()
    summary = BatchSummary(output=str(output))
    llm = resolve_model(model)
    if llm.batch_limits is None or not type(llm).capabilities.batch:
        raise UnsupportedFeatureError(
            f"provider {llm.provider_label!r} has no batch API: run the job without "
            f"--provider-batch (through its endpoints)",
            provider=llm.provider_label,
            feature="batch",
        )
    schema, options = _structured_options(llm, output_cls)
    prompting = RowPrompt(prompt, system)
    state = _State(Path(output), llm.provider_label)
    for batch_id in batch_ids:
        if not batch_id.strip():
            raise ConfigError("an empty provider batch id was given")
        state.add(batch_id.strip())
    result = ResultFile(output)
    result.open()
    summary.dropped = result.dropped
    summary.skipped = result.finished.count
    job = _Job(
        llm,
        input,
        result,
        state,
        summary,
        id_field=id_field,
        input_format=input_format,
        schema=schema,
        progress=progress,
    )
    try:
        if progress is not None:
            counted = getattr(progress, "counts_rows", False)
            total = count_rows(input, format=input_format) if counted else None
            progress.start(total, summary.skipped)
        await job.wait(poll_interval, max_poll_interval, wait=wait)
        if not summary.running:
            rows = read_rows(input, id_field=id_field, format=input_format)
            await job.send(skip_done(rows, result.finished, str(output)), prompting, options)
            await job.wait(poll_interval, max_poll_interval, wait=wait)
    except asyncio.CancelledError:
        summary.stopped = "interrupted; run the same command again to pick the batches up"
        raise
    except Exception as exc:
        summary.stopped = f"{type(exc).__name__}: {shorten(str(exc), 300)}"
        raise
    finally:
        result.close()
        await aclose_loaded(llm, model)
        summary.running = list(state.batches)
        summary.rows = summary.skipped + summary.succeeded + summary.failed
        summary.elapsed = time.monotonic() - started
        if progress is not None:
            progress.finish(summary)
    return summary


def run_provider_batch(
    input: str | PathLike[str],
    output: str | PathLike[str],
    model: str | LLM | None = None,
    **options: Any,
) -> BatchSummary:
    """:func:`arun_provider_batch` from sync code (it runs its own event loop)."""
    return asyncio.run(arun_provider_batch(input, output, model, **options))
