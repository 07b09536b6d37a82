"""The endpoint table: every endpoint key with its Service, container port and NodePort.

Derived from the component specs of :mod:`lakehouse_sdk.stack.components`, the one place that knows the
reference architecture's ports. Endpoint resolution, the local runtime and the Kubernetes manifests read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse_sdk.stack.components import COMPONENTS

__all__ = ["ENDPOINTS", "ENDPOINT_KEYS", "EndpointSpec", "canonical_endpoint_key"]


@dataclass(frozen=True)
class EndpointSpec:
    """One endpoint of the stack.

    Attributes:
        key: the endpoint's key (``minio``, ``trino``, ...), as used in settings and ``lh.endpoints()``.
        dns_name: the Kubernetes Service that carries it.
        port: the container (Service) port inside the cluster.
        node_port: the NodePort on the host.
        scheme: ``http``, ``thrift``, ``postgresql`` or ``spark``.
        description: what it is, for humans.
        component: the component that serves it.
        port_name: the Kubernetes name of the port.
    """

    key: str
    dns_name: str
    port: int
    node_port: int
    scheme: str
    description: str
    component: str = ""
    port_name: str = ""


ENDPOINTS: dict[str, EndpointSpec] = {
    p.endpoint: EndpointSpec(
        p.endpoint, p.service or c.name, p.container, p.node_port, p.scheme, p.description, c.name, p.name
    )
    for c in COMPONENTS.values()
    for p in c.ports
    if p.endpoint is not None and p.node_port is not None
}

ENDPOINT_KEYS: tuple[str, ...] = tuple(ENDPOINTS)

_ALIASES = {"s3": "minio", "object-store": "minio", "metastore": "hive-metastore", "hms": "hive-metastore"}


def canonical_endpoint_key(name: str) -> str | None:
    """Map ``hive_metastore``, ``HIVE-METASTORE`` or ``s3`` to the canonical key, or ``None``."""
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    return key if key in ENDPOINTS else None
