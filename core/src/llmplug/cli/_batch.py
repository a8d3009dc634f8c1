"""``llmplug batch``: every row of a file through a model, resumably (``llmplug.batch``).

On a terminal it shows a progress bar (tqdm: rows, rate, ETA, tokens and cost); it
always ends with a summary on stderr. The results go to the ``-o`` file, one JSON
line per row; running the same command again resumes the job.

tqdm rather than rich for the bar: it is one small pure-Python package with no
dependencies of its own, imported only when a bar is shown, and costs well under a
microsecond per row between redraws (rich would bring its own console, markup and
highlighting libraries to draw one line). It draws no colour, so ``NO_COLOR`` holds.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from llmplug.cli._chat import load_model, option_argument, schema_class, secrets_of
from llmplug.cli._console import Console
from llmplug.errors import ConfigError

if TYPE_CHECKING:
    from llmplug.batch._local import BatchSummary, RowDone
    from llmplug.llm._base import LLM

__all__ = ["configure_batch", "run_batch"]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number (0 or more), got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def configure_batch(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``llmplug batch``."""
    parser.description = (
        "Send every row of INPUT (JSONL, CSV, TSV, or Parquet with pyarrow; each row with "
        "an id) to the model and write one JSON line per row to OUTPUT: id, row, answer, "
        "usage, cost, error. Run the same command again to resume: rows already in OUTPUT "
        "are skipped. With --provider-batch, the rows go through the provider's batch API "
        "(OpenAI, Anthropic: half the price, answered within 24 hours)."
    )
    parser.add_argument("input", metavar="INPUT", help="the rows: .jsonl, .csv, .tsv, .parquet")
    parser.add_argument("-m", "--model", metavar="SPEC", help="the model: a config string or alias")
    parser.add_argument(
        "-o", "--output", metavar="OUTPUT", required=True, help="the JSONL file to write"
    )
    parser.add_argument(
        "--prompt",
        metavar="TEMPLATE",
        help="the prompt, with {field} variables filled from each row (default: each row's "
        "'prompt' text or 'messages' list)",
    )
    parser.add_argument("-s", "--system", metavar="TEXT", help="a system prompt for every row")
    schema = parser.add_mutually_exclusive_group()
    schema.add_argument(
        "--schema",
        metavar="SCHEMA",
        help="answer with JSON matching SCHEMA: a JSON schema file, inline JSON, or "
        "'name, age int, bio: description'",
    )
    schema.add_argument(
        "--schema-multi", metavar="SCHEMA", help="like --schema, answering a JSON list of them"
    )
    parser.add_argument(
        "-j", "--concurrency", type=_positive, default=8, metavar="N", help="rows at once (8)"
    )
    parser.add_argument(
        "--retries",
        type=_count,
        default=2,
        metavar="N",
        help="tries after the first, per row, for rate limits, server errors and timeouts (2)",
    )
    parser.add_argument("--rpm", type=_positive, metavar="N", help="at most N requests a minute")
    parser.add_argument("--tpm", type=_positive, metavar="N", help="at most N tokens a minute")
    parser.add_argument("--id-field", default="id", metavar="NAME", help="the id field ('id')")
    parser.add_argument(
        "--input-format",
        choices=("jsonl", "csv", "tsv", "parquet"),
        help="the input's format (default: from its extension)",
    )
    parser.add_argument(
        "--option",
        dest="options",
        metavar="KEY=VALUE",
        type=option_argument,
        action="append",
        default=[],
        help="a provider option (repeatable); read as JSON when it parses",
    )
    provider = parser.add_argument_group("provider batch APIs")
    provider.add_argument(
        "--provider-batch",
        action="store_true",
        help="send the rows through the provider's batch API, poll, and write the results",
    )
    provider.add_argument(
        "--job",
        dest="jobs",
        metavar="ID",
        action="append",
        default=[],
        help="pick up a provider batch of this job by its id (repeatable)",
    )
    provider.add_argument(
        "--no-wait",
        action="store_true",
        help="send the batches and exit; run the same command again to collect them",
    )
    provider.add_argument(
        "--poll-interval",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="the first wait between polls (30; it grows to 10 minutes)",
    )


