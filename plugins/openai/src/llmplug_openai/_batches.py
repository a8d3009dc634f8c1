"""OpenAI's Batch API: chat completions at half the price, answered within 24 hours.

The wire (OpenAI's API reference, Files and Batch):

* ``POST /files`` (``multipart/form-data``: ``purpose=batch`` and the ``file``) uploads
  the requests, one JSON line each: ``{"custom_id", "method": "POST", "url":
  "/v1/chat/completions", "body": <a chat completion request>}``; at most 50,000
  lines and 200 MB.
* ``POST /batches`` ``{"input_file_id", "endpoint": "/v1/chat/completions",
  "completion_window": "24h"}`` creates the batch; ``GET /batches/{id}`` polls it
  (``status``: ``validating``, ``in_progress``, ``finalizing``, then ``completed``,
  ``failed``, ``expired`` or ``cancelled``; ``cancelling`` in between);
  ``POST /batches/{id}/cancel`` cancels it.
* ``GET /files/{id}/content`` downloads the ``output_file_id`` (answered requests) and
  the ``error_file_id`` (the others): lines of ``{"id", "custom_id", "response":
  {"status_code", "request_id", "body"}, "error": {"code", "message"}}``. A request
  the batch never ran has the error code ``batch_expired`` or ``batch_cancelled``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from llmplug.errors import APIError, APITimeoutError, LLMError, UnsupportedFeatureError
from llmplug.http import HTTPChatLLM, HTTPRequest, multipart_form, path_segment
from llmplug.types import BatchLimits

if TYPE_CHECKING:
    from llmplug.types import BatchRequest, BatchResult, ProviderBatch

__all__ = ["ENDED", "OpenAIBatchAPI", "parse_batch"]

#: The statuses of a batch whose processing is over.
ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
_NOT_RUN = {"batch_expired": "expired", "batch_cancelled": "cancelled"}


def parse_batch(data: Any, provider: str) -> ProviderBatch:
    """A ``batch`` object as a :class:`~llmplug.types.ProviderBatch`.

    Raises:
        APIError: The body is not a batch object.
    """
    # lazy for lightness: the batch types load with the first batch call, not at load()
    from llmplug.types import ProviderBatch

    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise APIError(
            "the answer is not a batch object; is base_url OpenAI's API?",
            provider=provider,
            body=data if isinstance(data, dict) else str(data)[:200],
        )
    status = str(data.get("status") or "")
    counts = data.get("request_counts") or {}
    error = None
    if status == "failed":
        errors = (data.get("errors") or {}).get("data") or []
        texts = [
            f"line {e['line']}: {e.get('message')}" if e.get("line") else str(e.get("message"))
            for e in errors
            if isinstance(e, dict)
        ]
        error = "; ".join(texts) or "the batch failed (no reason given)"
    return ProviderBatch(
        id=data["id"],
        provider=provider,
        status=status,
        ended=status in ENDED,
        requests=_count(counts.get("total")),
        succeeded=_count(counts.get("completed")),
        failed=_count(counts.get("failed")),
        created_at=_time(data.get("created_at")),
        expires_at=_time(data.get("expires_at")),
        error=error,
        raw=data,
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _time(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class OpenAIBatchAPI(HTTPChatLLM):
    """The Batch API methods of :class:`~llmplug_openai.OpenAILLM` (and its subclasses).

    A service whose capabilities say ``batch=False`` (the compatible presets, Azure)
    raises :class:`~llmplug.errors.UnsupportedFeatureError`.
    """

    batch_limits: ClassVar[BatchLimits | None] = BatchLimits(50_000, 200 * 1024 * 1024)

    def _check_batches(self) -> None:
        if not type(self).capabilities.batch or self.batch_limits is None:
            raise UnsupportedFeatureError(
                f"provider {self.provider_label!r} has no batch API in llmplug: run the rows "
                f"through its endpoints (llmplug batch without --provider-batch)",
                provider=self.provider_label,
                feature="batch",
            )

    def batch_file(self, requests: Sequence[BatchRequest]) -> tuple[bytes, str]:
        """The JSONL input file of ``requests`` (each built as ``chat`` would build it).

        Returns:
            The file's bytes, and the endpoint its requests name
            (``/v1/chat/completions``: the path of ``base_url`` and of the chat request).

        Raises:
            InvalidOptionError: A request the API would refuse.
            APIError: Too many requests, or too many bytes, for one batch.
        """
        self._check_batches()
        assert self.batch_limits is not None
        prefix = urlsplit(self.base_url).path.rstrip("/")
        endpoint = f"{prefix}/chat/completions"
        lines = []
        for request in requests:
            built = self.build_request(request.messages, dict(request.options), stream=False)
            endpoint = f"{prefix}{built.path}"
            line = {"custom_id": request.custom_id, "method": "POST", "url": endpoint}
            line["body"] = built.json
            lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        limits = self.batch_limits
        if not requests or len(requests) > limits.max_requests or len(data) > limits.max_bytes:
            raise APIError(
                f"a batch takes 1 to {limits.max_requests} requests and at most "
                f"{limits.max_bytes} bytes; this one has {len(requests)} and {len(data)}",
                provider=self.provider_label,
            )
        return data, endpoint

    def _upload_request(self, data: bytes) -> HTTPRequest:
        body, content_type = multipart_form(
            {"purpose": "batch"}, {"file": ("llmplug-batch.jsonl", data, "application/jsonl")}
        )
        return HTTPRequest("/files", content=body, headers={"Content-Type": content_type})

    def _create_request(self, file_id: str, endpoint: str) -> HTTPRequest:
        return HTTPRequest(
            "/batches",
            {
                "input_file_id": file_id,
                "endpoint": endpoint,
                "completion_window": "24h",
                "metadata": {"created_by": "llmplug"},
            },
        )

    def _file_id(self, data: Any) -> str:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise APIError(
                "the file upload's answer has no file id",
                provider=self.provider_label,
                body=data if isinstance(data, dict) else str(data)[:200],
            )
        return str(data["id"])

    def _results(self, files: list[bytes]) -> Iterator[BatchResult]:
        for content in files:
            for line in content.splitlines():
                if line.strip():
                    yield self.batch_result(json.loads(line))

    def batch_result(self, line: Any) -> BatchResult:
        """One line of a result or error file as a :class:`~llmplug.types.BatchResult`."""
        # lazy for lightness: the batch types load with the first batch call, not at load()
        from llmplug.types import BatchResult

        custom_id = str(line.get("custom_id") or "") if isinstance(line, dict) else ""
        if not custom_id:
            raise APIError(f"a batch result line without custom_id: {str(line)[:200]}")
        error = line.get("error")
        response = line.get("response")
        if isinstance(error, dict):
            code = str(error.get("code") or "")
            if code in _NOT_RUN:
                return BatchResult(custom_id, _NOT_RUN[code])  # type: ignore[arg-type]
            cls = APITimeoutError if code == "request_timeout" else APIError
            message = f"{error.get('message') or 'the request failed'} ({code or 'no code'})"
            return BatchResult(
                custom_id, "errored", error=cls(message, provider=self.provider_label)
            )
        if not isinstance(response, dict):
            raise APIError(f"a batch result line without response or error: {str(line)[:200]}")
        status = response.get("status_code")
        body = response.get("body")
        if isinstance(status, int) and status >= 400:
            return BatchResult(custom_id, "errored", error=self.error_from_body(body, status))
        try:
            return BatchResult(custom_id, "succeeded", response=self.parse_response(body))
        except LLMError as exc:
            return BatchResult(custom_id, "errored", error=exc)
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            message = f"could not parse the answer ({type(exc).__name__}: {exc})"
            return BatchResult(custom_id, "errored", error=APIError(message))

    def _ended(self, batch: ProviderBatch) -> list[HTTPRequest]:
        self._check_batches()
        if not batch.ended:
            raise ValueError(f"batch {batch.id} has not ended ({batch.status}): poll it first")
        return [
            HTTPRequest(f"/files/{path_segment(file_id)}/content", method="GET")
            for key in ("output_file_id", "error_file_id")
            if isinstance(file_id := batch.raw.get(key), str) and file_id
        ]

    # -- the provider batch methods ----------------------------------------------------

    def create_batch(self, requests: Sequence[BatchRequest]) -> ProviderBatch:
        """Upload ``requests`` as a JSONL file and create a batch of it."""
        data, endpoint = self.batch_file(requests)
        file_id = self._file_id(self.request_json(self._upload_request(data)))
        created = self.request_json(self._create_request(file_id, endpoint))
        return parse_batch(created, self.provider_label)

    async def acreate_batch(self, requests: Sequence[BatchRequest]) -> ProviderBatch:
        """Async :meth:`create_batch`."""
        data, endpoint = self.batch_file(requests)
        file_id = self._file_id(await self.arequest_json(self._upload_request(data)))
        created = await self.arequest_json(self._create_request(file_id, endpoint))
        return parse_batch(created, self.provider_label)

    def get_batch(self, batch_id: str) -> ProviderBatch:
        """``GET /batches/{id}``."""
        self._check_batches()
        request = HTTPRequest(f"/batches/{path_segment(batch_id)}", method="GET")
        return parse_batch(self.request_json(request), self.provider_label)

    async def aget_batch(self, batch_id: str) -> ProviderBatch:
        """Async :meth:`get_batch`."""
        self._check_batches()
        request = HTTPRequest(f"/batches/{path_segment(batch_id)}", method="GET")
        return parse_batch(await self.arequest_json(request), self.provider_label)

    def batch_results(self, batch: ProviderBatch) -> Iterator[BatchResult]:
        """Download the output and error files of an ended batch; parse them lazily."""
        return self._results([self.request_bytes(r) for r in self._ended(batch)])

    async def abatch_results(self, batch: ProviderBatch) -> Iterator[BatchResult]:
        """Async :meth:`batch_results`."""
        return self._results([await self.arequest_bytes(r) for r in self._ended(batch)])

    def cancel_batch(self, batch_id: str) -> ProviderBatch:
        """``POST /batches/{id}/cancel``: it is ``cancelling``, then ``cancelled``."""
        self._check_batches()
        request = HTTPRequest(f"/batches/{path_segment(batch_id)}/cancel")
        return parse_batch(self.request_json(request), self.provider_label)

    async def acancel_batch(self, batch_id: str) -> ProviderBatch:
        """Async :meth:`cancel_batch`."""
        self._check_batches()
        request = HTTPRequest(f"/batches/{path_segment(batch_id)}/cancel")
        return parse_batch(await self.arequest_json(request), self.provider_label)
