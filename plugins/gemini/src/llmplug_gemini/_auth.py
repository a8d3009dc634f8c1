"""OAuth access tokens for Vertex AI: a fixed token, a callable, or google-auth credentials.

Application Default Credentials (``gcloud auth application-default login``,
``GOOGLE_APPLICATION_CREDENTIALS``, a metadata server) come through ``google-auth``, an
optional dependency (``pip install 'llmplug-gemini[vertex]'``) imported by
:func:`application_default` only: neither ``import llmplug_gemini`` nor the ``gemini``
provider imports it, and ``vertex`` imports it only when it needs ADC.

A credentials object refreshes its token through :class:`UrllibRequest`, a google-auth
transport over the standard library, so the extra needs nothing but google-auth.
Refreshing blocks: the sync endpoints do it in line, the async ones in a worker thread.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

from llmplug.errors import AuthenticationError, ConfigError

__all__ = [
    "SCOPES",
    "CallableToken",
    "CredentialsToken",
    "StaticToken",
    "TokenSource",
    "UrllibRequest",
    "application_default",
]

#: The OAuth scope Vertex AI needs.
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
_INSTALL = "pip install 'llmplug-gemini[vertex]'"


class TokenSource(ABC):
    """Where a request's ``Authorization: Bearer`` token comes from."""

    @abstractmethod
    def token(self) -> str:
        """A valid access token (may block, to refresh it)."""

    def ready(self) -> bool:
        """Whether :meth:`token` answers at once, without a refresh to make first."""
        return True

    @property
    def project(self) -> str | None:
        """The project the credentials belong to, if they say."""
        return None


class StaticToken(TokenSource):
    """A token given as it is (``access_token=``, e.g. ``gcloud auth print-access-token``)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        """The token."""
        return self._token


class CallableToken(TokenSource):
    """A token from the caller's function, called for every request.

    It is called in line, on the event loop for the async endpoints: it should answer
    at once (from its own cache), refreshing its token elsewhere.
    """

    def __init__(self, provider: Callable[[], str]) -> None:
        self._provider = provider

    def token(self) -> str:
        """What the function returns."""
        value = self._provider()
        if not isinstance(value, str) or not value:
            raise ConfigError(
                f"token_provider must return the access token as a non-empty str, not "
                f"{type(value).__name__}"
            )
        return value


class CredentialsToken(TokenSource):
    """The token of a google-auth credentials object, refreshed when it expires.

    Anything with google-auth's credentials interface works: ``valid``, ``token`` and
    ``refresh(request)``.
    """

    def __init__(self, credentials: Any, project: str | None = None) -> None:
        self.credentials = credentials
        self._project = project or getattr(credentials, "project_id", None)
        self._lock = threading.Lock()

    def token(self) -> str:
        """The current token, refreshed first if it expired (or is about to)."""
        credentials = self.credentials
        with self._lock:
            if not credentials.valid or not credentials.token:
                try:
                    credentials.refresh(UrllibRequest())
                except Exception as exc:
                    raise AuthenticationError(
                        f"could not refresh the Google credentials ({type(exc).__name__}: "
                        f"{exc}); run 'gcloud auth application-default login' or check "
                        f"GOOGLE_APPLICATION_CREDENTIALS",
                        status_code=401,
                    ) from exc
            token: str = credentials.token
        return token

    def ready(self) -> bool:
        """Whether the token is valid now (no refresh due)."""
        return bool(self.credentials.valid and self.credentials.token)

    @property
    def project(self) -> str | None:
        """The credentials' project (``google.auth.default()``'s, or ``project_id``)."""
        return self._project if isinstance(self._project, str) and self._project else None


def application_default() -> CredentialsToken:
    """Application Default Credentials, through google-auth (imported here, on first use).

    Raises:
        ConfigError: google-auth is not installed, or no credentials were found.
    """
    try:
        # an optional dependency (the [vertex] extra): imported only when ADC is needed
        google_auth = import_module("google.auth")
    except ImportError as exc:
        raise ConfigError(
            f"Vertex AI's Application Default Credentials need google-auth: {_INSTALL}; "
            f"or pass access_token=... (gcloud auth print-access-token), credentials= "
            f"or token_provider="
        ) from exc
    errors = import_module("google.auth.exceptions")
    try:
        credentials, project = google_auth.default(scopes=list(SCOPES))
    except errors.DefaultCredentialsError as exc:
        raise ConfigError(
            f"no Application Default Credentials for Vertex AI ({exc}); run 'gcloud auth "
            f"application-default login', set GOOGLE_APPLICATION_CREDENTIALS to a key "
            f"file, or pass access_token=..."
        ) from exc
    return CredentialsToken(credentials, project)


class _Response:
    """What google-auth reads of a transport's response."""

    def __init__(self, status: int, headers: Any, data: bytes) -> None:
        self.status = status
        self.headers = dict(headers.items())
        self.data = data


class UrllibRequest:
    """google-auth's transport interface (``google.auth.transport.Request``) over urllib.

    Token refreshes are rare (about once an hour), small, and go to Google's token
    endpoint (or the metadata server): the standard library is enough, and the extra
    stays one package. Proxies are read from the environment, as urllib does.
    """

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        """Send one request; an HTTP error status is returned, not raised (google-auth's rule).

        Raises:
            google.auth.exceptions.TransportError: The server could not be reached.
        """
        request = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout or 120) as response:
                return _Response(response.status, response.headers, response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return _Response(exc.code, exc.headers, exc.read())
        except (urllib.error.URLError, OSError) as exc:
            errors = import_module("google.auth.exceptions")
            raise errors.TransportError(exc) from exc
