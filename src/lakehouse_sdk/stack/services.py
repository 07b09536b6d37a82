"""The services of the reference architecture: names, ports and the order they start in.

This table is the one place that knows the reference architecture's service names, container ports and
NodePorts. Endpoint resolution, the local runtime and the Kubernetes manifests all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SERVICES", "SERVICE_NAMES", "ServiceSpec", "canonical_service_name"]


@dataclass(frozen=True)
class ServiceSpec:
    """One endpoint of the stack.

    Attributes:
        key: the endpoint's key (``minio``, ``trino``, ...), as used in settings and ``lh.endpoints()``.
        dns_name: the Kubernetes Service that carries it.
        port: the container (Service) port inside the cluster.
        node_port: the NodePort on the host.
        scheme: ``http``, ``thrift``, ``postgresql`` or ``spark``.
        description: what it is, for humans.
    """

    key: str
    dns_name: str
    port: int
    node_port: int
    scheme: str
    description: str


SERVICES: dict[str, ServiceSpec] = {
    s.key: s
    for s in (
        ServiceSpec("minio", "minio", 9000, 30900, "http", "object store S3 API"),
        ServiceSpec("minio-console", "minio", 9001, 30901, "http", "object store web console"),
        ServiceSpec("postgres", "postgres", 5432, 30432, "postgresql", "metastore database"),
        ServiceSpec("hive-metastore", "hive-metastore", 9083, 30083, "thrift", "Hive Metastore (Thrift)"),
        ServiceSpec("spark-master", "spark-master", 7077, 30077, "spark", "Spark standalone master"),
        ServiceSpec("spark-master-ui", "spark-master", 8080, 30082, "http", "Spark master web UI"),
        ServiceSpec("spark-worker-ui", "spark-worker", 8081, 30084, "http", "Spark worker web UI"),
        ServiceSpec("trino", "trino", 8080, 30081, "http", "Trino coordinator"),
    )
}

SERVICE_NAMES: tuple[str, ...] = tuple(SERVICES)


def canonical_service_name(name: str) -> str | None:
    """Map ``hive_metastore``, ``HIVE-METASTORE`` or ``s3`` to the canonical key, or ``None``."""
    key = name.strip().lower().replace("_", "-")
    aliases = {"s3": "minio", "object-store": "minio", "metastore": "hive-metastore", "hms": "hive-metastore"}
    key = aliases.get(key, key)
    return key if key in SERVICES else None
