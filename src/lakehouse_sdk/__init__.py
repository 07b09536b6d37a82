"""lakehouse-sdk: configured, working clients for an S3 + Hive Metastore + Spark + Trino lakehouse.

>>> from lakehouse_sdk import Lakehouse
>>> lh = Lakehouse()                    # settings from kwargs, LAKEHOUSE_* env, .env, profile, defaults
>>> sorted(lh.endpoints())[:2]
['hive-metastore', 'minio']

Importing this package is light: boto3, pyspark, trino, psycopg, thrift, pyiceberg and the Kubernetes
client are imported only when their client is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakehouse_sdk._version import __version__
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.errors import (
    ComponentError,
    ConfigurationError,
    LakehouseError,
    MissingDependencyError,
    PortInUseError,
    ProvisionError,
    ProvisionTimeoutError,
    QueryResultError,
    ServiceUnavailableError,
    StackError,
    TableError,
)
from lakehouse_sdk.health import CheckResult, HealthReport
from lakehouse_sdk.lakehouse import Lakehouse
from lakehouse_sdk.settings import (
    IcebergSettings,
    KubeSettings,
    LakehouseSettings,
    LocalSettings,
    MetastoreSettings,
    PostgresSettings,
    S3Settings,
    SettingRow,
    SettingsWarning,
    SparkSettings,
    TrinoSettings,
)

if TYPE_CHECKING:
    from lakehouse_sdk.clients.metastore import DatabaseInfo, MetastoreClient, TableInfo
    from lakehouse_sdk.kube.manage import ComponentStatus, TeardownResult, teardown
    from lakehouse_sdk.kube.options import ProvisionOptions
    from lakehouse_sdk.kube.provision import LayerResult, ProvisionResult, provision
    from lakehouse_sdk.local.runtime import LocalStack, ServiceStatus, ServiceTiming, UpReport

__all__ = [
    "CheckResult",
    "ComponentError",
    "ComponentStatus",
    "ConfigurationError",
    "DatabaseInfo",
    "Endpoint",
    "HealthReport",
    "IcebergSettings",
    "KubeSettings",
    "Lakehouse",
    "LakehouseError",
    "LakehouseSettings",
    "LayerResult",
    "LocalSettings",
    "LocalStack",
    "MetastoreClient",
    "MetastoreSettings",
    "MissingDependencyError",
    "PortInUseError",
    "PostgresSettings",
    "ProvisionError",
    "ProvisionOptions",
    "ProvisionResult",
    "ProvisionTimeoutError",
    "QueryResultError",
    "S3Settings",
    "ServiceStatus",
    "ServiceTiming",
    "ServiceUnavailableError",
    "SettingRow",
    "SettingsWarning",
    "SparkSettings",
    "StackError",
    "TableError",
    "TableInfo",
    "TeardownResult",
    "TrinoSettings",
    "UpReport",
    "__version__",
    "provision",
    "teardown",
]

_LAZY = {
    "ComponentStatus": "lakehouse_sdk.kube.manage",
    "DatabaseInfo": "lakehouse_sdk.clients.metastore",
    "LayerResult": "lakehouse_sdk.kube.provision",
    "LocalStack": "lakehouse_sdk.local.runtime",
    "MetastoreClient": "lakehouse_sdk.clients.metastore",
    "ProvisionOptions": "lakehouse_sdk.kube.options",
    "ProvisionResult": "lakehouse_sdk.kube.provision",
    "ServiceStatus": "lakehouse_sdk.local.runtime",
    "ServiceTiming": "lakehouse_sdk.local.runtime",
    "TableInfo": "lakehouse_sdk.clients.metastore",
    "TeardownResult": "lakehouse_sdk.kube.manage",
    "UpReport": "lakehouse_sdk.local.runtime",
    "provision": "lakehouse_sdk.kube.provision",
    "teardown": "lakehouse_sdk.kube.manage",
}


def __getattr__(name: str) -> Any:
    # The local runtime and the Kubernetes code are imported on first use, keeping `import lakehouse_sdk` light.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lakehouse_sdk' has no attribute {name!r}")
