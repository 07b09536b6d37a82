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
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from lakehouse_sdk._checks import Host, Namespace, mask_url, parse_url
from lakehouse_sdk._sections import _SCHEMES as _SCHEMES
from lakehouse_sdk._sections import DOTENV_FILE as DOTENV_FILE
from lakehouse_sdk._sections import NODEPORT_RANGE as NODEPORT_RANGE
from lakehouse_sdk._sections import IcebergSettings as IcebergSettings
from lakehouse_sdk._sections import KubeSettings as KubeSettings
from lakehouse_sdk._sections import LocalSettings as LocalSettings
from lakehouse_sdk._sections import MetastoreSettings as MetastoreSettings
from lakehouse_sdk._sections import PostgresSettings as PostgresSettings
from lakehouse_sdk._sections import S3Settings as S3Settings
from lakehouse_sdk._sections import SparkSettings as SparkSettings
from lakehouse_sdk._sections import TrinoSettings as TrinoSettings
from lakehouse_sdk._sections import default_cache_dir as default_cache_dir
from lakehouse_sdk._sections import default_state_dir as default_state_dir
from lakehouse_sdk._sections import no_control_anywhere as no_control_anywhere
from lakehouse_sdk._settings_errors import configuration_error
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
)
from lakehouse_sdk.errors import ConfigurationError, register_secret
from lakehouse_sdk.stack.config import StackValues
from lakehouse_sdk.stack.endpoints import ENDPOINTS, canonical_endpoint_key

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


_SOURCES: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("lakehouse_sources", default=None)


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
    namespace: Namespace = Field("lakehouse", description="Kubernetes namespace of the stack")
    nodeport_host: Host = Field("localhost", description="host that serves the NodePorts (kind/minikube node IP)")
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
    secure: bool = Field(False, description="secure mode: TLS (object store, Trino, PostgreSQL), Trino passwords")
    ca_bundle: Path | None = Field(None, description="CA certificates (PEM) the clients trust (secure: the stack's)")
    profile: str | None = Field(None, description="profile in the config file")
    config_file: Path | None = Field(None, description="config file (default ~/.config/lakehouse/config.toml)")
    serviceaccount_dir: Path = Field(
        Path("/var/run/secrets/kubernetes.io/serviceaccount"),
        description="where a pod's service-account token and namespace are mounted",
    )

    s3: S3Settings = Field(default_factory=S3Settings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    trino: TrinoSettings = Field(default_factory=TrinoSettings)
    metastore: MetastoreSettings = Field(default_factory=MetastoreSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    iceberg: IcebergSettings = Field(default_factory=IcebergSettings)
    local: LocalSettings = Field(default_factory=LocalSettings)
    kube: KubeSettings = Field(default_factory=KubeSettings)

    _provenance: Provenance = PrivateAttr(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        token = _SOURCES.set(None)
        try:
            try:
                super().__init__(**values)
            except ValidationError as exc:
                raise configuration_error(exc, _collect_provenance(_SOURCES.get()), _KNOWN) from None
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
            *(self.spark.connect_token, self.spark.auth_secret),
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
        return no_control_anywhere(value)

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
            name = canonical_endpoint_key(str(key))
            if name is None:
                raise ValueError(f"unknown service {key!r}; services are: {', '.join(ENDPOINTS)}")
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
                raise configuration_error(exc, provenance, _KNOWN, prefix=(key,) if section else ()) from None
        copy._provenance.update(given)
        copy._check_services()
        copy._register_secrets()
        return copy

    def stack_values(self) -> StackValues:
        """The values that shape the services' configuration files (local stack and manifests alike)."""
        return StackValues(
            region=self.s3.region,
            warehouse_bucket=self.s3.warehouse_bucket,
            postgres_database=self.postgres.database,
            postgres_user=self.postgres.user,
            trino_heap=self.local.trino_heap,
            iceberg_catalog=self.iceberg.catalog_name,
            spooling=self.trino.spooling,
            spooling_bucket=self.trino.spooling_bucket,
            spooling_encryption=self.local.object_store == "seaweedfs",
        )

    # -- introspection ------------------------------------------------------------------------------------

    def tls_ca(self) -> Path | None:
        """The CA bundle clients verify TLS with: ``ca_bundle``, else in secure mode the local stack's CA."""
        local: Path = self.local.state_path / "tls" / "ca.pem"
        return self.ca_bundle.expanduser() if self.ca_bundle else local if self.secure and local.is_file() else None

    def tls_verify(self, section_verify: bool) -> bool | str:
        """``verify`` for requests/boto3: ``False``, the CA bundle's path, or ``True`` (the system's CAs)."""
        return False if not section_verify else str(ca) if (ca := self.tls_ca()) is not None else True

    def source_of(self, *path: str) -> str:
        """Where the value at ``path`` came from, for example ``source_of("s3", "access_key")``."""
        return self._provenance.get(tuple(path), DEFAULT_SOURCE)

    def value_at(self, *path: str) -> Any:
        """The effective value at ``path`` (``value_at("trino", "schema")``); secrets stay ``SecretStr``."""
        obj: Any = self
        for part in path:
            obj = (
                obj.get(part) if isinstance(obj, dict) else getattr(obj, "schema_" if part == "schema" else part, None)
            )
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
    if (path[0] == "endpoints" or path[-1].startswith("maven_")) and isinstance(value, str):
        return mask_url(value)
    return "" if value is None else str(value)


def _collect_provenance(sources: list[Any] | None) -> Provenance:
    merged: Provenance = {}
    for source in reversed(sources or []):  # lowest precedence first, so higher ones overwrite
        merged.update(source.provenance())
    return merged


_KNOWN = set(LakehouseSettings.model_fields)
