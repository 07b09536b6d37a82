"""What each component of the stack *is*: one declarative spec per component.

A spec names the component, the ports it listens on (each with its endpoint key, its container port in a
cluster and its NodePort on a host), the components it depends on, how readiness is checked, where it keeps
data, which configuration files it reads and which credentials it needs. Everything else reads these specs:

- :mod:`lakehouse_sdk.stack.endpoints` derives the endpoint table (``ENDPOINTS``) from the ports;
- the local runtime (:mod:`lakehouse_sdk.local.services`) turns a spec into a process;
- the Kubernetes renderer (:mod:`lakehouse_sdk.kube.render`) turns it into a workload, a Service, probes and
  the init containers that wait for its dependencies;
- :func:`startup_order` derives the order both of them start components in, once, from ``depends_on``.

Adding a component is one entry in :data:`COMPONENTS` plus its process class and workload function
(``docs/architecture.md`` shows the diff).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "COMPONENTS",
    "ComponentSpec",
    "PortSpec",
    "Readiness",
    "layers",
    "startup_order",
]


@dataclass(frozen=True)
class PortSpec:
    """One port of a component.

    Attributes:
        name: the Kubernetes port name (``s3``, ``http``, ``thrift``...).
        container: the port inside the cluster (container and Service port).
        endpoint: the endpoint key clients use (``minio``, ``trino``...), or ``None`` for an internal port.
        node_port: the NodePort on the host, also the local stack's port (``None`` for internal ports).
        scheme: the URL scheme of the endpoint.
        service: the Kubernetes Service that carries it (its DNS name in the cluster).
        description: what it is, for people.
    """

    name: str
    container: int
    endpoint: str | None = None
    node_port: int | None = None
    scheme: str = "http"
    service: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Readiness:
    """How to tell that a component is ready.

    ``kind`` is ``http`` (GET ``path`` answers 2xx/3xx), ``tcp`` (the port accepts connections) or
    ``command`` (``command`` exits 0 inside the container). ``port`` is the name of one of the component's
    ports. The local runtime and ``health()`` make deeper checks of their own on top (a metastore call, a
    Trino query through both catalogs); this is what a Kubernetes probe can express.
    """

    kind: Literal["http", "tcp", "command"]
    port: str
    path: str = "/"
    command: tuple[str, ...] = ()
    startup_failures: int | None = None  # a startupProbe with this many attempts, for slow starters


@dataclass(frozen=True)
class ComponentSpec:
    """One component of the stack (a process locally, a workload on Kubernetes).

    Attributes:
        name: the component's name (``object-store``, ``trino``...): the local service and the workload.
        description: what it is.
        ports: its ports; the first is the one dependants wait for.
        depends_on: components that must be ready before this one counts as ready.
        talks_to: components it also opens connections to at run time (beyond ``depends_on``); with them,
            the dependency graph is every connection inside the stack (NetworkPolicies allow exactly those).
        starts_after: components that must be ready before this one's process starts (default:
            ``depends_on``); Trino's JVM boots beside the metastore because it connects to it lazily.
        readiness: the probe of its primary port.
        workload: the Kubernetes kind (``Job``: runs once).
        layer: the provisioning layer it is applied in (default: its name); components of one layer become
            ready together.
        data_dirs: directories it keeps data in (mount points of its volumes in a container).
        config_files: the files of the ``trino-config``/``hadoop-config`` ConfigMaps it reads.
        secrets: the credentials it needs (keys of :data:`lakehouse_sdk.stack.config.SECRET_ENV`).
        local: whether the local runtime runs it as a process (the bucket Job's work is done by the object
            store's process locally; Trino workers exist only on Kubernetes).
        extra_port_offsets: internal ports the local process also opens, as offsets from its first port.
    """

    name: str
    description: str
    ports: tuple[PortSpec, ...] = ()
    depends_on: tuple[str, ...] = ()
    talks_to: tuple[str, ...] = ()
    starts_after: tuple[str, ...] | None = None
    readiness: Readiness | None = None
    workload: Literal["StatefulSet", "Deployment", "Job"] = "Deployment"
    layer: str = ""
    data_dirs: tuple[str, ...] = ()
    config_files: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    local: bool = True
    extra_port_offsets: tuple[int, ...] = field(default=())

    @property
    def endpoint_keys(self) -> tuple[str, ...]:
        """The endpoint keys of its ports."""
        return tuple(p.endpoint for p in self.ports if p.endpoint)

    @property
    def primary(self) -> PortSpec:
        """The port dependants wait for."""
        return self.ports[0]

    @property
    def start_dependencies(self) -> tuple[str, ...]:
        return self.depends_on if self.starts_after is None else self.starts_after

    def port(self, name: str) -> PortSpec:
        """The port called ``name`` (Kubernetes port name) or with endpoint key ``name``."""
        for p in self.ports:
            if name in (p.name, p.endpoint):
                return p
        raise KeyError(f"{self.name} has no port {name!r}")


_S3 = ("s3_access_key", "s3_secret_key")

COMPONENTS: dict[str, ComponentSpec] = {
    c.name: c
    for c in (
        ComponentSpec(
            "object-store",
            "S3-compatible object store: SeaweedFS (weed mini) or MinIO",
            ports=(
                PortSpec("s3", 9000, "minio", 30900, "http", "minio", "object store S3 API"),
                PortSpec("console", 9001, "minio-console", 30901, "http", "minio", "object store web console"),
            ),
            readiness=Readiness("http", "s3", "/healthz"),
            workload="StatefulSet",
            data_dirs=("/data",),
            secrets=_S3,
            # weed mini: master, volume, filer HTTP; master, volume, filer, S3, admin gRPC
            extra_port_offsets=(10, 11, 12, 20, 21, 22, 23, 24),
        ),
        ComponentSpec(
            "minio-init",
            "creates the buckets (a Job; locally the object store's process does it)",
            depends_on=("object-store",),
            workload="Job",
            secrets=_S3,
            local=False,
        ),
        ComponentSpec(
            "postgres",
            "PostgreSQL, the metastore's database",
            ports=(PortSpec("postgres", 5432, "postgres", 30432, "postgresql", "postgres", "metastore database"),),
            readiness=Readiness("command", "postgres", command=("pg_isready", "-h", "127.0.0.1")),
            workload="StatefulSet",
            data_dirs=("/var/lib/postgresql/data",),
            secrets=("postgres_password",),
        ),
        ComponentSpec(
            "hive-metastore",
            "standalone Hive Metastore (Thrift) on PostgreSQL and the object store",
            depends_on=("postgres", "object-store"),
            ports=(
                PortSpec(
                    "thrift", 9083, "hive-metastore", 30083, "thrift", "hive-metastore", "Hive Metastore (Thrift)"
                ),
            ),
            readiness=Readiness("tcp", "thrift", startup_failures=60),
            config_files=("metastore-site.xml", "core-site.xml"),
            secrets=(*_S3, "postgres_password"),
        ),
        ComponentSpec(
            "spark-master",
            "Spark standalone master",
            layer="spark",
            talks_to=("spark-worker",),  # it starts executors through each worker's RPC port
            ports=(
                PortSpec("spark", 7077, "spark-master", 30077, "spark", "spark-master", "Spark standalone master"),
                PortSpec("http", 8080, "spark-master-ui", 30082, "http", "spark-master", "Spark master web UI"),
            ),
            readiness=Readiness("http", "http", "/"),
            config_files=("core-site.xml",),
            secrets=_S3,
        ),
        ComponentSpec(
            "spark-worker",
            "Spark standalone worker",
            depends_on=("spark-master",),
            # executors read and write tables, and connect back to their driver (the Connect server's, or a
            # classic driver outside the stack: see kube/_network.py)
            talks_to=("object-store", "hive-metastore", "spark-connect"),
            layer="spark",
            ports=(PortSpec("http", 8081, "spark-worker-ui", 30084, "http", "spark-worker", "Spark worker web UI"),),
            readiness=Readiness("http", "http", "/"),
            config_files=("core-site.xml",),
            secrets=_S3,
            extra_port_offsets=(1,),  # the worker's RPC port, next to its UI
        ),
        ComponentSpec(
            "spark-connect",
            "Spark Connect server: the driver of thin (gRPC) clients, inside the stack",
            depends_on=("spark-master", "hive-metastore"),
            talks_to=("object-store", "spark-worker"),  # the driver reads tables, and talks to its executors
            # its JVM boots beside the metastore, which its Hive client reaches only when a session asks; not
            # before the master: an application that finds no master retries its registration 20 s later
            starts_after=("spark-master",),
            ports=(PortSpec("grpc", 15002, "spark-connect", 30152, "sc", "spark-connect", "Spark Connect (gRPC)"),),
            # the gRPC port opens once the server's SparkContext runs; the deeper check is a Connect call
            readiness=Readiness("tcp", "grpc", startup_failures=60),
            config_files=("core-site.xml", "spark-connect.conf"),
            secrets=(*_S3, "spark_connect_token"),
        ),
        ComponentSpec(
            "trino",
            "Trino coordinator with the hive and iceberg catalogs",
            depends_on=("hive-metastore", "object-store"),
            talks_to=("trino-worker",),  # splits scheduled on the workers
            starts_after=(),
            ports=(PortSpec("http", 8080, "trino", 30081, "http", "trino", "Trino coordinator"),),
            # the image's own check: /v1/info answers while Trino is still starting; ready is "starting":false
            readiness=Readiness("command", "http", command=("/usr/lib/trino/bin/health-check",), startup_failures=60),
            data_dirs=("/data/trino",),
            config_files=(
                "config.properties",
                "node.properties",
                "jvm.config",
                "catalog.hive.properties",
                "catalog.iceberg.properties",
                "spooling-manager.properties",
            ),
            secrets=(*_S3, "trino_spooling_key"),
        ),
        ComponentSpec(
            "trino-worker",
            "Trino workers, which join the coordinator and run query splits (none by default)",
            depends_on=("trino",),
            talks_to=("hive-metastore", "object-store"),  # table metadata and data, spooled segments
            layer="trino",
            # reached by pod address from the coordinator, never by clients: no endpoint, no Service
            ports=(PortSpec("http", 8080, description="Trino worker"),),
            readiness=Readiness("command", "http", command=("/usr/lib/trino/bin/health-check",), startup_failures=60),
            data_dirs=("/data/trino",),
            config_files=(
                "worker.config.properties",
                "worker.node.properties",
                "jvm.config",
                "catalog.hive.properties",
                "catalog.iceberg.properties",
                "spooling-manager.properties",
            ),
            secrets=(*_S3, "trino_spooling_key"),
            # the local stack is one machine: its coordinator runs every split itself
            local=False,
        ),
    )
}


def startup_order(components: dict[str, ComponentSpec] | None = None) -> tuple[str, ...]:
    """Component names so that each comes after everything it depends on (declaration order breaks ties)."""
    specs = COMPONENTS if components is None else components
    done: list[str] = []
    pending = list(specs)
    while pending:
        ready = next((n for n in pending if all(d in done for d in specs[n].depends_on)), None)
        if ready is None:
            raise ValueError(f"the dependencies of {', '.join(pending)} form a cycle or name unknown components")
        done.append(ready)
        pending.remove(ready)
    return tuple(done)


def layers(components: dict[str, ComponentSpec] | None = None) -> dict[str, tuple[str, ...]]:
    """Provisioning layers in startup order: layer name to its components."""
    specs = COMPONENTS if components is None else components
    out: dict[str, list[str]] = {}
    for name in startup_order(specs):
        out.setdefault(specs[name].layer or name, []).append(name)
    return {layer: tuple(names) for layer, names in out.items()}
