"""pyiceberg: a catalog on the Hive Metastore with the object store's S3 properties.

pyiceberg's Hive catalog opens its Thrift socket without a timeout, so a metastore that accepts connections
and never answers would hold every catalog call forever. The catalog returned here is pyiceberg's own
``HiveCatalog`` with one change: its socket has the connect timeout while connecting and
``metastore.request_timeout`` for each call, and a call that gets no answer raises
:class:`~lakehouse_sdk.ServiceUnavailableError`. Table data goes through pyiceberg's FileIO with the S3
connect and request timeouts set.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from lakehouse_sdk._deps import require
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.settings import LakehouseSettings

if TYPE_CHECKING:
    from pyiceberg.catalog.hive import HiveCatalog

__all__ = ["iceberg_catalog", "iceberg_properties"]


def iceberg_properties(settings: LakehouseSettings, metastore: Endpoint, s3: Endpoint) -> dict[str, str]:
    """The pyiceberg catalog properties (secrets included: do not log them)."""
    return {
        "type": "hive",
        "uri": f"thrift://{metastore.address}",
        "warehouse": f"s3://{settings.s3.warehouse_bucket}/",
        "s3.endpoint": s3.url,
        "s3.access-key-id": settings.s3.access_key.get_secret_value(),
        "s3.secret-access-key": settings.s3.secret_key.get_secret_value(),
        "s3.region": settings.s3.region,
        "s3.force-virtual-addressing": "false",
        "s3.connect-timeout": str(settings.connect_timeout),
        "s3.request-timeout": str(settings.s3.read_timeout),
        "hive.hive2-compatible": "false",
        **_trust(settings, s3),
    }


def _trust(settings: LakehouseSettings, s3: Endpoint) -> dict[str, str]:
    """An https object store signed by a CA of the settings (secure mode): pyiceberg's FileIO verifies with it."""
    ca = settings.tls_ca() if s3.scheme == "https" else None
    if ca is None:
        return {}
    return {"py-io-impl": "lakehouse_sdk.clients._iceberg_io.TrustingPyArrowFileIO", "lakehouse.s3.ca-file": str(ca)}


def iceberg_catalog(settings: LakehouseSettings, metastore: Endpoint, s3: Endpoint, **overrides: Any) -> HiveCatalog:
    """pyiceberg's Hive catalog for the stack, with bounded metastore calls."""
    require("pyiceberg.catalog.hive", extra="iceberg", purpose="lh.iceberg()", package="pyiceberg")
    props = {**iceberg_properties(settings, metastore, s3), **{k: str(v) for k, v in overrides.items()}}
    props.pop("type", None)
    catalog: HiveCatalog = _catalog_class()(settings.iceberg.catalog_name, _lakehouse=(settings, metastore), **props)
    return catalog


@cache
def _catalog_class() -> Any:
    from pyiceberg.catalog.hive import HiveCatalog, _HiveClient
    from thrift.transport import TSocket, TTransport
    from thrift.transport.TTransport import TTransportException

    from lakehouse_sdk.clients._connect import unavailable
    from lakehouse_sdk.clients.metastore import call_failed

    class BoundedHiveClient(_HiveClient):
        def __init__(self, uri: str, bounds: tuple[LakehouseSettings, Endpoint], *args: Any) -> None:
            self._bounds = bounds
            super().__init__(uri, *args)

        def _init_thrift_transport(self) -> Any:
            from urllib.parse import urlparse

            parts = urlparse(self._uri)
            self._socket = TSocket.TSocket(parts.hostname, parts.port)
            self._socket.setTimeout(self._bounds[0].connect_timeout * 1000)
            return TTransport.TBufferedTransport(self._socket)

        def __enter__(self) -> Any:
            settings, endpoint = self._bounds
            try:
                client = super().__enter__()
            except TTransportException as exc:
                raise unavailable(settings, endpoint, exc.message or exc) from None
            self._socket.setTimeout(settings.metastore.request_timeout * 1000)
            return _Guarded(client, settings, endpoint)

    class _Guarded:
        """The Thrift client, with lost or silent connections turned into ServiceUnavailableError."""

        def __init__(self, client: Any, settings: LakehouseSettings, endpoint: Endpoint) -> None:
            self._client, self._settings, self._endpoint = client, settings, endpoint

        def __getattr__(self, name: str) -> Any:
            attr = getattr(self._client, name)
            if not callable(attr):
                return attr

            def call(*args: Any, **kwargs: Any) -> Any:
                try:
                    return attr(*args, **kwargs)
                except (TTransportException, OSError) as exc:
                    raise call_failed(self._settings, self._endpoint, exc) from None

            return call

    class BoundedHiveCatalog(HiveCatalog):
        def __init__(self, name: str, _lakehouse: tuple[LakehouseSettings, Endpoint], **properties: str) -> None:
            self._lakehouse_bounds = _lakehouse
            super().__init__(name, **properties)

        def _create_hive_client(self, properties: dict[str, str]) -> Any:  # type: ignore[override]
            return BoundedHiveClient(
                properties["uri"],
                self._lakehouse_bounds,
                properties.get("ugi"),
            )

    return BoundedHiveCatalog
