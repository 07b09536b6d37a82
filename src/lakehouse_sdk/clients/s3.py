"""boto3 for the object store, and storage options for pandas, fsspec and pyarrow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakehouse_sdk._deps import require
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.settings import LakehouseSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from pyarrow.fs import S3FileSystem

__all__ = ["arrow_filesystem", "s3_client", "s3_client_config", "s3_time_bound", "storage_options"]


def s3_client_config(settings: LakehouseSettings) -> dict[str, Any]:
    """The botocore ``Config`` arguments: SigV4, path-style, timeouts and standard retries."""
    return {
        "signature_version": "s3v4",
        "region_name": settings.s3.region,
        "connect_timeout": settings.connect_timeout,
        "read_timeout": settings.s3.read_timeout,
        "retries": {"mode": "standard", "max_attempts": settings.s3.max_attempts},
        "s3": {"addressing_style": "path"},
    }


def s3_client(settings: LakehouseSettings, endpoint: Endpoint) -> S3Client:
    """A boto3 S3 client for the stack's object store."""
    boto3 = require("boto3", extra="s3", purpose="lh.s3()")
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=settings.s3.access_key.get_secret_value(),
        aws_secret_access_key=settings.s3.secret_key.get_secret_value(),
        region_name=settings.s3.region,
    )
    client: S3Client = session.client(
        "s3",
        endpoint_url=endpoint.url,
        config=Config(**s3_client_config(settings)),
        verify=settings.tls_verify(settings.s3.verify),
    )
    client.meta.events.register("after-call.s3", _credential_errors(settings, endpoint))
    client.meta.events.register("after-call-error.s3", _network_errors(settings, endpoint))
    return client


def s3_time_bound(settings: LakehouseSettings) -> float:
    """The longest one S3 call can take on a service that never answers: every attempt, and the backoff."""
    attempts = settings.s3.max_attempts
    backoff = sum(min(20.0, 2.0**i) for i in range(attempts - 1))  # botocore's standard mode, at most
    return attempts * (settings.connect_timeout + settings.s3.read_timeout) + backoff


def _network_errors(settings: LakehouseSettings, endpoint: Endpoint) -> Any:
    """A botocore hook: a call that timed out (after its retries) becomes a ServiceUnavailableError."""

    def handler(exception: Exception | None = None, **_: Any) -> None:
        from botocore.exceptions import (
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
            SSLError,
        )

        from lakehouse_sdk.clients._connect import no_answer, unavailable

        attempts = f"{settings.s3.max_attempts} attempt(s)"
        if isinstance(exception, ReadTimeoutError):
            raise no_answer(settings, endpoint, settings.s3.read_timeout, f"s3.read_timeout, {attempts}") from exception
        if isinstance(exception, ConnectTimeoutError):
            raise unavailable(
                settings,
                endpoint,
                f"no TCP connection within {settings.connect_timeout:g} s (connect_timeout, {attempts})",
                "no-connection",
            ) from exception
        if isinstance(exception, (SSLError, ConnectionClosedError)):  # TLS: untrusted, or one side plain HTTP
            raise unavailable(settings, endpoint, str(exception)) from exception
        if isinstance(exception, EndpointConnectionError):
            raise unavailable(settings, endpoint, f"connection refused or unreachable ({attempts})") from exception

    return handler


_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}


def _credential_errors(settings: LakehouseSettings, endpoint: Endpoint) -> Any:
    """A botocore hook: a rejected credential becomes a ConfigurationError that says where it came from."""

    def handler(parsed: Any = None, model: Any = None, **_: Any) -> None:
        error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
        code = error.get("Code")
        if code not in _CREDENTIAL_CODES:
            return
        from lakehouse_sdk.errors import ConfigurationError

        operation = getattr(model, "name", "the call")
        raise ConfigurationError(
            f"the object store at {endpoint.url} rejected the credentials ({code}) on {operation}. "
            f"s3.access_key comes from {settings.source_of('s3', 'access_key')} and s3.secret_key from "
            f"{settings.source_of('s3', 'secret_key')}. Set LAKEHOUSE_S3__ACCESS_KEY and "
            "LAKEHOUSE_S3__SECRET_KEY to the stack's credentials (`lakehouse credentials` shows which are in use)."
        )

    return handler


def storage_options(settings: LakehouseSettings, endpoint: Endpoint) -> dict[str, Any]:
    """``storage_options`` for pandas / fsspec (s3fs): ``pd.read_parquet("s3://...", storage_options=...)``."""
    return {
        "key": settings.s3.access_key.get_secret_value(),
        "secret": settings.s3.secret_key.get_secret_value(),
        "endpoint_url": endpoint.url,
        "client_kwargs": {"region_name": settings.s3.region, "verify": settings.tls_verify(settings.s3.verify)},
        "config_kwargs": {
            "s3": {"addressing_style": "path"},
            "connect_timeout": settings.connect_timeout,
            "read_timeout": settings.s3.read_timeout,
        },
    }


def arrow_filesystem(settings: LakehouseSettings, endpoint: Endpoint) -> S3FileSystem:
    """A ``pyarrow.fs.S3FileSystem`` for the object store."""
    fs = require("pyarrow.fs", extra="trino", purpose="lh.arrow_filesystem()", package="pyarrow")
    filesystem: S3FileSystem = fs.S3FileSystem(
        access_key=settings.s3.access_key.get_secret_value(),
        secret_key=settings.s3.secret_key.get_secret_value(),
        endpoint_override=endpoint.address,
        scheme=endpoint.scheme,
        region=settings.s3.region,
        force_virtual_addressing=False,
        connect_timeout=settings.connect_timeout,
        request_timeout=settings.s3.read_timeout,
    )
    return filesystem
