"""NetworkPolicies from the stack's dependency graph (``ProvisionOptions.network_policies``).

A ``default-deny`` policy shuts every pod of the namespace off, in and out; then one policy per component
allows exactly:

- the connections of the dependency graph: ``depends_on`` and ``talks_to`` of each
  :class:`~lakehouse_sdk.stack.components.ComponentSpec`, from the pods of one component to the primary port
  of the other (all ports where the target also listens on ports chosen at run time: Spark's executors and
  drivers);
- ingress from anywhere to the ports of the *exposed* endpoints (``ProvisionOptions.exposed_endpoints``;
  by default every endpoint with a NodePort, as the reference architecture has them), which is how clients
  outside the namespace reach the stack;
- DNS (port 53) for every pod; the init containers that fetch jars reach the Maven repository's port;
- Spark executors (on the workers) connect to drivers outside the stack, and those drivers to them, on
  ports chosen at run time: while the Spark master is exposed, the workers are open both ways.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lakehouse_sdk.stack.components import COMPONENTS

__all__ = ["RUNTIME_PORTS", "edges", "network_policies"]

Obj = dict[str, Any]
NAME_LABEL = "app.kubernetes.io/name"
# components that also listen on ports chosen at run time (Spark's RPC, block manager and executor ports)
RUNTIME_PORTS = frozenset({"spark-worker", "spark-connect"})


def _anywhere() -> list[Obj]:
    return [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"namespaceSelector": {}}]


def edges() -> dict[str, tuple[str, ...]]:
    """Component to the components it opens connections to (``depends_on`` + ``talks_to``)."""
    return {name: tuple(dict.fromkeys((*s.depends_on, *s.talks_to))) for name, s in COMPONENTS.items()}


def _ports(component: str) -> list[Obj] | None:
    """The port the stack's own components connect to (the primary one: S3, not the console; the master's RPC,
    not its UI), or ``None`` (every port) for one that also listens on run-time ports."""
    if component in RUNTIME_PORTS:
        return None
    return [{"protocol": "TCP", "port": COMPONENTS[component].primary.container}]


def _rule(peers: list[Obj], ports: list[Obj] | None, direction: str) -> Obj:
    rule: Obj = {"from" if direction == "ingress" else "to": peers}
    if ports is not None:
        rule["ports"] = ports
    return rule


def _pods(component: str) -> list[Obj]:
    return [{"podSelector": {"matchLabels": {NAME_LABEL: component}}}]


def _policy(name: str, namespace: str, meta: Obj, selector: Obj, ingress: list[Obj], egress: list[Obj]) -> Obj:
    spec: Obj = {"podSelector": selector, "policyTypes": ["Ingress", "Egress"]}
    if ingress:
        spec["ingress"] = ingress
    if egress:
        spec["egress"] = egress
    metadata = {**meta, "name": name, "namespace": namespace}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata, "spec": spec}


def _repository_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def network_policies(
    namespace: str, meta: Obj, *, exposed: tuple[str, ...], fetchers: set[str], maven_repository: str
) -> list[Obj]:
    """``default-deny`` and one policy per component (``meta``: labels for every policy).

    Args:
        namespace: the stack's namespace.
        meta: metadata (labels) every policy carries.
        exposed: endpoint keys reachable from anywhere (clients outside the namespace).
        fetchers: components whose pods fetch jars from ``maven_repository``.
        maven_repository: the Maven repository URL those init containers use.
    """
    graph = edges()
    out = [_policy("default-deny", namespace, meta, {}, [], [])]
    dns = {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    outside_drivers = "spark-master" in exposed
    for name, spec in COMPONENTS.items():
        ingress = [_rule(_pods(src), _ports(name), "ingress") for src, targets in graph.items() if name in targets]
        open_ports = [{"protocol": "TCP", "port": p.container} for p in spec.ports if p.endpoint in exposed]
        if open_ports:
            ingress.append(_rule(_anywhere(), open_ports, "ingress"))
        egress = [dns, *(_rule(_pods(target), _ports(target), "egress") for target in graph[name])]
        if name in fetchers:
            repository = [{"protocol": "TCP", "port": _repository_port(maven_repository)}]
            egress.append(_rule([{"ipBlock": {"cidr": "0.0.0.0/0"}}], repository, "egress"))
        if name == "spark-worker" and outside_drivers:
            ingress.append(_rule(_anywhere(), None, "ingress"))
            egress.append(_rule(_anywhere(), None, "egress"))
        out.append(_policy(f"lakehouse-{name}", namespace, meta, {"matchLabels": {NAME_LABEL: name}}, ingress, egress))
    return out
