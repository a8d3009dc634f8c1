"""The optional provider batch methods of every LLM (``create_batch``, ``get_batch``...).

A provider with an asynchronous batch endpoint (half the price, answers within a day)
declares ``Capabilities(batch=True)`` and its :attr:`~ProviderBatchMethods.batch_limits`,
and overrides the four methods (and, natively async, their ``a`` twins); every other
LLM raises :class:`~llmplug.errors.UnsupportedFeatureError`, as for ``list_models``.
``llmplug.batch`` drives them: ``llmplug batch --provider-batch``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar

from llmplug.errors import UnsupportedFeatureError
from llmplug.llm._bridges import run_in_thread

if TYPE_CHECKING:
    from llmplug.types._batch import BatchLimits, BatchRequest, BatchResult, ProviderBatch

__all__ = ["ProviderBatchMethods"]


class ProviderBatchMethods:
    """The provider batch methods, a base of :class:`~llmplug.LLM`.

    For providers: override :meth:`create_batch`, :meth:`get_batch`,
    :meth:`batch_results` and :meth:`cancel_batch` (an HTTP provider sends its requests
    with ``self.request_json``, uploads with ``content=`` bodies and downloads result
    files with ``self.request_bytes``), and their async twins if the provider is
    natively async (otherwise they run the sync ones in a worker thread).
    """

    #: How large one batch may be; ``None``: the provider has no batch API.
    batch_limits: ClassVar[BatchLimits | None] = None

    def _no_batches(self) -> UnsupportedFeatureError:
        provider = getattr(self, "provider_label", type(self).__name__)
        return UnsupportedFeatureError(
            f"provider {provider!r} has no batch API: run the rows through its endpoints "
            f"instead (llmplug batch without --provider-batch)",
            provider=provider,
            feature="batch",
        )

    def create_batch(self, requests: Sequence[BatchRequest]) -> ProviderBatch:
        """Send ``requests`` as one provider batch; the batch, as created.

        Each request is built as :meth:`chat` would build it (the LLM's options, the
        request's own over them), so a batch gets what the same calls would.

        Args:
            requests: At most :attr:`batch_limits` requests, each with a unique
                ``custom_id``.

        Raises:
            UnsupportedFeatureError: The provider has no batch API.
            InvalidOptionError: A request the provider would refuse (checked before
                anything is sent).
            APIError: The provider refused the batch.
        """
        raise self._no_batches()

    async def acreate_batch(self, requests: Sequence[BatchRequest]) -> ProviderBatch:
        """Async :meth:`create_batch`."""
        return await run_in_thread(self.create_batch, requests)

    def get_batch(self, batch_id: str) -> ProviderBatch:
        """The batch ``batch_id`` as the provider reports it now (poll this).

        Raises:
            UnsupportedFeatureError: The provider has no batch API.
            NotFoundError: No such batch.
        """
        raise self._no_batches()

    async def aget_batch(self, batch_id: str) -> ProviderBatch:
        """Async :meth:`get_batch`."""
        return await run_in_thread(self.get_batch, batch_id)

    def batch_results(self, batch: ProviderBatch) -> Iterator[BatchResult]:
        """The result of each request of an ended batch (``batch.ended``), in any order.

        The results are downloaded when this is called, and parsed as they are iterated.

        Raises:
            UnsupportedFeatureError: The provider has no batch API.
            ValueError: The batch has not ended yet.
            APIError: The download failed.
        """
        raise self._no_batches()

    async def abatch_results(self, batch: ProviderBatch) -> Iterator[BatchResult]:
        """Async :meth:`batch_results`: the download is awaited, the parsing is lazy."""
        return await run_in_thread(self.batch_results, batch)

    def cancel_batch(self, batch_id: str) -> ProviderBatch:
        """Ask the provider to stop the batch; requests that had not run are cancelled.

        Raises:
            UnsupportedFeatureError: The provider has no batch API.
        """
        raise self._no_batches()

    async def acancel_batch(self, batch_id: str) -> ProviderBatch:
        """Async :meth:`cancel_batch`."""
        return await run_in_thread(self.cancel_batch, batch_id)
