"""Where a port-forward goes: the Ready pod behind a Service, and the cluster that opens the streams.

Split from :mod:`lakehouse_sdk.kube.portforward`, which holds the local listeners and pipes.
"""

from __future__ import annotations

import selectors
import socket
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from lakehouse_sdk.errors import ConfigurationError, ServiceUnavailableError
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.endpoints import ENDPOINTS, EndpointSpec, canonical_endpoint_key

__all__ = [
    "Cluster",
    "KubeCluster",
    "PodTarget",
    "Stream",
    "forward_unavailable",
    "pipe",
    "pod_is_ready",
    "resolve_target",
    "service_key",
    "short_error",
]

Obj = dict[str, Any]
_CHUNK = 64 * 1024


class Stream(Protocol):
    """One open connection to a pod's port (the data half of a port-forward)."""

    def fileno(self) -> int:
        """The file descriptor to wait on for incoming data."""
        ...

    def recv(self, size: int) -> bytes:
        """Read up to ``size`` bytes; ``b""`` when the pod side closed."""
        ...

    def sendall(self, data: bytes) -> None:
        """Send ``data`` to the pod's port."""
        ...

    def error(self) -> str | None:
        """What the kubelet reported on the error channel, if anything."""
        ...

    def close(self) -> None:
        """Close the stream (and its websocket)."""
        ...


class Cluster(Protocol):
    """The few Kubernetes calls a port-forward needs; :class:`PortForwarder` uses the real API by default."""

    @property
    def where(self) -> str:
        """Which cluster this is (kubeconfig and context), for messages."""
        ...

    def get_service(self, namespace: str, name: str) -> Obj | None:
        """The Service object, or ``None`` when it does not exist."""
        ...

    def list_pods(self, namespace: str, selector: str) -> list[Obj]:
        """The pods matching a label selector."""
        ...

    def open_stream(self, namespace: str, pod: str, port: int) -> Stream:
        """Open a port-forward stream to ``port`` of ``pod``."""
        ...


@dataclass(frozen=True)
class PodTarget:
    """Where connections to one service go: a Ready pod and its container port.

    Attributes:
        service: the service key (``trino``, ``minio``, ...).
        namespace: the namespace of the Service and the pod.
        pod: the pod's name.
        port: the container port on the pod (the Service port's ``targetPort``, resolved).
    """

    service: str
    namespace: str
    pod: str
    port: int


# -------------------------------------------------------------------------------------------------------
# Resolution: Service -> selector -> Ready pod -> container port. Pure functions, tested offline.
# -------------------------------------------------------------------------------------------------------


