"""A small typed layer over the Kubernetes REST API: get, list, server-side apply, delete, events, logs.

It knows the paths of the few kinds the stack uses, so no discovery round-trips are needed. The
``kubernetes`` package (extra ``kube``) is imported only when :func:`connect` is called.
"""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

from lakehouse_sdk._deps import require
from lakehouse_sdk.errors import ProvisionError
from lakehouse_sdk.settings import LakehouseSettings

__all__ = ["KIND_PATHS", "KubeAPI", "connect"]

Obj = dict[str, Any]

# kind -> (API prefix, plural, namespaced)
KIND_PATHS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Secret": ("/api/v1", "secrets", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Service": ("/api/v1", "services", True),
    "Pod": ("/api/v1", "pods", True),
    "Event": ("/api/v1", "events", True),
    "PersistentVolumeClaim": ("/api/v1", "persistentvolumeclaims", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "ReplicaSet": ("/apis/apps/v1", "replicasets", True),
    "Job": ("/apis/batch/v1", "jobs", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
    "Certificate": ("/apis/cert-manager.io/v1", "certificates", True),  # secure mode with tls_issuer
}


class KubeAPI:
    """Calls on one cluster through a ``kubernetes.client.ApiClient``.

    Args:
        api_client: a configured ``kubernetes.client.ApiClient``.
        where: how the cluster was chosen (kubeconfig path and context), for messages.
    """

    def __init__(self, api_client: Any, *, where: str, timeout: tuple[float, float] = (5.0, 30.0)) -> None:
        self.client = api_client
        self.where = where
        self.timeout = timeout  # (connect, read) seconds for every call: a silent API server ends it
        from kubernetes.client.exceptions import ApiException

        self.ApiException: type[Exception] = ApiException

    def _path(self, kind: str, namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
        prefix, plural, namespaced = KIND_PATHS[kind]
        path = f"{prefix}/namespaces/{namespace}/{plural}" if namespaced else f"{prefix}/{plural}"
        if name:
            path += f"/{name}"
        if sub:
            path += f"/{sub}"
        return path

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        response = self.client.call_api(
            path,
            method,
            query_params=query or [],
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _return_http_data_only=True,
            _request_timeout=self.timeout,
        )
        data = response.data
        if not data:
            return None
        text = data.decode() if isinstance(data, bytes) else str(data)
        try:
            return json.loads(text)
        except ValueError:
            return text

    def status_of(self, exc: BaseException) -> int | None:
        """The HTTP status of an ``ApiException`` (``None`` for other errors)."""
        return int(getattr(exc, "status", 0) or 0) or None if isinstance(exc, self.ApiException) else None

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        """The object, or ``None`` when it does not exist."""
        try:
            result: Obj = self._call("GET", self._path(kind, namespace, name))
        except self.ApiException as exc:
            if self.status_of(exc) == 404:
                return None
            raise
        return result

    def list(
        self, kind: str, namespace: str | None, *, selector: str | None = None, field_selector: str | None = None
    ) -> list[Obj]:
        """Objects of ``kind`` matching the label (and field) selector."""
        query: list[tuple[str, Any]] = []
        if selector:
            query.append(("labelSelector", selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        result = self._call("GET", self._path(kind, namespace), query=query)
        items: list[Obj] = result.get("items") or []
        for item in items:
            item.setdefault("kind", kind)
        return items

    def apply(self, obj: Obj, *, field_manager: str) -> Obj:
        """Server-side apply of ``obj`` with ``field_manager``, taking over conflicting fields."""
        meta = obj["metadata"]
        path = self._path(obj["kind"], meta.get("namespace"), meta["name"])
        query = [("fieldManager", field_manager), ("force", "true")]
        result: Obj = self._call("PATCH", path, query=query, body=obj, content_type="application/apply-patch+yaml")
        return result

    def delete(self, kind: str, name: str, namespace: str | None = None, *, propagation: str = "Background") -> bool:
        """Delete one object; ``False`` when it was already gone."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        try:
            self._call("DELETE", self._path(kind, namespace, name), body=body)
        except self.ApiException as exc:
            if self.status_of(exc) == 404:
                return False
            raise
        return True

    def scale(self, kind: str, name: str, namespace: str, replicas: int, *, field_manager: str) -> None:
        """Set ``spec.replicas`` through the scale subresource."""
        body = {"spec": {"replicas": replicas}}
        path = self._path(kind, namespace, name, "scale")
        self._call(
            "PATCH",
            path,
            query=[("fieldManager", field_manager)],
            body=body,
            content_type="application/merge-patch+json",
        )

    def events(self, namespace: str, names: set[str]) -> builtins.list[Obj]:
        """Recent events of the objects called ``names``, oldest first."""
        events = [e for e in self.list("Event", namespace) if e.get("involvedObject", {}).get("name") in names]
        return sorted(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))

    def log_tail(self, namespace: str, pod: str, container: str, lines: int = 20) -> str:
        """The last ``lines`` of a container's log, or why they are unavailable."""
        try:
            text = self._call(
                "GET",
                self._path("Pod", namespace, pod, "log"),
                query=[("container", container), ("tailLines", lines)],
            )
        except self.ApiException as exc:
            return f"(log unavailable: HTTP {self.status_of(exc)})"
        except Exception as exc:  # a kubelet that cannot be reached: report, don't fail the diagnosis
            return f"(log unavailable: {type(exc).__name__})"
        return str(text or "(empty log)").rstrip()


def connect(settings: LakehouseSettings) -> KubeAPI:
    """Connect to the cluster the settings name.

    The kubeconfig is ``settings.kube.kubeconfig`` (which also takes ``KUBECONFIG``), else
    ``~/.kube/config``; the context is ``settings.kube.context``, else the kubeconfig's current context.
    Without a kubeconfig, a pod's service account is used (in-cluster configuration).

    Raises:
        MissingDependencyError: the ``kubernetes`` package (extra ``kube``) is not installed.
        ProvisionError: no usable kubeconfig or service account.
    """
    require("kubernetes", extra="kube", purpose="provisioning on Kubernetes")
    from kubernetes import client, config

    kube = settings.kube
    bounds = (settings.connect_timeout, kube.request_timeout)
    path = kube.kubeconfig.expanduser() if kube.kubeconfig else Path.home() / ".kube" / "config"
    source = settings.source_of("kube", "kubeconfig") if kube.kubeconfig else "default location"
    context = kube.context
    if path.is_file():
        try:
            api_client = config.new_client_from_config(config_file=str(path), context=context)
        except Exception as exc:
            raise ProvisionError(
                f"cannot load kubeconfig {path} (from {source}), context {context or '(current)'}: {exc}. "
                "Check the file, or set LAKEHOUSE_KUBE__KUBECONFIG / LAKEHOUSE_KUBE__CONTEXT."
            ) from exc
        return KubeAPI(api_client, where=f"kubeconfig {path}, context {context or '(current)'}", timeout=bounds)
    token = settings.serviceaccount_dir / "token"
    if kube.kubeconfig is None and token.is_file():
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException as exc:
            raise ProvisionError(f"in-cluster configuration failed: {exc}. Set LAKEHOUSE_KUBE__KUBECONFIG.") from exc
        return KubeAPI(client.ApiClient(configuration), where="in-cluster service account", timeout=bounds)
    raise ProvisionError(
        f"no kubeconfig at {path} (from {source}) and no service-account token at {token}. "
        "Point KUBECONFIG or LAKEHOUSE_KUBE__KUBECONFIG at a kubeconfig file."
    )
