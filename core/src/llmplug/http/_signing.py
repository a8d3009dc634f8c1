"""Signed requests: the body encoded once per call, each attempt shown to the signer.

A provider that overrides ``sign_request`` (or ``asign_request``) signs every attempt
over the exact bytes sent, so the body is encoded here, once, the way httpx2 encodes
``json=`` bodies, and sent as ``content=``. Providers that do not sign keep the
``json=`` path. Imported with the request loops (no httpx2 import of its own).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from llmplug.http._base import HTTPChatLLMBase

if TYPE_CHECKING:
    from llmplug.http._exchange import Call

__all__ = [
    "JSON_CONTENT_TYPE",
    "OutgoingRequest",
    "asign",
    "encode_json",
    "outgoing",
    "sign",
    "signs_requests",
    "with_signature",
]


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """One attempt of a request, exactly as it goes on the wire: what a signature covers.

    Handed to :meth:`~llmplug.http.HTTPChatLLM.sign_request` before every attempt (a
    retry is signed again, so a timestamp in the signature is fresh).

    Attributes:
        method: The HTTP method (``"POST"``).
        url: The absolute URL, its path percent-encoded and its query included, as sent.
        headers: The request's own headers (``User-Agent``, ``Content-Type``, the
            provider's and the request's). The HTTP client adds ``Host`` (from
            :attr:`url`), ``Content-Length``, and ``Accept``, ``Accept-Encoding`` and
            ``Connection`` unless given here: sign those only if you set them here.
        body: The body bytes sent (``b""`` for none).
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


JSON_CONTENT_TYPE = "application/json"


@lru_cache(maxsize=64)
def signs_requests(cls: type[HTTPChatLLMBase]) -> bool:
    """Whether ``cls`` signs its requests (overrides ``sign_request`` or its async twin)."""
    return (
        cls.sign_request is not HTTPChatLLMBase.sign_request
        or cls.asign_request is not HTTPChatLLMBase.asign_request
    )


def encode_json(value: Any) -> bytes:
    """``value`` as the JSON bytes httpx2 would send for ``json=value``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def with_signature(headers: Mapping[str, str], signature: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with the signature's headers added, replacing any of the same name.

    Names are compared in any case, so a signature's ``Authorization`` replaces an
    ``authorization`` already there rather than being sent beside it.
    """
    replaced = {name.lower() for name in signature}
    merged = {name: value for name, value in headers.items() if name.lower() not in replaced}
    merged.update(signature)
    return merged


def outgoing(call: Call) -> OutgoingRequest:
    """The next attempt of ``call`` as the provider's ``sign_request`` sees it."""
    return OutgoingRequest(call.method, str(call.target()), dict(call.headers), call.content or b"")


def sign(call: Call) -> Mapping[str, str] | None:
    """The provider's signature headers for the next attempt (``None``: unsigned)."""
    if not call.signs:
        return None
    signature = call.llm.sign_request(outgoing(call))
    call.secrets = call.llm._secrets()  # credentials may have been resolved just now
    return signature


async def asign(call: Call) -> Mapping[str, str] | None:
    """Async :func:`sign`: the provider may resolve its credentials off the event loop."""
    if not call.signs:
        return None
    signature = await call.llm.asign_request(outgoing(call))
    call.secrets = call.llm._secrets()
    return signature
