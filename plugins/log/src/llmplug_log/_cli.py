"""``llmplug logs``: list, search, filter and total the call log."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from llmplug.errors import ConfigError

__all__ = ["configure", "iso", "parse_when", "run"]

_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``llmplug logs``."""
    parser.description = (
        "Show the calls llmplug-log recorded, oldest of the last N first: filter them by "
        "model, provider, date or conversation, search their prompts and responses, or "
        "total their tokens and cost."
    )
    parser.add_argument(
        "-n", type=int, default=10, metavar="N", help="the last N calls (default 10; 0 for all)"
    )
    parser.add_argument("--json", action="store_true", help="print the calls as a JSON list")
    parser.add_argument(
        "-q",
        "--search",
        metavar="TEXT",
        help="full-text search of prompts and responses (SQLite FTS5 syntax)",
    )
    parser.add_argument("-m", "--model", help="only this model (MODEL or PROVIDER:MODEL)")
    parser.add_argument("-p", "--provider", help="only this provider")
    parser.add_argument(
        "--since",
        metavar="WHEN",
        help="calls from WHEN: an ISO date or time in UTC, or 30m, 12h, 7d, 2w ago",
    )
    parser.add_argument("--until", metavar="WHEN", help="calls before WHEN (as --since)")
    parser.add_argument(
        "--cid",
        "--conversation",
        dest="conversation",
        metavar="ID",
        help="only the calls of conversation ID",
    )
    parser.add_argument(
        "--cost",
        action="store_true",
        help="total calls, tokens and cost by model (of all matching calls)",
    )
    parser.add_argument("--path", action="store_true", help="print where the log is, and stop")


def parse_when(text: str, flag: str, now: datetime | None = None) -> float:
    """``--since``/``--until`` as the log stores times (seconds since 1970).

    Raises:
        ConfigError: Neither an ISO date/time nor ``N`` + ``m``/``h``/``d``/``w``.
    """
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        delta = timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
        when = (now or datetime.now(UTC)) - delta
    else:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"{flag} {text!r}: give an ISO date or time in UTC (2025-06-01, "
                f"2025-06-01T09:30) or how long ago (30m, 12h, 7d, 2w)"
            ) from None
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.timestamp()


def iso(epoch: float) -> str:
    """A logged time as people read it: UTC, ISO 8601, milliseconds."""
    stamp = datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def run(args: argparse.Namespace) -> int:
    """Run ``llmplug logs``."""
    # lazy: the module is imported by llmplug_log, which loads before every first call
    from llmplug_log import Filters, LogStore, flush, log_path

    path = log_path()
    if args.path:
        print(path)
        return 0
    if args.n < 0:
        raise ConfigError(f"-n {args.n}: give a number of calls >= 0 (0 for all)")
    flush()  # this process's own calls, if it made any
    filters = Filters(
        search=args.search,
        model=args.model,
        provider=args.provider,
        since=parse_when(args.since, "--since") if args.since else None,
        until=parse_when(args.until, "--until") if args.until else None,
        conversation=args.conversation,
    )
    if not path.exists():
        print("[]" if args.json else f"no calls logged yet ({path})")
        return 0
    store = LogStore(path)
    try:
        if args.cost:
            totals = store.totals(filters)
            if args.json:
                print(json.dumps(totals, indent=2))
            else:
                _print_totals(totals)
            return 0
        calls = store.calls(filters, args.n or None)
    finally:
        store.close()
    if args.json:
        print(json.dumps([_as_json(call) for call in calls], indent=2, ensure_ascii=False))
    elif not calls:
        print("no calls match")
    else:
        for call in calls:
            _print_call(call)
    return 0


_JSON_COLUMNS = ("options", "messages", "tool_calls", "structured")


def _as_json(call: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in call.items() if k != "n"}
    shown["started_at"] = iso(shown["started_at"])
    for name in _JSON_COLUMNS:
        if shown.get(name) is not None:
            shown[name] = json.loads(shown[name])
    shown["cancelled"] = bool(shown["cancelled"])
    shown["cache_hit"] = bool(shown["cache_hit"])
    return shown


def _money(cost: float | None) -> str:
    return "no price" if cost is None else f"${cost:.6f}"


def _print_call(call: dict[str, Any]) -> None:
    out = sys.stdout
    head = [iso(call["started_at"]), f"{call['provider']}:{call['model']}", call["endpoint"]]
    if call["latency"] is not None:
        head.append(f"{call['latency']:.3f}s")
    if call["time_to_first_chunk"] is not None:
        head.append(f"first chunk {call['time_to_first_chunk']:.3f}s")
    if call["input_tokens"] is not None:
        head.append(f"{call['input_tokens']} in, {call['output_tokens']} out")
        head.append(_money(call["cost"]))
    flags = [name for name in ("cancelled", "cache_hit") if call[name]]
    head += [name.replace("_", " ") for name in flags]
    out.write("  ".join(head) + "\n")
    out.write(f"  conversation {call['conversation_id']}  id {call['id']}\n")
    if call["prompt"]:
        out.write(_indent("> ", call["prompt"]))
    if call["response"]:
        out.write(_indent("", call["response"]))
    if call["tool_calls"]:
        for tool_call in json.loads(call["tool_calls"]):
            arguments = json.dumps(tool_call["arguments"], ensure_ascii=False)
            out.write(f"  tool call {tool_call['name']}({arguments})\n")
    if call["structured"]:
        out.write(_indent("", call["structured"]))
    if call["error"]:
        out.write(f"  error: {call['error']}\n")
    out.write("\n")


def _indent(mark: str, text: str) -> str:
    return "".join(f"  {mark}{line}\n" for line in text.splitlines() or [""])


def _print_totals(totals: list[dict[str, Any]]) -> None:
    rows = [("MODEL", "CALLS", "INPUT", "OUTPUT", "COST")]
    calls = tokens_in = tokens_out = unpriced = 0
    cost = 0.0
    for total in totals:
        rows.append(
            (
                f"{total['provider']}:{total['model']}",
                str(total["calls"]),
                str(total["input_tokens"]),
                str(total["output_tokens"]),
                _money(total["cost"]) if total["unpriced"] < total["calls"] else "no price",
            )
        )
        calls += total["calls"]
        tokens_in += total["input_tokens"]
        tokens_out += total["output_tokens"]
        cost += total["cost"] or 0.0
        unpriced += total["unpriced"]
    note = f" ({unpriced} call{'s' if unpriced != 1 else ''} without a price)" if unpriced else ""
    shown = "no price" if calls and unpriced == calls else f"${cost:.6f}{note}"
    rows.append(("total", str(calls), str(tokens_in), str(tokens_out), shown))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [
            row[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(row[1:4], widths[1:], strict=True)),
        ]
        print("  ".join([*cells, row[4]]))
