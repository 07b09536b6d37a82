"""A Spark Connect session on the stack's Connect server: a thin gRPC client, no JVM in this process.

The server (component ``spark-connect``) holds the driver, its static configuration (S3A, the metastore, the
Iceberg catalog) and its executors on the standalone master. It requires a pre-shared token
(``spark.connect.authenticate.token`` / ``SPARK_CONNECT_AUTHENTICATE_TOKEN``, Spark 4.1's
``PreSharedKeyAuthenticationInterceptor``), which this client sends as ``Authorization: Bearer ...`` on every
call. pyspark's own channel switches to TLS whenever a token is set and the host is not literally
``localhost``; the stack's server speaks plain gRPC, so this module builds the channel itself.

Works with the thin client (``pip install 'lakehouse-sdk[spark-connect]'``: ``pyspark-client``) and with full
``pyspark`` and its Connect dependencies (``lakehouse-sdk[spark]``); either must have the server's minor version.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from typing import TYPE_CHECKING, Any

from lakehouse_sdk._deps import require
from lakehouse_sdk.clients import _connect
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.errors import ConfigurationError, ServiceUnavailableError
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack import probes

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession

__all__ = ["check_versions", "classic_driver_available", "client_version", "connect_session", "use_connect"]

_PURPOSE = "lh.spark() over Spark Connect"
_INSTALL = "pip install 'lakehouse-sdk[spark-connect]' (pyspark-client) or 'lakehouse-sdk[spark]' (pyspark)"


def _find(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def classic_driver_available() -> tuple[bool, str]:
    """Whether a classic (JVM) driver can start here, and why not: pyspark's own test, without importing it.

    ``pyspark-client`` installs the ``pyspark`` module without ``pyspark.core`` (and without Spark's jars);
    ``pyspark.util.is_remote_only()`` makes the same check.
    """
    if not _find("pyspark"):
        return False, "pyspark is not installed"
    if not _find("pyspark.core"):
        return False, "only the thin client (pyspark-client) is installed"
    return True, "full pyspark is installed"


def use_connect(settings: LakehouseSettings, mode: str) -> tuple[bool, str]:
    """Whether ``lh.spark()`` goes over Spark Connect, and why (``spark.connect``: auto, true, false)."""
    choice = settings.spark.connect
    source = settings.source_of("spark", "connect")
    if choice != "auto":
        return choice == "true", f"spark.connect={choice} ({source})"
    if mode == "port-forward":
        return True, "spark.connect=auto and mode=port-forward (executors cannot reach a driver outside the cluster)"
    classic, why = classic_driver_available()
    return not classic, f"spark.connect=auto and {why}"


def client_version() -> str | None:
    """The version of the installed ``pyspark`` module (full or thin), without importing pyspark."""
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("pyspark", "pyspark-client"):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return None


def check_versions(client: str, server: str, endpoint: Endpoint) -> None:
    """A Connect client must have the server's major.minor version (a newer minor sends plans it cannot read)."""
    if client.split(".")[:2] == server.split(".")[:2]:
        return
    minor = ".".join(server.split(".")[:2])
    raise ConfigurationError(
        f"the Spark Connect client here is pyspark {client}, and the server at {endpoint.url} runs Spark {server}: "
        f"a client must have the server's minor version ({minor}.x), otherwise plans fail on the server. "
        f"Install the matching client: pip install 'pyspark-client=={minor}.*' (or 'pyspark=={server}'); "
        f"lakehouse-sdk's extras bring the stack's version: {_INSTALL}."
    )


@cache
def _builder_class() -> type[Any]:
    """A ``DefaultChannelBuilder`` whose channel is plain gRPC carrying the bearer token on every call."""
    grpc: Any = require("grpc", extra="spark-connect", purpose=_PURPOSE, package="grpcio")
    module = "pyspark.sql.connect.client"
    client: Any = require(module, extra="spark-connect", purpose=_PURPOSE, package="pyspark-client")

    class _Auth(
        grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
        grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
        grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
        grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
    ):
        def __init__(self, header: tuple[str, str]) -> None:
            self._header = header

        def __repr__(self) -> str:
            return "_Auth(authorization=***)"

        def _details(self, details: Any) -> Any:
            metadata = [*(details.metadata or ()), self._header]
            return details._replace(metadata=metadata) if hasattr(details, "_replace") else _Details(details, metadata)

        def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
            return continuation(self._details(details), request)

        def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
            return continuation(self._details(details), request)

        def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
            return continuation(self._details(details), requests)

        def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
            return continuation(self._details(details), requests)

    class _Details(grpc.ClientCallDetails):  # type: ignore[misc]
        def __init__(self, base: Any, metadata: list[tuple[str, str]]) -> None:
            self.method = base.method
            self.timeout = base.timeout
            self.credentials = base.credentials
            self.wait_for_ready = getattr(base, "wait_for_ready", None)
            self.compression = getattr(base, "compression", None)
            self.metadata = metadata

    class TokenChannelBuilder(client.DefaultChannelBuilder):  # type: ignore[misc]
        def __init__(self, url: str, token: str) -> None:
            super().__init__(url)
            self._lakehouse_auth = _Auth(("authorization", f"Bearer {token}"))

        def __repr__(self) -> str:
            return f"TokenChannelBuilder({self.endpoint!r}, token=***)"

        def toChannel(self) -> Any:  # noqa: N802 - pyspark's name
            channel = grpc.insecure_channel(self.endpoint, options=self._channel_options)
            return grpc.intercept_channel(channel, self._lakehouse_auth, *self._interceptors)

    return TokenChannelBuilder


def _refused(settings: LakehouseSettings, endpoint: Endpoint, exc: Exception) -> Exception | None:
    """The server refused the token: name the setting; anything else passes through."""
    text = str(exc)
    if "UNAUTHENTICATED" not in text and "authentication token" not in text:
        return None
    reason = "Invalid authentication token" if "Invalid" in text else "No authentication token provided"
    return ConfigurationError(
        f"the Spark Connect server at {endpoint.url} refused this client: {reason}. The token comes from "
        f"spark.connect_token ({settings.source_of('spark', 'connect_token')}); it must be the server's token: "
        "the provisioned stack's is in the lakehouse-credentials Secret (kube.credentials_from_secret=true reads it), "
        "the local stack's is spark.connect_token of the settings `lakehouse up --local` ran with."
    )


def connect_session(settings: LakehouseSettings, endpoint: Endpoint, *, app_name: str | None = None) -> SparkSession:
    """A new Spark Connect session (its own temp views and SQL conf); the caller stops it.

    Raises:
        ServiceUnavailableError: nothing answers at ``endpoint`` within ``connect_timeout``.
        ConfigurationError: the server refused the token, or the client's version cannot talk to the server's.
        MissingDependencyError: no Connect client is installed.
    """
    session_module = require("pyspark.sql.connect.session", extra="spark-connect", purpose=_PURPOSE, package="pyspark")
    builder_class = _builder_class()
    _connect.probe(settings, endpoint)
    timeout = settings.connect_timeout
    try:  # bounded: pyspark's own retries on an unavailable server would take minutes
        probes.grpc_answers(endpoint.host, endpoint.port, timeout)
    except TimeoutError:
        raise _connect.no_answer(settings, endpoint, timeout, "connect_timeout") from None
    except OSError as exc:
        raise _connect.unavailable(settings, endpoint, f"no gRPC answer ({exc})") from None
    token = settings.spark.connect_token.get_secret_value()
    channel = builder_class(f"sc://{endpoint.host}:{endpoint.port}", token)
    if app_name:
        channel.set("user_agent", f"lakehouse-sdk {app_name}")
    session: SparkSession = session_module.SparkSession.builder.channelBuilder(channel).create()
    try:
        server = session.version
    except Exception as exc:
        session.stop()
        refused = _refused(settings, endpoint, exc)
        if refused is not None:
            raise refused from None
        if isinstance(exc, ServiceUnavailableError):
            raise
        raise _connect.unavailable(settings, endpoint, f"the first Connect call failed ({exc})") from None
    client = client_version()
    if client is not None:
        try:
            check_versions(client, server, endpoint)
        except ConfigurationError:
            session.stop()
            raise
    return session
