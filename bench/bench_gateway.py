"""The gateway's cost: requests per second and latency, in front of the stub vs the stub alone.

Three processes on loopback: the OpenAI-compatible stub (``_stub_server.py``), the
gateway (``_gateway_server.py``: uvicorn, one public model ``stub`` = the ``openai``
provider pointed at the stub), and this one, a load generator of raw keep-alive HTTP/1.1
connections (asyncio protocols sending prebuilt requests, so the client costs little).
Each run sends ``POST /v1/chat/completions`` from C concurrent clients for a fixed time
(bounded: ``--seconds`` per run and ``--max-requests``), to the stub directly and then
through the gateway, streaming and not, at C = 1, 32 and 256; each run is repeated and
reported as min / median over the repeats:

* **req/s**: completed requests per second;
* **p50, p99**: latency of a whole response (a stream: until its last byte);
* **added p50**: the gateway's p50 minus the stub's, at the same C;
* **server CPU ms/req**: CPU time of the server process per request (from /proc): the
  measure that a busy, shared machine disturbs least.

Targets (issue 22): the gateway adds under 2 ms p50 (C = 1), and sustains at least
1,000 non-streaming requests per second. The machine is shared: the load average is
printed with every run.

    python bench/bench_gateway.py                 # about three minutes
    python bench/bench_gateway.py --quick         # one repeat, shorter runs
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
# Only this repository's plugins: test-fixture hook plugins would run on every call.
os.environ.setdefault(
    "LLMPLUG_PLUGINS",
    ",".join(
        tomllib.loads(path.read_text())["project"]["name"]
        for path in sorted(HERE.parent.glob("plugins/*/pyproject.toml"))
    ),
)

from llmplug_server import GatewayKeys  # noqa: E402

CONCURRENCY = (1, 32, 256)
BODY = {"model": "stub", "messages": [{"role": "user", "content": "Tell me about foxes."}]}


class Child:
    """A server in a child process that prints its port; stopped when we exit."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        atexit.register(self.stop)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"{args[0]} did not start")
        self.port = int(line)

    def cpu(self) -> float:
        """The child's CPU seconds so far (user + system), from /proc (Linux)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            if self.proc.stdin:
                self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def request(port: int, key: str | None, stream: bool) -> bytes:
    body = dict(BODY, stream=True) if stream else BODY
    data = json.dumps(body).encode()
    auth = f"authorization: Bearer {key}\r\n" if key else ""
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        f"content-type: application/json\r\n{auth}content-length: {len(data)}\r\n\r\n"
    ).encode() + data


class Client(asyncio.Protocol):
    """One keep-alive connection: send a request, read one whole response, repeat."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.done: asyncio.Future[int] | None = None
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("connection lost"))
        if not self.lost.done():
            self.lost.set_result(None)

    def send(self, data: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.done

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        status = self._complete()
        if status is not None and self.done is not None and not self.done.done():
            self.done.set_result(status)

    def _complete(self) -> int | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buffer[:end]).lower()
        status = int(head[9:12])
        start = end + 4
        marker = head.find(b"content-length:")
        if marker >= 0:
            size = int(head[marker + 15 :].split(b"\r\n", 1)[0])
            if len(self.buffer) < start + size:
                return None
            del self.buffer[: start + size]
            return status
        if self.buffer.endswith(b"0\r\n\r\n"):  # chunked: the last chunk
            self.buffer.clear()
            return status
        return None


async def run(port: int, payload: bytes, clients: int, seconds: float, cap: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    conns = []
    for _ in range(clients):
        _, conn = await loop.create_connection(Client, "127.0.0.1", port)
        conns.append(conn)
    latencies: list[float] = []
    errors = 0
    # warm-up: a few requests per connection, not counted
    await asyncio.gather(*(c.send(payload) for c in conns))
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()

    async def worker(conn: Client) -> None:
        nonlocal errors
        while time.perf_counter() < deadline and len(latencies) < cap:
            t0 = time.perf_counter()
            status = await conn.send(payload)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors += 1

    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - started
    for conn in conns:
        assert conn.transport is not None
        conn.transport.close()
    await asyncio.gather(*(c.lost for c in conns))
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": errors,
        "n": len(latencies),
    }


