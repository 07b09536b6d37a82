"""The lakehouse-sdk error tree.

Every error this package raises on purpose derives from :class:`LakehouseError`::

    LakehouseError
    ├── ConfigurationError        (also ValueError)   a setting is wrong; names the setting and its source
    ├── MissingDependencyError    (also ImportError)  an optional extra is not installed; names the pip command
    ├── ServiceUnavailableError   (also ConnectionError) a service did not answer; .service, .endpoint
    ├── StackError                                    the local stack could not start, stop or be found
    │   ├── ComponentError                            a component (JDK, binary, archive) is missing or broken
    │   └── PortInUseError                            a port the stack needs is taken; names port and service
    └── ProvisionError                                provisioning on Kubernetes failed
        └── ProvisionTimeoutError (also TimeoutError) a layer did not become ready in time

Errors are wrapped only at the boundaries this package owns (configuration, connecting, starting and
provisioning). A query error from Trino or psycopg passes through unchanged.

Messages never contain secret values: :func:`redact` is applied to every message built here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "ComponentError",
    "ConfigurationError",
    "LakehouseError",
    "MissingDependencyError",
    "PortInUseError",
    "ProvisionError",
    "ProvisionTimeoutError",
    "QueryResultError",
    "ServiceUnavailableError",
    "StackError",
    "TableError",
]

# Secret values registered by the settings object that produced them; every message is scrubbed of them.
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value so that no message built by this package can show it."""
    if value and len(value) >= 3:
        _SECRETS.add(value)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """Replace every known secret in ``text`` with ``***``."""
    for secret in sorted({*_SECRETS, *(s for s in extra if s)}, key=len, reverse=True):
        text = text.replace(secret, "***")
    # credentials inside URLs (scheme://user:password@host)
    return re.sub(r"(\w+://[^:/@\s]+:)[^@/\s]+@", r"\1***@", text)


class LakehouseError(Exception):
    """Base class of every error raised by lakehouse-sdk."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigurationError(LakehouseError, ValueError):
    """A setting has a wrong value; the message names the setting, its source and the fix."""


class MissingDependencyError(LakehouseError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{purpose} needs the Python package {package!r}, which is not installed. "
            f"Install it with: pip install 'lakehouse-sdk[{extra}]'"
        )


class ServiceUnavailableError(LakehouseError, ConnectionError):
    """A service did not answer within the configured timeout."""

    def __init__(self, message: str, *, service: str, endpoint: str) -> None:
        self.service = service
        self.endpoint = endpoint
        super().__init__(message)


class QueryResultError(LakehouseError):
    """A query's result could not be read completely (a spooled segment missing or unreadable, the object store
    or the coordinator gone mid-stream). Nothing of the result is returned; run the query again."""


class TableError(LakehouseError, ValueError):
    """``lh.read_table()`` / ``lh.write_table()`` cannot do what was asked (not an Iceberg table, a column type
    Iceberg cannot hold, a table that exists or does not); the message names the table or column."""


class StackError(LakehouseError):
    """The local stack could not be started, stopped or inspected."""


class ComponentError(StackError):
    """A component of the local stack (a JDK, a binary, an archive) is missing or broken."""


class PortInUseError(StackError):
    """A port that a service of the stack needs is already taken."""

    def __init__(self, message: str, *, port: int, service: str) -> None:
        self.port = port
        self.service = service
        super().__init__(message)


class ProvisionError(LakehouseError):
    """Provisioning the stack on Kubernetes failed."""


class ProvisionTimeoutError(ProvisionError, TimeoutError):
    """A layer of the stack did not become ready in time."""
