"""pyiceberg: a catalog on the Hive Metastore with the object store's S3 properties."""

from __future__ import annotations

from typing import Any

from lakehouse_sdk._deps import require
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.settings import LakehouseSettings

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
        "hive.hive2-compatible": "false",
    }


def iceberg_catalog(settings: LakehouseSettings, metastore: Endpoint, s3: Endpoint, **overrides: Any) -> Any:
    """``pyiceberg.catalog.load_catalog`` for the stack (type ``hive``)."""
    catalog_mod = require("pyiceberg.catalog", extra="iceberg", purpose="lh.iceberg()", package="pyiceberg")
    props = {**iceberg_properties(settings, metastore, s3), **{k: str(v) for k, v in overrides.items()}}
    return catalog_mod.load_catalog(settings.iceberg.catalog_name, **props)
