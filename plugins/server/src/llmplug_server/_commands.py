"""``llmplug serve``: run the gateway, and manage its API keys.

::

    llmplug serve [--config FILE] [--host 127.0.0.1] [--port 8080]
    llmplug serve keys create [--name NAME] [--models a,b] [--rpm N] [--tpm N]
                              [--budget TOKENS] [--budget-cost AMOUNT] [--budget-period 1d]
    llmplug serve keys list
    llmplug serve keys revoke KEY_ID

Only argparse is imported here; the gateway itself when the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="the gateway's TOML config ($LLMPLUG_SERVER_CONFIG, else server.toml in "
        "llmplug's config dir)",
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument(
        "--no-access-log", action="store_true", help="do not log a line per request"
    )
    commands = parser.add_subparsers(dest="serve_command", metavar="keys")
    keys = commands.add_parser("keys", help="manage the gateway's API keys")
    actions = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a key (printed once)")
    create.add_argument("--name", default="", help="a label for the key")
    create.add_argument(
        "--models", help="comma-separated public model names it may use (default: all)"
    )
    create.add_argument("--rpm", type=float, help="requests per minute")
    create.add_argument("--tpm", type=float, help="tokens per minute")
    create.add_argument("--budget", type=int, metavar="TOKENS", help="tokens it may use")
    create.add_argument(
        "--budget-cost",
        type=float,
        metavar="AMOUNT",
        help="amount it may spend, at the models' price",
    )
    create.add_argument(
        "--budget-period", metavar="PERIOD", help="when the budget starts again (1h, 1d, 30d)"
    )
    create.add_argument("--json", action="store_true", help="print the key and its record as JSON")
    listing = actions.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", metavar="KEY_ID")
    for sub in (create, listing, revoke):
        sub.add_argument(
            "--config", metavar="FILE", type=Path, dest="keys_config", help="the gateway's config"
        )


def run(args: argparse.Namespace) -> int:
    """Run ``llmplug serve`` or one of its ``keys`` actions."""
    from llmplug_server._config import read_gateway_config

    if args.serve_command == "keys":
        return _keys(args, read_gateway_config(args.keys_config or args.config))
    config = read_gateway_config(args.config)
    changes: dict[str, Any] = {}
    if args.host:
        changes["host"] = args.host
    if args.port is not None:
        changes["port"] = args.port
    if changes:
        import dataclasses

        config = dataclasses.replace(config, **changes)
    from llmplug_server._server import serve

    serve(config, access_log=not args.no_access_log)
    return 0


def _keys(args: argparse.Namespace, config: Any) -> int:
    from llmplug_server._keys import GatewayKeys

    store = GatewayKeys(config.keys_file)
    out = sys.stdout
    if args.keys_command == "create":
        models = None
        if args.models is not None:
            models = [m.strip() for m in args.models.split(",") if m.strip()]
            unknown = [m for m in models if config.models and m not in config.models]
            if unknown:
                from llmplug.errors import ConfigError

                raise ConfigError(
                    f"--models names {unknown}, which the gateway's config does not serve "
                    f"(its models: {', '.join(config.models)})"
                )
        key, record = store.create(
            args.name,
            models=models,
            rpm=args.rpm,
            tpm=args.tpm,
            budget_tokens=args.budget,
            budget_cost=args.budget_cost,
            budget_period=args.budget_period,
        )
        if args.json:
            out.write(json.dumps({"key": key, **record.describe()}, indent=2) + "\n")
        else:
            out.write(f"{key}\n")
            sys.stderr.write(
                f"created {record.id}; the key is shown this once (stored hashed in {store.path})\n"
            )
        return 0
    if args.keys_command == "list":
        keys = store.keys()
        if args.json:
            out.write(json.dumps([k.describe() for k in keys], indent=2) + "\n")
            return 0
        if not keys:
            out.write(f"no gateway keys in {store.path}; create one: llmplug serve keys create\n")
            return 0
        for k in keys:
            limits = ", ".join(
                f"{label} {value:g}" if isinstance(value, float) else f"{label} {value}"
                for label, value in (
                    ("rpm", k.rpm),
                    ("tpm", k.tpm),
                    ("budget", k.budget_tokens),
                    ("budget cost", k.budget_cost),
                    ("per", k.budget_period),
                )
                if value is not None
            )
            allowed = ",".join(k.models) if k.models is not None else "all models"
            out.write(f"{k.id}  {k.name or '-'}  {allowed}  {limits or 'no limits'}  {k.created}\n")
        return 0
    record = store.revoke(args.key_id)
    out.write(f"revoked {record.id} {record.name}\n".rstrip() + "\n")
    return 0
