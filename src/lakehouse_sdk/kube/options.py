"""What to provision: :class:`ProvisionOptions`, and the command-line flags that build one.

The defaults reproduce the reference architecture (NodePorts, emptyDir volumes, one Spark worker) with the
images of the versions the local runtime runs. Every field is validated when the options are built, so a
typo fails before anything touches a cluster.
"""

from __future__ import annotations

import argparse
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from lakehouse_sdk._checks import check_no_control
from lakehouse_sdk.errors import ConfigurationError
from lakehouse_sdk.stack.versions import VERSIONS

__all__ = ["COMPONENTS", "Images", "ProvisionOptions", "Resources", "add_cli_arguments"]

# The workloads of the stack, in startup order; resources and images are keyed by these names.
COMPONENTS = ("object-store", "minio-init", "postgres", "hive-metastore", "spark-master", "spark-worker", "trino")

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
    fetch: str = Field(default="docker.io/curlimages/curl:8.17.0", description="fetches the metastore's extra jars")
    postgres: str = Field(default=f"docker.io/library/postgres:{VERSIONS['postgresql']}", description="PostgreSQL")
    hive_metastore: str = Field(
        default=f"docker.io/apache/hive:{VERSIONS['hive-metastore']}", description="Hive Metastore"
    )
    spark: str = Field(default=f"docker.io/apache/spark:{VERSIONS['spark']}", description="Spark master and workers")
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