class _Progress:
    """The job's progress on stderr: a tqdm bar on a terminal, then the summary."""

    def __init__(self, console: Console, *, bar: bool) -> None:
        self.console = console
        #: Count the input's rows for the bar's total and ETA (on a terminal only).
        self.counts_rows = bar
        self._bar: Any = None
        self._tokens = [0, 0]
        self._cost: float | None = 0.0

    def start(self, total: int | None, done: int) -> None:
        """Show the bar."""
        if not self.counts_rows:
            return
        from tqdm import tqdm  # lazy for lightness: only on a terminal

        self._bar = tqdm(
            total=total,
            initial=done,
            unit="row",
            file=self.console.stderr,
            dynamic_ncols=True,
            mininterval=0.25,
            smoothing=0.05,
        )

    def advance(self, row: RowDone) -> None:
        """Count a row."""
        self._tokens[0] += row.input_tokens
        self._tokens[1] += row.output_tokens
        if row.ok:
            self._cost = None if row.cost is None or self._cost is None else self._cost + row.cost
        bar = self._bar
        if bar is not None:
            cost = "?" if self._cost is None else f"${self._cost:.4f}"
            bar.set_postfix_str(
                f"tokens {self._tokens[0]:,} in {self._tokens[1]:,} out, cost {cost}",
                refresh=False,
            )
            bar.update(1)

    def note(self, text: str) -> None:
        """A line above the bar."""
        if self._bar is not None:
            self._bar.write(text, file=self.console.stderr)
        else:
            self.console.note(text)

    def finish(self, summary: BatchSummary) -> None:
        """Close the bar; print the summary."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self.console.note(summary.describe())


def _limited(llm: LLM, args: argparse.Namespace) -> LLM:
    if args.rpm is None and args.tpm is None:
        return llm
    from llmplug.routing._routes import LimitedLLM  # lazy for lightness: the routing layer

    return LimitedLLM(llm, rpm=args.rpm, tpm=args.tpm)


def run_batch(args: argparse.Namespace, console: Console) -> int:
    """Run ``llmplug batch``."""
    from llmplug.batch._local import arun_batch
    from llmplug.batch._provider import arun_provider_batch

    console.add_secrets(secrets_of(args))
    text = args.schema if args.schema is not None else args.schema_multi
    output_cls = schema_class(text, multi=args.schema is None) if text is not None else None
    provider_only = [
        flag
        for flag, given in (("--job", args.jobs), ("--no-wait", args.no_wait))
        if given and not args.provider_batch
    ]
    if provider_only:
        raise ConfigError(f"{' and '.join(provider_only)} go with --provider-batch")
    llm = _limited(load_model(args.model, dict(args.options)), args)
    progress = _Progress(console, bar=console.progress)
    common: dict[str, Any] = {
        "prompt": args.prompt,
        "system": args.system,
        "output_cls": output_cls,
        "id_field": args.id_field,
        "input_format": args.input_format,
        "progress": progress,
    }
    if args.provider_batch:
        summary = asyncio.run(
            arun_provider_batch(
                args.input,
                args.output,
                llm,
                batch_ids=args.jobs,
                wait=not args.no_wait,
                poll_interval=args.poll_interval,
                **common,
            )
        )
        if summary.running:
            console.note(
                "the provider batches keep running; collect them later with the same "
                "command (or --job ID)"
            )
    else:
        summary = asyncio.run(
            arun_batch(
                args.input,
                args.output,
                llm,
                concurrency=args.concurrency,
                retries=args.retries,
                **common,
            )
        )
    return 1 if summary.failed else 0
