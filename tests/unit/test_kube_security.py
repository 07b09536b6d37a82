"""Pod security, the workloads' account, the provisioner's rights and the NetworkPolicies, checked offline.

The NetworkPolicies are checked by evaluating them the way the Kubernetes API defines them (a connection is
allowed when an egress rule of the source's policies and an ingress rule of the target's policies allow it;
a pod no policy selects is unrestricted) over every pair of components and every port of the stack.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from lakehouse_sdk.kube import _security
from lakehouse_sdk.kube._api import KIND_PATHS
from lakehouse_sdk.kube._network import edges
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.kube.render import render, render_objects
from lakehouse_sdk.stack.components import COMPONENTS

Obj = dict[str, Any]
NS = "lakehouse"
OUTSIDE = "<outside>"  # a client outside the cluster (through a NodePort) or in another namespace
STRANGER = "<stranger>"  # another pod in the stack's namespace, not part of the stack


def _pod_templates(options: ProvisionOptions) -> dict[str, Obj]:
    return {
        o["metadata"]["labels"]["app.kubernetes.io/name"]: o["spec"]["template"]["spec"]
        for o in render_objects(options)
        if o["kind"] in ("Deployment", "StatefulSet", "Job")
    }


@pytest.mark.parametrize(
    "options",
    [
        ProvisionOptions(),
        ProvisionOptions(object_store="minio", persistent=True),
        ProvisionOptions(secure=True),  # secure mode adds an init container to PostgreSQL
        ProvisionOptions(secure=True, object_store="minio", persistent=True),
    ],
)
def test_every_pod_meets_the_restricted_pod_security_standard(options: ProvisionOptions) -> None:
    pods = _pod_templates(options)
    assert set(pods) == set(COMPONENTS)
    for name, pod in pods.items():
        ctx = pod["securityContext"]
        assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] > 0, name
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), name
        assert all("hostPath" not in v for v in pod.get("volumes", [])), name
        for container in pod.get("initContainers", []) + pod["containers"]:
            sc = container["securityContext"]
            where = f"{name}/{container['name']}"
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert not sc.get("privileged") and "runAsUser" not in sc, where
            assert all("hostPort" not in p for p in container.get("ports", [])), where


def test_the_namespace_enforces_restricted_and_the_workloads_hold_no_api_rights() -> None:
    layers = render(ProvisionOptions())
    labels = layers[0].objects[0]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    objects = [o for layer in layers for o in layer.objects]
    accounts = [o for o in objects if o["kind"] == "ServiceAccount"]
    assert [a["metadata"]["name"] for a in accounts] == [_security.WORKLOAD_SERVICE_ACCOUNT]
    assert accounts[0]["automountServiceAccountToken"] is False
    assert not [o for o in objects if o["kind"] in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")]
    for name, pod in _pod_templates(ProvisionOptions()).items():
        assert pod["serviceAccountName"] == _security.WORKLOAD_SERVICE_ACCOUNT, name
        assert pod["automountServiceAccountToken"] is False, name


def test_the_provisioner_role_covers_every_kind_the_sdk_calls_and_validates() -> None:
    subject = {"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}
    objects = _security.provisioner_rbac(NS, subject, {"labels": {"a": "b"}})
    for obj in objects:
        kubernetes_validate.validate(obj, "1.33", strict=True)
    granted = {
        (group, resource)
        for obj in objects
        if obj["kind"] in ("Role", "ClusterRole")
        for rule in obj["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    for kind, (prefix, plural, _) in KIND_PATHS.items():
        group = "" if prefix == "/api/v1" else prefix.split("/")[2]
        assert (group, plural) in granted, kind
    cluster = next(o for o in objects if o["kind"] == "ClusterRole")
    deleting = [r for r in cluster["rules"] if "delete" in r["verbs"]]
    assert deleting and all(r["resourceNames"] == [NS] for r in deleting)


# -- NetworkPolicies, evaluated ------------------------------------------------------------------------------


def _labels(who: str) -> dict[str, str]:
    if who == STRANGER:
        return {"app": "something-else"}
    return {"app.kubernetes.io/part-of": "lakehouse", "app.kubernetes.io/name": who}


def _selects(selector: Obj, labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_matches(peer: Obj, who: str) -> bool:
    if "ipBlock" in peer:
        return who == OUTSIDE and peer["ipBlock"]["cidr"] == "0.0.0.0/0"
    if "namespaceSelector" in peer:
        return who != OUTSIDE and peer["namespaceSelector"] == {} and "podSelector" not in peer
    return who != OUTSIDE and _selects(peer["podSelector"], _labels(who))


def _rule_allows(rule: Obj, key: str, who: str, port: int, protocol: str) -> bool:
    peers = rule.get(key)
    if peers is not None and not any(_peer_matches(p, who) for p in peers):
        return False
    ports = rule.get("ports")
    return ports is None or any(p["port"] == port and p.get("protocol", "TCP") == protocol for p in ports)


def _direction_allows(policies: list[Obj], pod: str, kind: str, who: str, port: int, protocol: str) -> bool:
    selecting = [
        p for p in policies if kind in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], _labels(pod))
    ]
    if not selecting:
        return True
    key, rules = ("from", "ingress") if kind == "Ingress" else ("to", "egress")
    return any(_rule_allows(r, key, who, port, protocol) for p in selecting for r in p["spec"].get(rules, []))


def allowed(policies: list[Obj], src: str, dst: str, port: int, protocol: str = "TCP") -> bool:
    """Whether ``src`` may open a connection to ``dst``'s ``port`` (either may be OUTSIDE)."""
    out = src == OUTSIDE or _direction_allows(policies, src, "Egress", dst, port, protocol)
    into = dst == OUTSIDE or _direction_allows(policies, dst, "Ingress", src, port, protocol)
    return out and into


