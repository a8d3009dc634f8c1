"""Loopback servers implementing the documented provider batch endpoints.

:class:`BatchServer` speaks OpenAI's Files and Batch API (``flavour="openai"``) or
Anthropic's Message Batches (``flavour="anthropic"``), on 127.0.0.1, with the states
each documents. A batch moves one state per poll: OpenAI's ``validating`` ->
``in_progress`` -> ``finalizing`` -> ``completed``; Anthropic's ``in_progress`` ->
``ended``. Each request is answered ``"echo: <its last message>"``, except a prompt
holding ``#400`` (an error result). Scripted cases:

* ``expire_after=N``: the batch expires having answered only its first ``N`` requests
  (OpenAI: status ``expired``, the rest ``batch_expired`` in the error file; Anthropic:
  ``expired`` results);
* ``fail="why"``: OpenAI's validation fails (status ``failed`` with ``errors``);
* a cancelled batch: the requests not yet answered are ``batch_cancelled`` /
  ``canceled``.

Every request is logged (``log``: method and path); bodies received are kept
(``created``) so tests validate them against the providers' own definitions.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["BatchServer", "serving"]

_ISO = "2026-12-01T10:00:{:02d}Z"


def _text(messages: list[dict[str, Any]]) -> str:
    content = messages[-1]["content"]
    if isinstance(content, list):  # Anthropic's blocks
        return "".join(block.get("text", "") for block in content)
    return str(content)


class BatchServer(ThreadingHTTPServer):
    """The server (see the module docstring)."""

    daemon_threads = True

    def __init__(
        self, flavour: str, *, expire_after: int | None = None, fail: str | None = None
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.flavour = flavour
        self.expire_after = expire_after
        self.fail = fail
        self.files: dict[str, bytes] = {}
        self.uploads: list[dict[str, Any]] = []
        self.batches: dict[str, dict[str, Any]] = {}
        self.created: list[Any] = []
        self.log: list[tuple[str, str]] = []
        self.keys: list[str | None] = []
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        base = f"http://{host!s}:{port}"
        return f"{base}/v1" if self.flavour == "openai" else base

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a bug in the server must fail the test (tests assert ``errors == []``)
        import sys

        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, ConnectionError):
            self.errors.append(error)

    # -- the batch life cycle ----------------------------------------------------------

    def new_batch(self, requests: list[tuple[str, str]], extra: dict[str, Any]) -> dict[str, Any]:
        number = len(self.batches) + 1
        batch_id = f"batch_{number:04d}" if self.flavour == "openai" else f"msgbatch_{number:04d}"
        batch = {"id": batch_id, "polls": 0, "requests": requests, "cancelled": False, **extra}
        self.batches[batch_id] = batch
        return batch

    def advance(self, batch: dict[str, Any]) -> None:
        """One poll: the next state, and the results once it ends."""
        batch["polls"] += 1
        if batch.get("ended"):
            return
        last = 3 if self.flavour == "openai" else 1
        if batch["cancelled"] or batch["polls"] >= last or self.fail:
            self._end(batch)

    def _end(self, batch: dict[str, Any]) -> None:
        batch["ended"] = True
        answered = len(batch["requests"])
        if batch["cancelled"]:
            answered = 0
        elif self.expire_after is not None:
            answered = min(answered, self.expire_after)
        outcomes = []
        for i, (custom_id, text) in enumerate(batch["requests"]):
            if self.fail:
                outcome = "none"
            elif i >= answered:
                outcome = "cancelled" if batch["cancelled"] else "expired"
            else:
                outcome = "errored" if "#400" in text else "succeeded"
            outcomes.append((custom_id, text, outcome))
        batch["outcomes"] = outcomes

    def status(self, batch: dict[str, Any]) -> dict[str, Any]:
        if self.flavour == "openai":
            return self._openai_batch(batch)
        return self._anthropic_batch(batch)

    # -- OpenAI ------------------------------------------------------------------------

    def _openai_batch(self, batch: dict[str, Any]) -> dict[str, Any]:
        polls = batch["polls"]
        status = ["validating", "in_progress", "finalizing"][min(polls, 2)]
        if batch["cancelled"] and not batch.get("ended"):
            status = "cancelling"
        counts = {"total": len(batch["requests"]), "completed": 0, "failed": 0}
        data: dict[str, Any] = {
            "id": batch["id"],
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": None,
            "input_file_id": batch["input_file_id"],
            "completion_window": "24h",
            "status": status,
            "output_file_id": None,
            "error_file_id": None,
            "created_at": 1_764_583_200,
            "in_progress_at": 1_764_583_201 if polls else None,
            "expires_at": 1_764_669_600,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": counts,
            "metadata": batch.get("metadata"),
        }
        if not batch.get("ended"):
            return data
        if self.fail:
            error = {"code": "invalid_request", "message": self.fail, "param": None, "line": 1}
            data.update(status="failed", failed_at=1_764_583_300)
            data["errors"] = {"object": "list", "data": [error]}
            return data
        if "files" in batch:  # the result files are made once
            data.update(batch["files"])
            return data
        output, errors = [], []
        for i, (custom_id, text, outcome) in enumerate(batch["outcomes"]):
            line: dict[str, Any] = {"id": f"batch_req_{i}", "custom_id": custom_id}
            if outcome == "succeeded":
                body = _openai_completion(f"echo: {text}", text)
                line.update(response={"status_code": 200, "request_id": f"req_{i}", "body": body})
                line["error"] = None
                output.append(line)
            elif outcome == "errored":
                body = {
                    "error": {
                        "message": "this row is refused",
                        "type": "invalid_request_error",
                        "param": "messages",
                        "code": None,
                    }
                }
                line.update(response={"status_code": 400, "request_id": f"req_{i}", "body": body})
                line["error"] = None
                errors.append(line)
            else:
                code = "batch_cancelled" if outcome == "cancelled" else "batch_expired"
                message = "This request could not be executed before the window ended."
                line.update(response=None, error={"code": code, "message": message})
                errors.append(line)
        counts.update(completed=len(output), failed=len(errors))
        if output:
            data["output_file_id"] = self._store(output)
        if errors:
            data["error_file_id"] = self._store(errors)
        if batch["cancelled"]:
            data.update(status="cancelled", cancelled_at=1_764_583_400)
        elif self.expire_after is not None and self.expire_after < len(batch["requests"]):
            data.update(status="expired", expired_at=1_764_669_600)
        else:
            data.update(status="completed", completed_at=1_764_583_500)
        keep = ("status", "output_file_id", "error_file_id", "request_counts")
        batch["files"] = {key: data[key] for key in keep}
        batch["files"].update({k: data[k] for k in data if k.endswith("_at") and data[k]})
        return data

    def _store(self, lines: list[dict[str, Any]]) -> str:
        file_id = f"file-out{len(self.files)}"
        self.files[file_id] = "".join(json.dumps(line) + "\n" for line in lines).encode()
        return file_id

    # -- Anthropic ---------------------------------------------------------------------

    def _anthropic_batch(self, batch: dict[str, Any]) -> dict[str, Any]:
        ended = bool(batch.get("ended"))
        kinds = [outcome for _, _, outcome in batch.get("outcomes", [])]
        counts = {
            "processing": 0 if ended else len(batch["requests"]),
            "succeeded": kinds.count("succeeded"),
            "errored": kinds.count("errored"),
            "canceled": kinds.count("cancelled"),
            "expired": kinds.count("expired"),
        }
        status = "ended" if ended else "canceling" if batch["cancelled"] else "in_progress"
        return {
            "id": batch["id"],
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "ended_at": _ISO.format(30) if ended else None,
            "created_at": _ISO.format(0),
            "expires_at": "2026-12-02T10:00:00Z",
            "archived_at": None,
            "cancel_initiated_at": _ISO.format(10) if batch["cancelled"] else None,
            "results_url": f"{self.url}/v1/messages/batches/{batch['id']}/results"
            if ended
            else None,
        }

    def anthropic_results(self, batch: dict[str, Any]) -> bytes:
        lines = []
        for custom_id, text, outcome in batch["outcomes"]:
            result: dict[str, Any]
            if outcome == "succeeded":
                result = {"type": "succeeded", "message": _anthropic_message(f"echo: {text}", text)}
            elif outcome == "errored":
                error = {"type": "invalid_request_error", "message": "this row is refused"}
                result = {"type": "errored", "error": {"type": "error", "error": error}}
            else:
                result = {"type": "canceled" if outcome == "cancelled" else "expired"}
            lines.append(json.dumps({"custom_id": custom_id, "result": result}) + "\n")
        return "".join(lines).encode()


def _openai_completion(reply: str, prompt: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-batch",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": len(prompt.split()),
            "completion_tokens": len(reply.split()),
            "total_tokens": len(prompt.split()) + len(reply.split()),
        },
    }


def _anthropic_message(reply: str, prompt: str) -> dict[str, Any]:
    return {
        "id": "msg_batch",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-5-5",
        "content": [{"type": "text", "text": reply}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": len(prompt.split()), "output_tokens": len(reply.split())},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: BatchServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, data: Any, status: int = 200, raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json" if raw is None else "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _not_found(self) -> None:
        message = f"no such object: {self.path}"
        self._reply({"error": {"message": message, "type": "not_found_error"}}, 404)

    def _record(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        key = self.headers.get("authorization") or self.headers.get("x-api-key")
        with self.server.lock:
            self.server.log.append((self.command, self.path))
            self.server.keys.append(key)
        return body

    def do_GET(self) -> None:
        self._record()
        with self.server.lock:
            self._get()

    def do_POST(self) -> None:
        body = self._record()
        with self.server.lock:
            self._post(body)

    def _batch(self, batch_id: str) -> dict[str, Any] | None:
        return self.server.batches.get(batch_id)

    def _get(self) -> None:
        parts = self.path.strip("/").split("/")
        server = self.server
        if server.flavour == "openai" and parts[:2] == ["v1", "files"] and parts[-1] == "content":
            content = server.files.get(parts[2])
            if content is None:
                self._not_found()
            else:
                self._reply(None, raw=content)
            return
        if server.flavour == "openai" and parts[:2] == ["v1", "batches"] and len(parts) == 3:
            batch = self._batch(parts[2])
        elif parts[:3] == ["v1", "messages", "batches"] and len(parts) >= 4:
            batch = self._batch(parts[3])
            if batch is not None and parts[4:] == ["results"]:
                if not batch.get("ended"):
                    self._reply({"error": {"message": "not ended", "type": "x"}}, 400)
                else:
                    self._reply(None, raw=server.anthropic_results(batch))
                return
        else:
            batch = None
        if batch is None:
            self._not_found()
            return
        server.advance(batch)
        self._reply(server.status(batch))

    def _post(self, body: bytes) -> None:
        parts = self.path.strip("/").split("/")
        server = self.server
        if parts[-1] == "cancel":
            batch = self._batch(parts[-2])
            if batch is None:
                self._not_found()
                return
            batch["cancelled"] = True
            self._reply(server.status(batch))
        elif server.flavour == "openai" and parts == ["v1", "files"]:
            self._upload(body)
        elif server.flavour == "openai" and parts == ["v1", "batches"]:
            request = json.loads(body)
            server.created.append(request)
            content = server.files.get(request.get("input_file_id", ""))
            if content is None:
                self._not_found()
                return
            lines = [json.loads(line) for line in content.splitlines()]
            pairs = [(line["custom_id"], _text(line["body"]["messages"])) for line in lines]
            extra = {"input_file_id": request["input_file_id"], "metadata": request.get("metadata")}
            self._reply(server.status(server.new_batch(pairs, extra)))
        elif parts == ["v1", "messages", "batches"]:
            request = json.loads(body)
            server.created.append(request)
            pairs = [(r["custom_id"], _text(r["params"]["messages"])) for r in request["requests"]]
            self._reply(server.status(server.new_batch(pairs, {})))
        else:
            self._not_found()

    def _upload(self, body: bytes) -> None:
        kind = self.headers.get("content-type", "")
        head = f"Content-Type: {kind}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        fields = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[name] = (part.get_filename(), part.get_payload(decode=True))
        filename, content = fields["file"]
        purpose = fields["purpose"][1].decode()
        file_id = f"file-in{len(self.server.files)}"
        self.server.files[file_id] = content
        upload = {"purpose": purpose, "filename": filename, "bytes": len(content)}
        self.server.uploads.append(upload)
        self._reply(
            {
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "created_at": 1_764_583_100,
                "filename": filename,
                "purpose": purpose,
                "status": "processed",
                "expires_at": None,
                "status_details": None,
            }
        )


@contextmanager
def serving(flavour: str, **options: Any) -> Iterator[BatchServer]:
    """A :class:`BatchServer` for the ``with`` block."""
    server = BatchServer(flavour, **options)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
