"""Run the real ``llmplug`` command: in a subprocess, or at a pseudo-terminal.

Every run gets its own config directory and key store (``XDG_CONFIG_HOME``), its own
data and cache directories (the call log and the response cache), no API key
or llmplug setting from the developer's environment, and a ``site`` directory on
``PYTHONPATH`` where a test installs plugins of its own: a distribution there is a
module plus a ``NAME-VERSION.dist-info`` with ``entry_points.txt``, which entry-point
discovery finds exactly as it finds a pip-installed one.

Two plugins are always installed there: ``rec`` (a hook plugin recording every call's
end to ``$REC_FILE`` as JSON lines: hook, whether it was cancelled, the partial text,
the blocks sent) and nothing else; tests add more with :meth:`Env.install`.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

_SCRIPT = Path(sys.executable).with_name("llmplug.exe" if os.name == "nt" else "llmplug")
#: The command under test: the console script pip made, else ``python -m llmplug``.
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "llmplug"]

REC_PLUGIN = '''
"""Records the end of every call, for the tests that check what hooks see."""
import json, os
import llmplug

LLMPLUG_PLUGIN_API = 1


def _write(record):
    with open(os.environ["REC_FILE"], "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\\n")


def _blocks(call):
    blocks = []
    for message in call.messages or []:
        for block in message.blocks:
            mime = None
            if hasattr(block, "_mimetype"):
                mime = block._mimetype()
            blocks.append([message.role.value, block.block_type, mime])
    return blocks


@llmplug.hookimpl
def after_call(call, response):
    text = response.message.content if response is not None else None
    _write({"hook": "after_call", "endpoint": call.endpoint, "cancelled": call.cancelled,
            "text": text, "blocks": _blocks(call)})


@llmplug.hookimpl
def on_call_error(call, error):
    _write({"hook": "on_call_error", "endpoint": call.endpoint, "error": type(error).__name__})
'''


@dataclass
class Result:
    """What a run of the command gave."""

    code: int
    out: str
    err: str


@dataclass
class Env:
    """An isolated place to run ``llmplug`` in."""

    root: Path
    vars: dict[str, str] = field(default_factory=dict)

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def config_dir(self) -> Path:
        return self.root / "config" / "llmplug"

    @property
    def records(self) -> list[dict[str, Any]]:
        """What the ``rec`` hook plugin wrote, one dict per call that ended."""
        path = Path(self.vars["REC_FILE"])
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def install(
        self,
        name: str,
        modules: dict[str, str],
        entry_points: dict[str, dict[str, str]],
        version: str = "1.0",
    ) -> None:
        """Install a distribution into the site directory (modules and metadata)."""
        for filename, source in modules.items():
            path = self.site / filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source), encoding="utf-8")
        info = self.site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
        )
        lines = []
        for group, points in entry_points.items():
            lines.append(f"[{group}]")
            lines += [f"{key} = {value}" for key, value in points.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def environ(self, **extra: str | None) -> dict[str, str]:
        env = {**os.environ, **self.vars}
        for key, value in extra.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def run(
        self, *args: str, stdin: str | None = "", timeout: float = 60, **extra: str | None
    ) -> Result:
        """Run ``llmplug ARGS`` with ``stdin`` piped in (``None``: no stdin at all)."""
        done = subprocess.run(
            [*COMMAND, *args],
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            text=True,
            env=self.environ(**extra),
            timeout=timeout,
            check=False,
            cwd=self.root,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def terminal(self, *args: str, **extra: str | None) -> Terminal:
        """Start ``llmplug ARGS`` at a new pseudo-terminal (its controlling terminal)."""
        return Terminal([*COMMAND, *args], self.environ(**extra), self.root)


_ENV_DROPPED = ("LLMPLUG_", "NO_COLOR", "FORCE_COLOR", "PIP_")


@pytest.fixture
def env(tmp_path: Path) -> Env:
    """An isolated environment with the ``rec`` hook plugin installed."""
    root = tmp_path
    variables = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_ENV_DROPPED) and not name.endswith("_API_KEY")
    }
    site = root / "site"
    site.mkdir()
    made = Env(
        root,
        {
            **variables,
            "XDG_CONFIG_HOME": str(root / "config"),
            # hook plugins' files (the call log, the response cache) stay in the test too
            "XDG_DATA_HOME": str(root / "data"),
            "XDG_CACHE_HOME": str(root / "cache"),
            "HOME": str(root / "home"),
            "PYTHONPATH": str(site),
            "REC_FILE": str(root / "records.jsonl"),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "COLUMNS": "120",
            "TERM": "xterm",
        },
    )
    made.install("llmplug-rec", {"llmplug_rec.py": REC_PLUGIN}, {"llmplug": {"rec": "llmplug_rec"}})
    return made


# -- a pseudo-terminal ---------------------------------------------------------------------

# Makes the pty the child's controlling terminal: a new session's leader that opens a
# terminal acquires it, so Ctrl-C reaches it as SIGINT and getpass reads from /dev/tty.
_ATTACH = (
    "import os, sys; os.close(os.open(sys.argv[1], os.O_RDWR)); os.execv(sys.argv[2], sys.argv[2:])"
)


class Terminal:
    """A program at a pseudo-terminal: type into it, read what it shows."""

    def __init__(self, argv: list[str], environ: dict[str, str], cwd: Path) -> None:
        master, slave = os.openpty()
        executable = shutil.which(argv[0]) or argv[0]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _ATTACH, os.ttyname(slave), executable, *argv[1:]],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=environ,
            cwd=cwd,
            start_new_session=True,
        )
        os.close(slave)
        self.fd = master
        self.screen = ""
        self.matched = 0  # where the last read_until's match ended

    def read_until(self, text: str, timeout: float = 30) -> str:
        """Read until ``text`` is shown after what earlier calls matched; all shown so far.

        As ``expect`` does: each call looks past the previous match, so waiting for the
        prompt ``"> "`` waits for the next prompt, not one already on the screen.
        """
        deadline = time.monotonic() + timeout
        while self.screen.find(text, self.matched) < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"{text!r} not shown within {timeout} s; shown:\n{self.screen}"
                )
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the program ended and closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"ended before showing {text!r}; shown:\n{self.screen}")
                self.screen += chunk.decode("utf-8", "replace")
        self.matched = self.screen.find(text, self.matched) + len(text)
        return self.screen

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait(self, timeout: float = 30) -> int:
        """Wait for the program to end (reading what it still shows); its exit code."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    self.screen += os.read(self.fd, 4096).decode("utf-8", "replace")
                except OSError:
                    break
        return self.proc.wait(timeout=max(deadline - time.monotonic(), 0.1))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.fd)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    """Started terminals, each killed at the end of the test if still running."""
    started: list[Terminal] = []
    yield started
    for terminal in started:
        terminal.close()


# -- a loopback server speaking OpenAI's API -----------------------------------------------


@dataclass
class Loopback:
    """An OpenAI-compatible server on 127.0.0.1 answering with scripted JSON."""

    url: str
    requests: list[dict[str, Any]]
    replies: dict[str, tuple[int, Any]]


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    """``GET {url}/models`` and ``POST {url}/chat/completions``, recording every request."""
    requests: list[dict[str, Any]] = []
    replies: dict[str, tuple[int, Any]] = {
        "GET /v1/models": (
            200,
            {
                "object": "list",
                "data": [
                    {"id": "loop-large", "object": "model", "created": 2, "owned_by": "me"},
                    {"id": "loop-small", "object": "model", "created": 1, "owned_by": "me"},
                ],
            },
        ),
    }

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": json.loads(body) if body else None,
                }
            )
            missing = (404, {"error": {"message": "no such path"}})
            status, data = replies.get(f"{self.command} {self.path}", missing)
            if callable(data):
                data = data(requests[-1])
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Loopback(f"http://127.0.0.1:{server.server_address[1]}/v1", requests, replies)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
