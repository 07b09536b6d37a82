"""lakehouse-sdk: configured, working clients for an S3 + Hive Metastore + Spark + Trino lakehouse.

>>> from lakehouse_sdk import Lakehouse
>>> lh = Lakehouse()                    # settings from kwargs, LAKEHOUSE_* env, .env, profile, defaults
>>> sorted(lh.endpoints())[:2]
['hive-metastore', 'minio']

Importing this package is free: every public name is imported on first use (so the pytest plugin, which
pytest loads in every session, costs nothing until a test asks for its fixtures), and boto3, pyspark, trino,
psycopg, thrift, pyiceberg and the Kubernetes client only when their client is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakehouse_sdk._version import __version__

if TYPE_CHECKING:
    from lakehouse_sdk.clients.metastore import DatabaseInfo, MetastoreClient, TableInfo
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
    from lakehouse_sdk.kube.manage import ComponentStatus, TeardownResult, teardown
    from lakehouse_sdk.kube.options import ProvisionOptions
    from lakehouse_sdk.kube.provision import LayerResult, ProvisionResult, provision
    from lakehouse_sdk.kube.rotate import rotate_credentials
    from lakehouse_sdk.lakehouse import Lakehouse
    from lakehouse_sdk.local.runtime import LocalStack, ServiceStatus, ServiceTiming, UpReport
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
    from lakehouse_sdk.testing import ScratchSchema

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
    "ScratchSchema",
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
    "rotate_credentials",
    "teardown",
]

_LAZY = {
    "CheckResult": "lakehouse_sdk.health",
    "ComponentError": "lakehouse_sdk.errors",
    "ComponentStatus": "lakehouse_sdk.kube.manage",
    "ConfigurationError": "lakehouse_sdk.errors",
    "DatabaseInfo": "lakehouse_sdk.clients.metastore",
    "Endpoint": "lakehouse_sdk.endpoints",
    "HealthReport": "lakehouse_sdk.health",
    "IcebergSettings": "lakehouse_sdk.settings",
    "KubeSettings": "lakehouse_sdk.settings",
    "Lakehouse": "lakehouse_sdk.lakehouse",
    "LakehouseError": "lakehouse_sdk.errors",
    "LakehouseSettings": "lakehouse_sdk.settings",
    "LayerResult": "lakehouse_sdk.kube.provision",
    "LocalSettings": "lakehouse_sdk.settings",
    "LocalStack": "lakehouse_sdk.local.runtime",
    "MetastoreClient": "lakehouse_sdk.clients.metastore",
    "MetastoreSettings": "lakehouse_sdk.settings",
    "MissingDependencyError": "lakehouse_sdk.errors",
    "PortInUseError": "lakehouse_sdk.errors",
    "PostgresSettings": "lakehouse_sdk.settings",
    "ProvisionError": "lakehouse_sdk.errors",
    "ProvisionOptions": "lakehouse_sdk.kube.options",
    "ProvisionResult": "lakehouse_sdk.kube.provision",
    "ProvisionTimeoutError": "lakehouse_sdk.errors",
    "QueryResultError": "lakehouse_sdk.errors",
    "S3Settings": "lakehouse_sdk.settings",
    "ScratchSchema": "lakehouse_sdk.testing",
    "ServiceStatus": "lakehouse_sdk.local.runtime",
    "ServiceTiming": "lakehouse_sdk.local.runtime",
    "ServiceUnavailableError": "lakehouse_sdk.errors",
    "SettingRow": "lakehouse_sdk.settings",
    "SettingsWarning": "lakehouse_sdk.settings",
    "SparkSettings": "lakehouse_sdk.settings",
    "StackError": "lakehouse_sdk.errors",
    "TableError": "lakehouse_sdk.errors",
    "TableInfo": "lakehouse_sdk.clients.metastore",
    "TeardownResult": "lakehouse_sdk.kube.manage",
    "TrinoSettings": "lakehouse_sdk.settings",
    "UpReport": "lakehouse_sdk.local.runtime",
    "provision": "lakehouse_sdk.kube.provision",
    "rotate_credentials": "lakehouse_sdk.kube.rotate",
    "teardown": "lakehouse_sdk.kube.manage",
}


def __getattr__(name: str) -> Any:
    # Every public name is imported on first use, keeping `import lakehouse_sdk` (and the pytest plugin) free.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lakehouse_sdk' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
