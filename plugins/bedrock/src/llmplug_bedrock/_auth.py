"""AWS credentials, regions and Signature Version 4, through botocore.

botocore is the reference implementation of both: its credential chain (explicit keys,
environment, shared config and credentials files with profiles, SSO, credential
processes, assumed roles, container and instance metadata) and its SigV4 canonical
request, string to sign and signing key. It is imported here on first use, never when
``llmplug`` or ``llmplug_bedrock`` is imported.

The signature is computed from botocore's ``SigV4Auth`` steps (canonical request,
string to sign, signature) rather than its ``add_auth``, which logs the canonical
request (holding the session token) and the signature at debug level: nothing secret
reaches a log record here. The timestamp comes from the provider's clock, so a fixed
clock gives a fixed signature.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from llmplug.errors import ConfigError
from llmplug.http import OutgoingRequest

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = [
    "SIGNING_NAME",
    "CredentialCache",
    "control_endpoint",
    "profile_region",
    "runtime_endpoint",
    "sign",
]

#: The SigV4 signing name of both bedrock-runtime and the bedrock control plane.
SIGNING_NAME = "bedrock"
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_NO_CREDENTIALS = (
    "no AWS credentials found{where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
    "name a profile (profile=... or AWS_PROFILE) from ~/.aws/config, log in with "
    "`aws sso login`, or use a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)"
)


def _dns_suffix(region: str) -> str:
    """The DNS suffix of the AWS partition a region belongs to."""
    if region.startswith("cn-"):
        return "amazonaws.com.cn"
    if region.startswith("us-isob-"):
        return "sc2s.sgov.gov"
    if region.startswith("us-iso-"):
        return "c2s.ic.gov"
    if region.startswith("eusc-"):
        return "amazonaws.eu"
    return "amazonaws.com"


def runtime_endpoint(region: str) -> str:
    """Bedrock Runtime's endpoint in ``region`` (Converse, ConverseStream)."""
    return f"https://bedrock-runtime.{region}.{_dns_suffix(region)}"


def control_endpoint(region: str) -> str:
    """Bedrock's control-plane endpoint in ``region`` (ListFoundationModels...)."""
    return f"https://bedrock.{region}.{_dns_suffix(region)}"


def profile_region(profile: str | None) -> str | None:
    """The ``region`` of the AWS profile (``profile``, else ``AWS_PROFILE``, else default).

    Reads the shared config file through botocore (imported here).

    Raises:
        ConfigError: The profile does not exist.
    """
    import botocore.exceptions  # lazy: botocore only on the first request
    import botocore.session

    try:
        region = botocore.session.Session(profile=profile).get_config_variable("region")
    except botocore.exceptions.ProfileNotFound as exc:
        raise ConfigError(
            f"the AWS profile {exc.kwargs.get('profile', profile)!r} is not in the AWS "
            f"config files; check profile= / AWS_PROFILE, or set region=",
            provider="bedrock",
        ) from exc
    return region if isinstance(region, str) and region else None


