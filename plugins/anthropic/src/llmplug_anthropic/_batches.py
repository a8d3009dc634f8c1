"""Anthropic's Message Batches: Messages requests at half the price, within 24 hours.

The wire (Anthropic's API reference, Message Batches):

* ``POST /v1/messages/batches`` ``{"requests": [{"custom_id", "params": <a Messages
  request>}]}`` creates a batch (at most 100,000 requests and 256 MB; a
  ``custom_id`` is 1 to 64 letters, digits, ``_`` or ``-``);
* ``GET /v1/messages/batches/{id}`` polls it: ``processing_status`` is
  ``in_progress``, ``canceling`` or ``ended``; ``request_counts`` counts
  ``processing``, ``succeeded``, ``errored``, ``canceled`` and ``expired``; a batch
  expires 24 hours after it was created;
* ``GET /v1/messages/batches/{id}/results`` (the batch's ``results_url``) answers
  JSONL, one ``{"custom_id", "result": {"type": ...}}`` per request, in any order:
  ``succeeded`` with the ``message``, ``errored`` with an ``error`` body, or
  ``canceled`` / ``expired`` (never ran);
* ``POST /v1/messages/batches/{id}/cancel`` cancels it.

Results are downloaded from the documented path on ``base_url``, never from another
host a ``results_url`` might name (the key goes with the request).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from llmplug.errors import APIError, InvalidOptionError, LLMError, UnsupportedFeatureError
from llmplug.http import HTTPChatLLM, HTTPRequest, path_segment
from llmplug.types import BatchLimits

if TYPE_CHECKING:
    from llmplug.types import BatchRequest, BatchResult, ProviderBatch

__all__ = ["AnthropicBatchAPI", "parse_batch"]

# compiled on first use (and cached by re), so importing stays cheap
_CUSTOM_ID = r"[a-zA-Z0-9_-]{1,64}"
_NOT_RUN = {"expired": "expired", "canceled": "cancelled"}
_DEFAULT_VERSION = "2023-06-01"


def _time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _count(counts: dict[str, Any], *names: str) -> int:
    values = (counts.get(name) for name in names)
    return sum(v for v in values if isinstance(v, int) and not isinstance(v, bool))


def parse_batch(data: Any, provider: str) -> ProviderBatch:
    """A ``message_batch`` object as a :class:`~llmplug.types.ProviderBatch`.

    Raises:
        APIError: The body is not a message batch.
    """
    # lazy for lightness: the batch types load with the first batch call, not at load()
    from llmplug.types import ProviderBatch

    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise APIError(
            "the answer is not a message batch; is base_url Anthropic's API?",
            provider=provider,
            body=data if isinstance(data, dict) else str(data)[:200],
        )
    counts = data.get("request_counts") or {}
    status = str(data.get("processing_status") or "")
    return ProviderBatch(
        id=data["id"],
        provider=provider,
        status=status,
        ended=status == "ended",
        requests=_count(counts, "processing", "succeeded", "errored", "canceled", "expired"),
        succeeded=_count(counts, "succeeded"),
        failed=_count(counts, "errored", "canceled", "expired"),
        created_at=_time(data.get("created_at")),
        expires_at=_time(data.get("expires_at")),
        raw=data,
    )


class AnthropicBatchAPI(HTTPChatLLM):
    """The Message Batches methods of :class:`~llmplug_anthropic.AnthropicLLM`."""

    batch_limits: ClassVar[BatchLimits | None] = BatchLimits(100_000, 256 * 1024 * 1024)

    def _check_batches(self) -> None:
        if not type(self).capabilities.batch or self.batch_limits is None:
            raise UnsupportedFeatureError(
                f"provider {self.provider_label!r} has no batch API in llmplug",
                provider=self.provider_label,
                feature="batch",
            )

    def _api_headers(self) -> dict[str, str]:
        return {"anthropic-version": str(getattr(self, "anthropic_version", _DEFAULT_VERSION))}

    def batch_body(self, requests: Sequence[BatchRequest]) -> HTTPRequest:
        """The request creating a batch of ``requests`` (each built as ``chat`` would).

        Raises:
            InvalidOptionError: A ``custom_id`` the API refuses, or a request it would.
            APIError: Too many requests, or too many bytes, for one batch.
        """
        self._check_batches()
        limits = self.batch_limits
        assert limits is not None
        headers = self._api_headers()
        betas: list[str] = []
        items = []
        for request in requests:
            if not re.fullmatch(_CUSTOM_ID, request.custom_id):
                raise InvalidOptionError(
                    f"custom_id {request.custom_id[:80]!r} is not 1 to 64 letters, digits, "
                    f"'_' or '-', which the Message Batches API requires",
                    provider=self.provider_label,
                    option="custom_id",
                )
            built = self.build_request(request.messages, dict(request.options), stream=False)
            for beta in (built.headers.get("anthropic-beta") or "").split(","):
                if beta and beta not in betas:
                    betas.append(beta)
            items.append({"custom_id": request.custom_id, "params": built.json})
        size = len(json.dumps(items, ensure_ascii=False).encode("utf-8"))
        if not items or len(items) > limits.max_requests or size > limits.max_bytes:
            raise APIError(
                f"a batch takes 1 to {limits.max_requests} requests and at most "
                f"{limits.max_bytes} bytes; this one has {len(items)} and {size}",
                provider=self.provider_label,
            )
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        return HTTPRequest("/v1/messages/batches", {"requests": items}, headers=headers)

    def _batch_request(self, batch_id: str, action: str = "") -> HTTPRequest:
        method = "POST" if action == "/cancel" else "GET"
        path = f"/v1/messages/batches/{path_segment(batch_id)}{action}"
        return HTTPRequest(path, method=method, headers=self._api_headers())

    def _results_request(self, batch: ProviderBatch) -> HTTPRequest:
        self._check_batches()
        if not batch.ended:
            raise ValueError(f"batch {batch.id} has not ended ({batch.status}): poll it first")
        return self._batch_request(batch.id, "/results")

    def _results(self, content: bytes) -> Iterator[BatchResult]:
        for line in content.splitlines():
            if line.strip():
                yield self.batch_result(json.loads(line))

    def batch_result(self, line: Any) -> BatchResult:
        """One line of the results file as a :class:`~llmplug.types.BatchResult`."""
        # lazy for lightness: the batch types load with the first batch call, not at load()
        from llmplug.types import BatchResult

        custom_id = str(line.get("custom_id") or "") if isinstance(line, dict) else ""
        result = line.get("result") if isinstance(line, dict) else None
        if not custom_id or not isinstance(result, dict):
            raise APIError(f"a batch result line without custom_id or result: {str(line)[:200]}")
        kind = result.get("type")
        if kind in _NOT_RUN:
            return BatchResult(custom_id, _NOT_RUN[kind])  # type: ignore[arg-type]
        if kind == "errored":
            return BatchResult(
                custom_id, "errored", error=self.error_from_body(result.get("error"))
            )
        if kind != "succeeded":
            message = f"a batch result of an unknown type {str(kind)[:40]!r}"
            return BatchResult(custom_id, "errored", error=APIError(message))
        try:
            return BatchResult(
                custom_id, "succeeded", response=self.parse_response(result["message"])
            )
        except LLMError as exc:
            return BatchResult(custom_id, "errored", error=exc)
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            message = f"could not parse the answer ({type(exc).__name__}: {exc})"
            return BatchResult(custom_id, "errored", error=APIError(message))

    # -- the provider batch methods ----------------------------------------------------

    def create_batch(self, requests: Sequence[BatchRequest]) -> ProviderBatch:
        """``POST /v1/messages/batches`` with ``requests``."""
        data = self.request_json(self.batch_body(requests))
        return parse_batch(data, self.provider_label)

    async def acreate_batch(self, requests: Sequence[BatchRequest]) -> ProviderBatch:
        """Async :meth:`create_batch`."""
        data = await self.arequest_json(self.batch_body(requests))
        return parse_batch(data, self.provider_label)

    def get_batch(self, batch_id: str) -> ProviderBatch:
        """``GET /v1/messages/batches/{id}``."""
        self._check_batches()
        return parse_batch(self.request_json(self._batch_request(batch_id)), self.provider_label)

    async def aget_batch(self, batch_id: str) -> ProviderBatch:
        """Async :meth:`get_batch`."""
        self._check_batches()
        data = await self.arequest_json(self._batch_request(batch_id))
        return parse_batch(data, self.provider_label)

    def batch_results(self, batch: ProviderBatch) -> Iterator[BatchResult]:
        """Download an ended batch's results (JSONL); parse them lazily."""
        return self._results(self.request_bytes(self._results_request(batch)))

    async def abatch_results(self, batch: ProviderBatch) -> Iterator[BatchResult]:
        """Async :meth:`batch_results`."""
        return self._results(await self.arequest_bytes(self._results_request(batch)))

    def cancel_batch(self, batch_id: str) -> ProviderBatch:
        """``POST /v1/messages/batches/{id}/cancel``: ``canceling``, then ``ended``."""
        self._check_batches()
        data = self.request_json(self._batch_request(batch_id, "/cancel"))
        return parse_batch(data, self.provider_label)

    async def acancel_batch(self, batch_id: str) -> ProviderBatch:
        """Async :meth:`cancel_batch`."""
        self._check_batches()
        data = await self.arequest_json(self._batch_request(batch_id, "/cancel"))
        return parse_batch(data, self.provider_label)
