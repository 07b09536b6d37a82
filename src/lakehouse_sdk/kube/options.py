"""What to provision: :class:`ProvisionOptions`, and the command-line flags that build one.

The defaults reproduce the reference architecture (NodePorts, emptyDir volumes, one Spark worker) with the
images of the versions the local runtime runs. Every field is validated when the options are built, so a
typo fails before anything touches a cluster.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from lakehouse_sdk._checks import check_no_control, parse_url
from lakehouse_sdk.errors import ConfigurationError
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.components import startup_order
from lakehouse_sdk.stack.config import StackValues
from lakehouse_sdk.stack.versions import MAVEN_CENTRAL, VERSIONS

__all__ = ["COMPONENTS", "Images", "ProvisionOptions", "Resources", "default_resources"]

# The workloads of the stack, in startup order; resources are keyed by these names.
COMPONENTS: tuple[str, ...] = startup_order()

# option -> (settings section, setting): the stack's values, taken from the settings
_STACK_FIELDS = {
    "buckets": ("s3", "buckets"),
    "warehouse_bucket": ("s3", "warehouse_bucket"),
    "region": ("s3", "region"),
    "postgres_user": ("postgres", "user"),
    "postgres_database": ("postgres", "database"),
    "trino_heap": ("local", "trino_heap"),
    "trino_spooling": ("trino", "spooling"),
    "spooling_bucket": ("trino", "spooling_bucket"),
}


def _setting_default(section: str, name: str) -> Any:
    field = type(getattr(LakehouseSettings.model_construct(), section)).model_fields[name]
    return field.get_default(call_default_factory=True)


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Images(_Model):
    """Container images, pinned to the versions of :mod:`lakehouse_sdk.stack.versions`."""

    seaweedfs: str = Field(
        default=f"docker.io/chrislusf/seaweedfs:{VERSIONS['seaweedfs-release']}", description="SeaweedFS (weed mini)"
    )
    # MinIO CE is archived and its Docker Hub images are gone; quay.io keeps the last frozen release.
    minio: str = Field(default="quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z", description="MinIO server")
    init: str = Field(default="docker.io/amazon/aws-cli:2.31.13", description="bucket creation job (aws CLI)")
    fetch: str = Field(
        default="docker.io/curlimages/curl:8.17.0", description="fetches the metastore's and Spark Connect's extra jars"
    )
    postgres: str = Field(default=f"docker.io/library/postgres:{VERSIONS['postgresql']}", description="PostgreSQL")
    hive_metastore: str = Field(
        default=f"docker.io/apache/hive:{VERSIONS['hive-metastore']}", description="Hive Metastore"
    )
    spark: str = Field(
        default=f"docker.io/apache/spark:{VERSIONS['spark']}", description="Spark master, workers, Connect server"
    )
    trino: str = Field(default=f"docker.io/trinodb/trino:{VERSIONS['trino']}", description="Trino")


class Resources(_Model):
    """Requests and limits of one container (Kubernetes quantities)."""

    cpu: str = "250m"
    memory: str = "512Mi"
    cpu_limit: str | None = None
    memory_limit: str | None = None

    @field_validator("cpu", "memory", "cpu_limit", "memory_limit")
    @classmethod
    def _quantity(cls, value: str | None) -> str | None:
        if value is not None and not _QUANTITY.match(value):
            raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 500m, 2, 512Mi, 4Gi)")
        return value

    def to_k8s(self) -> dict[str, dict[str, str]]:
        """The container's ``resources`` block; the memory limit defaults to the request."""
        limits = {"memory": self.memory_limit or self.memory}
        if self.cpu_limit:
            limits["cpu"] = self.cpu_limit
        return {"requests": {"cpu": self.cpu, "memory": self.memory}, "limits": limits}