def _default_resources() -> dict[str, Resources]:
    return {
        "object-store": Resources(cpu="250m", memory="512Mi", memory_limit="1Gi"),
        "minio-init": Resources(cpu="50m", memory="128Mi"),
        "postgres": Resources(cpu="250m", memory="256Mi", memory_limit="1Gi"),
        "hive-metastore": Resources(cpu="250m", memory="1Gi", memory_limit="2Gi"),
        "spark-master": Resources(cpu="250m", memory="1Gi"),
        "spark-worker": Resources(cpu="1", memory="2Gi", memory_limit="3Gi"),
        "trino": Resources(cpu="500m", memory="3Gi", memory_limit="4Gi"),
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
        credentials: ``generate`` strong random credentials (kept in the Secret across re-provisioning) or
            take them from the ``settings`` given to ``provision()``.
        buckets: buckets the ``minio-init`` Job creates (the warehouse bucket is always included).
        warehouse_bucket: bucket of the table data.
        region: S3 region the services sign with.
        postgres_user: owner of the metastore database.
        postgres_database: the metastore database.
        trino_heap: Trino's JVM heap (keep it below the memory limit).
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
    resources: dict[str, Resources] = Field(default_factory=_default_resources)
    spark_workers: int = Field(default=1, ge=0, le=100)
    credentials: Literal["generate", "settings"] = "generate"
    buckets: tuple[str, ...] = ("warehouse",)
    warehouse_bucket: str = "warehouse"
    region: str = "us-east-1"
    postgres_user: str = "hive"
    postgres_database: str = "metastore"
    trino_heap: str = "2G"
    field_manager: str = "lakehouse-sdk"
    timeout: float = Field(default=600.0, gt=0)
    poll_interval: float = Field(default=2.0, gt=0, le=60)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not a valid namespace (lower-case letters, digits and '-', max 63)")
        return value

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for bucket in value:
            if not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", bucket):
                raise ValueError(f"{bucket!r} is not a valid S3 bucket name")
        return value

    @field_validator("region", "warehouse_bucket", "postgres_user", "postgres_database", "trino_heap")
    @classmethod
    def _stack_values(cls, value: str, info: ValidationInfo) -> str:
        # the same rules as the settings these options mirror: they end up in config files and SQL
        from lakehouse_sdk.settings import LocalSettings, PostgresSettings, S3Settings

        sections: dict[str, tuple[type[BaseModel], str]] = {
            "region": (S3Settings, "region"),
            "warehouse_bucket": (S3Settings, "warehouse_bucket"),
            "postgres_user": (PostgresSettings, "user"),
            "postgres_database": (PostgresSettings, "database"),
            "trino_heap": (LocalSettings, "trino_heap"),
        }
        section, name = sections[str(info.field_name)]
        try:
            section.model_validate({name: value})
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        return value

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
        return {**_default_resources(), **value}

    @model_validator(mode="after")
    def _warehouse_created(self) -> ProvisionOptions:
        if self.warehouse_bucket not in self.buckets:
            object.__setattr__(self, "buckets", (self.warehouse_bucket, *self.buckets))
        return self

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

    @classmethod
    def from_cli(cls, args: argparse.Namespace) -> ProvisionOptions:
        """Options from the flags that :func:`add_cli_arguments` added; unset flags keep the defaults."""
        values: dict[str, Any] = {}
        for name in (
            "namespace",
            "object_store",
            "service_type",
            "storage_class",
            "spark_workers",
            "credentials",
            "field_manager",
            "timeout",
        ):
            value = getattr(args, f"kube_{name}", None)
            if value is not None:
                values[name] = value
        if getattr(args, "kube_persistent", False):
            values["persistent"] = True
        if getattr(args, "kube_images", None):
            values["images"] = _pairs(args.kube_images, "--image")
        resources: dict[str, dict[str, str]] = {}
        for flag, field in (("kube_cpu", "cpu"), ("kube_memory", "memory")):
            for component, spec in _pairs(getattr(args, flag, None) or [], f"--{field}").items():
                request, _, limit = spec.partition(":")
                entry = resources.setdefault(component, _default_resources().get(component, Resources()).model_dump())
                entry[field] = request
                if limit:
                    entry[f"{field}_limit"] = limit
        if resources:
            values["resources"] = resources
        for component, size in _pairs(getattr(args, "kube_storage_size", None) or [], "--storage-size").items():
            if component not in {"object-store", "postgres"}:
                raise ConfigurationError(f"--storage-size {component}=...: only object-store and postgres have storage")
            values[f"{component.replace('-', '_')}_size"] = size
        return cls.build(**values)


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigurationError(f"{flag} {item!r}: write it as NAME=VALUE")
        out[key.strip().replace("_", "-") if flag != "--image" else key.strip().replace("-", "_")] = value.strip()
    return out


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the provisioning flags (``--namespace``, ``--object-store``, ...) to a command's parser."""
    g = parser.add_argument_group("Kubernetes options")
    g.add_argument("--namespace", dest="kube_namespace", help="namespace (default: settings.namespace)")
    g.add_argument("--object-store", dest="kube_object_store", choices=["seaweedfs", "minio"])
    g.add_argument("--service-type", dest="kube_service_type", choices=["NodePort", "ClusterIP"])
    g.add_argument("--persistent", dest="kube_persistent", action="store_true", help="PVCs instead of emptyDir")
    g.add_argument("--storage-class", dest="kube_storage_class", help="StorageClass of the PVCs")
    g.add_argument(
        "--storage-size", dest="kube_storage_size", action="append", metavar="COMPONENT=SIZE", help="e.g. postgres=20Gi"
    )
    g.add_argument("--spark-workers", dest="kube_spark_workers", type=int, metavar="N")
    g.add_argument("--image", dest="kube_images", action="append", metavar="NAME=IMAGE", help="e.g. trino=my/trino:476")
    g.add_argument("--cpu", dest="kube_cpu", action="append", metavar="COMPONENT=REQ[:LIMIT]", help="e.g. trino=2:4")
    g.add_argument("--memory", dest="kube_memory", action="append", metavar="COMPONENT=REQ[:LIMIT]")
    g.add_argument("--credentials", dest="kube_credentials", choices=["generate", "settings"])
    g.add_argument("--field-manager", dest="kube_field_manager")
    g.add_argument("--timeout", dest="kube_timeout", type=float, metavar="SECONDS", help="per layer")
