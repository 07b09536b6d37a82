"""The local services, one module per component; :func:`build_services` makes them in startup order."""

from __future__ import annotations

from lakehouse_sdk.local.services._base import LOOPBACK, Launch, LocalService, RuntimeContext
from lakehouse_sdk.local.services.metastore import HiveMetastore
from lakehouse_sdk.local.services.object_store import MinIO, ObjectStore, SeaweedFS
from lakehouse_sdk.local.services.postgres import Postgres
from lakehouse_sdk.local.services.spark import SparkMaster, SparkWorker
from lakehouse_sdk.local.services.spark_connect import SparkConnect
from lakehouse_sdk.local.services.trino import Trino
from lakehouse_sdk.stack.components import COMPONENTS, startup_order

__all__ = [
    "LOOPBACK",
    "SERVICE_ORDER",
    "HiveMetastore",
    "Launch",
    "LocalService",
    "MinIO",
    "ObjectStore",
    "Postgres",
    "RuntimeContext",
    "SeaweedFS",
    "SparkConnect",
    "SparkMaster",
    "SparkWorker",
    "Trino",
    "build_services",
]

# The components the local runtime runs as processes, in the order derived from their dependencies.
SERVICE_ORDER: tuple[str, ...] = tuple(name for name in startup_order() if COMPONENTS[name].local)

_CLASSES: dict[str, type[LocalService]] = {
    "postgres": Postgres,
    "hive-metastore": HiveMetastore,
    "spark-master": SparkMaster,
    "spark-worker": SparkWorker,
    "spark-connect": SparkConnect,
    "trino": Trino,
}


def build_services(ctx: RuntimeContext) -> dict[str, LocalService]:
    """The services of the local stack, keyed by component name, in startup order."""
    store: type[LocalService] = SeaweedFS if ctx.settings.local.object_store == "seaweedfs" else MinIO
    classes = {**_CLASSES, "object-store": store}
    return {name: classes[name](ctx) for name in SERVICE_ORDER}