def pod_is_ready(pod: Obj) -> bool:
    """Whether a pod can take traffic: Running, condition ``Ready=True`` and not being deleted."""
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return False
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def _pod_summary(pod: Obj) -> str:
    status = pod.get("status") or {}
    ready = next((c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"), "Unknown")
    deleting = ", terminating" if pod.get("metadata", {}).get("deletionTimestamp") else ""
    return f"{pod['metadata']['name']} ({status.get('phase', 'Unknown')}, Ready={ready}{deleting})"


def forward_unavailable(spec: EndpointSpec, namespace: str, problem: str, next_step: str) -> ServiceUnavailableError:
    return ServiceUnavailableError(
        f"port-forward to {spec.key}: {problem}. {next_step}",
        service=spec.key,
        endpoint=f"svc/{spec.dns_name}:{spec.port} in namespace {namespace}",
    )


def _container_port(pod: Obj, name: str) -> int | None:
    for container in pod.get("spec", {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == name and port.get("containerPort"):
                return int(port["containerPort"])
    return None


def resolve_target(spec: EndpointSpec, namespace: str, service: Obj | None, pods: list[Obj]) -> PodTarget:
    """Pick the pod and container port that connections to ``spec`` go to.

    Args:
        spec: the service of the stack (its Kubernetes Service is ``spec.dns_name``, its port ``spec.port``).
        namespace: the namespace the Service is looked up in.
        service: the Service object from the API, or ``None`` when it does not exist.
        pods: the pods that match the Service's selector.

    Returns:
        The newest Ready pod and the container port behind the Service port.

    Raises:
        ServiceUnavailableError: the Service is missing, lacks the port or a selector, or no pod is Ready. The
            message names the service, the namespace and Service, and the command to look further.
    """
    ref = f"{namespace}/{spec.dns_name}"
    look = f"See what is there with: kubectl -n {namespace} get pods,services"
    if service is None:
        raise forward_unavailable(
            spec,
            namespace,
            f"Service {ref} does not exist",
            f"{look}. Provision the stack into namespace {namespace!r} (lakehouse provision), "
            "or set the namespace setting (LAKEHOUSE_NAMESPACE) to where it runs",
        )
    ports = service.get("spec", {}).get("ports") or []
    port = next((p for p in ports if int(p.get("port", 0)) == spec.port), None)
    if port is None:
        have = ", ".join(str(p.get("port")) for p in ports) or "none"
        raise forward_unavailable(spec, namespace, f"Service {ref} has no port {spec.port} (its ports: {have})", look)
    selector = service.get("spec", {}).get("selector") or {}
    if not selector:
        raise forward_unavailable(
            spec, namespace, f"Service {ref} has no selector, so there is no pod to forward to", look
        )
    label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    ready = [p for p in pods if pod_is_ready(p)]
    if not ready:
        seen = "; ".join(_pod_summary(p) for p in pods) or "no pods match"
        raise forward_unavailable(
            spec,
            namespace,
            f"no Ready pod behind Service {ref} (selector {label_selector}: {seen})",
            f"Wait until a pod is Ready, or find out why with: kubectl -n {namespace} get pods -l "
            f"{label_selector} (then kubectl -n {namespace} describe pod NAME)",
        )
    ready.sort(key=lambda p: (str(p["metadata"].get("creationTimestamp") or ""), p["metadata"]["name"]), reverse=True)
    pod = ready[0]
    target = port.get("targetPort", port["port"])
    if isinstance(target, str) and not target.isdigit():
        number = _container_port(pod, target)
        if number is None:
            raise forward_unavailable(
                spec,
                namespace,
                f"Service {ref} targets the named port {target!r}, which pod {pod['metadata']['name']} "
                "does not declare",
                look,
            )
        return PodTarget(spec.key, namespace, pod["metadata"]["name"], number)
    return PodTarget(spec.key, namespace, pod["metadata"]["name"], int(target))


def service_key(service: str) -> str:
    key = canonical_endpoint_key(service)
    if key is None:
        raise ConfigurationError(f"unknown service {service!r}; services are: {', '.join(ENDPOINTS)}")
    return key


# -------------------------------------------------------------------------------------------------------
# The real cluster, through the ``kubernetes`` client (imported lazily).
# -------------------------------------------------------------------------------------------------------


class _PortForwardStream:
    """The data socket of a ``kubernetes.stream.ws_client.PortForward`` for one port."""

    def __init__(self, forward: Any, port: int) -> None:
        self._forward = forward
        self._port = port
        self._socket = forward.socket(port)

    def fileno(self) -> int:
        return int(self._socket.fileno())

    def recv(self, size: int) -> bytes:
        return bytes(self._socket.recv(size))

    def sendall(self, data: bytes) -> None:
        self._socket.sendall(data)

    def error(self) -> str | None:
        text = self._forward.error(self._port)
        return str(text) if text else None

    def close(self) -> None:
        self._forward.close()


class KubeCluster:
    """:class:`Cluster` on the cluster ``settings.kube`` names (see :func:`lakehouse_sdk.kube._api.connect`)."""

    def __init__(self, settings: LakehouseSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._api: Any = None

    def _connected(self) -> Any:
        with self._lock:
            if self._api is None:
                from lakehouse_sdk.kube._api import connect

                self._api = connect(self._settings)
            return self._api

    @property
    def where(self) -> str:
        return str(self._connected().where)

    def get_service(self, namespace: str, name: str) -> Obj | None:
        result: Obj | None = self._connected().get("Service", name, namespace)
        return result

    def list_pods(self, namespace: str, selector: str) -> list[Obj]:
        result: list[Obj] = self._connected().list("Pod", namespace, selector=selector)
        return result

    def open_stream(self, namespace: str, pod: str, port: int) -> Stream:
        configuration = self._connected().client.configuration  # connect() checks that the extra is installed
        from kubernetes import client
        from kubernetes.stream import portforward

        # portforward() swaps the ApiClient's request method while it runs, so concurrent streams (and the
        # plain API calls above) must not share one ApiClient: each stream gets its own, on the same config.
        api_client = client.ApiClient(configuration)
        try:
            core = client.CoreV1Api(api_client)
            forward = portforward(core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port))
        finally:
            api_client.close()
        return _PortForwardStream(forward, port)


def pipe(conn: socket.socket, stream: Stream) -> None:
    """Copy bytes both ways until either side closes."""
    with selectors.DefaultSelector() as selector:
        selector.register(conn, selectors.EVENT_READ, stream)
        selector.register(stream, selectors.EVENT_READ, conn)
        while True:
            for key, _ in selector.select():
                source: Any = key.fileobj
                try:
                    data = source.recv(_CHUNK)
                    if not data:
                        return
                    key.data.sendall(data)
                except OSError:
                    return


def short_error(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + "..." if len(text) > 300 else text


# -------------------------------------------------------------------------------------------------------
# The public object.
# -------------------------------------------------------------------------------------------------------