def default_resources() -> dict[str, Resources]:
    """The requests and limits of every workload when none are given."""
    return {
        "object-store": Resources(cpu="250m", memory="512Mi", memory_limit="1Gi"),
        "minio-init": Resources(cpu="50m", memory="128Mi"),
        "postgres": Resources(cpu="250m", memory="256Mi", memory_limit="1Gi"),
        "hive-metastore": Resources(cpu="250m", memory="1Gi", memory_limit="2Gi"),
        "spark-master": Resources(cpu="250m", memory="1Gi"),
        "spark-worker": Resources(cpu="1", memory="2Gi", memory_limit="3Gi"),
        "spark-connect": Resources(cpu="250m", memory="1536Mi", memory_limit="2Gi"),
        "trino": Resources(cpu="500m", memory="3Gi", memory_limit="4Gi"),
        "trino-worker": Resources(cpu="500m", memory="3Gi", memory_limit="4Gi"),
    }


class ProvisionOptions(_Model):
    """How to deploy the stack on Kubernetes.

    Attributes:
        namespace: namespace of every object. When not given, ``provision()`` uses ``settings.namespace``.
        object_store: ``seaweedfs`` (default) or ``minio`` (archived upstream; a warning is shown).
        images: container images.
        service_type: ``NodePort`` (the reference ports, reachable from the host) or ``ClusterIP``.
        persistent: PersistentVolumeClaims for the object store and PostgreSQL instead of ``emptyDir``.
        storage_class: StorageClass of those claims (``None``: the cluster's default).
        object_store_size: size of the object store's claim.
        postgres_size: size of PostgreSQL's claim.
        resources: requests and limits per component (see ``COMPONENTS``); missing ones keep defaults.
        spark_workers: replicas of the Spark worker Deployment.
        trino_workers: replicas of the Trino worker Deployment (0: the coordinator runs every split itself;
            it keeps running splits beside its workers).
        credentials: ``generate`` strong random credentials (kept in the Secret across re-provisioning),
            take them from the ``settings`` given to ``provision()``, or use an ``external`` Secret
            ``lakehouse-credentials`` that exists before provisioning and is managed elsewhere (never written).
        buckets, warehouse_bucket, region, postgres_user, postgres_database, trino_heap, trino_spooling,
            spooling_bucket: the stack's values, from the settings (``s3.buckets``, ``s3.warehouse_bucket``,
            ``s3.region``, ``postgres.user``, ``postgres.database``, ``local.trino_heap``, ``trino.spooling``,
            ``trino.spooling_bucket``): :meth:`for_settings` fills those the options do not set themselves. The
            warehouse bucket (and, with spooling, the spooling bucket) is always among the buckets the
            ``minio-init`` Job creates.
        maven_repository: the Maven repository the metastore's and the Spark Connect server's init containers
            fetch their extra jars from
            (a corporate mirror, or a jar server on the node in tests); default Maven Central.
        network_policies: render NetworkPolicies: default deny in the namespace, then exactly the connections of
            the stack's dependency graph, DNS, and ingress to the exposed endpoints (``kube/_network.py``).
        exposed_endpoints: with ``network_policies``, the endpoint keys reachable from outside the stack's pods
            (``None``: every endpoint with a NodePort, as in the reference architecture). Narrow it, e.g. to
            ``("trino", "minio", "spark-connect")``, to keep PostgreSQL and the metastore to the stack itself.
        secure: secure mode (settings ``secure``): TLS for Trino, the object store's S3 API and PostgreSQL,
            Trino password authentication, every component trusting the stack's CA (``kube/_tls.py``).
        tls_issuer: secure mode with a cert-manager ``Certificate`` for this Issuer (``NAME``,
            ``Issuer/NAME`` or ``ClusterIssuer/NAME``) instead of certificates made by the SDK.
        tls_ca_cert, tls_ca_key: secure mode with a CA of your own (PEM files) signing the server certificate
            (default: the CA of the settings' state dir, ``<state dir>/tls``, shared with the local stack).
        tls_names: more names and addresses for the server certificate, beside the in-cluster DNS names and
            ``localhost`` (:meth:`for_settings` adds ``nodeport_host``).
        field_manager: server-side apply field manager.
        timeout: seconds each layer may take to become ready.
        poll_interval: seconds between readiness checks.
    """

    namespace: str = "lakehouse"
    object_store: Literal["seaweedfs", "minio"] = "seaweedfs"
    images: Images = Field(default_factory=Images)
    service_type: Literal["NodePort", "ClusterIP"] = "NodePort"
    persistent: bool = False
    storage_class: str | None = None
    object_store_size: str = "10Gi"
    postgres_size: str = "5Gi"
    resources: dict[str, Resources] = Field(default_factory=default_resources)
    spark_workers: int = Field(default=1, ge=0, le=100)
    trino_workers: int = Field(default=0, ge=0, le=100)
    credentials: Literal["generate", "settings", "external"] = "generate"
    buckets: tuple[str, ...] = Field(default_factory=lambda: tuple(_setting_default("s3", "buckets")))
    warehouse_bucket: str = Field(default_factory=lambda: _setting_default("s3", "warehouse_bucket"))
    region: str = Field(default_factory=lambda: _setting_default("s3", "region"))
    postgres_user: str = Field(default_factory=lambda: _setting_default("postgres", "user"))
    postgres_database: str = Field(default_factory=lambda: _setting_default("postgres", "database"))
    trino_heap: str = Field(default_factory=lambda: _setting_default("local", "trino_heap"))
    trino_spooling: bool = Field(default_factory=lambda: _setting_default("trino", "spooling"))
    spooling_bucket: str = Field(default_factory=lambda: _setting_default("trino", "spooling_bucket"))
    maven_repository: str = Field(default_factory=lambda: MAVEN_CENTRAL)
    network_policies: bool = False
    exposed_endpoints: tuple[str, ...] | None = None
    secure: bool = False
    tls_issuer: str | None = None
    tls_ca_cert: Path | None = None
    tls_ca_key: Path | None = None
    tls_names: tuple[str, ...] = ()
    field_manager: str = "lakehouse-sdk"
    timeout: float = Field(default=600.0, gt=0)
    poll_interval: float = Field(default=2.0, gt=0, le=60)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not a valid namespace (lower-case letters, digits and '-', max 63)")
        return value

    @field_validator(
        "buckets", "region", "warehouse_bucket", "postgres_user", "postgres_database", "trino_heap", "spooling_bucket"
    )
    @classmethod
    def _stack_values(cls, value: Any, info: ValidationInfo) -> Any:
        # the rules of the settings these options take their values from: they end up in config files and SQL
        section_name, name = _STACK_FIELDS[str(info.field_name)]
        section = type(getattr(LakehouseSettings.model_construct(), section_name))
        try:
            section.model_validate({name: list(value) if isinstance(value, tuple) else value})
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        return value

    @field_validator("maven_repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        parse_url(value, ("http", "https"))
        return value

    @field_validator("exposed_endpoints")
    @classmethod
    def _endpoints(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        from lakehouse_sdk.stack.endpoints import ENDPOINTS

        unknown = [key for key in value or () if key not in ENDPOINTS or ENDPOINTS[key].node_port is None]
        if unknown:
            known = ", ".join(k for k, e in ENDPOINTS.items() if e.node_port is not None)
            raise ValueError(f"unknown endpoint(s) {', '.join(map(repr, unknown))}; the endpoints are: {known}")
        return value

    def exposed(self) -> tuple[str, ...]:
        """The endpoint keys NetworkPolicies open to clients outside the stack."""
        from lakehouse_sdk.stack.endpoints import ENDPOINTS

        if self.exposed_endpoints is not None:
            return self.exposed_endpoints
        return tuple(k for k, e in ENDPOINTS.items() if e.node_port is not None)

    @field_validator("storage_class", "field_manager")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return None if value is None else check_no_control(value)

    @field_validator("object_store_size", "postgres_size")
    @classmethod
    def _size(cls, value: str) -> str:
        return Resources._quantity(value) or value

    @field_validator("resources", mode="before")
    @classmethod
    def _merge_resources(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"unknown component(s) {', '.join(unknown)}; components are: {', '.join(COMPONENTS)}")
        return {**default_resources(), **value}

    @field_validator("tls_issuer")
    @classmethod
    def _issuer(cls, value: str | None) -> str | None:
        if value is not None:
            kind, _, name = value.rpartition("/")
            if kind not in ("", "Issuer", "ClusterIssuer") or not re.fullmatch(r"[a-z0-9]([-.a-z0-9]*[a-z0-9])?", name):
                raise ValueError(f"{value!r}: write the issuer as NAME, Issuer/NAME or ClusterIssuer/NAME")
        return value

    @model_validator(mode="after")
    def _secure_mode(self) -> ProvisionOptions:
        if (self.tls_ca_cert is None) != (self.tls_ca_key is None):
            raise ValueError("tls_ca_cert and tls_ca_key go together: the CA's certificate and its key (PEM)")
        if self.tls_issuer and self.tls_ca_cert:
            raise ValueError("tls_issuer (cert-manager) and tls_ca_cert (a CA of your own) exclude each other")
        if self.secure and self.trino_workers:
            raise ValueError(
                "secure mode runs a single Trino coordinator for now (trino_workers=0): its workers would need "
                "the internal HTTPS of Trino, which this release does not set up"
            )
        return self

    @model_validator(mode="after")
    def _warehouse_created(self) -> ProvisionOptions:
        if self.warehouse_bucket not in self.buckets:
            object.__setattr__(self, "buckets", (self.warehouse_bucket, *self.buckets))
        if self.trino_spooling and self.spooling_bucket not in self.buckets:
            object.__setattr__(self, "buckets", (*self.buckets, self.spooling_bucket))
        return self

    def for_settings(self, settings: LakehouseSettings) -> ProvisionOptions:
        """These options, with the namespace and the stack's values that they do not set taken from ``settings``."""
        update: dict[str, Any] = {}
        if "namespace" not in self.model_fields_set:
            update["namespace"] = settings.namespace
        if "secure" not in self.model_fields_set and settings.secure:
            update["secure"] = True
        if (self.secure or update.get("secure")) and settings.nodeport_host not in self.tls_names:
            update["tls_names"] = (*self.tls_names, settings.nodeport_host)
        for field, (section, name) in _STACK_FIELDS.items():
            if field not in self.model_fields_set:
                value = getattr(getattr(settings, section), name)
                update[field] = tuple(value) if isinstance(value, list) else value
        if not update:
            return self
        values = {k: getattr(self, k) for k in self.model_fields_set if k not in update}
        return type(self).build(**values, **update)

    def stack_values(self) -> StackValues:
        """The values that shape the services' configuration files (in secure mode: the TLS files as the
        pods see them)."""
        from lakehouse_sdk.stack.secure import in_cluster_tls

        values = StackValues(
            self.region,
            self.warehouse_bucket,
            self.postgres_database,
            self.postgres_user,
            self.trino_heap,
            spooling=self.trino_spooling,
            spooling_bucket=self.spooling_bucket,
            spooling_encryption=self.object_store == "seaweedfs",
        )
        return dataclasses.replace(values, tls=in_cluster_tls()) if self.secure else values

    @classmethod
    def build(cls, **values: Any) -> ProvisionOptions:
        """Like the constructor, but a wrong value raises :class:`ConfigurationError` naming the option."""
        try:
            return cls(**values)
        except ValidationError as exc:
            lines = [f"option {'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()]
            raise ConfigurationError(
                "invalid provisioning options:\n  " + "\n  ".join(lines) + "\nFix the option (see `lakehouse "
                "provision --help`)."
            ) from None
