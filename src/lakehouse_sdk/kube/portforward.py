"""Port-forward mode: reach the stack's Services through the Kubernetes API from outside the cluster.

For a remote cluster, or a kind cluster without port mappings, the NodePorts are not reachable from the
host. :class:`PortForwarder` then listens on a free port of ``127.0.0.1`` for each service and pipes every
accepted connection through its own port-forward stream (a websocket to the API server, opened with the
``kubernetes`` client's ``kubernetes.stream.portforward``) to the container port of a Ready pod behind the
service's Kubernetes Service, the way ``kubectl port-forward svc/NAME`` does.

The pod is resolved from the Service's selector when the first connection needs it and is remembered. When
a stream cannot be opened (the pod was deleted) the pod is resolved again and the stream retried once; when
a stream ends with an error from the kubelet (the pod's process restarted, the port is closed) the next
connection resolves the pod again. The local port stays the same for the forwarder's whole life, so
clients that already hold the address keep working across pod restarts.

The ``kubernetes`` package (extra ``kube``) is imported only when a cluster is first contacted. The
kubeconfig and context come from ``settings.kube``, exactly as for provisioning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any

from lakehouse_sdk._closing import Closing
from lakehouse_sdk.errors import LakehouseError, ServiceUnavailableError, redact
from lakehouse_sdk.kube._targets import (
    Cluster,
    KubeCluster,
    PodTarget,
    Stream,
    forward_unavailable,
    pipe,
    pod_is_ready,
    resolve_target,
    service_key,
    short_error,
)
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.endpoints import ENDPOINTS, EndpointSpec

__all__ = ["LOCAL_HOST", "Cluster", "PodTarget", "PortForwarder", "Stream", "pod_is_ready", "resolve_target"]

LOCAL_HOST = "127.0.0.1"
_CHUNK = 64 * 1024
_JOIN_SECONDS = 5.0

Obj = dict[str, Any]
log = logging.getLogger(__name__)


# -------------------------------------------------------------------------------------------------------
# One service: a local listener, its accept thread and the pipes of its connections.
# -------------------------------------------------------------------------------------------------------


class _Forward:
    def __init__(self, spec: EndpointSpec, namespace: str, cluster: Cluster) -> None:
        self.spec = spec
        self.namespace = namespace
        self.cluster = cluster
        self._lock = threading.Lock()  # the listener and the target
        self._resolve_lock = threading.Lock()  # one resolution at a time per service
        self._target: PodTarget | None = None
        self._listener: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._closing = False
        self.address: tuple[str, int] | None = None

    # -- the pod ------------------------------------------------------------------------------------------

    def target(self, *, refresh: bool = False) -> PodTarget:
        with self._resolve_lock:
            with self._lock:
                if self._target is not None and not refresh:
                    return self._target
            target = self._resolve()
            with self._lock:
                self._target = target
            log.info("port-forward %s: %s/svc/%s -> pod %s port %d", self.spec.key, self.namespace,
                     self.spec.dns_name, target.pod, target.port)  # fmt: skip
            return target

    def _resolve(self) -> PodTarget:
        try:
            service = self.cluster.get_service(self.namespace, self.spec.dns_name)
            selector = (service or {}).get("spec", {}).get("selector") or {}
            pods = (
                self.cluster.list_pods(self.namespace, ",".join(f"{k}={v}" for k, v in sorted(selector.items())))
                if selector
                else []
            )
        except LakehouseError:
            raise
        except Exception as exc:
            raise forward_unavailable(
                self.spec,
                self.namespace,
                f"the Kubernetes API ({self.cluster.where}) failed while looking up Service "
                f"{self.namespace}/{self.spec.dns_name}: "
                f"{type(exc).__name__}: {short_error(exc)}",
                f"Check the cluster and your access with: kubectl -n {self.namespace} get pods",
            ) from exc
        return resolve_target(self.spec, self.namespace, service, pods)

    def invalidate(self, target: PodTarget) -> None:
        with self._lock:
            if self._target == target:
                self._target = None

    @property
    def cached_target(self) -> PodTarget | None:
        with self._lock:
            return self._target

    def open(self) -> tuple[PodTarget, Stream]:
        last: Exception | None = None
        target: PodTarget | None = None
        for attempt in range(2):
            target = self.target(refresh=attempt > 0)
            try:
                return target, self.cluster.open_stream(self.namespace, target.pod, target.port)
            except Exception as exc:
                last = exc
                self.invalidate(target)
                log.info("port-forward %s: stream to pod %s failed (%s); resolving the pod again",
                         self.spec.key, target.pod, redact(short_error(exc)))  # fmt: skip
        assert target is not None and last is not None
        raise forward_unavailable(
            self.spec,
            self.namespace,
            f"cannot open a port-forward stream to pod {self.namespace}/{target.pod} port {target.port}: "
            f"{type(last).__name__}: {short_error(last)}",
            f"Check the pod with: kubectl -n {self.namespace} get pods (and that you may create "
            "pods/portforward there)",
        ) from last

    # -- the listener -------------------------------------------------------------------------------------

    def listen(self) -> tuple[str, int]:
        with self._lock:
            if self._closing:
                raise forward_unavailable(
                    self.spec, self.namespace, "the port-forwarder was closed", "Create a new one"
                )
            if self.address is not None:
                return self.address
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if os.name == "posix":  # after close() the port can be bound again at once (accepted ones in TIME_WAIT)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind((LOCAL_HOST, 0))
                listener.listen(64)
            except OSError:
                listener.close()
                raise
            self._listener = listener
            self._wake = socket.socketpair()
            self.address = (LOCAL_HOST, int(listener.getsockname()[1]))
            self._accept_thread = threading.Thread(
                target=self._accept_loop, name=f"lakehouse-port-forward-{self.spec.key}", daemon=True
            )
            self._accept_thread.start()
            log.info("port-forward %s: listening on %s:%d for %s/svc/%s port %d", self.spec.key, *self.address,
                     self.namespace, self.spec.dns_name, self.spec.port)  # fmt: skip
            return self.address

    def _accept_loop(self) -> None:
        assert self._listener is not None and self._wake is not None
        listener, wake = self._listener, self._wake[0]
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while True:
                events = selector.select()
                if any(key.fileobj is wake for key, _ in events):
                    return
                try:
                    conn, _ = listener.accept()
                except OSError as exc:  # EMFILE and the like: keep serving, without spinning
                    log.warning("port-forward %s: accept failed: %s", self.spec.key, exc)
                    time.sleep(0.1)
                    continue
                with self._lock:
                    if self._closing:
                        conn.close()
                        return
                    thread = threading.Thread(
                        target=self._serve, args=(conn,), name=f"lakehouse-port-forward-{self.spec.key}-conn",
                        daemon=True,
                    )  # fmt: skip
                    self._connections[conn] = thread
                thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            try:
                target, stream = self.open()
            except ServiceUnavailableError as exc:
                log.warning("%s", exc.message)
                return
            except Exception as exc:  # never let a connection thread die with a traceback
                log.warning("port-forward %s: %s", self.spec.key, redact(f"{type(exc).__name__}: {short_error(exc)}"))
                return
            try:
                pipe(conn, stream)
            finally:
                error = stream.error()
                stream.close()
            if error and not self._closing:
                self.invalidate(target)
                log.warning("port-forward %s: the stream to pod %s/%s port %d ended with an error: %s; the next "
                            "connection resolves the pod again", self.spec.key, self.namespace, target.pod,
                            target.port, redact(error.strip()))  # fmt: skip
        finally:
            with self._lock:
                self._connections.pop(conn, None)
            conn.close()

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
            connections = dict(self._connections)
            accept, wake, listener = self._accept_thread, self._wake, self._listener
        if wake is not None:
            with contextlib.suppress(OSError):
                wake[1].send(b"x")
        if accept is not None:
            accept.join(_JOIN_SECONDS)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes the pipe, which then closes its stream
        for thread in connections.values():
            thread.join(_JOIN_SECONDS)
        if listener is not None:
            listener.close()
        if wake is not None:
            for end in wake:
                end.close()


class PortForwarder(Closing):
    """Local ports that forward to the stack's Services through the Kubernetes API.

    Each service key of :data:`lakehouse_sdk.stack.endpoints.ENDPOINTS` maps to the Kubernetes Service
    ``ENDPOINTS[key].dns_name`` and its port ``ENDPOINTS[key].port`` in ``settings.namespace``. A forward
    listens on ``127.0.0.1`` on a free port; every connection to it gets its own port-forward stream to a
    Ready pod behind the Service. All methods are thread-safe.

    Args:
        settings: the namespace comes from ``settings.namespace``; the kubeconfig and context from
            ``settings.kube`` (as for provisioning).
        cluster: the Kubernetes calls to use; ``None`` (the default) uses the real API. Tests pass a fake.

    Example:
        >>> with PortForwarder(settings) as forwarder:  # doctest: +SKIP
        ...     host, port = forwarder.local_address("trino")
    """

    def __init__(self, settings: LakehouseSettings, *, cluster: Cluster | None = None) -> None:
        self.settings = settings
        self.namespace = settings.namespace
        self._cluster: Cluster = cluster if cluster is not None else KubeCluster(settings)
        self._lock = threading.Lock()
        self._forwards: dict[str, _Forward] = {}
        self._closed = False

    def __repr__(self) -> str:
        with self._lock:
            open_ = {k: f.address[1] for k, f in self._forwards.items() if f.address}
        state = "closed" if self._closed else f"forwards={open_}"
        return f"PortForwarder(namespace={self.namespace!r}, {state})"

    def _forward(self, key: str) -> _Forward:
        with self._lock:
            if self._closed:
                raise forward_unavailable(
                    ENDPOINTS[key],
                    self.namespace,
                    "the port-forwarder was closed",
                    "Create a new one (or a new Lakehouse)",
                )
            forward = self._forwards.get(key)
            if forward is None:
                forward = self._forwards[key] = _Forward(ENDPOINTS[key], self.namespace, self._cluster)
            return forward

    def local_address(self, service: str) -> tuple[str, int]:
        """The local address that forwards to ``service``, starting the forward if needed.

        A call checks that a Ready pod is behind the Service unless one is already known (the pod is remembered
        until a stream to it fails), so a missing or unready service fails here with a clear message instead
        of as a reset connection later.

        Args:
            service: a service key or alias (``trino``, ``minio``, ``s3``, ``hive_metastore``, ...).

        Returns:
            ``("127.0.0.1", port)``; the port stays the same until :meth:`close`.

        Raises:
            ConfigurationError: ``service`` is not a service of the stack.
            ServiceUnavailableError: the Service does not exist or has no Ready pod (the message names the
                namespace and Service and says what to run next), or the forwarder is closed.
        """
        forward = self._forward(service_key(service))
        forward.target()  # remembered after the first call; resolved again after a stream failed
        return forward.listen()

    def start(self, services: Iterable[str] | None = None) -> None:
        """Start forwards ahead of use.

        Args:
            services: the services to forward; each is checked as in :meth:`local_address`. ``None`` starts a
                forward for every service of the stack that has no explicit endpoint in ``settings.endpoints``
                and whose Kubernetes Service exists with the expected port; those are not checked for a Ready
                pod (a connection made while none is Ready is closed and the reason logged).

        Raises:
            ServiceUnavailableError: a named service is missing or has no Ready pod.
        """
        if services is not None:
            for service in services:
                self.local_address(service)
            return
        found: dict[str, Obj | None] = {}
        for key, spec in ENDPOINTS.items():
            if key in self.settings.endpoints:
                continue
            if spec.dns_name not in found:
                try:
                    found[spec.dns_name] = self._cluster.get_service(self.namespace, spec.dns_name)
                except LakehouseError:
                    raise
                except Exception as exc:
                    raise forward_unavailable(
                        spec,
                        self.namespace,
                        f"the Kubernetes API ({self._cluster.where}) failed while looking up Service "
                        f"{self.namespace}/{spec.dns_name}: "
                        f"{type(exc).__name__}: {short_error(exc)}",
                        f"Check the cluster and your access with: kubectl -n {self.namespace} get pods",
                    ) from exc
            obj = found[spec.dns_name]
            ports = (obj or {}).get("spec", {}).get("ports") or []
            if any(int(p.get("port", 0)) == spec.port for p in ports):
                self._forward(key).listen()

    def addresses(self) -> dict[str, tuple[str, int]]:
        """The local address of every forward started so far, by service key."""
        with self._lock:
            return {k: f.address for k, f in self._forwards.items() if f.address is not None}

    def target(self, service: str) -> PodTarget | None:
        """The pod that ``service``'s connections currently go to (``None`` until resolved, or after a drop)."""
        with self._lock:
            forward = self._forwards.get(service_key(service))
        return forward.cached_target if forward is not None else None

    def close(self) -> None:
        """Stop every forward: close the listeners (freeing the local ports) and every open connection.

        Idempotent; afterwards :meth:`local_address` raises :class:`ServiceUnavailableError`.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            forwards = list(self._forwards.values())
        for forward in forwards:
            forward.close()