class CredentialCache:
    """The credentials of one provider instance, resolved once, refreshed when due.

    Holds botocore's credentials object, which refreshes expiring credentials (SSO,
    assumed roles, instance metadata) on its own. A copy or an unpickled instance
    starts empty and resolves its own: credentials are never pickled.
    """

    __slots__ = ("_credentials", "_last", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._credentials: Any = None
        self._last: Any = None  # the frozen credentials handed out last

    def __reduce__(self) -> tuple[Any, ...]:
        return (CredentialCache, ())

    def __deepcopy__(self, memo: dict[int, Any]) -> CredentialCache:
        return CredentialCache()

    def __repr__(self) -> str:
        return "CredentialCache(<redacted>)" if self._credentials else "CredentialCache()"

    def ready(self) -> Any:
        """Frozen credentials without blocking, or ``None`` if getting them may block.

        ``None`` before the first resolution, and when botocore would refresh them
        (fetching from a file or a metadata service).
        """
        credentials = self._credentials
        if credentials is None:
            return None
        refresh_needed = getattr(credentials, "refresh_needed", None)
        if refresh_needed is not None and refresh_needed():
            return None
        self._last = credentials.get_frozen_credentials()
        return self._last

    def frozen(
        self,
        *,
        profile: str | None,
        access_key_id: SecretStr | None,
        secret_access_key: SecretStr | None,
        session_token: SecretStr | None,
    ) -> Any:
        """The current credentials (``access_key``, ``secret_key``, ``token``); may block.

        Raises:
            ConfigError: No credentials could be found or loaded.
        """
        with self._lock:
            if self._credentials is None:
                self._credentials = _resolve(
                    profile, access_key_id, secret_access_key, session_token
                )
            try:
                self._last = self._credentials.get_frozen_credentials()
            except Exception as exc:  # a refresh failed: an expired SSO login...
                raise _credentials_error(exc, profile) from exc
            return self._last

    def secrets(self) -> tuple[str, ...]:
        """The secret parts of the credentials resolved so far (for redaction)."""
        frozen = self._last
        if frozen is None:
            return ()
        return tuple(v for v in (frozen.access_key, frozen.secret_key, frozen.token) if v)


def _resolve(
    profile: str | None,
    access_key_id: SecretStr | None,
    secret_access_key: SecretStr | None,
    session_token: SecretStr | None,
) -> Any:
    import botocore.credentials  # lazy: botocore only on the first request
    import botocore.session

    if access_key_id is not None or secret_access_key is not None:
        if access_key_id is None or secret_access_key is None:
            raise ConfigError(
                "aws_access_key_id and aws_secret_access_key go together: give both, or "
                "neither (to use the credential chain)",
                provider="bedrock",
            )
        token = session_token.get_secret_value() if session_token is not None else None
        return botocore.credentials.Credentials(
            access_key_id.get_secret_value(), secret_access_key.get_secret_value(), token
        )
    try:
        credentials = botocore.session.Session(profile=profile).get_credentials()
    except Exception as exc:  # a missing profile, a broken credential process...
        raise _credentials_error(exc, profile) from exc
    if credentials is None:
        where = f" for profile {profile!r}" if profile else ""
        raise ConfigError(_NO_CREDENTIALS.format(where=where), provider="bedrock")
    return credentials


def _credentials_error(exc: BaseException, profile: str | None) -> ConfigError:
    where = f" (profile {profile!r})" if profile else ""
    return ConfigError(
        f"could not load the AWS credentials{where}: {type(exc).__name__}: {exc}; "
        f"check the profile and its login (`aws sso login`), or the credential settings",
        provider="bedrock",
    )


def sign(request: OutgoingRequest, credentials: Any, region: str, now: float) -> dict[str, str]:
    """The SigV4 headers of ``request``: ``Authorization``, ``X-Amz-Date``, maybe a token.

    ``X-Amz-Security-Token`` is added for temporary credentials. Every header of
    ``request`` is signed but those botocore never signs (``User-Agent``...), as are
    ``Host`` (from the URL), ``X-Amz-Date`` and the token.

    Args:
        request: The request as it will be sent.
        credentials: Frozen credentials (``access_key``, ``secret_key``, ``token``).
        region: The region to sign for.
        now: The time of signing (seconds since the epoch).
    """
    from botocore.auth import SigV4Auth  # lazy: botocore only on the first request
    from botocore.awsrequest import AWSRequest

    timestamp = datetime.fromtimestamp(now, UTC).strftime(_TIMESTAMP)
    headers: dict[str, str] = dict(request.headers)
    added = {"X-Amz-Date": timestamp}
    if credentials.token:
        added["X-Amz-Security-Token"] = credentials.token
    headers.update(added)
    aws = AWSRequest(method=request.method, url=request.url, data=request.body, headers=headers)
    aws.context["timestamp"] = timestamp
    auth = SigV4Auth(credentials, SIGNING_NAME, region)
    canonical = auth.canonical_request(aws)
    signature = auth.signature(auth.string_to_sign(aws, canonical), aws)
    signed = auth.signed_headers(auth.headers_to_sign(aws))
    added["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={auth.scope(aws)}, SignedHeaders={signed}, "
        f"Signature={signature}"
    )
    return added