def _policies(**kwargs: Any) -> list[Obj]:
    objects = render_objects(ProvisionOptions(network_policies=True, **kwargs))
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    for policy in policies:
        kubernetes_validate.validate(policy, "1.33", strict=True)
    return policies


def _all_ports() -> set[int]:
    return {p.container for spec in COMPONENTS.values() for p in spec.ports} | {7078, 40000}


def test_no_policies_unless_asked() -> None:
    assert not [o for o in render_objects(ProvisionOptions()) if o["kind"] == "NetworkPolicy"]


def test_exactly_the_dependency_graph_inside_the_stack() -> None:
    policies = _policies(exposed_endpoints=())  # nothing exposed: only the stack's own connections remain
    graph = edges()
    for src in COMPONENTS:
        for dst in COMPONENTS:
            for port in _all_ports():
                want = dst in graph[src] and (
                    dst in ("spark-worker", "spark-connect") or port == COMPONENTS[dst].primary.container
                )
                assert allowed(policies, src, dst, port) is want, (src, dst, port)
    assert allowed(policies, "trino", "postgres", 5432) is False
    assert allowed(policies, "hive-metastore", "postgres", 5432) is True


def test_exposed_endpoints_are_reachable_from_outside_and_nothing_else() -> None:
    policies = _policies(exposed_endpoints=("trino", "minio", "spark-connect"))
    assert allowed(policies, OUTSIDE, "trino", 8080)
    assert allowed(policies, OUTSIDE, "object-store", 9000)
    assert not allowed(policies, OUTSIDE, "object-store", 9001)  # the console is not exposed
    assert allowed(policies, OUTSIDE, "spark-connect", 15002)
    for dst, port in (("postgres", 5432), ("hive-metastore", 9083), ("spark-master", 7077), ("trino-worker", 8080)):
        assert not allowed(policies, OUTSIDE, dst, port), dst
        assert not allowed(policies, STRANGER, dst, port), dst
    # Spark executors connect only inside the stack when no outside driver can reach the master
    assert not allowed(policies, "spark-worker", OUTSIDE, 40000)


def test_by_default_every_nodeport_endpoint_and_outside_drivers_work() -> None:
    policies = _policies()
    for spec in COMPONENTS.values():
        for port in spec.ports:
            if port.node_port is not None:
                assert allowed(policies, OUTSIDE, spec.name, port.container), (spec.name, port.name)
    # a classic driver on a laptop: executors connect back to it, and it to them, on run-time ports
    assert allowed(policies, "spark-worker", OUTSIDE, 40000)
    assert allowed(policies, OUTSIDE, "spark-worker", 40000)
    assert not allowed(policies, "postgres", OUTSIDE, 443)


def test_dns_and_the_jar_fetchers_maven_repository() -> None:
    policies = _policies(maven_repository="http://10.1.2.3:8081/m2")
    for name in COMPONENTS:
        assert allowed(policies, name, OUTSIDE, 53, "UDP"), name
    fetchers = {n for n in COMPONENTS if allowed(policies, n, OUTSIDE, 8081)}
    assert fetchers == {"hive-metastore", "spark-connect", "spark-worker"}  # the worker: outside drivers


def test_unknown_exposed_endpoint_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown endpoint\(s\) 'trinoo'.*trino"):
        ProvisionOptions(exposed_endpoints=("trinoo",))
