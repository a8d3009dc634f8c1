"""The gateway in front of the loopback stub, for ``bench_gateway.py`` (its own process).

    python bench/_gateway_server.py --upstream http://127.0.0.1:PORT/v1 --keys FILE

Serves one public model, ``stub`` = ``openai:gpt-4o-mini`` at the upstream, on a free
port of 127.0.0.1 (printed on stdout once it listens), without an access log. Exits when
stdin closes (the benchmark holds the other end) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

from llmplug_server import GatewayConfig, GatewayKeys, GatewayServer


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True, help="the stub's base URL (.../v1)")
    parser.add_argument("--keys", required=True, type=Path, help="the gateway's key file")
    args = parser.parse_args()
    spec = f"openai:gpt-4o-mini?base_url={args.upstream}&api_key=sk-bench&max_retries=0"
    config = GatewayConfig(host="127.0.0.1", port=0, models={})
    server = GatewayServer(
        config,
        models={"stub": spec},
        keys=GatewayKeys(args.keys),
        access_log=False,
        log_level="warning",
    )
    thread = server.run_in_thread()
    print(server.port, flush=True)

    def watch_stdin() -> None:
        while os.read(sys.stdin.fileno(), 1024):
            pass
        server.stop()

    threading.Thread(target=watch_stdin, daemon=True).start()
    thread.join()


if __name__ == "__main__":
    main()
