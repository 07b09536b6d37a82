"""A thin Hive Metastore (Thrift) client with a connect timeout, as a context manager.

It uses the Thrift bindings generated from the metastore's IDL that ``pymetastore`` ships, and only calls
that exist in both Hive 3 and Hive 4 (``get_table_req`` rather than the removed ``get_table``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from lakehouse_sdk._deps import require
from lakehouse_sdk.clients._connect import no_answer, unavailable
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.errors import ServiceUnavailableError
from lakehouse_sdk.settings import LakehouseSettings

__all__ = ["DatabaseInfo", "MetastoreClient", "TableInfo", "call_failed"]


@dataclass(frozen=True)
class DatabaseInfo:
    """A metastore database."""

    name: str
    location: str | None
    owner: str | None = None


@dataclass(frozen=True)
class TableInfo:
    """A metastore table, with what a data engineer asks first: where is it and what kind is it."""

    database: str
    name: str
    location: str | None
    table_type: str
    input_format: str | None
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def is_iceberg(self) -> bool:
        """True for Iceberg tables registered by Spark, Trino or pyiceberg."""
        return self.parameters.get("table_type", "").upper() == "ICEBERG"

    @property
    def metadata_location(self) -> str | None:
        """The current Iceberg metadata file, for Iceberg tables."""
        return self.parameters.get("metadata_location")


def call_failed(settings: LakehouseSettings, endpoint: Endpoint, exc: BaseException) -> ServiceUnavailableError:
    """The error for a Thrift call to the metastore that lost its connection or got no answer in time."""
    message = str(getattr(exc, "message", "") or exc)
    timed_out = isinstance(exc, TimeoutError) or isinstance(getattr(exc, "inner", None), TimeoutError)
    if timed_out or "timed out" in message:
        return no_answer(settings, endpoint, settings.metastore.request_timeout, "metastore.request_timeout")
    return unavailable(settings, endpoint, f"connection lost ({message})")


class MetastoreClient:
    """A connection to the Hive Metastore. Use it as a context manager::

        with lh.metastore() as hms:
            print(hms.databases())

    ``raw`` is the generated Thrift client, for calls not wrapped here.
    """

    def __init__(self, settings: LakehouseSettings, endpoint: Endpoint) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self._transport: Any = None
        self.raw: Any = None

    def __repr__(self) -> str:
        state = "open" if self._transport is not None else "closed"
        return f"<MetastoreClient {self.endpoint.url} {state}>"

    def open(self) -> MetastoreClient:
        """Connect (within ``connect_timeout``); raises :class:`ServiceUnavailableError` if it cannot."""
        if self._transport is not None:
            return self
        require("thrift", extra="metastore", purpose="lh.metastore()")
        bindings = require(
            "pymetastore.hive_metastore.ThriftHiveMetastore",
            extra="metastore",
            purpose="lh.metastore()",
            package="pymetastore",
        )
        from thrift.protocol import TBinaryProtocol
        from thrift.transport import TSocket, TTransport

        # thrift logs every refused connection at ERROR; this client raises a clear error instead
        thrift_log = logging.getLogger("thrift.transport.TSocket")
        if thrift_log.level == logging.NOTSET:
            thrift_log.setLevel(logging.CRITICAL)
        sock = TSocket.TSocket(self.endpoint.host, self.endpoint.port)
        sock.setTimeout(self.settings.connect_timeout * 1000)
        transport = TTransport.TBufferedTransport(sock)
        try:
            transport.open()
        except TTransport.TTransportException as exc:
            timed_out = isinstance(exc.inner, TimeoutError) or "timed out" in str(exc.message)
            if timed_out:
                cause = f"no TCP connection within {self.settings.connect_timeout:g} s (connect_timeout)"
                raise unavailable(self.settings, self.endpoint, cause, "no-connection") from None
            raise unavailable(self.settings, self.endpoint, exc.message or exc) from None
        # connected: from now on each call may take up to metastore.request_timeout
        sock.setTimeout(self.settings.metastore.request_timeout * 1000)
        self._transport = transport
        self.raw = bindings.Client(TBinaryProtocol.TBinaryProtocol(transport))
        return self

    def close(self) -> None:
        """Close the connection (safe to call twice)."""
        if self._transport is not None:
            self._transport.close()
        self._transport = None
        self.raw = None

    def __enter__(self) -> MetastoreClient:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _client(self) -> Any:
        if self.raw is None:
            self.open()
        return self.raw

    def _call(self, method: str, *args: Any) -> Any:
        """One Thrift call; a lost or silent connection becomes :class:`ServiceUnavailableError`."""
        from thrift.transport.TTransport import TTransportException

        client = self._client()
        try:
            return getattr(client, method)(*args)
        except (TTransportException, OSError) as exc:
            self.close()  # the connection is in an unknown state; the next call reconnects
            raise call_failed(self.settings, self.endpoint, exc) from None

    def databases(self) -> list[str]:
        """Names of all databases."""
        return sorted(self._call("get_all_databases"))

    def database(self, name: str) -> DatabaseInfo:
        """One database with its location."""
        db = self._call("get_database", name)
        return DatabaseInfo(db.name, db.locationUri, db.ownerName)

    def create_database(self, name: str, *, location: str, description: str | None = None) -> None:
        """Create the database ``name`` with its data under ``location`` (``s3://bucket/prefix/``)."""
        ttypes = require(
            "pymetastore.hive_metastore.ttypes", extra="metastore", purpose="lh.metastore()", package="pymetastore"
        )
        self._call("create_database", ttypes.Database(name=name, locationUri=location, description=description))

    def drop_database(self, name: str, *, cascade: bool = False, missing_ok: bool = False) -> bool:
        """Drop the database ``name`` (with its tables when ``cascade``); the metastore deletes no data files.

        Returns:
            False when it did not exist and ``missing_ok`` is set.
        """
        ttypes = require(
            "pymetastore.hive_metastore.ttypes", extra="metastore", purpose="lh.metastore()", package="pymetastore"
        )
        try:
            self._call("drop_database", name, False, cascade)
        except ttypes.NoSuchObjectException:
            if not missing_ok:
                raise
            return False
        except ttypes.MetaException:
            # Hive 3.1.3 answers a missing database with a NullPointerException, not NoSuchObjectException
            if not missing_ok or name.lower() in self.databases():
                raise
            return False
        return True

    def tables(self, database: str) -> list[str]:
        """Names of the tables in ``database``."""
        return sorted(self._call("get_all_tables", database))

    def table(self, database: str, name: str) -> TableInfo:
        """One table with its storage location, type and parameters."""
        ttypes = require(
            "pymetastore.hive_metastore.ttypes", extra="metastore", purpose="lh.metastore()", package="pymetastore"
        )
        result = self._call("get_table_req", ttypes.GetTableRequest(dbName=database, tblName=name))
        table = result.table
        sd = table.sd
        return TableInfo(
            database=table.dbName,
            name=table.tableName,
            location=sd.location if sd else None,
            table_type=table.tableType or "",
            input_format=sd.inputFormat if sd else None,
            parameters=dict(table.parameters or {}),
        )