def fmt(values: list[float], unit: str) -> str:
    return f"{min(values):8.1f} /{statistics.median(values):8.1f}{unit}"


def fmt2(values: list[float]) -> str:
    return f"{min(values):8.3f} /{statistics.median(values):8.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, 2 s runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each run")
    parser.add_argument("--max-requests", type=int, default=50_000, help="cap per run")
    parser.add_argument("--tokens", type=int, default=16, help="tokens per streamed reply")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.seconds = 1, 2.0
    stub = Child(str(HERE / "_stub_server.py"), "--tokens", str(args.tokens))
    keys_file = Path(tempfile.mkdtemp()) / "gateway-keys.json"
    key, _ = GatewayKeys(keys_file).create("bench")
    gateway = Child(
        str(HERE / "_gateway_server.py"),
        "--upstream",
        f"http://127.0.0.1:{stub.port}/v1",
        "--keys",
        str(keys_file),
    )
    targets = {
        "stub": (stub.port, None),
        "gateway": (gateway.port, key),
    }
    print(
        f"gateway benchmark: {os.cpu_count()} cores, replies of {args.tokens} tokens, "
        f"{args.repeats} repeats of {args.seconds:g} s per cell; min / median"
    )
    results: dict[tuple[str, bool, int], list[dict[str, Any]]] = {}
    loads: list[float] = []
    for _ in range(args.repeats):
        for stream in (True, False):
            for clients in CONCURRENCY:
                for name, (port, secret) in targets.items():
                    loads.append(os.getloadavg()[0])
                    child = stub if name == "stub" else gateway
                    cpu = child.cpu()
                    result = asyncio.run(
                        run(
                            port,
                            request(port, secret, stream),
                            clients,
                            args.seconds,
                            args.max_requests,
                        )
                    )
                    # CPU per request of the server measured (the gateway's includes the
                    # requests it sends to the stub): robust to a busy machine
                    result["cpu"] = (child.cpu() - cpu) / max(1, result["n"]) * 1000
                    results.setdefault((name, stream, clients), []).append(result)
    print(f"load average (1 min) during the runs: min {min(loads):.2f}, max {max(loads):.2f}")
    header = (
        f"{'mode':10} {'C':>4} {'target':8} {'req/s':>19} {'p50 ms':>19} {'p99 ms':>19} "
        f"{'server CPU ms/req':>19}"
    )
    print(header)
    for stream in (True, False):
        for clients in CONCURRENCY:
            for name in targets:
                runs = results[(name, stream, clients)]
                errors = sum(r["errors"] for r in runs)
                print(
                    f"{'stream' if stream else 'plain':10} {clients:4} {name:8} "
                    f"{fmt([r['rps'] for r in runs], '')} {fmt([r['p50'] for r in runs], '')} "
                    f"{fmt([r['p99'] for r in runs], '')} {fmt2([r['cpu'] for r in runs])}"
                    + (f"  ({errors} errors)" if errors else "")
                )
            added = [
                g["p50"] - s["p50"]
                for g, s in zip(
                    results[("gateway", stream, clients)],
                    results[("stub", stream, clients)],
                    strict=True,
                )
            ]
            print(f"{'':10} {'':4} {'added p50':<8} {'':19} {fmt(added, '')}")
    plain_rps = [r["rps"] for c in CONCURRENCY for r in results[("gateway", False, c)]]
    best = max(
        statistics.median([r["rps"] for r in results[("gateway", False, c)]]) for c in CONCURRENCY
    )
    added_p50 = statistics.median(
        g["p50"] - s["p50"]
        for g, s in zip(results[("gateway", False, 1)], results[("stub", False, 1)], strict=True)
    )
    print(
        f"targets: added p50 at C=1 (plain) {added_p50:.2f} ms (< 2 ms: "
        f"{'met' if added_p50 < 2 else 'NOT met'}); best median non-streaming req/s "
        f"{best:.0f} (>= 1000: {'met' if best >= 1000 else 'NOT met'}); "
        f"max single run {max(plain_rps):.0f}"
    )
    gateway.stop()
    stub.stop()


if __name__ == "__main__":
    main()
