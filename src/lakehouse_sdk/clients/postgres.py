"""psycopg 3 for the metastore database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakehouse_sdk._deps import require
from lakehouse_sdk._sources import DEFAULT_SOURCE
from lakehouse_sdk.clients._connect import unavailable
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.settings import LakehouseSettings

if TYPE_CHECKING:
    import psycopg

__all__ = ["postgres_connect_kwargs", "postgres_connection"]


def postgres_connect_kwargs(settings: LakehouseSettings, endpoint: Endpoint) -> dict[str, Any]:
    """Keyword arguments for ``psycopg.connect`` (the password included); in secure mode TLS is required and
    the server's certificate verified against the stack's CA, unless ``postgres.sslmode`` says otherwise."""
    sslmode = settings.postgres.sslmode
    if settings.secure and settings.source_of("postgres", "sslmode") == DEFAULT_SOURCE:
        sslmode = "verify-full"
    extra: dict[str, Any] = {}
    ca = settings.tls_ca()
    if ca is not None and sslmode in ("verify-ca", "verify-full"):
        extra["sslrootcert"] = str(ca)
    return {
        "host": endpoint.host,
        "port": endpoint.port,
        "user": settings.postgres.user,
        "password": settings.postgres.password.get_secret_value(),
        "dbname": settings.postgres.database,
        "sslmode": sslmode,
        **extra,
        "connect_timeout": max(1, round(settings.connect_timeout)),
        "application_name": "lakehouse-sdk",
    }


def postgres_connection(settings: LakehouseSettings, endpoint: Endpoint, **overrides: Any) -> psycopg.Connection[Any]:
    """A new psycopg connection; the caller owns it (use it as a context manager)."""
    psycopg_mod = require("psycopg", extra="postgres", purpose="lh.postgres()")
    kwargs = {**postgres_connect_kwargs(settings, endpoint), **overrides}
    try:
        conn: psycopg.Connection[Any] = psycopg_mod.connect(**kwargs)
    except psycopg_mod.OperationalError as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "password authentication failed" in text or "authentication" in text:
            from lakehouse_sdk.errors import ConfigurationError

            raise ConfigurationError(
                f"postgres at {endpoint.url} rejected user {settings.postgres.user!r} "
                f"(user from {settings.source_of('postgres', 'user')}, password from "
                f"{settings.source_of('postgres', 'password')}): {text}. Set LAKEHOUSE_POSTGRES__USER / "
                "LAKEHOUSE_POSTGRES__PASSWORD to the stack's credentials."
            ) from None
        if "timeout expired" in text:
            from lakehouse_sdk.clients._connect import no_answer

            raise no_answer(settings, endpoint, kwargs["connect_timeout"], "connect_timeout") from None
        raise unavailable(settings, endpoint, text) from None
    return conn
