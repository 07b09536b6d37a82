"""Pod security and API rights of the rendered stack.

Every pod meets the ``restricted`` Pod Security Standard: it runs as the non-root user its image is built for
(numeric, so the kubelet can check ``runAsNonRoot``), no container may gain privileges, every capability is
dropped, and the runtime's default seccomp profile applies. The namespace carries the
``pod-security.kubernetes.io/enforce: restricted`` label, so the API server itself refuses a pod that does not.
Volumes are handed to the image's group with ``fsGroup``.

The workloads run under their own ServiceAccount, ``lakehouse-workload``: no token is mounted and nothing is
bound to it, since no component of the stack calls the Kubernetes API. :data:`PROVISIONER_RULES` are the only
rights ``provision()``, ``teardown()``, ``scale`` and port-forward mode use, rendered as a Role and a
ClusterRole (namespaces are cluster-scoped) by :func:`provisioner_rbac` (``lakehouse render --rbac``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PROVISIONER_RULES",
    "RUN_AS",
    "WORKLOAD_SERVICE_ACCOUNT",
    "pod_security_labels",
    "provisioner_cluster_rules",
    "provisioner_rbac",
    "restrict",
    "workload_service_account",
]

Obj = dict[str, Any]

WORKLOAD_SERVICE_ACCOUNT = "lakehouse-workload"

# The user (and group) each component's image is built for: the upstream images' users, which the images of
# scripts/build-images.sh reproduce (images/README.md). The init containers of a pod (wait-for-dependencies,
# fetch-jars, init-schema) run as the same user; the aws-cli image of minio-init (root upstream) runs as 1000.
RUN_AS: dict[str, int] = {
    "object-store": 1000,  # seaweed (chrislusf/seaweedfs hands /data to uid 1000); MinIO runs as any user
    "minio-init": 1000,
    "postgres": 999,  # postgres
    "hive-metastore": 1000,  # hive
    "spark-master": 185,  # spark
    "spark-worker": 185,
    "spark-connect": 185,
    "trino": 1000,  # trino
    "trino-worker": 1000,
}


def _container_context() -> Obj:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_labels() -> dict[str, str]:
    """The namespace labels that make the API server enforce (and warn about) the ``restricted`` standard."""
    return {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")} | {
        "pod-security.kubernetes.io/enforce-version": "latest"
    }


def restrict(component: str, pod: Obj) -> Obj:
    """``pod`` (a pod spec) with the ``restricted`` security contexts, its user and the workload account."""
    uid = RUN_AS[component]
    pod["serviceAccountName"] = WORKLOAD_SERVICE_ACCOUNT
    pod["securityContext"] = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    for key in ("initContainers", "containers"):
        for container in pod.get(key, []):
            container["securityContext"] = _container_context()
    return pod


def workload_service_account(namespace: str, meta: Obj) -> Obj:
    """The workloads' ServiceAccount: no token mounted, nothing bound to it."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {**meta, "name": WORKLOAD_SERVICE_ACCOUNT, "namespace": namespace},
        "automountServiceAccountToken": False,
    }


# What provision(), teardown(), `lakehouse scale`, status and port-forward mode call, in the stack's namespace.
PROVISIONER_RULES: list[Obj] = [
    {
        "apiGroups": [""],
        "resources": ["secrets", "configmaps", "services", "serviceaccounts", "persistentvolumeclaims"],
        "verbs": ["get", "list", "create", "patch", "delete"],
    },
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["get", "create"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list"]},
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "statefulsets"],
        "verbs": ["get", "list", "create", "patch", "delete"],
    },
    {"apiGroups": ["apps"], "resources": ["deployments/scale", "statefulsets/scale"], "verbs": ["get", "patch"]},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "create", "patch", "delete"]},
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["networkpolicies"],
        "verbs": ["get", "list", "create", "patch", "delete"],
    },
    # secure mode with tls_issuer: the Certificate cert-manager issues the TLS Secret from
    {
        "apiGroups": ["cert-manager.io"],
        "resources": ["certificates"],
        "verbs": ["get", "list", "create", "patch", "delete"],
    },
]


def provisioner_cluster_rules(namespace: str) -> list[Obj]:
    """Namespaces are cluster-scoped: creating one cannot be limited by name; reading, labelling and deleting
    are limited to the stack's namespace."""
    return [
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["create"]},
        {
            "apiGroups": [""],
            "resources": ["namespaces"],
            "resourceNames": [namespace],
            "verbs": ["get", "patch", "delete"],
        },
    ]


def provisioner_rbac(namespace: str, subject: Obj, meta: Obj) -> list[Obj]:
    """A Role (in ``namespace``) and a ClusterRole with :data:`PROVISIONER_RULES`, bound to ``subject``
    (e.g. ``{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}`` or ``{"kind": "User", ...}``)."""
    name = "lakehouse-provisioner"
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
    cluster_ref = {**role_ref, "kind": "ClusterRole", "name": f"{name}-{namespace}"}
    subjects = [subject]
    api = "rbac.authorization.k8s.io/v1"
    return [
        {"apiVersion": api, "kind": "Role", "metadata": {**meta, "name": name, "namespace": namespace},
         "rules": PROVISIONER_RULES},
        {"apiVersion": api, "kind": "RoleBinding", "metadata": {**meta, "name": name, "namespace": namespace},
         "roleRef": role_ref, "subjects": subjects},
        {"apiVersion": api, "kind": "ClusterRole", "metadata": {**meta, "name": cluster_ref["name"]},
         "rules": provisioner_cluster_rules(namespace)},
        {"apiVersion": api, "kind": "ClusterRoleBinding", "metadata": {**meta, "name": cluster_ref["name"]},
         "roleRef": cluster_ref, "subjects": subjects},
    ]  # fmt: skip
