"""Trino: a DB-API connection, a SQLAlchemy URL, and queries into pandas or Arrow."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from lakehouse_sdk._deps import require
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.errors import ConfigurationError
from lakehouse_sdk.settings import LakehouseSettings

if TYPE_CHECKING:
    from trino.dbapi import Connection

__all__ = ["bounded_session", "sqlalchemy_connect_args", "sqlalchemy_url", "trino_connect_kwargs", "trino_connection"]


def _auth(settings: LakehouseSettings, endpoint: Endpoint) -> Any:
    cfg = settings.trino
    if cfg.password is None and cfg.jwt is None:
        return None
    if endpoint.scheme != "https":
        which = "password" if cfg.password is not None else "jwt"
        raise ConfigurationError(
            f"trino.{which} (from {settings.source_of('trino', which)}) needs TLS, but the Trino endpoint "
            f"{endpoint.url} is plain http ({endpoint.reason}). Trino refuses credentials over http: set "
            "LAKEHOUSE_ENDPOINTS__TRINO=https://host:port, or remove the credential."
        )
    auth = require("trino.auth", extra="trino", purpose="lh.trino()")
    if cfg.jwt is not None:
        return auth.JWTAuthentication(cfg.jwt.get_secret_value())
    assert cfg.password is not None
    return auth.BasicAuthentication(cfg.user, cfg.password.get_secret_value())


def trino_connect_kwargs(
    settings: LakehouseSettings, endpoint: Endpoint, *, catalog: str | None = None, schema: str | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``trino.dbapi.connect``."""
    kwargs: dict[str, Any] = {
        "host": endpoint.host,
        "port": endpoint.port,
        "user": settings.trino.user,
        "catalog": catalog or settings.trino.catalog,
        "schema": schema or settings.trino.schema_,
        "http_scheme": "https" if endpoint.scheme == "https" else "http",
        "verify": settings.trino.verify,
        "request_timeout": (settings.connect_timeout, settings.trino.request_timeout),
        "source": "lakehouse-sdk",
        "max_attempts": 3,
        "http_session": bounded_session(settings, endpoint),
    }
    auth = _auth(settings, endpoint)
    if auth is not None:
        kwargs["auth"] = auth
    return kwargs


def bounded_session(settings: LakehouseSettings, endpoint: Endpoint, request_timeout: float | None = None) -> Any:
    """A ``requests`` session for the trino client whose timeouts raise :class:`ServiceUnavailableError`.

    The trino client retries timeouts with a growing backoff; a service that accepts connections and never
    answers would then hold a caller for minutes. With this session a request that gets no answer within
    ``trino.request_timeout`` ends the call at once, naming the service, and refused connections are still
    retried (a coordinator that restarts).
    """
    requests = require("requests", extra="trino", purpose="lh.trino()")
    session = _session_class(requests)(settings, endpoint, request_timeout or settings.trino.request_timeout)
    session.verify = settings.trino.verify
    return session


@cache
def _session_class(requests: Any) -> Any:
    from lakehouse_sdk.clients._connect import no_answer, unavailable

    class BoundedSession(requests.Session):  # type: ignore[misc]
        def __init__(self, settings: LakehouseSettings, endpoint: Endpoint, read: float) -> None:
            super().__init__()
            self._lakehouse = (settings, endpoint, read)

        def request(self, *args: Any, **kwargs: Any) -> Any:
            settings, endpoint, read = self._lakehouse
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE win over a session's own verify (psf/requests
            # #3829): trino.verify=false, or a CA of the settings, would be ignored wherever they are set
            kwargs.setdefault("verify", self.verify)
            try:
                return super().request(*args, **kwargs)
            except requests.ConnectTimeout:
                raise unavailable(
                    settings,
                    endpoint,
                    f"no TCP connection within {settings.connect_timeout:g} s (connect_timeout)",
                    "no-connection",
                ) from None
            except requests.Timeout:
                raise no_answer(settings, endpoint, read, "trino.request_timeout") from None

    return BoundedSession


def trino_connection(
    settings: LakehouseSettings,
    endpoint: Endpoint,
    *,
    catalog: str | None = None,
    schema: str | None = None,
    **overrides: Any,
) -> Connection:
    """A ``trino.dbapi`` connection; the caller owns it."""
    dbapi = require("trino.dbapi", extra="trino", purpose="lh.trino()")
    conn: Connection = dbapi.connect(
        **{**trino_connect_kwargs(settings, endpoint, catalog=catalog, schema=schema), **overrides}
    )
    return conn


def sqlalchemy_url(
    settings: LakehouseSettings, endpoint: Endpoint, *, catalog: str | None = None, schema: str | None = None
) -> str:
    """``trino://user@host:port/catalog/schema``; credentials go in :func:`sqlalchemy_connect_args`."""
    scheme = "trino"
    return (
        f"{scheme}://{settings.trino.user}@{endpoint.host}:{endpoint.port}/"
        f"{catalog or settings.trino.catalog}/{schema or settings.trino.schema_}"
    )


def sqlalchemy_connect_args(settings: LakehouseSettings, endpoint: Endpoint) -> dict[str, Any]:
    """``connect_args`` for ``create_engine(url, connect_args=...)``: scheme, TLS and auth."""
    args: dict[str, Any] = {
        "http_scheme": "https" if endpoint.scheme == "https" else "http",
        "verify": settings.trino.verify,
        "source": "lakehouse-sdk",
        "request_timeout": (settings.connect_timeout, settings.trino.request_timeout),
    }
    auth = _auth(settings, endpoint)
    if auth is not None:
        args["auth"] = auth
    return args
